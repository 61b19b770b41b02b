"""How a procurement answer is printed: a ranked table, the exclusions with reasons, or JSON."""

from __future__ import annotations

import json

from benchbed.analysis.procure import Option, ProcureAnswer
from benchbed.report.markdown import md_table

HEADER = ["#", "hardware", "network", "backend", "precision", "batch", "top-1", "latency ms", "img/s", "devices",
          "$/month", "$/M images", "img/J", "SLA headroom"]


def _money(value: float | None, currency: str) -> str:
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.3g}"
    return f"{value:,.2f}" if value < 1000 else f"{value:,.0f}"


def option_cells(rank: int | str, o: Option, currency: str) -> list[str]:
    p = o.point
    top1 = "-" if p.accuracy is None else p.accuracy.label()
    joule = "-" if o.images_per_joule is None else f"{o.images_per_joule:.3g}" + (
        "" if o.joule_basis == "measured" else " (rated)")
    precision = p.precision if p.accuracy_precision == p.precision else f"{p.precision} ({p.accuracy_precision} compute)"
    return [str(rank), p.hardware, p.network, p.backend, precision, str(p.batch), top1,
            "-" if o.latency_ms is None else f"{o.latency_ms:.3g}",
            "-" if o.throughput_ips is None else f"{o.throughput_ips:.4g}",
            "-" if o.devices is None else str(o.devices), _money(o.monthly, currency),
            _money(o.per_million, currency), joule, "-" if o.headroom is None else f"{o.headroom:+.0%}"]


def _lines(answer: ProcureAnswer, show_excluded: bool, top: int) -> list[str]:
    c = answer.constraints
    lines = [f"benchbed procure: {c.describe()} · prices in {answer.currency}"
             + (" · $/month for the target load" if c.target_qps else " · $/month per device"), ""]
    if answer.ranked:
        lines.append(md_table(HEADER, [option_cells(i + 1, o, answer.currency)
                                       for i, o in enumerate(answer.ranked[:top])]))
        if len(answer.ranked) > top:
            lines.append(f"... {len(answer.ranked) - top} more qualifying options (--top)")
    else:
        lines.append(f"no option meets {c.describe()}.")
        if answer.closest:
            lines += ["closest:", md_table(HEADER + ["misses"], [
                option_cells("-", o, answer.currency) + ["; ".join(o.reasons)] for o in answer.closest])]
    lines.append("")
    lines.append(f"{len(answer.ranked)} qualifying, {len(answer.excluded)} excluded. top-1 `*`: fp32 reference "
                 "accuracy, this precision unmeasured. img/J (rated): from the price file's power_w, not measured.")
    if answer.unpriced_hardware:
        lines.append("no price for: " + ", ".join(repr(h) for h in answer.unpriced_hardware))
    if answer.unused_prices:
        lines.append("priced but not in the results: " + ", ".join(repr(h) for h in answer.unused_prices))
    if show_excluded and answer.excluded:
        lines += ["", "excluded:", md_table(["hardware", "network", "backend", "precision", "batch", "why"], [
            [o.point.hardware, o.point.network, o.point.backend, o.point.precision, str(o.point.batch),
             "; ".join(o.reasons)] for o in answer.excluded])]
    elif answer.excluded:
        lines.append("--show-excluded lists every excluded option and why.")
    return lines


def render(answer: ProcureAnswer, output_format: str, show_excluded: bool, top: int) -> str:
    if output_format == "json":
        return json.dumps(answer.to_dict(), indent=2)
    return "\n".join(_lines(answer, show_excluded, top))
