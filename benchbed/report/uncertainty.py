"""How every table words a figure with its uncertainty: ``7.93 [7.81, 8.10]``, one style everywhere.

A point and its interval share one number of decimals (three significant digits of the point), so
the eye compares like with like; ``[n/a]`` says an interval could not honestly be computed rather
than leaving a bare number that looks as sure as the others.
"""

from __future__ import annotations

import math
from typing import Sequence

INTERVAL_LEGEND = (
    "Intervals: `7.93 [7.81, 8.10]` is a cell's p50 (or img/s) with its 95 % interval, distribution-free: "
    "binomial order statistics over the medians (img/s: the throughput) of the run's 10 consecutive time "
    "blocks, since samples within a run are not independent. `[n/a]`: no honest interval (fewer than 18 "
    "samples, or figures LoadGen computed rather than the stored samples' own). Ratios `1.04 [1.01, 1.07]` "
    "are variant / reference (compare: CURRENT / BASE) with their confidence interval.")


def decimals(value: float, digits: int = 3) -> int:
    """Decimals that show ``digits`` significant digits of ``value`` (none at 100 and above)."""
    if not value or not math.isfinite(value):
        return digits - 1
    return max(0, digits - 1 - math.floor(math.log10(abs(value))))


def with_interval(value: float | None, interval: Sequence[float] | None) -> str:
    """``7.93 [7.81, 8.10]``; ``7.93 [n/a]`` without an interval; ``-`` without a value."""
    if value is None:
        return "-"
    places = decimals(value)
    if interval is None:
        return f"{value:.{places}f} [n/a]"
    low, high = interval
    return f"{value:.{places}f} [{low:.{places}f}, {high:.{places}f}]"


def ratio_with_interval(ratio: float | None, low: float | None, high: float | None) -> str:
    """``1.04 [1.01, 1.07]`` (three decimals when the interval is narrower than 0.03)."""
    if ratio is None or not math.isfinite(ratio):
        return "n/a"
    if low is None or high is None:
        return f"{ratio:.2f} [n/a]"
    places = 3 if high - low < 0.03 else 2
    return f"{ratio:.{places}f} [{low:.{places}f}, {high:.{places}f}]"
