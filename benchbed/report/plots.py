"""The report's figures (matplotlib, Agg): each function draws one figure and returns it, or None when
the results hold nothing to draw. :func:`save` writes PNG and SVG and returns the PNG bytes for embedding.

Latency and throughput are drawn with error bars (each cell's 95 % interval, as the tables show it), so
two points a reader might think apart are seen to overlap; a cell without an interval has no bar.
"""

from __future__ import annotations

import io
from pathlib import Path

from benchbed.accuracy.tables import published_rows
from benchbed.analysis.pareto import Cost, front
from benchbed.analysis.points import Point
from benchbed.analysis.scaling_fit import fits, latency_series
from benchbed.measure.intervals import Interval


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _series_label(key: tuple) -> str:
    hardware, backend, precision, scenario, batch = key
    return f"{backend} {precision} {scenario} b{batch} [{hardware}]"


def _plain_log(ax, axis: str = "y") -> None:
    """Log scale with plain tick labels (3, 10, 30 rather than 3×10⁰)."""
    from matplotlib.ticker import FuncFormatter

    getattr(ax, f"set_{axis}scale")("log")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def errors(values: list[float], intervals: list[Interval | None]):
    """matplotlib's 2×N error array (below, above) from intervals; NaN (no bar) where there is none.

    A point outside its own interval (possible: the interval is over block medians) gets a zero bar on
    that side rather than a negative one matplotlib would refuse.
    """
    import numpy as np

    out = np.full((2, len(values)), np.nan)
    for i, (value, interval) in enumerate(zip(values, intervals)):
        if interval is not None:
            out[:, i] = (max(0.0, value - interval[0]), max(0.0, interval[1] - value))
    return out


def _group_label(p: Point) -> str:
    return f"{p.backend} {p.precision} [{p.hardware}]"


def pareto(points: list[Point], cost: Cost):
    """Accuracy against one cost: every VALID point with an accuracy, the front across all as a line.

    Hollow markers: fp16/int8 cells shown with the fp32 reference accuracy (their own is unmeasured).
    """
    usable = [p for p in points if p.ok and p.accuracy is not None and cost.value(p) is not None]
    if not usable:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for label in sorted({_group_label(p) for p in usable}):
        group = [p for p in usable if _group_label(p) == label]
        for measured in (True, False):
            sub = [p for p in group if p.accuracy.precision_measured is measured]
            if sub:
                xs, ys = [cost.value(p) for p in sub], [p.accuracy.top1 for p in sub]
                dots = ax.scatter(xs, ys, s=28,
                                  label=label if measured or not any(q.accuracy.precision_measured for q in group)
                                  else None,
                                  facecolors=None if measured else "none",
                                  edgecolors=None if measured else "tab:gray")
                ax.errorbar(xs, ys, xerr=errors(xs, [cost.interval(p) for p in sub]), fmt="none", capsize=2, lw=0.8,
                            ecolor=dots.get_facecolor()[0] if measured else "tab:gray")
    best = front(usable, cost)
    ax.plot([cost.value(p) for p in best], [p.accuracy.top1 for p in best], color="black", lw=1, ls="--",
            label="Pareto front (all)")
    for p in best:
        ax.annotate(p.network.replace("efficientnet_", ""), (cost.value(p), p.accuracy.top1), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    if cost.name in ("p50", "p99", "cost", "energy"):
        _plain_log(ax, "x")
    bars = any(cost.interval(p) is not None for p in usable)
    ax.set_xlabel(cost.label + ("  (higher is better)" if not cost.lower_is_better else "") +
                  (", bars: 95 % interval" if bars else ""))
    ax.set_ylabel("ImageNet top-1 (%)")
    ax.set_title(f"Accuracy vs {cost.label}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def scaling(points: list[Point]):
    """log-log p50 against MACs per series, with the fitted latency ∝ MACs^k."""
    series = latency_series(points)
    fitted = fits(points)
    if not series:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for key, pts in series.items():
        values = [p.p50_ms for p in pts]
        line = ax.errorbar([p.macs for p in pts], values, yerr=errors(values, [p.p50_interval for p in pts]), fmt="o",
                           capsize=2, label=_series_label(key))[0]
        fit = fitted.get(key)
        if fit:
            xs = sorted(p.macs for p in pts if p.mode in ("preset", "compound"))
            ax.plot(xs, [fit.predict_ms(x) for x in xs], color=line.get_color(), lw=1,
                    label=f"fit k={fit.k:.2f} (R²={fit.r2:.3f})")
    ax.set_xscale("log")
    _plain_log(ax, "y")
    ax.set_xlabel("MACs per image")
    ax.set_ylabel("p50 latency (ms), bars: 95 % interval")
    ax.set_title("Latency vs FLOPS (log-log): latency ∝ MACs^k")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def per_phi(points: list[Point], metric: str):
    """A metric (p50 ms or peak memory MB) against φ, one line per backend/precision/hardware, batch 1."""
    chosen = [p for p in points if p.ok and p.phi is not None and p.batch == 1 and p.scenario == "single-stream"
              and (p.p50_ms if metric == "p50" else p.memory_bytes) is not None]
    if not chosen:
        return None
    value = (lambda p: p.p50_ms) if metric == "p50" else (lambda p: p.memory_bytes / 2**20)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for label in sorted({f"{_group_label(p)} {p.mode}" for p in chosen}):
        pts = sorted((p for p in chosen if f"{_group_label(p)} {p.mode}" == label), key=lambda p: p.phi)
        values = [value(p) for p in pts]
        if metric == "p50":
            ax.errorbar([p.phi for p in pts], values, yerr=errors(values, [p.p50_interval for p in pts]), marker="o",
                        capsize=2, label=label)
        else:  # one reading per cell: no interval to draw
            ax.plot([p.phi for p in pts], values, marker="o", label=label)
    if metric == "p50":
        _plain_log(ax, "y")
    ax.set_xlabel("φ")
    ax.set_ylabel("p50 latency (ms), batch 1, bars: 95 % interval" if metric == "p50" else "peak memory (MB)")
    ax.set_title("Latency per φ" if metric == "p50" else "Memory per φ")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def throughput_by_batch(points: list[Point]):
    """img/s against batch: colour by network (in MACs order), line style by backend/precision/hardware."""
    chosen = [p for p in points if p.ok and p.scenario == "offline" and p.throughput_ips]
    if not chosen:
        return None
    plt = _plt()
    networks = sorted({p.network for p in chosen}, key=lambda n: min(p.macs or 0 for p in chosen if p.network == n))
    groups = sorted({_group_label(p) for p in chosen})
    colours = plt.get_cmap("viridis")
    styles = ["-", "--", ":", "-."]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for i, network in enumerate(networks):
        for j, group in enumerate(groups):
            pts = sorted((p for p in chosen if p.network == network and _group_label(p) == group), key=lambda p: p.batch)
            if pts:
                values = [p.throughput_ips for p in pts]
                ax.errorbar([p.batch for p in pts], values, yerr=errors(values, [p.throughput_interval for p in pts]),
                            marker="o", ms=4, capsize=2, color=colours(i / max(1, len(networks) - 1)),
                            ls=styles[j % len(styles)], label=f"{network} {group}")
    ax.set_xscale("log", base=2)
    _plain_log(ax, "y")
    ax.set_xlabel("batch")
    ax.set_ylabel("throughput (img/s), bars: 95 % interval")
    ax.set_title("Offline throughput vs batch")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.24))  # below: many series
    fig.tight_layout()
    return fig


def published_accuracy_vs_flops():
    """The paper's Table 2: EfficientNets against the comparison ConvNets (top-1 vs GFLOPS, log x)."""
    rows = [r for r in published_rows() if r.source == "paper_v5" and r.gflops]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    eff = sorted((r for r in rows if r.network), key=lambda r: r.gflops)
    other = [r for r in rows if not r.network]
    ax.plot([r.gflops for r in eff], [r.top1 for r in eff], marker="o", color="tab:red", label="EfficientNet B0-B7")
    ax.scatter([r.gflops for r in other], [r.top1 for r in other], color="tab:blue", label="comparison ConvNets")
    for r in eff + other:
        ax.annotate(r.model.replace("EfficientNet-", ""), (r.gflops, r.top1), fontsize=7, xytext=(3, -8),
                    textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("published GFLOPS (billions of multiply-adds)")
    ax.set_ylabel("ImageNet top-1 (%)")
    ax.set_title("Published: EfficientNet paper v5, Table 2")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save(fig, folder: Path, stem: str) -> bytes:
    """Write ``stem.png`` and ``stem.svg`` into ``folder``; return the PNG bytes."""
    plt = _plt()
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")  # keeps legends placed outside the axes
    (folder / f"{stem}.png").write_bytes(buffer.getvalue())
    fig.savefig(folder / f"{stem}.svg", format="svg", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
