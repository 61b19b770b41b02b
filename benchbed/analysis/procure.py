"""``benchbed procure``: which hardware, how many, at what cost, for an accuracy floor and a latency SLA.

Every measured option (hardware × network × backend × precision × batch) is either ranked, with the
devices needed for the target load, $/month, $ per million images, images per joule and its headroom
against the SLA, or excluded with every reason that excludes it. When nothing qualifies the answer
says so and names the closest options, instead of an empty table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from benchbed.analysis.pareto import per_million_images
from benchbed.analysis.points import Point
from benchbed.analysis.prices import HOURS_PER_MONTH, PriceFile
from benchbed.core.errors import BenchbedError, ConfigError

if TYPE_CHECKING:
    from benchbed.accuracy.lookup import AccuracyBook


@dataclass(frozen=True)
class Constraints:
    min_top1: float | None = None
    sla_ms: float | None = None
    percentile: float = 99.0
    target_qps: float | None = None
    precisions: tuple[str, ...] | None = None  # None: any
    #: count fp16/int8 cells whose accuracy is the fp32 reference (unmeasured at that precision)
    allow_reference_accuracy: bool = False

    def __post_init__(self) -> None:
        from benchbed.accuracy.rows import PRECISIONS

        if not 0 < self.percentile <= 100:
            raise ConfigError("percentile", f"must be in (0, 100], got {self.percentile:g}")
        if self.target_qps is not None and not (math.isfinite(self.target_qps) and self.target_qps > 0):
            raise ConfigError("target_qps", f"must be > 0, got {self.target_qps:g}")
        if self.sla_ms is not None and not (math.isfinite(self.sla_ms) and self.sla_ms > 0):
            raise ConfigError("sla_ms", f"must be > 0 ms, got {self.sla_ms:g}")
        if self.min_top1 is not None and not 0 <= self.min_top1 <= 100:
            raise ConfigError("min_top1", f"is a percentage in [0, 100], got {self.min_top1:g}")
        for name in self.precisions or ():
            if name not in PRECISIONS:
                raise ConfigError("precisions", f"has unknown precision {name!r}; choose from {', '.join(PRECISIONS)}")

    def describe(self) -> str:
        parts = []
        if self.min_top1 is not None:
            parts.append(f"top-1 >= {self.min_top1:g} %")
        if self.sla_ms is not None:
            parts.append(f"p{self.percentile:g} <= {self.sla_ms:g} ms")
        if self.target_qps is not None:
            parts.append(f"{self.target_qps:g} images/s")
        if self.precisions:
            parts.append("precision " + "/".join(self.precisions))
        return ", ".join(parts) or "no constraints"


@dataclass
class Option:
    point: Point
    latency_ms: float | None
    throughput_ips: float | None
    price_per_hour: float | None = None
    price_basis: str | None = None
    devices: int | None = None
    monthly: float | None = None
    per_million: float | None = None
    images_per_joule: float | None = None
    joule_basis: str | None = None
    headroom: float | None = None  # 1 - latency / SLA
    reasons: list[str] = field(default_factory=list)
    shortfall: float = 0.0  # how far from meeting the numeric constraints (for "closest")
    hard: int = 0  # reasons no amount of speed or accuracy fixes (failed, INVALID, no price, ...)

    @property
    def qualifies(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict:
        p = self.point
        return {"hardware": p.hardware, "network": p.network, "backend": p.backend, "precision": p.precision,
                "batch": p.batch, "scenario": p.scenario, "top1": None if p.accuracy is None else p.accuracy.top1,
                "accuracy": None if p.accuracy is None else p.accuracy.to_dict(), "latency_ms": self.latency_ms,
                "throughput_ips": self.throughput_ips, "price_per_hour": self.price_per_hour,
                "price_basis": self.price_basis, "devices": self.devices, "monthly": self.monthly,
                "per_million_images": self.per_million, "images_per_joule": self.images_per_joule,
                "joule_basis": self.joule_basis, "sla_headroom": self.headroom, "excluded_because": self.reasons}


@dataclass
class ProcureAnswer:
    constraints: Constraints
    currency: str
    ranked: list[Option]
    excluded: list[Option]
    unpriced_hardware: list[str]
    unused_prices: list[str]

    @property
    def closest(self) -> list[Option]:
        """Excluded options that miss only numeric constraints (accuracy floor, SLA), nearest first."""
        near = [o for o in self.excluded if o.hard == 0 and o.shortfall > 0]
        return sorted(near, key=lambda o: o.shortfall)[:3]

    def to_dict(self) -> dict:
        return {"constraints": self.constraints.__dict__, "currency": self.currency,
                "ranked": [o.to_dict() for o in self.ranked], "excluded": [o.to_dict() for o in self.excluded],
                "closest": [o.to_dict() for o in self.closest], "unpriced_hardware": self.unpriced_hardware,
                "unused_prices": self.unused_prices}


def evaluate(point: Point, prices: PriceFile, c: Constraints) -> Option:
    ok = point.status == "ok"
    latency = point.latency_ms(c.percentile) if ok else None
    throughput = point.sustained_ips if ok else None
    option = Option(point, latency, throughput)

    def hard(reason: str) -> None:
        option.reasons.append(reason)
        option.hard += 1

    if not ok:
        hard(f"cell failed: {point.doc.get('error', 'failed')}")
    elif point.validity != "VALID":
        hard("result INVALID: " + "; ".join((point.doc.get("validity") or {}).get("reasons") or []))
    elif throughput is None:
        hard("MLPerf Server found no load that met its SLA")
    if c.precisions and point.precision not in c.precisions:
        hard(f"precision {point.precision} not allowed")
    acc = point.accuracy
    if c.min_top1 is not None:
        if acc is None:
            hard("no accuracy for this network (not a published model; add a measured row with --accuracy)")
        elif not acc.precision_measured and not c.allow_reference_accuracy:
            hard(f"top-1 at {point.accuracy_precision} unmeasured (fp32 reference {acc.top1:g} %; "
                 "measure it or pass --allow-reference-accuracy)")
        elif acc.top1 < c.min_top1:
            option.reasons.append(f"top-1 {acc.top1:g} % < {c.min_top1:g} %")
            option.shortfall += (c.min_top1 - acc.top1) / c.min_top1
    if c.sla_ms is not None and ok:
        if latency is None:
            hard(f"p{c.percentile:g} latency unavailable (no raw samples stored)")
        else:
            option.headroom = 1.0 - latency / c.sla_ms
            if latency > c.sla_ms:
                option.reasons.append(f"p{c.percentile:g} {latency:.3g} ms > SLA {c.sla_ms:g} ms")
                option.shortfall += latency / c.sla_ms - 1.0
    price = prices.price_for(point.hardware)
    if price is None:
        hard(f"no price for hardware {point.hardware!r} in {prices.path.name}")
    elif throughput:
        option.price_per_hour, option.price_basis = price.per_hour, price.basis
        option.per_million = per_million_images(price.per_hour, throughput)
        if c.target_qps:
            option.devices = math.ceil(c.target_qps / throughput)
            option.monthly = option.devices * price.per_hour * HOURS_PER_MONTH
        else:
            option.monthly = price.per_hour * HOURS_PER_MONTH
        if point.energy_j_per_image:
            option.images_per_joule, option.joule_basis = 1.0 / point.energy_j_per_image, "measured"
        elif price.power_w:
            option.images_per_joule, option.joule_basis = throughput / price.power_w, "rated power"
    return option


def _rank_key(o: Option, c: Constraints) -> tuple:
    cost = o.monthly if c.target_qps else o.per_million
    return (cost if cost is not None else math.inf, o.per_million or math.inf, o.latency_ms or math.inf)


def latest_per_cell(runs: list[tuple[dict, list[dict]]]) -> list[tuple[dict, dict]]:
    """(doc, environment) pairs keeping, for a cell measured in several runs, only the newest run's result:
    picking the best of repeated runs would be an optimistic answer."""
    from benchbed.analysis.points import accuracy_precision
    from benchbed.analysis.sources import doc_environment
    from benchbed.core.cell import cell_key

    newest: dict[tuple, tuple[float, dict, dict]] = {}
    for run, docs in runs:
        for doc in docs:
            env = doc_environment(doc, run)
            key = (cell_key(doc["cell"]), env.get("fingerprint"), accuracy_precision(doc))
            if key not in newest or run.get("created", 0) >= newest[key][0]:
                newest[key] = (run.get("created", 0), doc, env)
    return [(doc, env) for _, doc, env in newest.values()]


def procure(points: list[Point], prices: PriceFile, constraints: Constraints) -> ProcureAnswer:
    options = [evaluate(p, prices, constraints) for p in points]
    best: dict[tuple, Option] = {}
    for o in options:  # one option per (hardware, network, backend, precision, batch): its best scenario
        # (``latest_per_cell`` has already kept only the newest run of each cell)
        p = o.point
        key = (p.hardware, p.network, p.backend, p.precision, p.accuracy_precision, p.batch)
        if key not in best or (o.qualifies, *(-x for x in _rank_key(o, constraints))) > \
                (best[key].qualifies, *(-x for x in _rank_key(best[key], constraints))):
            best[key] = o
    chosen = list(best.values())
    ranked = sorted((o for o in chosen if o.qualifies), key=lambda o: _rank_key(o, constraints))
    excluded = sorted((o for o in chosen if not o.qualifies), key=lambda o: (o.point.hardware, o.point.network,
                                                                              o.point.backend, o.point.precision,
                                                                              o.point.batch))
    hardware = sorted({p.hardware for p in points})
    unpriced = [h for h in hardware if prices.price_for(h) is None]
    unused = [h.name for h in prices.hardware if not any(h.matches(x) for x in hardware)]
    return ProcureAnswer(constraints, prices.currency, ranked, excluded, unpriced, unused)


def load_points(refs: list[str], db: Path | None, book: AccuracyBook) -> list[Point]:
    """The points of every run ``refs`` name (run ids, results.json files, folders), newest run per cell."""
    from benchbed.analysis.points import to_points
    from benchbed.analysis.sources import load_side

    return to_points(latest_per_cell([run for ref in refs for run in load_side(ref, db).per_run]), book)


def check_priced(answer: ProcureAnswer, prices: PriceFile) -> None:
    """An answer from a price file that prices none of the results' hardware is a mistake, not an answer."""
    if not any(prices.price_for(h) for h in {o.point.hardware for o in answer.ranked + answer.excluded}):
        raise BenchbedError(f"{prices.path}: no priced hardware matches the results; results have "
                            f"{', '.join(repr(h) for h in answer.unpriced_hardware)}; the file names "
                            f"{', '.join(repr(h) for h in answer.unused_prices)}")
