"""Statistics built from raw samples (kept, so any statistic can be recomputed later)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

PERCENTILES = (50, 90, 95, 99)

#: Time blocks a run's samples are cut into wherever its uncertainty is judged (compare, intervals, the
#: offline batch rule).
BLOCKS_PER_RUN = 10


def time_blocks(samples: list[float], blocks: int = BLOCKS_PER_RUN) -> list[np.ndarray]:
    """Consecutive time blocks of one run's samples, at least 3 samples each (so fewer blocks for short runs).

    Samples inside a run are not independent (the machine drifts, other tenants come and go), so
    statistics over raw samples overstate certainty: a few thousand samples make any 1 % wobble
    "significant". Blocks are the unit of replication instead.
    """
    values = np.asarray(samples, dtype=float)
    count = max(1, min(blocks, len(values) // 3))
    return list(np.array_split(values, count))


def block_medians(samples: list[float], blocks: int = BLOCKS_PER_RUN) -> list[float]:
    """Medians of consecutive time blocks of one run's samples (see :func:`time_blocks`)."""
    return [float(np.median(chunk)) for chunk in time_blocks(samples, blocks)]


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


def throughput_ratio(base_blocks: list[float], base_batch: int, new_blocks: list[float], new_batch: int, *,
                     resamples: int = 2000, confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Throughput at ``new_batch`` over throughput at ``base_batch``, with a percentile-bootstrap interval.

    Each side is one run's block medians of per-iteration latency (see :func:`block_medians`); blocks are
    resampled within each side, and throughput is batch / median latency. Seeded, so the same samples
    always give the same interval (a resumed sweep re-derives the same decision). Returns (ratio, low, high).
    """
    rng = np.random.default_rng(seed)
    base, new = np.asarray(base_blocks, dtype=float), np.asarray(new_blocks, dtype=float)

    def medians(blocks: np.ndarray) -> np.ndarray:
        return np.median(blocks[rng.integers(0, len(blocks), size=(resamples, len(blocks)))], axis=1)

    ratios = new_batch * medians(base) / (base_batch * medians(new))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    ratio = new_batch * float(np.median(base)) / (base_batch * float(np.median(new)))
    return ratio, float(low), float(high)
