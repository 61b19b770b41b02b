"""Scenarios (registry): each is a whole entry, its plan (which batches a group of cells is measured at, and
which result answers it), its bounds and checks, and its run against a prepared runner.

``single-stream`` and ``offline`` use benchbed's own timing loop (``timed``); the ``mlperf-*`` scenarios
are driven by the real MLPerf LoadGen (``mlperf/``).
"""

from __future__ import annotations

from benchbed.core.errors import BenchbedError
from benchbed.scenarios.base import Limits, MeasureContext, Measured, Scenario
from benchbed.scenarios.mlperf.scenario import MLPERF, MLPerf
from benchbed.scenarios.timed import MIN_GAIN, Offline, SingleStream

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (SingleStream(), Offline(), *MLPERF)}


def get_scenario(name: str) -> Scenario:
    if name not in SCENARIOS:
        raise BenchbedError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    return SCENARIOS[name]


__all__ = ["Limits", "MIN_GAIN", "MLPerf", "MeasureContext", "Measured", "Offline", "SCENARIOS", "Scenario",
           "SingleStream", "get_scenario"]
