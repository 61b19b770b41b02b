"""Pareto fronts of accuracy against a cost: the options no other option beats on both axes.

Costs where lower is better (latency, memory, energy, $ per image) and throughput (higher is better)
are both handled by :data:`COSTS`. Only VALID cells with an accuracy take part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from benchbed.analysis.points import Point
from benchbed.measure.intervals import Interval


@dataclass(frozen=True)
class Cost:
    name: str
    label: str
    lower_is_better: bool
    value: Callable[[Point], float | None]
    #: the value's 95 % interval where one is known (tables and plots show it)
    interval: Callable[[Point], Interval | None] = lambda p: None


def _throughput_interval(p: Point) -> Interval | None:
    """Only where the cost is the measured throughput (not MLPerf Server's searched QPS)."""
    return p.throughput_interval if p.sustained_ips == p.throughput_ips else None


COSTS: dict[str, Cost] = {c.name: c for c in (
    Cost("p50", "p50 latency (ms)", True, lambda p: p.p50_ms, lambda p: p.p50_interval),
    Cost("p99", "p99 latency (ms)", True, lambda p: p.p99_ms),
    Cost("throughput", "throughput (img/s)", False, lambda p: p.sustained_ips, _throughput_interval),
    Cost("memory", "peak memory (MB)", True, lambda p: None if p.memory_bytes is None else p.memory_bytes / 2**20),
    Cost("energy", "energy per image (J)", True, lambda p: p.energy_j_per_image),
)}


def per_million_images(price_per_hour: float, images_per_second: float) -> float:
    """$ per million images for a device kept busy at ``images_per_second``."""
    return price_per_hour / 3600.0 / images_per_second * 1e6


def cost_per_image(prices_per_hour: dict[str, float]) -> Cost:
    """$ per million images at full load, from a price per hardware-hour (a procure price file)."""
    def value(p: Point) -> float | None:
        price = prices_per_hour.get(p.hardware)
        return None if price is None or not p.sustained_ips else per_million_images(price, p.sustained_ips)

    return Cost("cost", "$ per million images", True, value)


def front(points: list[Point], cost: Cost) -> list[Point]:
    """The Pareto-optimal points (max top-1, best cost), sorted by cost; ties on both axes all kept.

    Only accuracy measured at the cell's own precision competes: an int8 cell shown with the fp32
    reference top-1 would otherwise push the real fp32 cell off the front.
    """
    usable = [(p, cost.value(p)) for p in points if p.ok and p.accuracy is not None and p.accuracy.precision_measured]
    usable = [(p, v) for p, v in usable if v is not None]
    sign = 1.0 if cost.lower_is_better else -1.0

    def dominated(a: Point, va: float) -> bool:
        return any(sign * vb <= sign * va and b.accuracy.top1 >= a.accuracy.top1
                   and (sign * vb < sign * va or b.accuracy.top1 > a.accuracy.top1) for b, vb in usable)

    return [p for p, v in sorted(usable, key=lambda pv: sign * pv[1]) if not dominated(p, v)]


def fronts_by(points: list[Point], cost: Cost, key: Callable[[Point], tuple]) -> dict[tuple, list[Point]]:
    """One front per group (e.g. per machine, backend and precision)."""
    groups: dict[tuple, list[Point]] = {}
    for p in points:
        groups.setdefault(key(p), []).append(p)
    return {k: front(v, cost) for k, v in sorted(groups.items())}
