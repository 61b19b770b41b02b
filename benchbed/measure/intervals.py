"""How sure a cell's p50 (and throughput) is: a distribution-free interval over the run's time blocks.

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


def throughput_interval(samples_ms: list[float], batch: int, confidence: float = 0.95,
                        blocks: int = BLOCKS_PER_RUN) -> Interval | None:
    """The interval of a run's throughput (images/s), over its time blocks' own throughput.

    Each block's throughput is batch × iterations / its summed latency, as the run's own figure is.
    """
    if len(samples_ms) == 0:
        return None
    rates = [batch * len(chunk) * 1e3 / float(chunk.sum()) for chunk in time_blocks(samples_ms, blocks)
             if len(chunk) and chunk.sum() > 0]
    return median_of_values_interval(rates, confidence)


def overlap(a: Interval, b: Interval) -> bool:
    """Whether two intervals share any value."""
    return a[0] <= b[1] and b[0] <= a[1]
