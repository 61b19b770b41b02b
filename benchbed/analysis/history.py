"""A cell's trend across the runs in the store, with step changes found by binary segmentation.

A split is accepted only where both segments hold at least ``min_size`` runs, the pooled raw samples
differ (Mann-Whitney p < alpha) and the medians of the per-run medians differ by the minimum effect:
a step that lasts, not a single spike (a spike cannot fill a segment of three runs by itself).
Where every run of a cell measured the machine speed index, its latency (or throughput) is taken
relative to it first (``normalize="auto"``, analysis.normalize): a slower machine is not a step.
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field

import numpy as np

from benchbed.analysis.normalize import check_normalize, mixed_workloads
from benchbed.core.cell import cell_key
from benchbed.core.errors import ConfigError, UnknownChoiceError
from benchbed.core.result import memory_bytes
from benchbed.sweep.store import Store

SPARK = "▁▂▃▄▅▆▇█"
#: How each metric is read from a result document (memory as every analysis defines it: core.result).
METRICS = {"p50": lambda doc: doc["stats"]["p50_ms"], "p99": lambda doc: doc["stats"]["p99_ms"],
           "throughput": lambda doc: doc["stats"]["throughput_ips"], "memory": memory_bytes}
#: How each metric follows the machine's speed (a time with the index, a rate against it); memory does not.
SPEED_EXPONENT = {"p50": 1, "p99": 1, "throughput": -1}


@dataclass
class Point:
    run_id: str
    created: float
    value: float
    samples: list[float]
    speed_index: dict | None = None  # the run's machine speed index reading, where it measured one
    raw_value: float | None = None  # the measured value, where ``value`` is normalized


@dataclass
class Trend:
    key: str
    cell: dict
    points: list[Point] = field(default_factory=list)
    change_points: list[int] = field(default_factory=list)  # index of the first run of each new segment
    normalized: bool = False  # values relative to the machine speed index (at the trend's median index)
    note: str = ""  # how the values were normalized, or why not

    def to_dict(self) -> dict:
        raw = {"raw_values": [p.raw_value for p in self.points]} if self.normalized else {}
        return {"key": self.key, "cell": self.cell, "values": [p.value for p in self.points], **raw,
                "normalized": self.normalized, "note": self.note,
                "runs": [p.run_id for p in self.points], "change_points": [
                    {"index": i, "run_id": self.points[i].run_id,
                     "before": float(np.median([p.value for p in self.points[self._segment_start(i):i]])),
                     "after": float(np.median([p.value for p in self.points[i:self._segment_end(i)]]))}
                    for i in self.change_points]}

    def _segment_start(self, index: int) -> int:
        return max([0] + [c for c in self.change_points if c < index])

    def _segment_end(self, index: int) -> int:
        return min([len(self.points)] + [c for c in self.change_points if c > index])


def sparkline(values: list[float], marks: list[int] = ()) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low or 1.0
    chars = [SPARK[min(len(SPARK) - 1, int((v - low) / span * (len(SPARK) - 1) + 0.5))] for v in values]
    for index in sorted(marks, reverse=True):
        chars.insert(index, "|")
    return "".join(chars)


def change_points(points: list[Point], min_size: int = 3, alpha: float = 0.01, min_effect: float = 0.05) -> list[int]:
    """Indices where a lasting step change starts (binary segmentation)."""
    from scipy.stats import mannwhitneyu

    found: list[int] = []

    def segment(lo: int, hi: int) -> None:
        values = [p.value for p in points]

        def cost(a: int, b: int) -> float:  # L1 deviation from the segment's median
            seg = values[a:b]
            median = float(np.median(seg))
            return float(sum(abs(v - median) for v in seg))

        best, best_cost = None, cost(lo, hi)
        for k in range(lo + min_size, hi - min_size + 1):
            split = cost(lo, k) + cost(k, hi)
            if split < best_cost:
                best, best_cost = k, split
        if best is None:
            return
        left, right = float(np.median(values[lo:best])), float(np.median(values[best:hi]))
        best_gap = abs(right / left - 1) if left > 0 else 0.0
        if best_gap < min_effect:
            return
        left_samples = [s for p in points[lo:best] for s in p.samples]
        right_samples = [s for p in points[best:hi] for s in p.samples]
        # without raw samples (memory: one reading per run, and nearly deterministic) the effect decides
        if left_samples and right_samples and \
                mannwhitneyu(left_samples, right_samples, alternative="two-sided").pvalue >= alpha:
            return
        found.append(best)
        segment(lo, best)
        segment(best, hi)

    segment(0, len(points))
    return sorted(found)


def check_trend_options(metric: str, min_effect: float, normalize: str = "auto") -> None:
    """A known metric, a minimum effect that is a finite fraction in [0, 1) (-1 or nan matched anything), and a
    known normalization."""
    check_normalize(normalize)
    if metric not in METRICS:
        raise UnknownChoiceError("metric", metric, METRICS)
    if not (math.isfinite(min_effect) and 0 <= min_effect < 1):
        raise ConfigError("min_effect", f"must be a fraction in [0, 1), e.g. 0.05, got {min_effect:g}")


def trends(store: Store, metric: str = "p50", filters: dict | None = None, min_size: int = 3,
           min_effect: float = 0.05, normalize: str = "auto") -> list[Trend]:
    """Every cell matching ``filters`` across all runs, oldest first, with its change points."""
    check_trend_options(metric, min_effect, normalize)
    value_of = METRICS[metric]
    by_key: dict[str, Trend] = {}
    for run in store.iter_runs():
        for doc in store.results(run["run_id"]):
            cell = doc["cell"]
            if doc["status"] != "ok" or any(str(cell.get(k)) != str(v) for k, v in (filters or {}).items()):
                continue
            raw = doc.get("samples_ms", [])
            samples = raw if metric in ("p50", "p99") else \
                [int(cell["batch"]) * 1e3 / v for v in raw if v > 0] if metric == "throughput" else []
            key = cell_key(cell)
            by_key.setdefault(key, Trend(key, cell)).points.append(
                Point(run["run_id"], run["created"], float(value_of(doc)), samples, doc.get("speed_index")))
    for trend in by_key.values():
        if normalize == "auto":
            normalize_trend(trend, metric)
        trend.change_points = change_points(trend.points, min_size=min_size, min_effect=min_effect)
    return [by_key[k] for k in sorted(by_key)]


def normalize_trend(trend: Trend, metric: str) -> None:
    """Rescale a time metric's values and samples to the trend's median machine speed index, where every run
    measured a comparable one; otherwise leave it raw and say why. Quiet where no run measured one (results
    from before it existed read as they always did) and for memory, which is not a speed."""
    readings = [p.speed_index for p in trend.points]
    if metric not in SPEED_EXPONENT or all(r is None for r in readings):
        return
    lacking = sum(r is None for r in readings)
    why = f"{lacking} of {len(readings)} runs measured no machine speed index" if lacking else mixed_workloads(readings)
    if why:
        trend.note = f"not normalized: {why}"
        return
    indices = [float(r["index_ms"]) for r in readings]
    reference = float(np.median(indices))
    for point, index in zip(trend.points, indices):
        factor = (reference / index) ** SPEED_EXPONENT[metric]
        point.raw_value, point.value = point.value, point.value * factor
        point.samples = [s * factor for s in point.samples]
    trend.normalized = True
    trend.note = f"normalized by the machine speed index (every run measured it), at its median {reference:.3g} ms"


def plot_trends(found: list[Trend], path: str, metric: str = "p50", limit: int = 12) -> str:
    """One panel per cell: the metric per run, step changes as vertical lines, segment medians as steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = found[:limit]
    fig, axes = plt.subplots(len(shown), 1, figsize=(8, 2.2 * len(shown)), squeeze=False)
    for ax, trend in zip(axes[:, 0], shown):
        values = [p.value for p in trend.points]
        ax.plot(range(len(values)), values, marker="o", lw=1)
        bounds = [0, *trend.change_points, len(values)]
        for lo, hi in zip(bounds, bounds[1:]):
            level = float(np.median(values[lo:hi]))
            ax.hlines(level, lo - 0.3, hi - 0.7, colors="tab:orange", lw=2)
        for index in trend.change_points:
            ax.axvline(index - 0.5, color="tab:red", ls="--", lw=1)
        ax.set_title(trend.key + (" (normalized by the machine speed index)" if trend.normalized else ""), fontsize=8)
        ax.set_ylabel({"p50": "p50 ms", "p99": "p99 ms", "throughput": "img/s", "memory": "peak RSS bytes"}[metric])
    axes[-1, 0].set_xlabel("run (oldest first)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
