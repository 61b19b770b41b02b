"""The timing loop. It knows no models: it drives a Runner's ``infer`` (LoadGen's SUT idea).

Warm-up runs until both a minimum time and a minimum count are reached; measurement then runs until
both a minimum duration and a minimum count are reached (trtexec's rule), or until the hard cap.
The first inference after activation is timed apart (it includes lazy initialisation).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Callable

from benchbed.core.errors import BenchbedError, ConfigError


#: Samples one cell keeps (between this and twice this): a microsecond-fast runner would otherwise store
#: millions (a 305 MB results.json after 7 cells). 100,000 values pin a median and a p99 far beyond this
#: machine's noise; beyond them the loop thins what it keeps (:func:`measure_loop`), never what it runs.
MAX_SAMPLES = 100_000
#: One cell measures for at most an hour: far above the strict profile's 600 s cap, far below a typo's years.
MAX_CELL_SECONDS = 3600.0


@dataclass(frozen=True)
class TimingProfile:
    name: str
    warmup_seconds: float
    warmup_iterations: int
    min_seconds: float
    min_iterations: int
    max_seconds: float  # hard cap: a cell never measures longer than this

    def validate(self) -> "TimingProfile":
        """Each bad value is a :class:`ConfigError` naming its field (the CLI prints the flag that sets it)."""
        for label in ("warmup_seconds", "min_seconds", "max_seconds"):
            value = getattr(self, label)
            if not value >= 0:
                raise ConfigError(label, f"must be >= 0 seconds, got {value}")
            if not math.isfinite(value):  # an endless warm-up or cap would hold a worker until its timeout
                raise ConfigError(label, f"must be a finite number of seconds, got {value}")
            if value > MAX_CELL_SECONDS:  # 1e9 s was accepted, a cap that rises to years
                raise ConfigError(label, f"must be at most {MAX_CELL_SECONDS:g} seconds per cell, got {value:g}")
        if self.warmup_seconds > self.max_seconds:
            raise ConfigError("warmup_seconds", f"({self.warmup_seconds:g}) must not exceed {{max_seconds}} "
                              f"({self.max_seconds:g}): the warm-up would be cut short by the cap", ("max_seconds",))
        if self.warmup_iterations < 0:
            raise ConfigError("warmup_iterations", f"must be >= 0, got {self.warmup_iterations}")
        if not 1 <= self.min_iterations <= MAX_SAMPLES:
            raise ConfigError("min_iterations", f"must be 1 to {MAX_SAMPLES:,}, got {self.min_iterations}")
        if self.max_seconds < self.min_seconds:
            raise ConfigError("max_seconds", f"({self.max_seconds:g}) must be >= {{min_seconds}}, the minimum measuring "
                              f"time ({self.min_seconds:g})", ("min_seconds",))
        return self

    def to_dict(self) -> dict:
        return asdict(self)


#: default = trtexec's (200 ms warm-up, 3 s, 10 iterations); quick for everyday runs; strict for reports.
PROFILES: dict[str, TimingProfile] = {
    "default": TimingProfile("default", 0.2, 2, 3.0, 10, 120.0),
    "quick": TimingProfile("quick", 0.05, 1, 0.5, 5, 30.0),
    "strict": TimingProfile("strict", 2.0, 10, 10.0, 100, 600.0),
}


def get_profile(name: str) -> TimingProfile:
    if name not in PROFILES:
        raise BenchbedError(f"unknown timing profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


@dataclass
class Timings:
    first_ms: float
    warmup_iterations: int
    warmup_seconds: float
    samples_ms: list[float]
    measured_seconds: float  # wall time of the measurement phase
    capped: bool  # stopped by max_seconds before the minimums were met
    sample_stride: int = 1  # one call in this many is among samples_ms (measure_loop thins past MAX_SAMPLES)


def time_runner(infer: Callable[[], None], profile: TimingProfile,
                phase: Callable[[str], None] = lambda name: None) -> Timings:
    """Time ``infer`` per ``profile``; returns raw per-iteration latencies in milliseconds."""
    clock = time.perf_counter_ns
    phase("first-inference")
    start = clock()
    infer()
    first_ms = (clock() - start) / 1e6

    phase("warm-up")
    warm_start, warm_count = clock(), 0
    while True:
        elapsed = (clock() - warm_start) / 1e9
        if (elapsed >= profile.warmup_seconds and warm_count >= profile.warmup_iterations) or \
                elapsed >= profile.max_seconds:
            break
        infer()
        warm_count += 1
    warm_seconds = (clock() - warm_start) / 1e9

    phase("measure")
    samples_ns, measured_seconds, capped, stride = measure_loop(infer, profile.min_seconds, profile.min_iterations,
                                                                profile.max_seconds)
    return Timings(first_ms, warm_count, warm_seconds, [s / 1e6 for s in samples_ns], measured_seconds, capped,
                   stride)


def measure_loop(infer: Callable[[], None], min_seconds: float, min_iterations: int,
                 max_seconds: float) -> tuple[list[int], float, bool, int]:
    """(per-call nanoseconds, wall seconds, capped, stride): ``infer`` until both minimums are met or the cap hits.

    The one timed loop: a sweep cell's measurement and an interleaved burst (``launchers.resident``) both
    use it, so a paired comparison times exactly what a sweep times. Past ``2 × MAX_SAMPLES`` values every
    other one is dropped and from then on one call in ``stride`` is kept (``stride`` doubles each time):
    evenly spaced in time, so the kept values are a fair sample of all of them, and the loop still runs
    its full minimum time.
    """
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    min_ns, cap_ns = int(min_seconds * 1e9), int(max_seconds * 1e9)
    stride, skipped, calls = 1, 0, 0
    begin = clock()
    now = begin
    while True:
        if now - begin >= min_ns and calls >= min_iterations:
            capped = False
            break
        if now - begin >= cap_ns:
            capped = True
            break
        t0 = clock()
        infer()
        now = clock()
        calls += 1
        skipped += 1
        if skipped == stride:
            skipped = 0
            append(now - t0)
            if len(samples) >= 2 * MAX_SAMPLES:
                del samples[::2]
                stride *= 2
    return samples, (now - begin) / 1e9, capped, stride
