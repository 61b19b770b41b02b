"""One cell, measured in a fresh process: ``python -m benchbed.worker JOB.json``.

The job file says what to measure; the result is written atomically to the job's ``result_path`` as
JSON (never pickle). Phases are announced on stdout as ``@phase NAME`` lines for the live display.
A crash, hang or OOM here kills only this process; the sweep records it as one failed cell.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from pathlib import Path

import numpy as np


def _phase(name: str) -> None:
    print(f"@phase {name}", flush=True)


def _rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _peak_rss_bytes() -> int:
    """This process's own RSS high-water mark. Not getrusage's ru_maxrss: on Linux that keeps the
    parent's peak across fork+exec, so every worker would report the sweep process's memory."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # other systems: best available


def _host_reading() -> dict:
    import psutil

    freq = psutil.cpu_freq()
    times = psutil.cpu_times()
    busy = sum(getattr(times, f, 0.0) for f in ("user", "system", "nice", "irq", "softirq", "steal"))
    own = psutil.Process().cpu_times()
    return {"mhz": freq.current if freq else None, "busy": busy, "own": own.user + own.system,
            "wall": time.perf_counter()}


def _inject_fault(fault: str | None) -> None:
    """Fault injection for the executor's tests: die like an OOM kill, crash, or hang."""
    import os
    import signal

    if fault == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif fault == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif fault == "hang":
        time.sleep(3600)


def measure(job: dict) -> dict:
    """Run the job in this process and return the result document."""
    from benchbed.backends import BackendOptions, get_backend
    from benchbed.export import parity_figures
    from benchbed.measure.stats import LatencyStats
    from benchbed.measure.timing import TimingProfile, time_runner
    from benchbed.measure.validity import judge
    from benchbed.synthetic import synthetic_images

    cell = job["cell"]
    _inject_fault(job.get("fault"))
    backend = get_backend(cell["backend"])
    profile = TimingProfile(**job["profile"])
    options = BackendOptions(**job["backend_options"])
    backend.probe()  # imports the runtime library, so the idle baseline includes it
    rss_idle = _rss_bytes()

    _phase("load")
    runner = backend.prepare(Path(job["artifact"]), options)
    started = time.perf_counter()
    runner.activate()
    activate_seconds = time.perf_counter() - started
    try:
        parity = None
        if backend.computes and job.get("reference"):
            _phase("parity")
            reference = np.load(job["reference"])[:1]
            runner.set_input(synthetic_images(3, job["resolution"], seed=job["parity_seed"])[:1])
            runner.infer()
            parity = parity_figures(runner.outputs(), reference)
            parity["tolerance"] = job["parity_tolerance"]
            parity["passed"] = bool(np.isfinite(parity["max_rel_error"])
                                    and parity["max_rel_error"] <= job["parity_tolerance"])
        runner.set_input(synthetic_images(cell["batch"], job["resolution"], seed=7 + cell["batch"]))
        before = _host_reading()
        timings = time_runner(runner.infer, profile, _phase)
        after = _host_reading()
        device_memory = runner.device_memory()
    finally:
        runner.deactivate()

    stats = LatencyStats.from_samples(timings.samples_ms, cell["batch"])
    wall = after["wall"] - before["wall"]
    foreign = max(0.0, ((after["busy"] - before["busy"]) - (after["own"] - before["own"])) / wall) if wall else None
    host = {"cpu_mhz_before": before["mhz"], "cpu_mhz_after": after["mhz"], "foreign_cpu_cores": foreign}
    verdict = judge(stats, timings, profile, parity, host)
    peak_rss = _peak_rss_bytes()
    return {
        "status": "ok",
        "cell": cell,
        "network_info": job.get("network_info"),
        "validity": verdict.to_dict(),
        "stats": stats.to_dict(),
        "first_inference_ms": timings.first_ms,
        "samples_ms": timings.samples_ms,
        "timing": {"warmup_iterations": timings.warmup_iterations, "warmup_seconds": timings.warmup_seconds,
                   "measured_seconds": timings.measured_seconds, "capped": timings.capped,
                   "profile": profile.to_dict(), "clock": runner.semantics.clock,
                   "copies_included": runner.semantics.copies_included, "device": runner.semantics.device,
                   "semantics_notes": runner.semantics.notes, "activate_seconds": activate_seconds},
        "memory": {"peak_rss_bytes": peak_rss, "idle_rss_bytes": rss_idle, "rss_increase_bytes": peak_rss - rss_idle,
                   "artifact_bytes": Path(job["artifact"]).stat().st_size if backend.computes else 0,
                   "device": device_memory},
        "parity": parity,
        "host": host,
        "backend": {"name": backend.name, "options": options.to_dict(), "details": runner.details},
    }


def main(argv: list[str]) -> int:
    from benchbed.artifacts import atomic_write_json

    job = json.loads(Path(argv[1]).read_text())
    try:
        result = measure(job)
    except Exception as exc:  # reported as one failed cell with its reason, not a dead sweep
        result = {"status": "failed", "cell": job["cell"], "network_info": job.get("network_info"), "error": f"{type(exc).__name__}: {exc}".strip(),
                  "traceback": traceback.format_exc()}
    atomic_write_json(job["result_path"], result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
