"""What a scenario is: a plan (which batches a group of cells is measured at, and which result answers
it) and a run (how it drives one prepared runner and what it measured). The worker knows no scenario."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from benchbed.core.job import Job


@dataclass(frozen=True)
class Limits:
    """Bounds on the batch sweep: the largest batch, and the time a cell may take to reach its minimum."""

    max_batch: int
    max_seconds: float = float("inf")
    min_iterations: int = 1


@dataclass(frozen=True)
class MeasureContext:
    """One cell being measured: its job, the backend and its activated runner, and the parity already found."""

    job: Job
    backend: Any
    runner: Any
    parity: dict | None
    phase: Callable[[str], None]


@dataclass
class Measured:
    """What a scenario's run measured; the worker adds the parts every cell shares (memory, parity, backend)."""

    validity: dict
    stats: dict
    samples_ms: list[float]
    first_inference_ms: float | None
    timing: dict
    host: dict
    device_memory: dict | None = None
    sections: dict = field(default_factory=dict)  # loadgen, nvml


class Scenario(Protocol):
    name: str
    description: str

    def next_batch(self, done: dict[int, dict], limits: Limits) -> int | None:
        """The next batch to measure given results so far (batch -> result document), or None."""
        ...

    def best(self, done: dict[int, dict]) -> dict | None:
        """The result that answers the scenario."""
        ...

    def timeout(self, profile, strict: bool) -> float:
        """Seconds a worker may take for one cell before it is killed as hung."""
        ...

    def check(self, config) -> None:
        """Refuse a sweep configuration this scenario cannot run (a one-line error), before anything runs."""
        ...

    def run(self, context: MeasureContext) -> Measured:
        ...
