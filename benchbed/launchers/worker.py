"""One cell, measured in a fresh process: ``python -m benchbed.launchers.worker JOB.json``.

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
    from benchbed.artifacts.export import parity_figures
    from benchbed.measure.stats import LatencyStats
    from benchbed.measure.timing import TimingProfile, time_runner
    from benchbed.measure.validity import judge
    from benchbed.artifacts.synthetic import synthetic_images

    cell = job["cell"]
    _inject_fault(job.get("fault"))
    backend = get_backend(cell["backend"])
    profile = TimingProfile(**job["profile"])
    options = _with_profile_batch(backend, BackendOptions(**job["backend_options"]), job)
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
            parity["tolerance"] = _parity_tolerance(job, runner, parity)
            parity["passed"] = bool(np.isfinite(parity["max_rel_error"])
                                    and parity["max_rel_error"] <= parity["tolerance"])
        if cell["scenario"].startswith("mlperf-"):
            tracker = _gpu_tracker(runner)
            served = _GpuCounter(runner) if tracker else runner  # CPU cells: the runner itself, as before
            before = _host_reading()
            try:
                loadgen = _measure_loadgen(job, served, _loadgen_start(tracker, served))
            except BaseException:
                if tracker:
                    tracker.stop(0, 0)
                raise
            after = _host_reading()
            nvml = tracker.stop(served.inferences, served.images) if tracker else None
            device_memory = runner.device_memory()
            document = _loadgen_document(job, backend, runner, options, loadgen, parity, activate_seconds, rss_idle,
                                         before, after, device_memory)
            return _add_gpu_sections(document, nvml, served.device_ms if tracker else None, cell["batch"],
                                     "cuda-events (GPU compute time of each SUT batch; batch sizes vary)")
        runner.set_input(synthetic_images(cell["batch"], job["resolution"], seed=7 + cell["batch"]))
        tracker = _gpu_tracker(runner)
        before = _host_reading()
        try:
            timings = time_runner(runner.infer, profile, tracker.phase_hook(_phase) if tracker else _phase)
        except BaseException:
            if tracker:
                tracker.stop(0, 0)
            raise
        after = _host_reading()
        count = len(timings.samples_ms)
        nvml = tracker.stop(count, count * cell["batch"]) if tracker else None
        device_ms = runner.device_times_ms()[-count:] if hasattr(runner, "device_times_ms") and count else None
        device_memory = runner.device_memory()
    finally:
        runner.deactivate()

    stats = LatencyStats.from_samples(timings.samples_ms, cell["batch"])
    host = _host_summary(before, after)
    verdict = judge(stats, timings, profile, parity, host)
    document = {
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
        "memory": _memory_summary(job, backend, rss_idle, device_memory),
        "parity": parity,
        "host": host,
        "backend": {"name": backend.name, "options": options.to_dict(), "details": runner.details},
    }
    return _add_gpu_sections(document, nvml, device_ms, cell["batch"])


def _with_profile_batch(backend, options, job: dict):
    """Engine-building GPU backends get the sweep's largest batch as their optimization profile's max, and
    the cell's own batch as the batch it is tuned for (as trtexec's --shapes); MLPerf cells' batches vary."""
    from dataclasses import replace

    if not getattr(backend, "takes_max_batch", False) or not job.get("max_batch"):
        return options
    extra = dict(options.extra)
    extra.setdefault("max_batch", job["max_batch"])
    if not job["cell"]["scenario"].startswith("mlperf-"):
        extra.setdefault("opt_batch", min(int(job["cell"]["batch"]), int(extra["max_batch"])))
    return replace(options, extra=extra)


def _gpu_tracker(runner):
    """An NVML tracker for a runner on an NVIDIA GPU (None on the CPU, or when NVML is unavailable)."""
    if not runner.semantics.device.startswith("cuda"):
        return None
    from benchbed.measure.trackers.nvml import NvmlTracker

    index = runner.semantics.device.partition(":")[2]
    return NvmlTracker.open(int(index) if index.isdigit() else 0)


def _parity_tolerance(job: dict, runner, parity: dict) -> float:
    """The artifact precision's bound, widened when the backend computes in bf16/fp16 (recorded why)."""
    from benchbed.artifacts.precision import compute_tolerance

    tolerance = job["parity_tolerance"]
    compute = runner.details.get("compute_precision")
    bound = compute_tolerance(compute)
    if bound and bound[0] > tolerance:
        tolerance, parity["tolerance_reason"] = bound
        parity["compute_precision"] = compute
    return tolerance


class _GpuCounter:
    """Wraps a GPU runner while LoadGen drives it: counts inferences and images for the NVML energy figures and
    keeps each inference's CUDA-event time (runners reset theirs at every ``set_input``, i.e. every SUT batch)."""

    def __init__(self, runner) -> None:
        self._runner = runner
        self._times = getattr(runner, "device_times_ms", None)
        self.reset()

    def reset(self) -> None:
        self.inferences, self.images, self._batch = 0, 0, 0
        self.device_ms: list[float] = []

    def set_input(self, batch: np.ndarray) -> None:
        self._runner.set_input(batch)
        self._batch = len(batch)

    def infer(self) -> None:
        self._runner.infer()
        self.inferences += 1
        self.images += self._batch
        if self._times is not None:
            times = self._times()
            if times:
                self.device_ms.append(times[-1])

    def __getattr__(self, name: str):
        return getattr(self._runner, name)


def _loadgen_start(tracker, served):
    """Called when LoadGen takes over (after the unloaded probes): the NVML measured phase starts there."""
    if tracker is None:
        return None

    def start() -> None:
        served.reset()
        tracker.mark()
    return start


def _add_gpu_sections(document: dict, nvml: dict | None, device_ms: list[float] | None, batch: int,
                      device_clock: str = "cuda-events (GPU compute time, enqueue to completion)") -> dict:
    """NVML readings (warnings join the verdict) and CUDA-event GPU compute times, for GPU cells only."""
    from benchbed.measure.stats import LatencyStats

    if nvml is not None:
        document["nvml"] = nvml
        document["validity"]["warnings"].extend(nvml["warnings"])
    if device_ms:
        document["timing"]["device_clock"] = device_clock
        document["timing"]["device_samples_ms"] = device_ms
        document["timing"]["device_stats"] = LatencyStats.from_samples(device_ms, batch).to_dict()
    return document


def _host_summary(before: dict, after: dict) -> dict:
    """CPU frequency around the measurement, and the cores other processes used meanwhile."""
    wall = after["wall"] - before["wall"]
    foreign = max(0.0, ((after["busy"] - before["busy"]) - (after["own"] - before["own"])) / wall) if wall else None
    return {"cpu_mhz_before": before["mhz"], "cpu_mhz_after": after["mhz"], "foreign_cpu_cores": foreign}


def _memory_summary(job: dict, backend, rss_idle: int, device_memory: dict | None) -> dict:
    peak_rss = _peak_rss_bytes()
    return {"peak_rss_bytes": peak_rss, "idle_rss_bytes": rss_idle, "rss_increase_bytes": peak_rss - rss_idle,
            "artifact_bytes": Path(job["artifact"]).stat().st_size if backend.computes else 0,
            "device": device_memory}


def _probe_latency_ms(runner, resolution: int, batch: int, repeats: int = 5) -> float:
    from benchbed.artifacts.synthetic import synthetic_images

    runner.set_input(synthetic_images(batch, resolution, seed=5))
    runner.infer()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        runner.infer()
        samples.append((time.perf_counter() - started) * 1e3)
    return float(np.median(samples))


def _measure_loadgen(job: dict, runner, on_start=None) -> dict:
    """Drive the runner with MLPerf LoadGen; the server scenario searches for its highest VALID QPS.

    ``on_start`` is called once, after the unloaded probes and before LoadGen's first query."""
    from benchbed.scenarios.mlperf.adapters import BatcherSettings
    from benchbed.scenarios.mlperf.run import LoadGenOptions, run_loadgen
    from benchbed.scenarios.mlperf.server_search import search_max_qps

    spec = job["mlperf"]
    cell = job["cell"]
    batcher = BatcherSettings(max_batch=cell["batch"] if cell["scenario"] in ("mlperf-server", "mlperf-offline")
                              else 1, max_queue_delay_ms=spec["max_queue_delay_ms"])
    options = LoadGenOptions(cell["scenario"], duration_ms=spec["duration_ms"], strict=spec["strict"],
                             sla_ms=spec.get("sla_ms"), percentile=spec.get("percentile"), batcher=batcher)
    log_dir = Path(spec["log_dir"])
    _phase("probe")
    single_ms = _probe_latency_ms(runner, job["resolution"], 1)
    batch_ms = _probe_latency_ms(runner, job["resolution"], batcher.max_batch) if batcher.max_batch > 1 else single_ms
    _phase("loadgen")
    if on_start is not None:
        on_start()
    if cell["scenario"] != "mlperf-server":
        summary = run_loadgen(runner, job["resolution"], options, log_dir, batch_ms if batcher.max_batch > 1
                              else single_ms)
        return {"summary": summary, "options": options.to_dict(), "probe_ms": {"batch1": single_ms,
                                                                               "max_batch": batch_ms}}
    capacity = batcher.max_batch * 1e3 / batch_ms
    trials = []

    def trial(qps: float) -> dict:
        _phase(f"loadgen server {qps:.4g} QPS")
        summary = run_loadgen(runner, job["resolution"], options, log_dir / f"qps-{qps:.6g}", single_ms, qps)
        trials.append(summary)
        return summary

    result = search_max_qps(trial, start_qps=capacity / 2, min_qps=max(capacity / 32, 0.05), max_qps=capacity * 2,
                            precision=spec.get("search_precision", 0.05), max_trials=spec.get("max_trials", 12),
                            service_ms=single_ms, sla_ms=options.sla_ms)
    summary = result.best or (trials[-1] if trials else _unmeasured_summary(options, single_ms, result.note))
    return {"summary": summary, "options": options.to_dict(), "probe_ms": {"batch1": single_ms, "max_batch": batch_ms},
            "search": {"best_qps": result.best_qps, "met_sla": result.met_sla, "note": result.note,
                       "capacity_estimate_qps": capacity,
                       "trials": [{k: t[k] for k in ("target_qps", "valid", "reasons", "throughput_sps",
                                                     "percentiles_ms", "query_count", "log_dir")}
                                  for t in result.trials]}}


def _unmeasured_summary(options, single_ms: float, note: str) -> dict:
    """What a server search reports when no LoadGen run was worth starting (the SLA is below one inference)."""
    return {"valid": False, "reasons": [], "scenario": "Server", "target_qps": None, "throughput_sps": 0.0,
            "percentiles_ms": {f"p{p:g}_ms": single_ms for p in (50, 90, 95, 97, 99, 99.9)}, "mean_ms": single_ms,
            "min_ms": single_ms, "max_ms": single_ms, "latency_unit": "sample (unloaded probe)", "query_count": 0,
            "overlatency_query_count": None, "early_stopping": {"met": None, "result": note},
            "loadgen_version": None, "wall_seconds": 0.0, "batch_sizes": {"mean": 0.0, "max": 0},
            "sut_latencies_ms": [], "log_dir": None}


def _loadgen_document(job: dict, backend, runner, options, loadgen: dict, parity, activate_seconds: float,
                      rss_idle: int, before: dict, after: dict, device_memory) -> dict:
    from benchbed.measure.validity import Verdict, parity_reason

    cell = job["cell"]
    summary = loadgen["summary"]
    samples = summary.pop("sut_latencies_ms", [])
    reasons = list(summary["reasons"])
    search = loadgen.get("search")
    if search is not None and not search["met_sla"]:
        reasons.append(search["note"])
    if parity_reason(parity):
        reasons.append(parity_reason(parity))
    verdict = Verdict(summary["valid"] and not reasons, reasons, [])
    p = summary["percentiles_ms"]
    values = np.asarray(samples) if samples else np.asarray([summary["mean_ms"]])
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    stats = {"count": int(summary["query_count"] or 0), "mean_ms": summary["mean_ms"], "std_ms": std,
             "cov": std / mean if mean else 0.0, "min_ms": summary["min_ms"], "max_ms": summary["max_ms"],
             "p50_ms": p["p50_ms"], "p90_ms": p["p90_ms"], "p95_ms": p["p95_ms"], "p99_ms": p["p99_ms"],
             "throughput_ips": summary["throughput_sps"], "batch": cell["batch"],
             "source": "LoadGen (latency from query issue to completion)"}
    return {
        "status": "ok", "cell": cell, "network_info": job.get("network_info"), "validity": verdict.to_dict(),
        "stats": stats, "first_inference_ms": loadgen["probe_ms"]["batch1"], "samples_ms": samples,
        "timing": {"clock": "host", "copies_included": runner.semantics.copies_included,
                   "device": runner.semantics.device, "profile": {"name": "loadgen", **loadgen["options"]},
                   "measured_seconds": summary["wall_seconds"], "activate_seconds": activate_seconds},
        "loadgen": {k: v for k, v in summary.items()} | {"probe_ms": loadgen["probe_ms"], "search": search},
        "memory": _memory_summary(job, backend, rss_idle, device_memory),
        "parity": parity,
        "host": _host_summary(before, after),
        "backend": {"name": backend.name, "options": options.to_dict(), "details": runner.details},
    }


def main(argv: list[str]) -> int:
    import os

    from benchbed.core.files import atomic_write_json

    # before any CUDA library loads: number GPUs in PCI order, as NVML does (CUDA's default is fastest first)
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")

    job = json.loads(Path(argv[1]).read_text())
    try:
        result = measure(job)
    except Exception as exc:  # reported as one failed cell with its reason, not a dead sweep
        result = {"status": "failed", "cell": job["cell"], "network_info": job.get("network_info"),
                  "error": f"{type(exc).__name__}: {exc}".strip(), "traceback": traceback.format_exc()}
    atomic_write_json(job["result_path"], result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
