"""One cell, measured in a fresh process: ``python -m benchbed.launchers.worker JOB.json RESULT.json``.

The job file holds a :class:`~benchbed.core.job.Job`; the worker prepares the backend's runner, checks
its output against the PyTorch reference, lets the cell's scenario measure it, and writes a
``Result`` or ``Failure`` document atomically (JSON, never pickle). Phases are announced on stdout as
``@phase NAME`` lines for the live display. A crash, hang or OOM here kills only this process; the
launcher records it as one failed cell.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchbed.core.job import Job


def phase(name: str) -> None:
    print(f"@phase {name}", flush=True)


def measure(job: Job) -> dict:
    """Run the job in this process and return the result document."""
    from benchbed.backends import BackendOptions, get_backend
    from benchbed.core.result import Result
    from benchbed.measure.trackers.memory import memory_summary, rss_bytes
    from benchbed.scenarios import MeasureContext, get_scenario

    backend = get_backend(job.cell.backend)
    scenario = get_scenario(job.cell.scenario)
    options = _with_profile_batch(backend, BackendOptions(**job.backend_options), job)
    backend.probe()  # imports the runtime library, so the idle baseline includes it
    rss_idle = rss_bytes()

    phase("load")
    runner = backend.prepare(Path(job.artifact), options)
    started = time.perf_counter()
    runner.activate()
    activate_seconds = time.perf_counter() - started
    try:
        parity = check_parity(job, backend, runner)
        measured = scenario.run(MeasureContext(job, backend, runner, parity, phase))
    finally:
        runner.deactivate()
    artifact_bytes = Path(job.artifact).stat().st_size if backend.computes else 0
    return Result(job.cell, measured.validity, measured.stats, measured.samples_ms,
                  measured.timing | {"activate_seconds": activate_seconds},
                  memory_summary(rss_idle, artifact_bytes, measured.device_memory), measured.host,
                  {"name": backend.name, "options": options.to_dict(), "details": runner.details},
                  job.network_info, parity, measured.first_inference_ms, measured.sections).to_json()


def check_parity(job: Job, backend, runner) -> dict | None:
    """This backend's output against the PyTorch reference on the parity image (None for the null backend)."""
    from benchbed.artifacts.parity import parity_figures
    from benchbed.artifacts.synthetic import job_sample, synthetic_batch

    if not (backend.computes and job.reference):
        return None
    phase("parity")
    reference = np.load(job.reference)[:1]
    runner.set_input(synthetic_batch(3, job_sample(job), seed=job.parity_seed)[:1])
    runner.infer()
    parity = parity_figures(runner.outputs(), reference)
    parity["tolerance"] = _parity_tolerance(job, runner, parity)
    parity["passed"] = bool(np.isfinite(parity["max_rel_error"]) and parity["max_rel_error"] <= parity["tolerance"])
    return parity


def _with_profile_batch(backend, options, job: Job):
    """Engine-building GPU backends get the sweep's largest batch as their optimization profile's max, and
    the cell's own batch as the batch it is tuned for (as trtexec's --shapes); MLPerf cells' batches vary."""
    if not backend.capabilities.takes_max_batch or not job.max_batch:
        return options
    extra = dict(options.extra)
    extra.setdefault("max_batch", job.max_batch)
    if not job.cell.scenario.startswith("mlperf-"):
        extra.setdefault("opt_batch", min(int(job.cell.batch), int(extra["max_batch"])))
    return replace(options, extra=extra)


def _parity_tolerance(job: Job, runner, parity: dict) -> float:
    """The artifact precision's bound, widened when the backend computes in bf16/fp16 (recorded why)."""
    from benchbed.artifacts.precision import compute_tolerance

    tolerance = job.parity_tolerance
    compute = runner.details.get("compute_precision")
    bound = compute_tolerance(compute)
    if bound and bound[0] > tolerance:
        tolerance, parity["tolerance_reason"] = bound
        parity["compute_precision"] = compute
    return tolerance


def main(argv: list[str]) -> int:
    from benchbed.core.files import atomic_write_json
    from benchbed.core.result import Failure

    # before any CUDA library loads: number GPUs in PCI order, as NVML does (CUDA's default is fastest first)
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    job_path, result_path = argv[1], argv[2]
    job = Job.from_json(json.loads(Path(job_path).read_text()))
    try:
        result = measure(job)
    except Exception as exc:  # reported as one failed cell with its reason, not a dead sweep
        result = Failure(job.cell, f"{type(exc).__name__}: {exc}".strip(), job.network_info,
                         traceback=traceback.format_exc()).to_json()
    atomic_write_json(result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
