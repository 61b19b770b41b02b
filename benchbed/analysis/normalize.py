"""Dividing latencies by the machine speed index, for comparisons across time (compare, history).

A result measured with a speed index (measure.speed_index) carries the reading taken just before its
cell. Nothing normalized is stored: the figure is computed here, from the raw samples and the reading,
so a stored result holds each number once and a better rule can be applied to old results later.

Only when every document involved carries a reading of the same workload (same matrix and buffer
sizes, same BLAS and BLAS threads) is anything divided; otherwise the comparison stays raw and says why.
"""

from __future__ import annotations

from benchbed.core.errors import UnknownChoiceError
from benchbed.measure.speed_index import comparable_key

#: auto: normalize where every document involved has a comparable reading; off: never
NORMALIZE_MODES = ("auto", "off")
NOTE = "latency normalized by the machine speed index (both sides measured it)"


def check_normalize(mode: str) -> str:
    """``mode`` if it is one of :data:`NORMALIZE_MODES`, else the one-line error naming the choices."""
    if mode not in NORMALIZE_MODES:
        raise UnknownChoiceError("normalize", mode, NORMALIZE_MODES)
    return mode


def index_ms(doc: dict) -> float | None:
    """The speed index a result was measured with, or None (stored before it existed, or a failure)."""
    reading = doc.get("speed_index")
    return float(reading["index_ms"]) if reading else None


def mixed_workloads(readings: list[dict]) -> str | None:
    """Why these speed index readings cannot be set against each other, or None when they can."""
    keys = {comparable_key(reading) for reading in readings}
    if len(keys) > 1:
        return ("their speed index readings are of different workloads (sizes, BLAS or BLAS threads differ, or "
                "one was read before the cell only)")
    return None


def scale_runs(runs: list[list[float]], indices: list[float]) -> list[list[float]]:
    """Each run's samples divided by the speed index it was measured with."""
    return [[value / index for value in run] for run, index in zip(runs, indices)]
