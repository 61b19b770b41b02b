"""The worker's own memory: resident set size now, and its high-water mark."""

from __future__ import annotations

import resource
from pathlib import Path


def rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def peak_rss_bytes() -> int:
    """This process's own RSS high-water mark. Not getrusage's ru_maxrss: on Linux that keeps the
    parent's peak across fork+exec, so every worker would report the sweep process's memory."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # other systems: best available


def memory_summary(rss_idle: int, artifact_bytes: int, device_memory: dict | None) -> dict:
    """Peak RSS, the idle worker's RSS (runtime library loaded, no model) and their difference."""
    peak = peak_rss_bytes()
    return {"peak_rss_bytes": peak, "idle_rss_bytes": rss_idle, "rss_increase_bytes": peak - rss_idle,
            "artifact_bytes": artifact_bytes, "device": device_memory}
