"""Run a sweep: plan its cells, hand each to a launcher, and store every result as it arrives.

Results are committed one cell at a time, so an interrupted sweep keeps every finished cell and
``--resume`` measures only what is missing. The parent process exports (torch, CPU) and never
touches an accelerator; workers do the measuring.
"""

from __future__ import annotations

import contextlib
import errno
from pathlib import Path
from typing import Protocol

from benchbed.core.cell import cell_key
from benchbed.core.errors import BenchbedError
from benchbed.launchers.base import Executor
from benchbed.launchers.local import CellRunner, LocalExecutor
from benchbed.launchers.process import run_cell
from benchbed.sweep.config import SweepConfig, check_precisions, validate_config
from benchbed.sweep.plan import groups, make_job, next_cell
from benchbed.sweep.store import Store, write_results_json


class SweepUI(Protocol):
    def start_cell(self, label: str) -> None: ...

    def phase(self, label: str, phase: str) -> None: ...

    def finish_cell(self, label: str, document: dict) -> None: ...

    def add_planned(self, count: int) -> None: ...

    def note(self, message: str) -> None: ...


class SilentUI:
    def start_cell(self, label: str) -> None: ...

    def phase(self, label: str, phase: str) -> None: ...

    def finish_cell(self, label: str, document: dict) -> None: ...

    def add_planned(self, count: int) -> None: ...

    def note(self, message: str) -> None: ...


def open_run(store: Store, config: SweepConfig, environment: dict, resume: bool, run_id: str | None) -> tuple[str, bool]:
    """(run id, resumed?): a new run, or the one to resume (by id, or the latest with this config)."""
    if run_id:
        run = store.run(run_id)  # raises a one-line error for an unknown id
        if run["config_sha"] != config.sha():
            raise BenchbedError(f"run {run_id} was a different sweep (config {run['config_sha']}); "
                                "resume it with the same options it was started with")
        return run_id, True
    if resume:
        latest = store.latest_run(config.sha())
        if latest is None:
            raise BenchbedError("--resume: no earlier run of this sweep in the store; run it without --resume")
        return latest, True
    return store.create_run(config.identity() | {"backend": config.backend, "profile": config.profile.name},
                            config.sha(), environment), False


def run_sweep(config: SweepConfig, store: Store, run_id: str, ui: SweepUI = SilentUI(),
              cell_runner: CellRunner = run_cell, executor: Executor | None = None) -> list[dict]:
    """Measure every missing cell of ``run_id``; returns the run's result documents.

    Cells are submitted to the executor as soon as they are known: each group's first batch at
    once, an offline group's next batch when its previous one has finished.
    """
    validate_config(config)
    executor = executor or LocalExecutor(config.timeout(), ui, cell_runner)
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(store.claim(run_id))
        except BenchbedError:
            executor.close()
            raise
        try:
            return _run_claimed(config, store, run_id, ui, executor)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            raise BenchbedError(f"disk full writing {exc.filename or 'results'}; every finished cell is kept in "
                                f"--db {store.path}: free space, then run the same command with --resume") from None


def _run_claimed(config: SweepConfig, store: Store, run_id: str, ui: SweepUI, executor: Executor) -> list[dict]:
    reports = Path(config.reports_dir)
    done = {cell_key(d["cell"]): d for d in store.results(run_id)}
    planned = groups(config)
    index_of = {group.key(): index for index, group in enumerate(planned)}

    def submit_next(index: int) -> bool:
        group = planned[index]
        cell = next_cell(config, group, done)
        if cell is None:
            return False
        executor.submit(make_job(config, group.spec, group.precision, cell, run_id, index))
        return True

    status = "interrupted"
    try:
        ui.add_planned(sum(submit_next(i) for i in range(len(planned))))
        while executor.pending():
            job, document = executor.next_done()
            store.add_result(run_id, document)  # one transaction: this cell is safe now
            done[job.cell.key()] = document
            write_results_json(store, run_id, reports)
            ui.finish_cell(job.cell.label(), document)
            if submit_next(index_of[job.cell.group()]):
                ui.add_planned(1)
        _pair_variants(config, store, run_id, done, ui)
        status = "complete"
    finally:
        executor.close()
        store.set_run_status(run_id, status)
        write_results_json(store, run_id, reports)
    return store.results(run_id)


def _pair_variants(config: SweepConfig, store: Store, run_id: str, done: dict[str, dict], ui: SweepUI) -> None:
    """Each network's backends/precisions interleaved (``sweep.paired``), each network committed as it ends."""
    from benchbed.analysis.differences import from_paired
    from benchbed.report.differs import line
    from benchbed.sweep.paired import run_paired

    def commit(network: str, entries: list[dict]) -> None:
        store.add_paired(run_id, network, entries)
        write_results_json(store, run_id, Path(config.reports_dir))
        for entry in entries:
            ui.note(line(from_paired(entry)))

    run_paired(config, done, store.paired_networks(run_id), run_id, commit,
               lambda message: ui.phase("paired", message), ui.note)


__all__ = ["SilentUI", "SweepConfig", "SweepUI", "check_precisions", "open_run", "run_sweep", "validate_config"]
