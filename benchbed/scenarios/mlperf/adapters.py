"""LoadGen SUT and QSL adapters around a benchbed Runner.

The SUT queues LoadGen's query samples; one serving thread takes up to ``max_batch`` of them (waiting
at most ``max_queue_delay_ms`` for a batch to fill once the first sample is there), stacks their
images, runs the Runner, and completes them. Issue-to-completion latencies are recorded per sample
(LoadGen's own figures remain the reference; these are the raw latencies kept with the result).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BatcherSettings:
    max_batch: int = 8
    max_queue_delay_ms: float = 2.0


class SyntheticQSL:
    """A pool of synthetic images: LoadGen's sample indices map onto it."""

    def __init__(self, lg, pool: np.ndarray, performance_count: int | None = None) -> None:
        self.pool = pool
        count = len(pool)
        self.handle = lg.ConstructQSL(count, performance_count or count, self._load, self._unload)
        self.loaded: set[int] = set()

    def _load(self, indices) -> None:
        self.loaded.update(int(i) for i in indices)

    def _unload(self, indices) -> None:
        self.loaded.difference_update(int(i) for i in indices)

    def destroy(self, lg) -> None:
        lg.DestroyQSL(self.handle)


class RunnerSUT:
    """A LoadGen SUT serving queries with a Runner through a dynamic batcher."""

    def __init__(self, lg, runner, qsl: SyntheticQSL, batcher: BatcherSettings) -> None:
        self.lg, self.runner, self.qsl, self.batcher = lg, runner, qsl, batcher
        self._queue: queue.Queue = queue.Queue()
        self.latencies_ms: list[float] = []
        self.batch_sizes: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="benchbed-sut", daemon=True)
        self._thread.start()
        self.handle = lg.ConstructSUT(self._issue, self._flush)

    def _issue(self, samples) -> None:
        now = time.perf_counter()
        for sample in samples:
            self._queue.put((sample.id, int(sample.index), now))

    def _flush(self) -> None:
        pass

    def _take_batch(self) -> list[tuple[int, int, float]]:
        try:
            first = self._queue.get(timeout=0.05)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.perf_counter() + self.batcher.max_queue_delay_ms / 1e3
        while len(batch) < self.batcher.max_batch:
            remaining = deadline - time.perf_counter()
            try:
                batch.append(self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _serve(self) -> None:
        lg = self.lg
        while not self._stop.is_set():
            batch = self._take_batch()
            if not batch:
                continue
            try:
                self.runner.set_input(np.stack([self.qsl.pool[index] for _, index, _ in batch]))
                self.runner.infer()
            except Exception as exc:  # report, and still complete the queries so LoadGen does not hang
                self.errors.append(f"{type(exc).__name__}: {exc}")
            done = time.perf_counter()
            self.latencies_ms.extend((done - issued) * 1e3 for _, _, issued in batch)
            self.batch_sizes.append(len(batch))
            lg.QuerySamplesComplete([lg.QuerySampleResponse(sample_id, 0, 0) for sample_id, _, _ in batch])

    def destroy(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.lg.DestroySUT(self.handle)
