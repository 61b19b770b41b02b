"""Interleaved, paired measurement of several loaded variants (the primitive every comparison uses).

Each variant is a resident worker that already holds its runner (``launchers.resident``). A round
times every variant twice, in a random order and then in its reverse (ABBA for two variants), so a
drift inside the round hits every variant alike; the round's figure per variant is the geometric
mean of its two burst medians, and each non-reference variant gets one paired ratio per round.
Rounds continue until every ratio's interval decides against ``min_effect`` (``measure.paired``) at
one of the looks (``look_rounds``; each with its share of the error allowance, ``look_confidence``),
or the time budget is spent; then the last verdicts spend what allowance is left.

Each variant may run in several processes (``replicas``, four by default): a process's own memory
layout shifts its speed by a percent or so for its whole life (Mytkowicz et al. 2009), which no number
of rounds averages away; on this project's VM, single-process A/A pairs of B0 read 0.992 on average
with a 1.1 % spread between pairs, so one pair in ten "differed" at a 5 % minimum effect, and with two
processes per side still one in twenty. The processes start in ABBA order and a variant's bursts take
turns between them (each round's two bursts come from two of them), so the ratio averages several
layouts and the start order cancels.

A round in which other processes used more than ``max_foreign_cpu`` cores
is thrown away and measured again after a pause: a contended round is not evidence. The load is read
here, over the whole round, with every variant's worker counted as ours (a variant's idle thread pool
spinning down after its burst is not a tenant), rather than by each worker over its own short burst.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from benchbed.core.errors import ConfigError
from benchbed.measure.timing import MAX_CELL_SECONDS
from benchbed.measure.paired import STATISTICS, Burst, Decision, decide, look_confidence, look_rounds, round_value

QUIET_PAUSE = 1.0  # seconds to wait after a contended round before the next


@dataclass(frozen=True)
class InterleaveSettings:
    """How long and how finely to measure, and what counts as a change worth detecting."""

    min_effect: float = 0.05
    budget_seconds: float = 60.0  # machine time for the rounds of one comparison (loading excluded)
    burst_seconds: float = 0.25
    burst_iterations: int = 3
    min_rounds: int = 10  # the first look; at 99 % the first look's 99.5 % needs 9 rounds for any interval
    confidence: float = 0.99  # over all looks together (measure.paired.look_confidence)
    max_foreign_cpu: float = 0.25
    statistic: str = "min"  # of each burst's samples (measure.paired.STATISTICS)
    replicas: int = 4  # processes per variant (their layouts average out; see the module docstring)
    seed: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.budget_seconds) and 0 < self.budget_seconds <= MAX_CELL_SECONDS):
            raise ConfigError("budget_seconds", f"must be a finite number of seconds > 0 and at most "
                              f"{MAX_CELL_SECONDS:g} per comparison, got {self.budget_seconds:g}")
        if not 0 < self.min_effect < 1:
            raise ConfigError("min_effect", f"must be a fraction in (0, 1), got {self.min_effect:g}")
        if not (math.isfinite(self.burst_seconds) and 0 < self.burst_seconds <= 10):
            raise ConfigError("burst_seconds", f"must be in (0, 10] seconds, got {self.burst_seconds:g}")
        if self.burst_iterations < 1:
            raise ConfigError("burst_iterations", f"must be >= 1, got {self.burst_iterations}")
        if not 2 <= self.min_rounds <= 1000:
            raise ConfigError("min_rounds", f"must be in [2, 1000], got {self.min_rounds}")
        if not 0.5 <= self.confidence < 1:
            raise ConfigError("confidence", f"must be in [0.5, 1), got {self.confidence:g}")
        if not (math.isfinite(self.max_foreign_cpu) and self.max_foreign_cpu >= 0):
            raise ConfigError("max_foreign_cpu", f"must be >= 0 cores, got {self.max_foreign_cpu:g}")
        if not 1 <= self.replicas <= 4:
            raise ConfigError("replicas", f"must be 1 to 4 processes per variant, got {self.replicas}")
        if self.statistic not in STATISTICS:
            raise ConfigError("statistic", f"unknown {self.statistic!r}; choose {', '.join(STATISTICS)}")


class Timed(Protocol):
    """A loaded variant: ``burst(seconds, iterations)`` times it once more."""

    label: str

    def burst(self, seconds: float, iterations: int) -> Burst: ...


@dataclass
class Interleaved:
    """The paired answer: each variant's ratio to the reference, how long it took, what was thrown away."""

    reference: str
    labels: list[str]
    decisions: dict[str, Decision]
    round_values_ms: dict[str, list[float]]  # per variant, one figure (settings.statistic) per kept round
    seconds: float
    contended_rounds: int
    settings: InterleaveSettings
    stopped_by: str  # "decided" or "budget"
    max_foreign_cpu_seen: float = 0.0
    notes: list[str] = field(default_factory=list)

    def typical_ms(self, label: str) -> float:
        """The variant's figure over the kept rounds (their median)."""
        return float(np.median(self.round_values_ms[label])) if self.round_values_ms[label] else float("nan")

    def describe(self, label: str) -> str:
        decision = self.decisions[label]
        return (f"{label} / {self.reference}: {decision.describe()}, measured {self.seconds:.0f} s"
                + (f", {self.contended_rounds} contended rounds redone" if self.contended_rounds else ""))

    def to_dict(self) -> dict:
        return {"reference": self.reference, "labels": self.labels,
                "decisions": {k: v.to_dict() for k, v in self.decisions.items()},
                "round_values_ms": self.round_values_ms, "seconds": self.seconds,
                "contended_rounds": self.contended_rounds, "stopped_by": self.stopped_by,
                "max_foreign_cpu_seen": self.max_foreign_cpu_seen, "min_effect": self.settings.min_effect,
                "budget_seconds": self.settings.budget_seconds, "confidence": self.settings.confidence,
                "statistic": self.settings.statistic,
                "notes": self.notes}


def _foreign_load() -> Callable[[], float | None]:
    """Start a reading of other processes' CPU use; calling the result ends it (cores, or None)."""
    from benchbed.measure.trackers.host import HostReading, foreign_cores

    before = HostReading.now()
    return lambda: foreign_cores(before, HostReading.now())


def interleave(variants: list[Timed], settings: InterleaveSettings = InterleaveSettings(),
               on_round: Callable[[int, dict[str, Decision]], None] = lambda index, decisions: None,
               clock: Callable[[], float] = time.monotonic, pause: Callable[[float], None] = time.sleep,
               load: Callable[[], Callable[[], float | None]] = _foreign_load) -> Interleaved:
    """Rounds over ``variants`` (the first is the reference) until decided or out of budget.

    ``load()`` starts a reading of foreign CPU use and returns the call that ends it (tests pass a fake)."""
    if len(variants) < 2:
        raise ConfigError("variants", f"need at least two variants to compare, got {len(variants)}")
    rng = np.random.default_rng(settings.seed)
    reference, others = variants[0], variants[1:]
    values: dict[str, list[float]] = {v.label: [] for v in variants}
    decisions: dict[str, Decision] = {}
    contended, worst, spent = 0, 0.0, 0.0
    _round(variants, rng, settings)  # one round thrown away: caches, allocator and clocks settle
    stopped_by, looks, look = "budget", look_rounds(settings.min_rounds), 0

    def decide_all(final: bool) -> dict[str, Decision]:
        confidence = look_confidence(settings.confidence, look, final)
        reference_values = np.asarray(values[reference.label])
        return {v.label: decide(np.asarray(values[v.label]) / reference_values, settings.min_effect, confidence)
                for v in others}

    while spent < settings.budget_seconds:
        started, reading = clock(), load()
        bursts = _round(variants, rng, settings)
        foreign = reading() or 0.0
        spent += clock() - started
        worst = max(worst, foreign)
        if foreign > settings.max_foreign_cpu:
            contended += 1
            pause(QUIET_PAUSE)
            continue
        for label, runs in bursts.items():
            values[label].append(round_value([b.figure(settings.statistic) for b in runs]))
        decisions = decide_all(final=False)  # as the next look would see them
        on_round(len(values[reference.label]), decisions)
        if len(values[reference.label]) == looks[look]:
            if all(d.verdict != "unknown" for d in decisions.values()):
                stopped_by = "decided"
                break
            look += 1
    if stopped_by == "budget" and values[reference.label]:
        decisions = decide_all(final=True)  # the budget's end is the last look: it spends what is left
    if not decisions:  # every round contended: nothing to decide on
        decisions = {v.label: decide([], settings.min_effect, settings.confidence) for v in others}
    result = Interleaved(reference.label, [v.label for v in variants], decisions, values, spent, contended, settings,
                         stopped_by, worst)
    if contended and not values[reference.label]:
        result.notes.append(f"contended: other processes used up to {worst:.2f} cores in every round "
                            f"(limit {settings.max_foreign_cpu:g})")
    return result


def _round(variants: list[Timed], rng: np.random.Generator, settings: InterleaveSettings) -> dict[str, list[Burst]]:
    order = [variants[i] for i in rng.permutation(len(variants))]
    bursts: dict[str, list[Burst]] = {v.label: [] for v in variants}
    for variant in order + order[::-1]:
        bursts[variant.label].append(variant.burst(settings.burst_seconds, settings.burst_iterations))
    return bursts
