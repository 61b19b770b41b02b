"""Run one MLPerf LoadGen test against a Runner and read LoadGen's own verdict from its detail log.

MLPerf's rules ask for 600 s runs (``strict``). The short default sizes its query count so that
LoadGen's early-stopping rule can pass: with ``n`` queries all under the latency bound, the
percentile-``p`` estimate is accepted at 99 % confidence once ``p**n <= 0.01`` (459 queries for
p99); benchbed asks for twice that, leaving room for a few late queries.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from benchbed.core.errors import BenchbedError
from benchbed.scenarios.mlperf.adapters import BatcherSettings, RunnerSUT, SyntheticQSL

SCENARIOS = {"mlperf-singlestream": "SingleStream", "mlperf-multistream": "MultiStream",
             "mlperf-server": "Server", "mlperf-offline": "Offline"}
#: MLPerf's percentile per scenario (single-stream is judged at p90, the others at p99)
DEFAULT_PERCENTILE = {"mlperf-singlestream": 0.90, "mlperf-multistream": 0.99, "mlperf-server": 0.99,
                      "mlperf-offline": 0.99}
STRICT_DURATION_MS = 600_000
MULTISTREAM_SAMPLES = 8


@dataclass(frozen=True)
class LoadGenOptions:
    scenario: str
    duration_ms: int = 2000  # the short default's minimum duration
    strict: bool = False
    sla_ms: float | None = None  # server / multistream latency bound
    percentile: float | None = None
    batcher: BatcherSettings = field(default_factory=BatcherSettings)
    pool_size: int = 32

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise BenchbedError(f"unknown MLPerf scenario {self.scenario!r}; choose one of {', '.join(SCENARIOS)}")
        if self.sla_ms is not None and not self.sla_ms > 0:
            raise BenchbedError(f"the latency SLA must be > 0 ms, got {self.sla_ms:g}")
        if self.percentile is not None and not 0.5 <= self.percentile < 1.0:
            raise BenchbedError(f"the SLA percentile must be in [50, 100), got {self.percentile * 100:g}")

    @property
    def target_percentile(self) -> float:
        return self.percentile or DEFAULT_PERCENTILE[self.scenario]

    def to_dict(self) -> dict:
        return asdict(self)


def early_stopping_queries(percentile: float, confidence: float = 0.99) -> int:
    """Fewest queries, all under the bound, with which early stopping accepts the percentile."""
    return int(math.ceil(math.log(1 - confidence) / math.log(percentile)))


def short_query_count(percentile: float) -> int:
    return 2 * early_stopping_queries(percentile)


def parse_detail_log(path: Path) -> dict:
    """The ``:::MLLOG`` key/value pairs of LoadGen's detail log (last value of each key wins)."""
    values: dict = {}
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith(":::MLLOG "):
            try:
                entry = json.loads(line[len(":::MLLOG "):])
            except ValueError:
                continue
            values[entry.get("key")] = entry.get("value")
    return values


def _settings(lg, options: LoadGenOptions, expected_latency_ms: float, target_qps: float | None,
              offline_qps: float | None = None):
    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, SCENARIOS[options.scenario])
    settings.mode = lg.TestMode.PerformanceOnly
    percentile = options.target_percentile
    queries = short_query_count(percentile)
    if options.strict:
        settings.min_duration_ms = STRICT_DURATION_MS
    else:
        settings.min_duration_ms = options.duration_ms
        settings.min_query_count = queries
    expected_ns = max(1, int(expected_latency_ms * 1e6))
    name = options.scenario
    if name == "mlperf-singlestream":
        settings.single_stream_expected_latency_ns = expected_ns
        settings.single_stream_target_latency_percentile = percentile
    elif name == "mlperf-multistream":
        settings.multi_stream_samples_per_query = MULTISTREAM_SAMPLES
        settings.multi_stream_expected_latency_ns = expected_ns * MULTISTREAM_SAMPLES
        settings.multi_stream_target_latency_percentile = percentile
    elif name == "mlperf-server":
        if not target_qps or target_qps <= 0:
            raise BenchbedError("mlperf-server needs a target QPS > 0")
        if options.sla_ms is None:
            raise BenchbedError("mlperf-server needs a latency SLA (--sla-p99 20ms)")
        settings.server_target_qps = float(target_qps)
        settings.server_target_latency_ns = int(options.sla_ms * 1e6)
        settings.server_target_latency_percentile = percentile
    else:  # offline: one query holding all samples
        settings.offline_expected_qps = offline_qps or max(1.0, 1e3 / expected_latency_ms * options.batcher.max_batch)
        if not options.strict:
            settings.min_query_count = 1
    return settings


#: Offline runs whose one query finished before the minimum duration are redone this many times,
#: with the expected QPS raised to 1.5x the throughput LoadGen just measured (MLPerf's own advice:
#: set offline_expected_qps above the real throughput, so the query lasts the minimum duration).
OFFLINE_RESIZES = 2


def run_loadgen(runner, resolution: int, options: LoadGenOptions, log_dir: Path, expected_latency_ms: float,
                target_qps: float | None = None) -> dict:
    """One LoadGen test; returns LoadGen's verdict and figures plus the SUT's raw latencies."""
    offline_qps = None
    for attempt in range(1 + OFFLINE_RESIZES):
        result = _run_once(runner, resolution, options, log_dir, expected_latency_ms, target_qps, offline_qps)
        undersized = (options.scenario == "mlperf-offline" and not result["valid"] and result["throughput_sps"]
                      and "LoadGen INVALID: min duration not met" in result["reasons"])
        if not undersized:
            break
        offline_qps = result["throughput_sps"] * 1.5
    result["attempts"] = attempt + 1
    return result


def _run_once(runner, resolution: int, options: LoadGenOptions, log_dir: Path, expected_latency_ms: float,
              target_qps: float | None, offline_qps: float | None) -> dict:
    import mlperf_loadgen as lg

    from benchbed.artifacts.synthetic import synthetic_batch

    log_dir.mkdir(parents=True, exist_ok=True)
    pool = synthetic_batch(options.pool_size, resolution, seed=21)
    settings = _settings(lg, options, expected_latency_ms, target_qps, offline_qps)
    log = lg.LogSettings()
    log.log_output.outdir = str(log_dir)
    log.log_output.copy_summary_to_stdout = False
    qsl = SyntheticQSL(lg, pool)
    sut = RunnerSUT(lg, runner, qsl, options.batcher)
    started = time.perf_counter()
    try:
        lg.StartTestWithLogSettings(sut.handle, qsl.handle, settings, log)
    finally:
        sut.destroy()
        qsl.destroy(lg)
    wall = time.perf_counter() - started
    detail = parse_detail_log(log_dir / "mlperf_log_detail.txt")
    return summarize(detail, options, sut, wall, target_qps, log_dir)


def summarize(detail: dict, options: LoadGenOptions, sut: RunnerSUT, wall: float, target_qps: float | None,
              log_dir: Path) -> dict:
    valid = detail.get("result_validity") == "VALID"
    reasons = []
    if not valid:
        for key, label in (("result_perf_constraints_met", "latency constraint not met"),
                           ("result_min_duration_met", "min duration not met"),
                           ("result_min_queries_met", "min queries not met"),
                           ("early_stopping_met", "early stopping not satisfied")):
            if detail.get(key) is False:
                reasons.append(label)
        if detail.get("result_invalid_reason"):
            reasons.append(str(detail["result_invalid_reason"]))
        reasons = [f"LoadGen INVALID: {r}" for r in reasons] or ["LoadGen INVALID"]
    if sut.errors:
        reasons.append(f"SUT errors: {sut.errors[0]} (x{len(sut.errors)})")
        valid = False
    throughput = detail.get("result_completed_samples_per_sec") or detail.get("result_samples_per_second") or \
        detail.get("result_qps_without_loadgen_overhead") or 0.0
    # MultiStream is judged on whole-query latency (8 samples); the others per sample
    per_query = options.scenario == "mlperf-multistream"
    infix, q = ("per_query_latency", "query_") if per_query else ("latency", "")
    percentiles = {f"p{p:g}_ms": (detail.get(f"result_{p:.2f}_percentile_{infix}_ns") or 0) / 1e6
                   for p in (50, 90, 95, 97, 99, 99.9)}
    if per_query and detail.get("result_mean_query_latency_ns"):
        # queries are issued back to back: samples per second = samples per query / query latency
        throughput = MULTISTREAM_SAMPLES * 1e9 / detail["result_mean_query_latency_ns"]
    return {
        "valid": valid,
        "reasons": reasons,
        "scenario": SCENARIOS[options.scenario],
        "target_qps": target_qps,
        "throughput_sps": float(throughput),
        "percentiles_ms": percentiles,
        "mean_ms": (detail.get(f"result_mean_{q}latency_ns") or 0) / 1e6,
        "min_ms": (detail.get(f"result_min_{q}latency_ns") or 0) / 1e6,
        "max_ms": (detail.get(f"result_max_{q}latency_ns") or 0) / 1e6,
        "latency_unit": "query of 8 samples" if per_query else "sample",
        "query_count": detail.get("result_query_count"),
        "overlatency_query_count": detail.get("result_overlatency_query_count"),
        "early_stopping": {"met": detail.get("early_stopping_met"), "result": detail.get("early_stopping_result"),
                           "latency_ss_ms": (detail.get("early_stopping_latency_ss") or 0) / 1e6 or None,
                           "latency_ms_ms": (detail.get("early_stopping_latency_ms") or 0) / 1e6 or None},
        "loadgen_version": detail.get("loadgen_version"),
        "wall_seconds": wall,
        "batch_sizes": {"mean": float(np.mean(sut.batch_sizes)) if sut.batch_sizes else 0.0,
                        "max": int(max(sut.batch_sizes)) if sut.batch_sizes else 0},
        "sut_latencies_ms": sut.latencies_ms,
        "log_dir": str(log_dir),
    }
