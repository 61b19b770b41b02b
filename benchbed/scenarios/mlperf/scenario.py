"""The four MLPerf LoadGen scenarios as benchbed scenarios: one cell each, run by the real LoadGen.

A cell's batch is what the SUT may batch: 1 for single-stream, 8 samples per query for multi-stream,
the dynamic batcher's ``--max-batch`` for server and offline. The server scenario searches for its
highest VALID QPS under the latency SLA (``server_search``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from benchbed.core.errors import BenchbedError
from benchbed.scenarios.base import Limits, MeasureContext, Measured
from benchbed.scenarios.mlperf.run import MULTISTREAM_SAMPLES

#: MLPerf's 600 s minimum per run plus loading and teardown, for --strict
STRICT_RUN_SECONDS = 700.0
#: a server search runs at most its trials plus two unloaded probes
SERVER_SEARCH_RUNS = 14


def probe_latency_ms(runner, resolution: int, batch: int, repeats: int = 5) -> float:
    """Unloaded median latency at ``batch``: sizes LoadGen's expected query time and the server search."""
    from benchbed.artifacts.synthetic import synthetic_batch

    runner.set_input(synthetic_batch(batch, resolution, seed=5))
    runner.infer()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        runner.infer()
        samples.append((time.perf_counter() - started) * 1e3)
    return float(np.median(samples))


class GpuCounter:
    """Wraps a GPU runner while LoadGen drives it: counts inferences and images for the NVML energy figures and
    keeps each inference's CUDA-event time (runners reset theirs at every ``set_input``, i.e. every SUT batch)."""

    def __init__(self, runner, device_times: bool) -> None:
        self._runner = runner
        self._times = runner.device_times_ms if device_times else None
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


def _unmeasured_summary(single_ms: float, note: str) -> dict:
    """What a server search reports when no LoadGen run was worth starting (the SLA is below one inference)."""
    return {"valid": False, "reasons": [], "scenario": "Server", "target_qps": None, "throughput_sps": 0.0,
            "percentiles_ms": {f"p{p:g}_ms": single_ms for p in (50, 90, 95, 97, 99, 99.9)}, "mean_ms": single_ms,
            "min_ms": single_ms, "max_ms": single_ms, "latency_unit": "sample (unloaded probe)", "query_count": 0,
            "overlatency_query_count": None, "early_stopping": {"met": None, "result": note},
            "loadgen_version": None, "wall_seconds": 0.0, "batch_sizes": {"mean": 0.0, "max": 0},
            "sut_latencies_ms": [], "log_dir": None}


@dataclass(frozen=True)
class MLPerf:
    name: str
    description: str

    # --- plan -------------------------------------------------------------------------------------------
    def batch(self, limits: Limits) -> int:
        if self.name == "mlperf-singlestream":
            return 1
        if self.name == "mlperf-multistream":
            return MULTISTREAM_SAMPLES
        return limits.max_batch

    def next_batch(self, done: dict[int, dict], limits: Limits) -> int | None:
        return None if done else self.batch(limits)

    def best(self, done: dict[int, dict]) -> dict | None:
        return next(iter(done.values()), None)

    def timeout(self, profile, strict: bool) -> float:
        return SERVER_SEARCH_RUNS * STRICT_RUN_SECONDS if strict else 3600.0

    def check(self, config) -> None:
        if self.name == "mlperf-server" and config.sla_ms is None:
            raise BenchbedError("--scenario mlperf-server needs a latency SLA: add --sla-p99 20ms")
        try:
            import mlperf_loadgen  # noqa: F401
        except ImportError:
            raise BenchbedError("MLPerf scenarios need LoadGen: pip install 'benchbed[mlperf]'") from None

    # --- run --------------------------------------------------------------------------------------------
    def run(self, context: MeasureContext) -> Measured:
        from benchbed.measure.trackers.gpu import add_gpu_sections, open_gpu_tracker
        from benchbed.measure.trackers.host import HostReading, host_summary

        runner = context.runner
        tracker = open_gpu_tracker(runner)
        # CPU cells: the runner itself
        served = GpuCounter(runner, context.backend.capabilities.device_times) if tracker else runner

        def start_measured_phase() -> None:  # when LoadGen takes over (after the unloaded probes)
            served.reset()
            tracker.mark()

        on_start = start_measured_phase if tracker else None
        before = HostReading.now()
        try:
            loadgen = self._loadgen(context, served, on_start)
        except BaseException:
            if tracker:
                tracker.stop(0, 0)
            raise
        after = HostReading.now()
        nvml = tracker.stop(served.inferences, served.images) if tracker else None
        measured = self._measured(context, loadgen, host_summary(before, after), runner.device_memory())
        add_gpu_sections(measured.validity, measured.timing, measured.sections, nvml,
                         served.device_ms if tracker else None, context.job.cell.batch,
                         "cuda-events (GPU compute time of each SUT batch; batch sizes vary)")
        return measured

    def _loadgen(self, context: MeasureContext, runner, on_start) -> dict:
        """Drive the runner with MLPerf LoadGen; the server scenario searches for its highest VALID QPS."""
        from pathlib import Path

        from benchbed.scenarios.mlperf.adapters import BatcherSettings
        from benchbed.scenarios.mlperf.run import LoadGenOptions, run_loadgen
        from benchbed.scenarios.mlperf.server_search import search_max_qps

        job, phase = context.job, context.phase
        from benchbed.artifacts.synthetic import job_sample

        spec, resolution = job.mlperf, job_sample(job)  # a resolution, or a user ONNX file's sample shape
        batcher = BatcherSettings(max_batch=job.cell.batch if self.name in ("mlperf-server", "mlperf-offline") else 1,
                                  max_queue_delay_ms=spec.max_queue_delay_ms)
        options = LoadGenOptions(self.name, duration_ms=spec.duration_ms, strict=spec.strict, sla_ms=spec.sla_ms,
                                 percentile=spec.percentile, batcher=batcher)
        log_dir = Path(spec.log_dir)
        phase("probe")
        single_ms = probe_latency_ms(runner, resolution, 1)
        batch_ms = probe_latency_ms(runner, resolution, batcher.max_batch) if batcher.max_batch > 1 else single_ms
        probes = {"batch1": single_ms, "max_batch": batch_ms}
        phase("loadgen")
        if on_start is not None:
            on_start()
        if self.name != "mlperf-server":
            summary = run_loadgen(runner, resolution, options, log_dir,
                                  batch_ms if batcher.max_batch > 1 else single_ms)
            return {"summary": summary, "options": options.to_dict(), "probe_ms": probes}
        capacity = batcher.max_batch * 1e3 / batch_ms
        trials = []

        def trial(qps: float) -> dict:
            phase(f"loadgen server {qps:.4g} QPS")
            summary = run_loadgen(runner, resolution, options, log_dir / f"qps-{qps:.6g}", single_ms, qps)
            trials.append(summary)
            return summary

        ceiling = min(capacity * 2, spec.max_qps)  # the null backend's "capacity" is millions of QPS
        result = search_max_qps(trial, start_qps=min(capacity / 2, ceiling), min_qps=min(max(capacity / 32, 0.05),
                                                                                      ceiling),
                                max_qps=ceiling, precision=spec.search_precision, max_trials=spec.max_trials,
                                service_ms=single_ms, sla_ms=options.sla_ms)
        summary = result.best or (trials[-1] if trials else _unmeasured_summary(single_ms, result.note))
        return {"summary": summary, "options": options.to_dict(), "probe_ms": probes,
                "search": {"best_qps": result.best_qps, "met_sla": result.met_sla, "note": result.note,
                           "capacity_estimate_qps": capacity,
                           "trials": [{k: t[k] for k in ("target_qps", "valid", "reasons", "throughput_sps",
                                                         "percentiles_ms", "query_count", "log_dir")}
                                      for t in result.trials]}}

    def _measured(self, context: MeasureContext, loadgen: dict, host: dict, device_memory) -> Measured:
        """LoadGen's own verdict and percentiles as benchbed's result fields (stats from the SUT's samples).

        A run other processes crowded beyond the sweep's limit is INVALID. It is not run again: one LoadGen
        run (a server search is many) takes minutes under --strict, too long to repeat on a busy machine.
        """
        from benchbed.measure.contention import Guard
        from benchbed.measure.validity import Verdict, contention_reason, parity_reason

        runner, batch = context.runner, context.job.cell.batch
        summary = loadgen["summary"]
        samples = summary.pop("sut_latencies_ms", [])
        reasons = list(summary["reasons"])
        search = loadgen.get("search")
        if search is not None and not search["met_sla"]:
            reasons.append(search["note"])
        if parity_reason(context.parity):
            reasons.append(parity_reason(context.parity))
        limit = Guard.from_dict(context.job.contention).max_foreign_cpu
        host = host | {"max_foreign_cpu": limit}
        if contention_reason(host, limit):
            reasons.append(contention_reason(host, limit))
        verdict = Verdict(summary["valid"] and not reasons, reasons, [])
        p = summary["percentiles_ms"]
        values = np.asarray(samples) if samples else np.asarray([summary["mean_ms"]])
        mean = float(values.mean())
        std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        stats = {"count": int(summary["query_count"] or 0), "mean_ms": summary["mean_ms"], "std_ms": std,
                 "cov": std / mean if mean else 0.0, "min_ms": summary["min_ms"], "max_ms": summary["max_ms"],
                 "p50_ms": p["p50_ms"], "p90_ms": p["p90_ms"], "p95_ms": p["p95_ms"], "p99_ms": p["p99_ms"],
                 "throughput_ips": summary["throughput_sps"], "batch": batch,
                 "source": "LoadGen (latency from query issue to completion)"}
        timing = {"clock": "host", "copies_included": runner.semantics.copies_included,
                  "device": runner.semantics.device, "profile": {"name": "loadgen", **loadgen["options"]},
                  "measured_seconds": summary["wall_seconds"]}
        sections = {"loadgen": dict(summary) | {"probe_ms": loadgen["probe_ms"], "search": search}}
        return Measured(verdict.to_dict(), stats, samples, loadgen["probe_ms"]["batch1"], timing, host,
                        device_memory, sections)


MLPERF = (
    MLPerf("mlperf-singlestream", "MLPerf LoadGen SingleStream: one query of one sample at a time, p90 latency"),
    MLPerf("mlperf-multistream", "MLPerf LoadGen MultiStream: queries of 8 samples, p99 latency"),
    MLPerf("mlperf-server", "MLPerf LoadGen Server: Poisson arrivals; highest VALID QPS under the latency SLA"),
    MLPerf("mlperf-offline", "MLPerf LoadGen Offline: all samples at once, throughput"),
)
