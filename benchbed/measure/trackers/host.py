"""The host around a measurement: CPU frequency before and after, and the cores other processes used meanwhile.

Another process busy on a shared machine inflates latency without raising an error; the share of
cores it used is recorded so validity can warn about (or refuse) a contended measurement.

"Other" means other than the measuring family: this process, its children (however deep, alive or
already waited for) and its parent. The parent is the sweep that started this worker and draws its
live display; the children are what the runtime started (compile workers, helpers). Neither is a
tenant competing with the measurement from outside, so neither counts as foreign.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class HostReading:
    mhz: float | None
    busy: float  # CPU seconds of the whole machine
    own: float  # CPU seconds of this process, its children and its parent (see family_cpu_seconds)
    wall: float

    @classmethod
    def now(cls) -> "HostReading":
        import psutil

        freq = psutil.cpu_freq()
        times = psutil.cpu_times()
        busy = sum(getattr(times, f, 0.0) for f in ("user", "system", "nice", "irq", "softirq", "steal"))
        return cls(freq.current if freq else None, busy, family_cpu_seconds(), time.perf_counter())


def _cpu_seconds(process, with_children: bool) -> float:
    """A process's user + system seconds (plus its waited-for children's); 0 once it is gone or hidden."""
    import psutil

    try:
        times = process.cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0
    total = times.user + times.system
    if with_children:
        total += getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)
    return total


def family_cpu_seconds() -> float:
    """CPU seconds of this process, every descendant and the parent: the measuring family, not foreign.

    A child that exits and is waited for moves its seconds into its parent's ``children_*`` times, so
    counting those keeps the sum steady across a child's exit. The parent's own ``children_*`` are left
    out: they hold earlier, finished workers, and this worker once it is waited for.
    """
    import psutil

    me = psutil.Process()
    total = _cpu_seconds(me, with_children=True)
    try:
        descendants = me.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        descendants = []
    total += sum(_cpu_seconds(child, with_children=True) for child in descendants)
    parent = os.getppid()
    if parent > 1:  # 1: orphaned (init adopted us), nothing of ours to exclude
        try:
            total += _cpu_seconds(psutil.Process(parent), with_children=False)
        except psutil.NoSuchProcess:
            pass
    return total


def foreign_cores(before: HostReading, after: HostReading) -> float | None:
    """Cores other processes used on average between two readings (None over no time)."""
    wall = after.wall - before.wall
    if wall <= 0:
        return None
    return max(0.0, ((after.busy - before.busy) - (after.own - before.own)) / wall)


def foreign_load(seconds: float) -> float | None:
    """Cores other processes use over the next ``seconds`` (this process sleeps meanwhile)."""
    before = HostReading.now()
    time.sleep(seconds)
    return foreign_cores(before, HostReading.now())


def host_summary(before: HostReading, after: HostReading) -> dict:
    """CPU frequency around the measurement, and the cores other processes used meanwhile."""
    return {"cpu_mhz_before": before.mhz, "cpu_mhz_after": after.mhz, "foreign_cpu_cores": foreign_cores(before, after)}
