"""Measured cells as flat points (hardware, network, backend, precision, batch + metrics + accuracy).

The one place that reads result documents for the Pareto, scaling, procurement and report analyses,
so they all name hardware, pick percentiles and attach accuracy the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from benchbed.accuracy.lookup import AccuracyBook, AccuracyMatch
from benchbed.core.result import device_memory_bytes, hardware_name
from benchbed.measure.intervals import Interval, median_interval, throughput_interval


def _own_samples(doc: dict, key: str, recomputed) -> list | None:
    """The samples of an ok cell whose stored ``stats[key]`` is ``recomputed(samples)``, else None.

    An interval is shown only beside the number it belongs to: MLPerf cells store LoadGen's figures
    (issue-to-completion), not their samples' own, so theirs would describe something else.
    """
    samples = doc.get("samples_ms") or []
    stored = (doc.get("stats") or {}).get(key)
    if doc.get("status") != "ok" or not samples or stored is None:
        return None
    return samples if math.isclose(recomputed(samples), float(stored), rel_tol=1e-9) else None


def p50_interval(doc: dict, confidence: float = 0.95) -> Interval | None:
    """The 95 % interval of a cell's stored p50 (:func:`benchbed.measure.intervals.median_interval`)."""
    samples = _own_samples(doc, "p50_ms", lambda s: float(np.median(s)))
    return None if samples is None else median_interval(samples, confidence)


def throughput_ips_interval(doc: dict, confidence: float = 0.95) -> Interval | None:
    """The 95 % interval of a cell's stored throughput (:func:`benchbed.measure.intervals.throughput_interval`)."""
    batch = int(doc["cell"]["batch"])

    def rate(samples: list) -> float:
        total = float(np.sum(samples))
        return batch * len(samples) * 1e3 / total if total > 0 else math.nan

    samples = _own_samples(doc, "throughput_ips", rate)
    return None if samples is None else throughput_interval(samples, batch, confidence)


def accuracy_precision(doc: dict) -> str:
    """The precision a cell's outputs were computed in: the artifact's, or lower where the backend computes
    an fp32 artifact in bf16/fp16 (OpenVINO inference_precision, torch autocast, TensorRT EP fp16)."""
    precision = doc["cell"]["precision"]
    compute = ((doc.get("backend") or {}).get("details") or {}).get("compute_precision")
    return compute if precision == "fp32" and compute in ("bf16", "fp16") else precision


#: What a reduced-precision cell's VALID rests on today: the parity check compares its outputs with fp32 on
#: seeded synthetic images, the same generator int8 calibrates on. That proves the engine computes the
#: artifact's function; it says nothing about whether the artifact keeps the classifier's answers on real
#: inputs (on a trained EfficientNet-Lite0 and real photographs, synthetic-calibrated int8 disagreed with fp32
#: on about two images in three), so such a cell is labelled, never just VALID.
ACCURACY_UNVERIFIED = "accuracy unverified (synthetic inputs)"


def accuracy_evidence(doc: dict) -> str | None:
    """The accuracy label of an ok cell computed below fp32 (None for an fp32 cell: it is the reference)."""
    if doc.get("status") != "ok" or accuracy_precision(doc) == "fp32":
        return None
    return ACCURACY_UNVERIFIED


@dataclass
class Point:
    """One measured cell with what the analyses need; ``doc`` keeps the raw result."""

    hardware: str
    network: str
    backend: str
    precision: str
    scenario: str
    batch: int
    phi: float | None
    mode: str | None
    macs: int | None
    params: int | None
    resolution: int | None
    status: str
    validity: str
    p50_ms: float | None = None
    p99_ms: float | None = None
    throughput_ips: float | None = None
    peak_rss_bytes: int | None = None
    device_memory_bytes: int | None = None
    energy_j_per_image: float | None = None
    accuracy: AccuracyMatch | None = None
    #: the precision accuracy is looked up at (the compute precision where lower than the artifact's)
    accuracy_precision: str = "fp32"
    doc: dict = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.validity == "VALID"

    def latency_ms(self, percentile: float) -> float | None:
        """Any latency percentile, from the raw samples when the stored statistics lack it."""
        stats = self.doc.get("stats") or {}
        key = f"p{percentile:g}_ms"
        if key in stats:
            return float(stats[key])
        samples = self.doc.get("samples_ms") or []
        return float(np.percentile(samples, percentile)) if samples else None

    @cached_property
    def p50_interval(self) -> Interval | None:
        return p50_interval(self.doc)

    @cached_property
    def throughput_interval(self) -> Interval | None:
        return throughput_ips_interval(self.doc)

    @property
    def sustained_ips(self) -> float | None:
        """Images/s this option can serve: MLPerf Server's highest VALID QPS under its SLA where it was
        searched (None when no load met it), else the measured throughput."""
        if self.scenario == "mlperf-server":
            search = (self.doc.get("loadgen") or {}).get("search")
            if search is not None:
                return search.get("best_qps") or None
        return self.throughput_ips

    @property
    def memory_bytes(self) -> int | None:
        """Device memory where the backend reports it (GPUs), else the worker's peak RSS (as core.result)."""
        return self.device_memory_bytes or self.peak_rss_bytes


def _energy_per_image(doc: dict) -> float | None:
    """Joules per image from the NVML tracker's total-energy difference (GPU cells), else None."""
    value = (doc.get("nvml") or {}).get("energy_per_image_mj")
    return float(value) / 1000.0 if value is not None else None


def to_point(doc: dict, environment: dict, book: AccuracyBook | None = None) -> Point:
    """One point (documents from results.json files were checked where they were read: sources.py)."""
    cell, info = doc["cell"], doc.get("network_info") or {}
    point = Point(hardware=hardware_name(doc, environment), network=cell["network"], backend=cell["backend"],
                  precision=cell["precision"], scenario=cell["scenario"], batch=int(cell["batch"]),
                  phi=info.get("phi"), mode=info.get("mode"), macs=info.get("macs"), params=info.get("params"),
                  resolution=info.get("resolution"), status=doc["status"],
                  validity=(doc.get("validity") or {}).get("status") or "FAILED", doc=doc)
    if doc["status"] == "ok":
        stats = doc["stats"]
        point.p50_ms, point.p99_ms, point.throughput_ips = stats["p50_ms"], stats["p99_ms"], stats["throughput_ips"]
        point.peak_rss_bytes = (doc.get("memory") or {}).get("peak_rss_bytes")
        point.device_memory_bytes = device_memory_bytes(doc)
        point.energy_j_per_image = _energy_per_image(doc)
    point.accuracy_precision = accuracy_precision(doc)
    if book is not None:
        point.accuracy = book.match(point.network, point.accuracy_precision)
    return point


def to_points(results: list[tuple[dict, dict]], book: AccuracyBook | None = None) -> list[Point]:
    """(result document, its environment) pairs, as :func:`benchbed.analysis.sources.load_side` gives them."""
    return [to_point(doc, env, book) for doc, env in results]
