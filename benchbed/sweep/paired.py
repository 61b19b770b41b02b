"""After a sweep's cells: each network's variants (backend × precision) interleaved, as ratios with intervals.

The per-cell figures of a sweep were taken minutes apart, so "openvino is 16 % faster than onnxruntime
at B3" read off two cells mixes the backends' difference with whatever the machine did in between.
Here every variant of one network is loaded at once in its own resident worker and timed in
alternating bursts (``analysis.interleave``): "openvino / onnxruntime at B3: 0.84 [0.81, 0.87]". The
first backend and precision of the sweep is the reference. Entries are committed per network, so an
interrupted sweep keeps the ones finished and ``--resume`` measures only the rest.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Callable

from benchbed.analysis.interleave import InterleaveSettings, interleave
from benchbed.core.cell import Cell
from benchbed.core.errors import BenchbedError
from benchbed.launchers.base import resolve_artifact
from benchbed.launchers.resident_client import ResidentVariant, ResidentWorker
from benchbed.sweep.config import SweepConfig
from benchbed.sweep.plan import groups, make_job

SCENARIO = "single-stream"  # latency at batch 1: what a burst times without a batch search


def variant_label(cell: Cell) -> str:
    return f"{cell.backend} {cell.precision}"


def comparable_groups(config: SweepConfig, done: dict[str, dict]) -> dict[str, list]:
    """Per network, its single-stream groups whose cell finished ok, when there are at least two."""
    by_network: dict[str, list] = {}
    for group in groups(config):
        if group.scenario != SCENARIO or group.hardware is not None:
            continue
        document = done.get(group.cell(1).key())
        if document and document.get("status") == "ok":
            by_network.setdefault(group.spec.name, []).append(group)
    return {name: found for name, found in by_network.items() if len(found) >= 2}


def entries(config: SweepConfig, spec, cells: list[Cell], result) -> list[dict]:
    """One stored entry per non-reference variant (the shape the reports read)."""
    reference = cells[0]
    found = []
    for cell in cells[1:]:
        decision = result.decisions[variant_label(cell)]
        found.append({"network": spec.name, "phi": getattr(getattr(spec, "scaling", None), "phi", None),
                      "scenario": SCENARIO, "batch": 1, "metric": f"{result.settings.statistic}_ms",
                      "reference": {"backend": reference.backend, "precision": reference.precision},
                      "variant": {"backend": cell.backend, "precision": cell.precision},
                      "ratio": decision.ratio, "ci_low": decision.ci_low, "ci_high": decision.ci_high,
                      "confidence": decision.confidence, "rounds": decision.rounds, "seconds": result.seconds,
                      "verdict": decision.verdict, "min_effect": decision.min_effect,
                      "smallest_detectable": decision.smallest_detectable,
                      "contended_rounds": result.contended_rounds, "notes": result.notes})
    return found


def run_paired(config: SweepConfig, done: dict[str, dict], have: set[str], run_id: str,
               commit: Callable[[str, list[dict]], None], progress: Callable[[str], None] = lambda m: None,
               note: Callable[[str], None] = lambda m: None) -> None:
    """Interleave each network's variants not yet in ``have`` (network names); ``commit`` stores each.

    A network whose variants cannot be loaded again is skipped with a ``note``: its cells are measured and
    kept; only its ratios are missing (and ``--resume`` tries again)."""
    if config.paired_seconds <= 0 or config.hardware:  # Ray's cells ran elsewhere: pair only local sweeps
        return
    # one process per variant: a sweep may pair many large networks, and its budget is short
    settings = InterleaveSettings(min_effect=config.paired_min_effect, budget_seconds=config.paired_seconds,
                                  confidence=0.95, max_foreign_cpu=config.max_foreign_cpu, replicas=1)
    for name, found in comparable_groups(config, done).items():
        if name in have:
            continue
        cells = [group.cell(1) for group in found]
        progress(f"{name}: interleaving {', '.join(variant_label(c) for c in cells)}")
        try:
            result = _interleave_network(config, found, cells, run_id, settings)
        except BenchbedError as exc:
            note(f"{name}: paired comparison skipped: {exc}")
            continue
        commit(name, entries(config, found[0].spec, cells, result))


def _interleave_network(config: SweepConfig, found: list, cells: list[Cell], run_id: str,
                        settings: InterleaveSettings):
    with contextlib.ExitStack() as stack:
        requests = []
        for index, (group, cell) in enumerate(zip(found, cells)):
            job = resolve_artifact(make_job(config, group.spec, group.precision, cell, run_id, index))
            if job.export_error:
                raise BenchbedError(job.export_error)
            worker = stack.enter_context(ResidentWorker(sys.executable, variant_label(cell), wait=False))
            requests.append((variant_label(cell), worker, {"op": "load", "job": job.to_json(), "warmup_seconds": 1.0}))
        return interleave(ResidentVariant.load_all(requests), settings)
