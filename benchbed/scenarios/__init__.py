"""Scenarios (registry): which batch sizes a network is measured at, and which result answers it.

``single-stream`` is batch 1 (latency). ``offline`` sweeps batch 1, 2, 4, ... up to ``max_batch`` and
stops once throughput improves by less than 5 % over the best so far; the best batch is its answer.
Each batch is its own cell, so a resumed sweep re-derives the same decisions from stored results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from benchbed.core.errors import BenchbedError

MIN_GAIN = 0.05


@dataclass(frozen=True)
class Limits:
    """Bounds on the batch sweep: the largest batch, and the time a cell may take to reach its minimum."""

    max_batch: int
    max_seconds: float = float("inf")
    min_iterations: int = 1


class Scenario(Protocol):
    name: str
    description: str

    def next_batch(self, done: dict[int, dict], limits: "Limits") -> int | None:
        """The next batch to measure given results so far (batch -> result document), or None."""
        ...

    def best(self, done: dict[int, dict]) -> dict | None:
        """The result that answers the scenario."""
        ...


def _throughput(document: dict) -> float:
    return document["stats"]["throughput_ips"] if document.get("status") == "ok" else 0.0


@dataclass(frozen=True)
class SingleStream:
    name: str = "single-stream"
    description: str = "batch 1, one query at a time: latency"

    def next_batch(self, done: dict[int, dict], limits: Limits) -> int | None:
        return None if 1 in done else 1

    def best(self, done: dict[int, dict]) -> dict | None:
        return done.get(1)


@dataclass(frozen=True)
class Offline:
    name: str = "offline"
    description: str = "throughput over batch 1, 2, 4, ... until it stops improving by >= 5 %"

    def next_batch(self, done: dict[int, dict], limits: Limits) -> int | None:
        if not done:
            return 1
        batch = max(done)
        last = done[batch]
        if last.get("status") != "ok" or batch * 2 > limits.max_batch:
            return None
        # a doubled batch takes about twice as long per iteration: skip it if it could not reach the
        # minimum iteration count before the cap (it would only produce an INVALID cell)
        if 2 * last["stats"]["p50_ms"] / 1e3 * limits.min_iterations > limits.max_seconds:
            return None
        previous_best = max((_throughput(d) for b, d in done.items() if b < batch), default=0.0)
        if previous_best and _throughput(last) < previous_best * (1 + MIN_GAIN):
            return None
        return batch * 2

    def best(self, done: dict[int, dict]) -> dict | None:
        ok = [d for d in done.values() if d.get("status") == "ok"]
        return max(ok, key=_throughput) if ok else (next(iter(done.values())) if done else None)


@dataclass(frozen=True)
class MLPerf:
    """An MLPerf LoadGen scenario: one cell, run by the real LoadGen in the worker.

    Its batch is what the SUT may batch: 1 for single-stream, 8 samples per query for multi-stream,
    the dynamic batcher's ``--max-batch`` for server and offline.
    """

    name: str
    description: str

    def batch(self, limits: Limits) -> int:
        if self.name == "mlperf-singlestream":
            return 1
        if self.name == "mlperf-multistream":
            return 8
        return limits.max_batch

    def next_batch(self, done: dict[int, dict], limits: Limits) -> int | None:
        return None if done else self.batch(limits)

    def best(self, done: dict[int, dict]) -> dict | None:
        return next(iter(done.values()), None)


MLPERF = (
    MLPerf("mlperf-singlestream", "MLPerf LoadGen SingleStream: one query of one sample at a time, p90 latency"),
    MLPerf("mlperf-multistream", "MLPerf LoadGen MultiStream: queries of 8 samples, p99 latency"),
    MLPerf("mlperf-server", "MLPerf LoadGen Server: Poisson arrivals; highest VALID QPS under the latency SLA"),
    MLPerf("mlperf-offline", "MLPerf LoadGen Offline: all samples at once, throughput"),
)

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (SingleStream(), Offline(), *MLPERF)}


def get_scenario(name: str) -> Scenario:
    if name not in SCENARIOS:
        raise BenchbedError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    return SCENARIOS[name]
