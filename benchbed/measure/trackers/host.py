"""The host around a measurement: CPU frequency before and after, and the cores other processes used meanwhile.

Another process busy on a shared machine inflates latency without raising an error; the share of
cores it used is recorded so validity can warn about (or refuse) a contended measurement.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class HostReading:
    mhz: float | None
    busy: float  # CPU seconds of the whole machine
    own: float  # CPU seconds of this process
    wall: float

    @classmethod
    def now(cls) -> "HostReading":
        import psutil

        freq = psutil.cpu_freq()
        times = psutil.cpu_times()
        busy = sum(getattr(times, f, 0.0) for f in ("user", "system", "nice", "irq", "softirq", "steal"))
        own = psutil.Process().cpu_times()
        return cls(freq.current if freq else None, busy, own.user + own.system, time.perf_counter())


def host_summary(before: HostReading, after: HostReading) -> dict:
    """CPU frequency around the measurement, and the cores other processes used meanwhile."""
    wall = after.wall - before.wall
    foreign = max(0.0, ((after.busy - before.busy) - (after.own - before.own)) / wall) if wall else None
    return {"cpu_mhz_before": before.mhz, "cpu_mhz_after": after.mhz, "foreign_cpu_cores": foreign}
