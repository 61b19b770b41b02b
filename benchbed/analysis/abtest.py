"""``benchbed abtest``: BASE and CURRENT checkouts measured at the same time, interleaved, cell by cell.

Each side is a resident worker started by that side's own Python (``launchers.resident``), so each
checkout exports its own artifact and prepares its own runner, once. Both stay loaded while the
coordinator alternates short bursts between them (``analysis.interleave``); the answer per cell is the
CURRENT / BASE latency ratio with its interval over rounds and a sequential verdict (slower, faster,
same, or unknown once the budget is spent), never two absolute figures taken minutes apart.
When both sides export byte-identical artifacts the comparison is of the runtimes on the same file,
and says so.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from benchbed.analysis.compare import CellComparison, MetricChange
from benchbed.analysis.interleave import InterleaveSettings, Interleaved, interleave
from benchbed.core.errors import ConfigError
from benchbed.core.job import ExportRecipe, Job
from benchbed.launchers.resident_client import ResidentError, ResidentWorker, load_replicas, start_workers
from benchbed.sweep.config import SweepConfig

SIDES = ("base", "current")
#: scenarios an A/B test can interleave: benchbed's own timed loop at one batch
TIMED_SCENARIOS = ("single-stream", "offline")
#: the paired verdict as compare's verdicts (so --fail-on, tables, JUnit work unchanged)
AS_COMPARE_VERDICT = {"slower": "slower", "faster": "faster", "same": "no significant change", "unknown": "unknown"}


@dataclass(frozen=True)
class ABTest:
    """Which Pythons to compare, how long to measure each cell, and where each side keeps its artifacts."""

    base_python: Path
    current_python: Path
    settings: InterleaveSettings = InterleaveSettings()
    work: Path = Path("reports/abtest")

    def __post_init__(self) -> None:
        for label in ("base_python", "current_python"):
            if not Path(getattr(self, label)).exists():
                raise ConfigError(label, f"{getattr(self, label)}: no such interpreter")


@dataclass
class ABCell:
    """One cell's paired comparison, with what each side loaded."""

    job: Job
    result: Interleaved
    loaded: dict[str, dict]  # side -> the resident's load reply (artifact, sha256, parity, backend details)

    @property
    def same_artifact(self) -> bool:
        return self.loaded["base"].get("artifact_sha256") == self.loaded["current"].get("artifact_sha256")


def plan_jobs(config: SweepConfig) -> list[Job]:
    """One job per planned group: single-stream at batch 1, offline at the sweep's ``max_batch``."""
    from benchbed.sweep.plan import groups, make_job

    other = sorted(set(config.scenarios) - set(TIMED_SCENARIOS))
    if other:
        raise ConfigError("scenarios", f"abtest interleaves {' and '.join(TIMED_SCENARIOS)} cells; "
                          f"{', '.join(other)} cannot be timed in bursts")
    jobs = []
    for index, group in enumerate(groups(config)):
        batch = 1 if group.scenario == "single-stream" else config.max_batch
        jobs.append(make_job(config, group.spec, group.precision, group.cell(batch), "abtest", index))
    return jobs


def side_job(job: Job, work: Path, side: str) -> Job:
    """The job as ``side`` makes it: exported by that checkout into its own models folder."""
    if job.export is None or "onnx" in job.export.network:  # a user's file is the same file on both sides
        return job
    return replace(job, export=ExportRecipe(job.export.network, job.export.precision, str(work / side / "models")))


def start_side(python: Path, side: str) -> ResidentWorker:
    """A resident worker in ``side``'s environment; one that cannot run benchbed is bad input (exit 2)."""
    try:
        return ResidentWorker(python, side)
    except ResidentError as exc:
        raise ConfigError(f"{side}_python", f"{python} cannot run benchbed's resident worker ({exc}); install "
                          f"the {side.upper()} checkout into that environment (pip install -e CHECKOUT)") from None


def check_same_interface(job: Job, loaded: dict[str, dict]) -> None:
    """Two artifacts that take or give different tensors are different networks: not an A/B test."""
    signatures = [loaded[side].get("signature") for side in SIDES]
    if None not in signatures and signatures[0] != signatures[1]:
        raise ConfigError("sweep_args", f"{job.cell.label()}: BASE and CURRENT artifacts have different inputs or "
                          f"outputs ({signatures[0]} vs {signatures[1]}); abtest compares one network")


def run_abtest(test: ABTest, config: SweepConfig,
               on_event: Callable[[str], None] = lambda message: None) -> list[ABCell]:
    """Every planned cell, interleaved BASE against CURRENT until decided or out of budget."""
    jobs = plan_jobs(config)
    pythons = dict(zip(SIDES, (test.base_python, test.current_python)))
    cells = []
    for side, python in pythons.items():  # a side that cannot run benchbed is bad input, said before any work
        with start_side(python, side) as probe:
            on_event(f"{side}: benchbed {probe.hello.get('benchbed')} on Python {probe.hello.get('python')}")
    with contextlib.ExitStack() as stack:
        workers = start_workers(pythons, test.settings.replicas, stack)
        for job in jobs:
            on_event(f"{job.cell.label()}: loading both sides ({test.settings.replicas} processes each)")
            warmup = max(float(job.profile.get("warmup_seconds", 0.2)), 1.0)
            variants = load_replicas(workers, {side: {"op": "load", "job": side_job(job, test.work, side).to_json(),
                                                      "warmup_seconds": warmup} for side in SIDES},
                                     test.settings.replicas)
            loaded = {v.label: v.info for v in variants}
            check_same_interface(job, loaded)
            result = interleave(variants, test.settings)
            cells.append(ABCell(job, result, loaded))
            on_event(result.describe("current"))
    return cells


def as_comparisons(cells: list[ABCell]) -> list[CellComparison]:
    """The paired results in compare's shape, so the same tables, JSON, JUnit and ``--fail-on`` apply."""
    rows = []
    for cell in cells:
        decision, result = cell.result.decisions["current"], cell.result
        metric = MetricChange("latency", result.typical_ms("base"), result.typical_ms("current"), decision.ratio,
                              decision.ci_low, decision.ci_high, None, AS_COMPARE_VERDICT[decision.verdict])
        seeable = (f", could see changes >= {decision.smallest_detectable:.1%}"
                   if decision.smallest_detectable is not None else "")
        reasons = [f"paired: {decision.rounds} rounds in {result.seconds:.0f} s ({result.stopped_by}), "
                   f"{decision.confidence:.2%} interval (sequential looks), burst {result.settings.statistic}{seeable}",
                   "same artifact" if cell.same_artifact else "artifacts differ (network or export changed)"]
        reasons += result.notes
        if result.contended_rounds:
            reasons.append(f"{result.contended_rounds} contended rounds redone")
        rows.append(CellComparison(cell.job.cell.key(), cell.job.cell.to_dict(), metric.verdict, reasons, [metric]))
    return rows
