"""Everything benchbed shows in a terminal (rich): the live view of a sweep (an overall bar with ETA, the
cell in flight and its phase, one line per finished cell) and the tables the commands print.

Text that comes from the library or the user (names, paths, reasons, install hints such as
``pip install 'benchbed[gpu]'``) is never read as rich markup: tables escape every title and cell, and
only this module's own colour tags are markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from benchbed.accuracy.lookup import AccuracyBook
    from benchbed.analysis.compare import CellComparison
    from benchbed.analysis.history import Trend


def plain_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]],
                right: Iterable[str] = ()) -> Table:
    """A table whose title and cells are shown as they are (brackets included), never read as markup."""
    right = set(right)
    table = Table(title=escape(title))
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    return table


def _summary(document: dict) -> str:
    if document.get("status") != "ok":
        return f"[red]FAILED[/red] {escape(str(document.get('error', '')))}"
    from benchbed.analysis.points import accuracy_evidence, p50_interval
    from benchbed.report.uncertainty import with_interval

    stats, validity = document["stats"], document["validity"]
    colour = "green" if validity["status"] == "VALID" else "yellow"
    text = (f"p50 {escape(with_interval(stats['p50_ms'], p50_interval(document)))} ms  p99 {stats['p99_ms']:.3g} ms  "
            f"{stats['throughput_ips']:.1f} img/s  [{colour}]{validity['status']}[/{colour}]")
    if validity["reasons"]:
        text += " (" + escape("; ".join(validity["reasons"])) + ")"
    if validity["warnings"]:
        text += f" [dim]{len(validity['warnings'])} warning(s)[/dim]"
    if accuracy_evidence(document):
        text += " [yellow]accuracy unverified[/yellow]"
    return text


class RichSweepUI:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                                 transient=True)
        self.overall = self.progress.add_task("sweep", total=0)
        self.current = self.progress.add_task("", total=None)

    def __enter__(self) -> "RichSweepUI":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def add_planned(self, count: int) -> None:
        task = self.progress.tasks[self.overall]
        self.progress.update(self.overall, total=(task.total or 0) + count)

    def start_cell(self, label: str) -> None:
        self.progress.update(self.current, description=f"{label}: starting")

    def phase(self, label: str, phase: str) -> None:
        self.progress.update(self.current, description=f"{label}: {phase}")

    def finish_cell(self, label: str, document: dict) -> None:
        self.progress.advance(self.overall)
        self.progress.console.print(f"{escape(label)}: {_summary(document)}", highlight=False)

    def note(self, message: str) -> None:
        self.progress.console.print(escape(message), highlight=False)


# --- the commands' tables ---------------------------------------------------------------------------------

def networks_table(rows: list[dict], mode: str) -> Table:
    """``benchbed generate``: one row per network summary (``NetworkSpec.summary()``)."""
    from benchbed.accuracy.tables import paper_row
    from benchbed.report.markdown import human_count

    def paper(name: str) -> str:
        row = paper_row(name)
        return f"{row.gflops:g}B" if row and row.gflops else "-"

    return plain_table(
        f"benchbed generate ({mode} mode, α·β²·γ² = {rows[0]['flops_ratio']:.3f})",
        ("φ", "name", "mode", "w", "d", "res", "blocks", "params", "MACs", "paper FLOPS", "pred ×", "actual ×"),
        ([f"{r['phi']:g}", r["name"], r["mode"], f"{r['width']:.3f}", f"{r['depth']:.3f}", str(r["resolution"]),
          str(r["blocks"]), human_count(r["params"]), human_count(r["macs"]), paper(r["name"]),
          f"{r['predicted_flops_multiple']:.2f}", f"{r['actual_flops_multiple']:.2f}"] for r in rows),
        right=("φ", "w", "d", "res", "blocks", "params", "MACs", "paper FLOPS", "pred ×", "actual ×"))


def exports_table(rows: list[dict], precision: str) -> Table:
    """``benchbed export``: one row per exported artifact."""
    return plain_table(
        f"benchbed export ({precision})", ("name", "mode", "file", "size", "parity rel err", "tolerance", "export s"),
        ([r["name"], r["mode"], r["path"], f"{r['size_bytes'] / 1e6:.1f} MB", f"{r['max_rel_error']:.2e}",
          f"{r['tolerance']:g}", f"{r['export_seconds']:.1f}"] for r in rows))


def accuracy_table(row: dict, engine: str, transform: str, origin: str) -> Table:
    """``benchbed accuracy``: the measured row (as appended to the CSV)."""
    return plain_table(f"benchbed accuracy ({engine}, transform {transform}: {origin})",
                       ("network", "precision", "weights", "top-1 %", "top-5 %", "images"),
                       [[row["network"], row["precision"], row["weights"], row["top1"], row["top5"],
                         str(row["images"])]], right=("top-1 %", "top-5 %", "images"))


def search_table(rows: list[dict], found: int, target: float, tolerance: float, objective: str) -> Table:
    """``benchbed search``: the best candidates, best first."""
    unit = "p50 ms" if objective == "latency" else "|FLOPS x - target|"
    columns = ("α", "β", "γ", "α·β²·γ²", unit)
    return plain_table(f"grid search: {found} candidates with |α·β²·γ² - {target:g}| <= {tolerance:g}", columns,
                       ([f"{r['alpha']:g}", f"{r['beta']:g}", f"{r['gamma']:g}", f"{r['product']:.3f}",
                         f"{r['score']:.4g}"] for r in rows), right=columns)


def results_summary(run: dict, results: list[dict], book: AccuracyBook | None = None,
                    paired: list[dict] | None = None) -> dict:
    """A run's answering results per scenario, as ``sweep``/``report --format json`` print them, and which
    variants differ beyond noise."""
    from benchbed.analysis.differences import what_differs
    from benchbed.report.markdown import scenario_rows

    rows = scenario_rows(results, book)
    return {"run_id": run["run_id"], "status": run["status"], "scenarios": rows,
            "differences": [d.to_dict() for d in what_differs(rows, paired)], "paired": paired or []}


def differences_table(rows_by_scenario: dict[str, list[dict]], paired: list[dict] | None) -> Table | None:
    """The report's opening section as the terminal's first table; None when nothing was compared."""
    from benchbed.analysis.differences import what_differs
    from benchbed.report import differs

    found = what_differs(rows_by_scenario, paired)
    if not found:
        return None
    table = plain_table(differs.TITLE, ("source", "comparison"), ([d.source, differs.line(d)] for d in found))
    table.caption = escape(differs.INTRO)
    return table


def results_tables(run: dict, results: list[dict], book: AccuracyBook | None = None,
                   paired: list[dict] | None = None) -> list[Table]:
    """What differs (when anything was compared), then one table per scenario of a run's answering results
    (the terminal form of report.md)."""
    from benchbed.report.markdown import COLUMNS, row_cells, scenario_rows

    rows_by_scenario = scenario_rows(results, book)
    opening = differences_table(rows_by_scenario, paired)
    return ([opening] if opening else []) + [
        plain_table(f"{scenario} ({run['config'].get('backend')}, run {run['run_id']})", COLUMNS,
                    (row_cells(row) for row in rows), right=[c for c in COLUMNS if c not in ("network", "mode", "validity")])
        for scenario, rows in rows_by_scenario.items()]


def history_table(found: list[Trend], metric: str) -> Table:
    """``benchbed history``: one row per cell with its sparkline and step changes."""
    from benchbed.analysis.history import sparkline

    def row(trend: Trend) -> list[str]:
        values = [p.value for p in trend.points]
        steps = "; ".join(f"{c['run_id']}: {c['before']:.4g} -> {c['after']:.4g}"
                          for c in trend.to_dict()["change_points"])
        return [trend.key, str(len(values)), sparkline(values, trend.change_points), f"{values[0]:.4g}",
                f"{values[-1]:.4g}", steps or "-", trend.note or "-"]

    table = plain_table(f"history of {metric} ({len(found)} cells); | marks a step change",
                        ("cell", "runs", "trend", "first", "last", "step changes", "notes"), (row(t) for t in found))
    if any(t.normalized for t in found):
        table.caption = escape(f"{metric} normalized by the machine speed index where every run measured it "
                               "(values at each cell's median index; raw values in --format json)")
    return table


def comparison_table(rows: list[CellComparison], base: str, current: str, failed: list[CellComparison],
                     fail_on: Sequence[str]) -> Table:
    """``benchbed compare`` / ``abtest``: one row per cell with its verdict."""
    from benchbed.report.compare import HEADER, normalization_line, table_rows

    table = plain_table(f"benchbed compare {base} -> {current}: {len(failed)} regression(s) ({', '.join(fail_on)})",
                        HEADER, table_rows(rows))
    line = normalization_line(rows)
    if line:
        table.caption = escape(line)
    return table


INFO_FIELDS = ("cpu_model", "physical_cores", "logical_cores", "memory_bytes", "os", "python", "benchbed_version",
               "git_commit", "fingerprint")


def environment_table(env: dict, onnxruntime_package: str) -> Table:
    """``benchbed info``: the environment fingerprint."""
    rows = [[key, str(env.get(key))] for key in INFO_FIELDS]
    rows += [["cpu_speed_flags", " ".join(env["cpu_speed_flags"])],
             ["gpus", ", ".join(f"{g['name']} (driver {g['driver']})" for g in env["gpus"]) or "none found"],
             ["libraries", ", ".join(f"{k} {v}" for k, v in sorted(env["versions"].items()))],
             ["onnxruntime package", onnxruntime_package]]
    return plain_table("environment", ("field", "value"), rows)


def backends_table(backends: list[dict]) -> Table:
    """``benchbed info``: which backends are usable here, and why not."""
    return plain_table("backends", ("backend", "usable", "why"),
                       ([b["backend"], "yes" if b["usable"] else "no", b["reason"]] for b in backends))


def selftest_table(rows: list[dict], resolution: int) -> Table:
    """``benchbed selftest``: one row per backend with its result and figures."""
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.3g}"

    return plain_table(
        f"benchbed selftest (EfficientNet-B0 at width 0.5, {resolution} px, fp32)",
        ("backend", "result", "parity rel err", "p50 ms", "GPU p50 ms", "trtexec GPU median ms (same options)",
         "notes"),
        ([r["backend"], r["status"], "-" if r.get("parity") is None else f"{r['parity']:.1e}", ms(r.get("p50_ms")),
          ms(r.get("device_p50_ms")), ms(r.get("trtexec_compare_ms")),
          r["why"] + (f"; trtexec: {r['trtexec']}" if r.get("trtexec") else "")] for r in rows))
