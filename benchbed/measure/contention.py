"""The contention guard: a measurement during which other processes used too many cores is taken again.

On a shared machine another tenant can inflate latency 2-4x without any error; the host tracker reads
how many cores other processes used (``foreign_cpu_cores``). Above the limit, the guard waits for a
quiet window (the foreign load of one short window at or below the limit, within a wait cap) and measures
again, at most :data:`MAX_REMEASURES` times. The caller judges the last attempt: still contended is
INVALID (``validity.contention_reason``), never a slow number passed off as VALID. Every attempt is
recorded, so a reader sees what the guard saw and how long it waited.

``BENCHBED_MAX_FOREIGN_CPU`` sets the limit used where none is given (a machine known to be shared, such
as a CI box whose numbers are not the point); a given limit (``--max-foreign-cpu``) always wins.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Callable, TypeVar

MAX_FOREIGN_CPU = 0.25  # cores other processes may use during a measurement (the sweep's default)
MAX_REMEASURES = 2  # measurements taken again after a contended one
QUIET_WINDOW_SECONDS = 0.5  # one reading of the machine's foreign load while waiting
QUIET_WAIT_SECONDS = 20.0  # the longest wait for a quiet window before measuring again anyway

ENV_LIMIT = "BENCHBED_MAX_FOREIGN_CPU"

T = TypeVar("T")


def default_limit() -> float:
    """The limit where none is given: ``BENCHBED_MAX_FOREIGN_CPU`` if set, else :data:`MAX_FOREIGN_CPU`."""
    from benchbed.core.errors import BenchbedError

    text = os.environ.get(ENV_LIMIT)
    if text is None:
        return MAX_FOREIGN_CPU
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value >= 0):
        raise BenchbedError(f"{ENV_LIMIT}={text!r} is not a finite number of cores >= 0")
    return value


@dataclass(frozen=True)
class Guard:
    """The limit (cores) and the bounds of retrying; a large limit effectively turns the guard off."""

    max_foreign_cpu: float = MAX_FOREIGN_CPU
    remeasures: int = MAX_REMEASURES
    window_seconds: float = QUIET_WINDOW_SECONDS
    wait_seconds: float = QUIET_WAIT_SECONDS

    @classmethod
    def with_limit(cls, max_foreign_cpu: float) -> "Guard":
        """The guard for a sweep's limit, with this module's bounds as they are now (tests shrink them)."""
        return cls(max_foreign_cpu, MAX_REMEASURES, QUIET_WINDOW_SECONDS, QUIET_WAIT_SECONDS)

    @classmethod
    def from_dict(cls, data: dict | None) -> "Guard":
        """A job's guard; a job written without one (before the guard existed) gets the default limit."""
        return cls(**data) if data else cls.with_limit(default_limit())

    def to_dict(self) -> dict:
        return asdict(self)

    def contended(self, foreign_cpu_cores: float | None) -> bool:
        return foreign_cpu_cores is not None and foreign_cpu_cores > self.max_foreign_cpu


def wait_for_quiet(guard: Guard, clock: Callable[[], float] = time.monotonic) -> tuple[float, bool]:
    """Poll the foreign load in windows until one is quiet or the wait cap passes: (seconds waited, quiet?)."""
    from benchbed.measure.trackers import host

    start = clock()
    while True:
        if not guard.contended(host.foreign_load(guard.window_seconds)):
            return clock() - start, True
        if clock() - start >= guard.wait_seconds:
            return clock() - start, False


def measure_guarded(measure: Callable[[], T], foreign_of: Callable[[T], float | None], guard: Guard,
                    phase: Callable[[str], None] = lambda name: None,
                    wait: Callable[[Guard], tuple[float, bool]] = wait_for_quiet) -> tuple[list[T], list[dict]]:
    """Measure, and again after a quiet wait while the measurement was contended (bounded).

    Returns every attempt's result (the last one is the answer) and one record per attempt: the cores
    other processes used during it, the seconds waited before it, and whether that wait found quiet.
    """
    results: list[T] = []
    attempts: list[dict] = []
    waited, quiet = 0.0, None
    while True:
        result = measure()
        foreign = foreign_of(result)
        results.append(result)
        attempts.append({"foreign_cpu_cores": foreign, "waited_seconds": round(waited, 3), "quiet_found": quiet})
        if not guard.contended(foreign) or len(results) > guard.remeasures:
            return results, attempts
        phase("wait for quiet")
        waited, quiet = wait(guard)

