"""Paired ratios over interleaved rounds, their interval, and a sequential three-way verdict.

Two variants timed minutes apart on a shared machine differ by whatever the machine did in between;
timed in alternating short bursts, each *round* gives one paired ratio that drift hits on both
sides alike (duet benchmarking, Bulej et al. 2020; randomized multiple interleaved trials, Abedi &
Brecht 2017). The answer is the ratio with a confidence interval over rounds, not two absolute numbers.

The interval is the Hodges-Lehmann estimate of the log ratio with its Wilcoxon signed-rank
confidence interval: distribution-free, exact for the handful of rounds a sequential test starts
with, and robust to a round spoiled by a burst of foreign load (a bootstrap of the mean is neither).

The verdict is Pinpoint's (slower / faster / same / unknown), with AIPerf's stopping rule: measure
until the interval is narrow enough to decide against ``min_effect``, or the budget runs out.
Looking again and again at a growing sample and stopping at the first look that decides would let a
false alarm through more often than ``1 - confidence``; so verdicts are only taken at a few *looks*
(rounds ``min_rounds``, then 1.5 times as many each time) and each look spends part of the error
allowance (``look_confidence``: half of what is left), so all looks together stay within it
(alpha spending, Lan & DeMets 1983).

A burst's figure is its *minimum* latency by default (Chen & Revels 2016, "Robust benchmarking in
noisy environments"): on a shared machine interference only ever adds delay, so the minimum moves
least with the neighbours while a change in the work itself moves it fully. Measured on this
project's 2-core VM (B0, A/A, 0.25 s bursts, 30 rounds): the per-round spread of the log ratio was
0.11 with burst medians, 0.059 with the 10th percentile and 0.023 with the minimum. ``median`` and
``p10`` stay available for changes that live in the body of the distribution rather than its floor.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy.stats import norm

VERDICTS = ("slower", "faster", "same", "unknown")
EXACT_UP_TO = 60  # rounds: above this the signed-rank distribution's normal approximation is used


@lru_cache(maxsize=None)
def _signed_rank_cdf(n: int) -> np.ndarray:
    """P(W+ <= w) for w = 0 .. n(n+1)/2 under the null (exact, by counting subsets of ranks)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    return np.cumsum(counts) / 2.0 ** n


def _critical_rank(n: int, confidence: float) -> int | None:
    """The number of Walsh averages cut from each end for a two-sided interval; None if n is too small."""
    tail = (1 - confidence) / 2
    if n <= EXACT_UP_TO:
        cdf = _signed_rank_cdf(n)
        below = np.nonzero(cdf <= tail)[0]  # largest w with P(W <= w) <= tail
        return int(below[-1]) + 1 if below.size else None
    mean, sd = n * (n + 1) / 4, math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    return max(1, int(math.floor(mean - norm.ppf(1 - tail) * sd)))


def hodges_lehmann(log_ratios: np.ndarray, confidence: float) -> tuple[float, float | None, float | None]:
    """(estimate, low, high) of the centre of ``log_ratios``; the bounds are None with too few rounds."""
    values = np.asarray(log_ratios, dtype=np.float64)
    i, j = np.triu_indices(values.size)
    walsh = np.sort((values[i] + values[j]) / 2)
    estimate = float(np.median(walsh))
    k = _critical_rank(values.size, confidence)
    if k is None:
        return estimate, None, None
    return estimate, float(walsh[k - 1]), float(walsh[-k])


@dataclass(frozen=True)
class Decision:
    """A ratio (variant / reference, of latency) with its interval and what it means against ``min_effect``."""

    ratio: float | None  # None when no round was kept (JSON has no NaN)
    ci_low: float | None
    ci_high: float | None
    confidence: float
    rounds: int
    verdict: str
    min_effect: float
    smallest_detectable: float | None  # the interval's half-width, as a fraction: changes below it were not seeable

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        interval = (f" [{self.ci_low:.3f}, {self.ci_high:.3f}]" if self.ci_low is not None else " [too few rounds]")
        seeable = (f"; could see changes >= {self.smallest_detectable:.1%}" if self.smallest_detectable is not None
                   else "")
        ratio = "n/a" if self.ratio is None else f"{self.ratio:.3f}"
        return f"{ratio}{interval} {self.verdict} ({self.rounds} rounds{seeable})"


def decide(ratios: list[float] | np.ndarray, min_effect: float, confidence: float = 0.99) -> Decision:
    """The three-way verdict (plus unknown) on per-round ratios of variant to reference latency.

    Every verdict needs an interval narrower than ``min_effect`` (half-width), as the issue's "measure
    until the interval is narrower than the effect worth detecting": a few wild rounds can exclude 1
    by chance, but not also be that tight.

    - slower: the interval excludes 1 and the estimate is at least half of ``min_effect`` above it (a
      significant 0.5 % is not a regression worth a red build: a fixed layout bias between two
      processes can be that large, Mytkowicz et al. 2009);
    - faster: the mirror image;
    - same: the whole interval lies within ``min_effect`` of 1, so no change that large is plausible;
    - unknown: none of these yet: measure more rounds (or the budget ran out).
    """
    logs = np.log(np.asarray(ratios, dtype=np.float64))
    if logs.size == 0:
        return Decision(None, None, None, confidence, 0, "unknown", min_effect, None)
    estimate, low, high = hodges_lehmann(logs, confidence)
    ratio = math.exp(estimate)
    if low is None or high is None:
        return Decision(ratio, None, None, confidence, int(logs.size), "unknown", min_effect, None)
    effect, half = math.log1p(min_effect), (high - low) / 2
    if half > effect:
        verdict = "unknown"
    elif low > 0 and estimate >= effect / 2:
        verdict = "slower"
    elif high < 0 and estimate <= -effect / 2:
        verdict = "faster"
    elif -effect < low and high < effect:
        verdict = "same"
    else:
        verdict = "unknown"
    return Decision(ratio, math.exp(low), math.exp(high), confidence, int(logs.size), verdict, min_effect,
                    math.expm1(half))


def look_rounds(min_rounds: int, up_to: int = 100_000) -> list[int]:
    """The rounds at which a sequential comparison may stop: ``min_rounds``, then x1.5 each look."""
    looks = [min_rounds]
    while looks[-1] < up_to:
        looks.append(max(looks[-1] + 1, math.ceil(looks[-1] * 1.5)))
    return looks


def look_confidence(confidence: float, look: int, final: bool = False) -> float:
    """The confidence of look ``look`` (0, 1, ...): look k spends half of the error allowance the looks
    before it left, ``(1 - confidence) / 2**(k + 1)``; a ``final`` look (the budget ran out) spends all of
    what is left, ``(1 - confidence) / 2**k``. Summed over any number of looks they never exceed
    ``1 - confidence``. One look alone (a fixed-length run) keeps the full ``confidence``."""
    return 1 - (1 - confidence) / 2 ** (look if final else look + 1)


def round_value(burst_figures_ms: list[float]) -> float:
    """One variant's figure in one round: the geometric mean of its bursts' figures (ABBA: two bursts)."""
    return float(np.exp(np.mean(np.log(burst_figures_ms))))


#: a burst's figure: which statistic of its samples a round compares
STATISTICS: dict[str, Callable[[np.ndarray], float]] = {
    "min": lambda samples: float(np.min(samples)),
    "p10": lambda samples: float(np.percentile(samples, 10)),
    "median": lambda samples: float(np.median(samples)),
}


@dataclass(frozen=True)
class Burst:
    """One short timed run of one variant inside a round."""

    samples_ms: list[float]
    seconds: float
    summary: dict | None = None  # a tool that reports statistics, not samples (benchmark_app): name -> ms

    def figure(self, statistic: str) -> float:
        if self.summary and statistic in self.summary:
            return float(self.summary[statistic])
        return STATISTICS[statistic](np.asarray(self.samples_ms))
