"""How sure a cell's p50 (and throughput) is: intervals over the run's time blocks.

Why blocks: samples within a run are autocorrelated (thermal state, caches, a neighbour's burst), so
order statistics of the raw samples give intervals far too narrow to be believed. Each time block's
median is close to independent of the others, so the blocks are the replicates.

Why the binomial order-statistic interval and not a bootstrap: with the ~10 blocks a run has, a
bootstrap of the median is a discrete, notoriously under-covering distribution, and it needs a
seed. The order-statistic interval is exact for any continuous distribution (the median lies below
each block's value with probability 1/2, so the count below it is Binomial(n, 1/2)), needs no seed,
and its coverage is at least the asked confidence. Its price is honesty: with fewer than 6 blocks no
95 % interval exists, and the answer is None ("n/a"), not a made-up narrow one.
"""

from __future__ import annotations

import math

import numpy as np

from benchbed.measure.stats import BLOCKS_PER_RUN, block_medians, time_blocks

Interval = tuple[float, float]


def order_statistic_rank(n: int, confidence: float) -> int | None:
    """The largest k with P(x_(k) <= median <= x_(n-k+1)) >= confidence over n values; None if none.

    The coverage is 1 - 2·P(Binomial(n, 1/2) <= k - 1).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    best, below = None, 0.0
    for k in range(1, n // 2 + 1):
        below += math.comb(n, k - 1) / 2.0 ** n  # P(Binomial <= k - 1)
        if 1 - 2 * below < confidence:
            break
        best = k
    return best


def median_of_values_interval(values: list[float], confidence: float = 0.95) -> Interval | None:
    """The distribution-free interval of the median of independent ``values``; None if too few."""
    ordered = np.sort(np.asarray(values, dtype=float))
    k = order_statistic_rank(len(ordered), confidence)
    if k is None:
        return None
    return float(ordered[k - 1]), float(ordered[len(ordered) - k])


def median_interval(samples_ms: list[float], confidence: float = 0.95,
                    blocks: int = BLOCKS_PER_RUN) -> Interval | None:
    """The interval of a run's median latency, over its time blocks' medians (in time order).

    None when the run has too few samples for enough blocks (at 95 %: fewer than 18 samples, 6 blocks).
    """
    if len(samples_ms) == 0:
        return None
    return median_of_values_interval(block_medians(samples_ms, blocks), confidence)


#: Fewer time blocks than this give no interval (as the median's needs 6 at 95 %): "n/a", not a guess.
MIN_RATE_BLOCKS = 6


def throughput_interval(samples_ms: list[float], batch: int, confidence: float = 0.95,
                        blocks: int = BLOCKS_PER_RUN) -> Interval | None:
    """The interval of a run's throughput (images/s), for the very figure the run reports.

    The figure is a ratio, all images over all time (batch × iterations / summed latency), not a median,
    so its interval is the ratio estimator's over the time blocks: the time per iteration r = T / N has the
    standard error sqrt(Σ (t_i − r·n_i)² / (k (k−1) n̄²)) over k blocks of n_i iterations taking t_i, and
    Student's t with k − 1 degrees of freedom gives the interval of r; inverted, it is the throughput's.
    It always contains the figure (a median-of-blocks interval did not, on 2 of 121 cells).
    """
    from scipy import stats as scipy_stats

    chunks = [chunk for chunk in time_blocks(samples_ms, blocks) if len(chunk)] if len(samples_ms) else []
    if len(chunks) < MIN_RATE_BLOCKS:
        return None
    counts = np.array([len(chunk) for chunk in chunks], dtype=float)
    times = np.array([float(chunk.sum()) for chunk in chunks])
    per_iteration = times.sum() / counts.sum()
    if not per_iteration > 0:
        return None
    k = len(chunks)
    spread = math.sqrt(float(np.sum((times - per_iteration * counts) ** 2)) / (k * (k - 1) * counts.mean() ** 2))
    half = float(scipy_stats.t.ppf(0.5 + confidence / 2, k - 1)) * spread
    low_time, high_time = per_iteration - half, per_iteration + half
    if not low_time > 0:  # blocks so uneven that no upper bound exists: "n/a", never an infinite one
        return None
    return (batch * 1e3 / high_time, batch * 1e3 / low_time)


def overlap(a: Interval, b: Interval) -> bool:
    """Whether two intervals share any value."""
    return a[0] <= b[1] and b[0] <= a[1]
