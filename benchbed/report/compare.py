"""Comparison output: markdown (CI job summary / PR comment), JSON and JUnit XML."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from benchbed.analysis.compare import CellComparison
from benchbed.analysis.normalize import NOTE
from benchbed.report.markdown import md_table
from benchbed.report.uncertainty import ratio_with_interval

ICONS = {"slower": "🔴", "more memory": "🟠", "new failure": "❌", "faster": "🟢", "less memory": "🟢",
         "no significant change": "⚪", "incomparable": "⚠️", "fixed": "✅", "failed": "❌", "missing": "❔",
         "new": "🆕"}


def _metric(row: CellComparison, name: str) -> str:
    """CURRENT / BASE with its interval where one was computed: ``1.04 [1.01, 1.07]`` (memory: a bare ratio)."""
    for m in row.metrics:
        if m.metric == name:
            if m.ci_low is None:
                return f"{m.ratio:.2f}"
            return ratio_with_interval(m.ratio, m.ci_low, m.ci_high)
    return "-"


def _p(row: CellComparison) -> str:
    latency = next((m for m in row.metrics if m.metric == "latency"), None)
    return "-" if latency is None or latency.p_value is None else f"{latency.p_value:.2g}"


def table_rows(rows: list[CellComparison]) -> list[list[str]]:
    out = []
    for row in rows:
        c = row.cell
        out.append([c["network"], c["backend"], c["precision"], c["scenario"], str(c["batch"]),
                    f"{ICONS.get(row.verdict, '')} {row.verdict}".strip(), _metric(row, "latency"), _p(row),
                    _metric(row, "throughput"), _metric(row, "memory"), "; ".join(row.reasons)])
    return out


def normalization_line(rows: list[CellComparison]) -> str | None:
    """The line every output carries when a cell was compared relative to the machine speed index."""
    normalized = sum(r.normalized for r in rows)
    if not normalized:
        return None
    measured = [r for r in rows if r.metrics]
    return NOTE + ("" if normalized == len(measured) else f" for {normalized} of {len(measured)} cells; "
                   "the others say why not")


HEADER = ["network", "backend", "precision", "scenario", "batch", "verdict", "median latency ratio [95% CI]",
          "p (Mann-Whitney)", "throughput ratio [95% CI]", "peak memory ratio", "notes"]


def to_markdown(rows: list[CellComparison], base: str, current: str, failed: list[CellComparison]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    status = f"**{len(failed)} regression(s)**" if failed else "**no regression**"
    lines = [f"## benchbed compare: {status}", "", f"BASE `{base}` → CURRENT `{current}`: {summary}", "",
             md_table(HEADER, table_rows(rows))]
    line = normalization_line(rows)
    if line:
        lines += ["", line[0].upper() + line[1:] + ": ratios are relative to each side's machine speed."]
    lines += ["", "A regression needs a Mann-Whitney p below α and a bootstrap CI of the median ratio that "
              "excludes 1, and an effect beyond the minimum. Ratios are CURRENT / BASE with their 95 % bootstrap "
              "interval over time-block medians: latency above 1 is slower, throughput above 1 is faster."]
    return "\n".join(lines) + "\n"


def to_json(rows: list[CellComparison], base: str, current: str, failed: list[CellComparison]) -> str:
    return json.dumps({"base": base, "current": current, "regressions": len(failed),
                       "normalization": normalization_line(rows), "cells": [r.to_dict() for r in rows]}, indent=2)


def to_junit(rows: list[CellComparison], base: str, current: str, failed: list[CellComparison]) -> str:
    """One test case per cell; regressions (the --fail-on verdicts) are failures, incomparable is skipped."""
    failing = {id(r) for r in failed}
    root = ET.Element("testsuites", name="benchbed", tests=str(len(rows)), failures=str(len(failed)))
    suite = ET.SubElement(root, "testsuite", name="benchbed compare", tests=str(len(rows)), failures=str(len(failed)),
                       skipped=str(sum(r.verdict in ("incomparable", "missing", "new") for r in rows)))
    for row in rows:
        case = ET.SubElement(suite, "testcase", classname=f"benchbed.{row.cell['backend']}.{row.cell['precision']}",
                             name=row.key)
        message = f"{row.verdict}: latency {_metric(row, 'latency')}, p={_p(row)}; " + "; ".join(row.reasons)
        if id(row) in failing:
            ET.SubElement(case, "failure", message=message, type=row.verdict).text = message
        elif row.verdict in ("incomparable", "missing", "new"):
            ET.SubElement(case, "skipped", message=message)
        else:
            ET.SubElement(case, "system-out").text = message
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


RENDERERS = {"md": to_markdown, "json": to_json, "junit": to_junit}
