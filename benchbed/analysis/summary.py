"""The analyses as plain tables (title, header, rows, note) that the markdown and HTML reports both render."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchbed.analysis.pareto import COSTS, Cost, fronts_by
from benchbed.analysis.points import Point
from benchbed.analysis.scaling_fit import fits, phi_steps, single_vs_compound
from benchbed.report.uncertainty import with_interval


@dataclass
class TableData:
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""
    numeric: list[bool] = field(default_factory=list)


def _g(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _series(key: tuple) -> list[str]:
    hardware, backend, precision, scenario, batch = key
    return [hardware, backend, precision, f"{scenario} b{batch}"]


def best_table(points: list[Point]) -> list[TableData]:
    """Per machine and network: the fastest VALID batch-1 cell and the highest VALID throughput."""
    best: dict[tuple, dict[str, Point]] = {}
    for p in points:
        if not p.ok:
            continue
        slot = best.setdefault((p.hardware, p.phi if p.phi is not None else -1, p.network), {})
        if p.batch == 1 and (slot.get("latency") is None or p.p50_ms < slot["latency"].p50_ms):
            slot["latency"] = p
        if slot.get("throughput") is None or p.throughput_ips > slot["throughput"].throughput_ips:
            slot["throughput"] = p
    if not best:
        return []
    rows = []
    for (hardware, phi, network), slot in sorted(best.items()):
        fast, wide = slot.get("latency"), slot["throughput"]
        rows.append([hardware, "-" if phi == -1 else f"{phi:g}", network,
                     "-" if fast is None else f"{fast.backend} {fast.precision}",
                     "-" if fast is None else with_interval(fast.p50_ms, fast.p50_interval),
                     f"{wide.backend} {wide.precision} b{wide.batch}",
                     with_interval(wide.throughput_ips, wide.throughput_interval)])
    return [TableData("Best VALID cell per network on each machine",
                      ["hardware", "φ", "network", "lowest batch-1 p50", "p50 ms [95% CI]", "highest throughput",
                       "img/s [95% CI]"],
                      rows, "Across every backend and precision measured; INVALID cells (parity included) "
                            "never count.")]


def scaling_tables(points: list[Point]) -> list[TableData]:
    out = []
    fitted = fits(points)
    if fitted:
        out.append(TableData(
            "Scaling: fitted latency ∝ MACs^k", ["hardware", "backend", "precision", "scenario", "k", "± stderr",
                                                 "R²", "networks"],
            [_series(k) + [f"{f.k:.3f}", _g(f.k_stderr, 2), f"{f.r2:.4f}", str(f.n)] for k, f in fitted.items()],
            "Least squares on log p50 vs log MACs over the preset/compound networks of each series. k = 1: latency "
            "grows like FLOPS; k < 1: larger networks use this hardware better."))
    steps = [(mode, s) for mode in ("preset", "compound", "width", "depth", "resolution")
             for s in phi_steps(points, mode)]
    if steps:
        out.append(TableData(
            "Scaling: each step of φ against the 2× the formula promises",
            ["hardware", "backend", "precision", "scenario", "mode", "step", "MACs ×", "p50 ×", "p50 × / 2^Δφ"],
            [_series(s.key) + [mode, f"{s.from_network} → {s.to_network}", f"{s.flops_ratio:.2f}",
                               f"{s.latency_ratio:.2f}", f"{s.vs_promise:.2f}"] for mode, s in steps],
            "MACs × is the measured networks' own FLOPS ratio (the published B-models do not follow 2^φ "
            "exactly); p50 × / 2^Δφ = 1 means this step cost exactly what the formula promises."))
    modes = single_vs_compound(points)
    if modes:
        out.append(TableData(
            "Scaling: one dimension vs compound at the same φ (same FLOPS budget)",
            ["hardware", "backend", "precision", "scenario", "φ", "mode", "MACs / compound", "p50 / compound"],
            [_series(m.key) + [f"{m.phi:g}", m.mode, f"{m.macs_ratio:.2f}", f"{m.latency_ratio:.2f}"] for m in modes],
            "The paper's Figure 3/4 comparison on the cost axis: > 1 means this single-dimension network is slower "
            "than the compound one of the same φ."))
    return out


def _cost_text(cost: Cost, p: Point) -> str:
    interval = cost.interval(p)
    return _g(cost.value(p), 4) if interval is None else with_interval(cost.value(p), interval)


def pareto_tables(points: list[Point], costs: list[Cost] | None = None) -> list[TableData]:
    """The front per (hardware, backend, precision) and across all, for each cost."""
    out = []
    for cost in costs or list(COSTS.values()):
        across = fronts_by(points, cost, lambda p: ("all",))
        if not across.get(("all",)):
            continue
        per_group = fronts_by(points, cost, lambda p: (p.hardware, p.backend, p.precision))
        rows = []
        for group, front_points in [(("all machines, backends, precisions",), across[("all",)])] + list(per_group.items()):
            for p in front_points:
                rows.append([" · ".join(group), p.network, p.backend, p.precision, f"b{p.batch}",
                             p.accuracy.label(), p.accuracy.row.source, _cost_text(cost, p)])
        out.append(TableData(
            f"Pareto front: top-1 vs {cost.label}",
            ["group", "network", "backend", "precision", "batch", "top-1", "accuracy source", cost.label], rows,
            "Options no other option beats on both accuracy and this cost. `*`: fp32 reference accuracy, this "
            "precision unmeasured."))
    return out
