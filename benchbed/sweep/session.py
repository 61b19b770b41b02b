"""One sweep session: from typed choices to a finished (or interrupted, resumable) run in a store.

What ``benchbed sweep`` does between parsing and printing lives here, so a program can do the same:
the timing profile with the user's overrides (:func:`timing_profile`), the backends ``auto`` stands for
(:func:`resolve_backends`), the executor that runs the cells (:data:`EXECUTORS`: local worker
processes or a Ray cluster), and the Ctrl-C policy: finished cells stay in the store, the run is
marked interrupted and :class:`SweepInterrupted` says how many cells were kept (resume the same sweep
with ``RunOptions(resume=True)``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from benchbed.core.errors import BenchbedError, ConfigError, UnknownChoiceError
from benchbed.measure.timing import TimingProfile, get_profile
from benchbed.sweep import Store, SweepConfig, open_run, run_sweep

if TYPE_CHECKING:
    from benchbed.launchers.base import Executor
    from benchbed.sweep.run import SweepUI


def timing_profile(name: str = "default", *, warmup_seconds: float | None = None, min_seconds: float | None = None,
                   min_iterations: int | None = None, max_seconds: float | None = None) -> TimingProfile:
    """A named profile with the given fields overridden (its name then ends in ``+custom``).

    A longer minimum duration than the profile's cap raises the cap to four times the minimum, unless the
    cap was given too: asking to measure 60 s must not be cut short by the quick profile's 30 s.
    """
    profile = get_profile(name)
    custom = {k: v for k, v in (("warmup_seconds", warmup_seconds), ("min_seconds", min_seconds),
                                ("min_iterations", min_iterations), ("max_seconds", max_seconds)) if v is not None}
    if not custom:
        return profile
    profile = replace(profile, name=profile.name + "+custom", **custom)
    if max_seconds is None and profile.max_seconds < profile.min_seconds:
        profile = replace(profile, max_seconds=profile.min_seconds * 4)
    return profile


def resolve_backends(names: list[str]) -> tuple[str, list[str]]:
    """The backends to measure (comma-joined, ``auto`` resolved, no repeats) and one line per backend that
    ``auto`` skipped on the way, with the reason (e.g. how to install it)."""
    from benchbed.backends import resolve_backend

    resolved = [resolve_backend(name) for name in names]
    return ",".join(dict.fromkeys(name for name, _ in resolved)), [line for _, lines in resolved for line in lines]


@dataclass(frozen=True)
class RunOptions:
    """How to run a sweep, as opposed to what it measures (:class:`SweepConfig`): none of these change a
    result, so none of them is in the sweep's identity."""

    db: Path = Path("reports/benchbed.sqlite")
    resume: bool = False
    run_id: str | None = None
    executor: str = "local"
    address: str | None = None  # Ray: the cluster (default: a private local one)
    ray_retries: int = 1

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise UnknownChoiceError("executor", self.executor, EXECUTORS)
        if self.ray_retries < 0:
            raise ConfigError("ray_retries", f"must be >= 0, got {self.ray_retries}")

    def check(self, config: SweepConfig) -> None:
        """Options that only the Ray executor uses are refused with the local one, not silently ignored."""
        if self.executor == "local" and (self.address or config.hardware):
            raise ConfigError("address", "and {hardware} need {executor} ray", mentions=("hardware", "executor"))


def _local(config: SweepConfig, options: RunOptions) -> None:
    return None  # run_sweep's own LocalExecutor: one worker process per cell


def _ray(config: SweepConfig, options: RunOptions) -> Executor:
    from benchbed.launchers.ray import RayExecutor

    return RayExecutor(options.address, config.timeout(), config.hardware, retries=options.ray_retries)


#: executor name -> factory (``None``: run_sweep's default local executor)
EXECUTORS: dict[str, Callable[[SweepConfig, RunOptions], Executor | None]] = {"local": _local, "ray": _ray}


class SweepInterrupted(BenchbedError):
    """Ctrl-C during a sweep: the finished cells are kept in the store and the run can be resumed."""

    exit_code = 130

    def __init__(self, run_id: str, kept: int, db: Path, exit_code: int = 130) -> None:
        self.run_id, self.kept, self.db, self.exit_code = run_id, kept, db, exit_code
        how = "terminated (SIGTERM)" if exit_code == 143 else "interrupted"
        super().__init__(f"{how}; {kept} finished cells of run {run_id} kept in {db}")


class SweepSession:
    """A sweep's run in its store: opened (new, or the one to resume) on entry, closed on exit.

    Opening first lets a caller say which run it is before the measuring starts.
    """

    def __init__(self, config: SweepConfig, options: RunOptions) -> None:
        from benchbed.core.environment import environment

        options.check(config)
        self.config, self.options = config, options
        self.store = Store(options.db)
        try:
            self.run_id, self.resumed = open_run(self.store, config, environment(), options.resume, options.run_id)
        except BaseException:
            self.store.close()
            raise

    def __enter__(self) -> "SweepSession":
        return self

    def __exit__(self, *exc) -> None:
        self.store.close()

    def run(self, ui: SweepUI | None = None) -> tuple[dict, list[dict]]:
        """Measure every missing cell; the run (its stored record) and all its result documents.

        Raises :class:`SweepInterrupted` on Ctrl-C, after the run is marked interrupted.
        """
        try:
            executor = EXECUTORS[self.options.executor](self.config, self.options)
            results = run_sweep(self.config, self.store, self.run_id, executor=executor,
                                **({} if ui is None else {"ui": ui}))
        except KeyboardInterrupt as stop:
            raise SweepInterrupted(self.run_id, len(self.store.results(self.run_id)), self.options.db,
                                   getattr(stop, "exit_code", 130)) from None
        return self.store.run(self.run_id), results


def run_session(config: SweepConfig, options: RunOptions = RunOptions(),
                ui: SweepUI | None = None) -> tuple[dict, list[dict]]:
    """The whole sweep in one call: open (or resume) the run, measure, close. See :class:`SweepSession`."""
    with SweepSession(config, options) as session:
        return session.run(ui)
