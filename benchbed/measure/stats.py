"""Statistics built from raw samples (kept, so any statistic can be recomputed later)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class LatencyStats:
    """Per-iteration latency in milliseconds, and throughput in images per second."""

    count: int
    mean_ms: float
    std_ms: float
    cov: float  # std / mean
    min_ms: float
    max_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    throughput_ips: float  # batch x iterations / summed latency
    batch: int

    @classmethod
    def from_samples(cls, samples_ms: list[float], batch: int) -> "LatencyStats":
        if not samples_ms:
            raise ValueError("no samples")
        values = np.asarray(samples_ms, dtype=np.float64)
        mean = float(values.mean())
        std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        p50, p90, p95, p99 = (float(v) for v in np.percentile(values, PERCENTILES))
        total_s = float(values.sum()) / 1e3
        return cls(
            count=len(values), mean_ms=mean, std_ms=std, cov=std / mean if mean > 0 else 0.0,
            min_ms=float(values.min()), max_ms=float(values.max()), p50_ms=p50, p90_ms=p90, p95_ms=p95,
            p99_ms=p99, throughput_ips=batch * len(values) / total_s if total_s > 0 else float("inf"), batch=batch,
        )

    def to_dict(self) -> dict:
        return asdict(self)
