"""The default launcher: one cell at a time on this machine, each in a fresh worker process."""

from __future__ import annotations

import heapq
from typing import Callable

from benchbed.core.job import Job
from benchbed.launchers.base import export_failure, resolve_artifact
from benchbed.launchers.process import run_cell

CellRunner = Callable[[Job, float, Callable[[str], None]], dict]


class LocalExecutor:
    """Jobs run in sweep order (a network's offline batches finish before the next network starts);
    artifacts are exported here, just before their first cell. ``ui`` sees each cell start and its phases."""

    def __init__(self, timeout: float, ui, cell_runner: CellRunner = run_cell) -> None:
        self.timeout, self.ui, self.cell_runner = timeout, ui, cell_runner
        self._queue: list[tuple[int, int, Job]] = []
        self._count = 0

    def submit(self, job: Job) -> None:
        heapq.heappush(self._queue, (job.order, self._count, job))
        self._count += 1

    def pending(self) -> int:
        return len(self._queue)

    def next_done(self) -> tuple[Job, dict]:
        _, _, job = heapq.heappop(self._queue)
        label = job.cell.label()
        self.ui.start_cell(label)
        job = resolve_artifact(job, lambda m: self.ui.phase(label, f"export: {m.split(': ', 1)[-1]}"))
        if job.export_error:
            return job, export_failure(job)
        return job, self.cell_runner(job, self.timeout, lambda p: self.ui.phase(label, p))

    def close(self) -> None:
        pass
