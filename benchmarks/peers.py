"""Variants for the peer-tool benchmarks (cpu_backends.py, own_onnx.py), all timed by one interleaving
coordinator (``benchbed.analysis.interleave``): benchbed's cells and a plain onnxruntime session in
resident workers (each loaded once), and OpenVINO's benchmark_app run once per burst (its own process,
its own timing; its "Median" latency is the burst's figure)."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchbed.analysis.abtest import plan_jobs
from benchbed.analysis.interleave import InterleaveSettings, Interleaved, interleave
from benchbed.cli.sweep import parse_sweep_args
from benchbed.launchers.base import resolve_artifact
from benchbed.launchers.resident_client import ResidentVariant, ResidentWorker, load_replicas, start_workers
from benchbed.measure.paired import Burst

#: peer runs: whole-second bursts (benchmark_app's -t is in seconds), the whole budget, 95 % intervals
PEER_SETTINGS = dict(burst_seconds=1.0, min_rounds=1000, confidence=0.95, min_effect=0.02)


class BenchmarkApp:
    """OpenVINO's benchmark_app on the file, latency hint, f32, for ``-t`` whole seconds per burst."""

    def __init__(self, label: str, onnx: Path, shape: list[int]) -> None:
        self.label, self.onnx, self.shape = label, onnx, shape
        self.tool = shutil.which("benchmark_app", path=str(Path(sys.executable).parent)) or "benchmark_app"

    def burst(self, seconds: float, iterations: int) -> Burst:
        started = time.monotonic()
        out = subprocess.run([self.tool, "-m", str(self.onnx), "-d", "CPU", "-hint", "latency", "-t",
                              str(max(1, round(seconds))), "-shape", str(self.shape).replace(" ", ""),
                              "-infer_precision", "f32"], capture_output=True, text=True, check=True).stdout
        found = re.search(r"Median:\s+([\d.]+) ms", out)
        if found is None:
            raise RuntimeError(f"benchmark_app printed no median latency: {out.strip()[-500:]}")
        median = float(found.group(1))
        least = re.search(r"Min:\s+([\d.]+) ms", out)
        summary = {"median": median, **({"min": float(least.group(1))} if least else {})}
        return Burst([median], time.monotonic() - started, summary)


def benchbed_job(sweep_args: list[str]):
    """The single-stream job ``benchbed sweep SWEEP_ARGS`` would run first, its artifact made (cached)."""
    job = resolve_artifact(plan_jobs(parse_sweep_args([*sweep_args, "--scenario", "single-stream"]))[0])
    if job.export_error:
        raise SystemExit(job.export_error)
    return job


def run(factories: list, budget: float, statistic: str = "min", workers: list[ResidentWorker] | None = None,
        **overrides) -> Interleaved:
    """Load every variant (``factories``: callables taking the worker list), interleave, close the workers.
    Loads run one after another here: a peer set is loaded once per φ, so its set-up time hardly matters."""
    workers = [] if workers is None else workers
    try:
        variants = [make(workers) for make in factories]
        settings = PEER_SETTINGS | overrides
        return interleave(variants, InterleaveSettings(budget_seconds=budget, statistic=statistic, **settings))
    finally:
        for worker in workers:
            worker.close()


def replicated(requests: dict[str, dict], settings: InterleaveSettings) -> Interleaved:
    """Fresh resident variants as ``benchbed abtest`` runs them: ``settings.replicas`` processes each, started
    in ABBA order, a variant's bursts taking turns between its processes (their memory layouts average out);
    interleaved, then closed."""
    with contextlib.ExitStack() as stack:
        workers = start_workers({label: sys.executable for label in requests}, settings.replicas, stack)
        return interleave(load_replicas(workers, requests, settings.replicas), settings)


def plain_request(onnx: Path, shape: list[int]) -> dict:
    return {"op": "load-plain", "path": str(onnx), "input_shape": shape, "warmup_seconds": 1.0}


def cell_request(job) -> dict:
    return {"op": "load", "job": job.to_json(), "warmup_seconds": 1.0}


def resident(label: str, request: dict):
    def make(workers: list[ResidentWorker]) -> ResidentVariant:
        worker = ResidentWorker(sys.executable, label)
        workers.append(worker)
        return ResidentVariant.load(label, worker, request)
    return make


def benchbed_cell(label: str, job):
    return resident(label, cell_request(job))


def plain_session(label: str, onnx: Path, shape: list[int]):
    return resident(label, plain_request(onnx, shape))


def benchmark_app(label: str, onnx: Path, shape: list[int]):
    return lambda workers: BenchmarkApp(label, onnx, shape)


def print_ratios(title: str, result: Interleaved) -> None:
    statistic = result.settings.statistic
    print(f"\n{title}: {result.seconds:.0f} s interleaved, burst {statistic}, reference {result.reference} "
          f"({result.typical_ms(result.reference):.3f} ms)")
    print(f"  {'variant':<26} {statistic + ' ms':>10}  ratio to reference [95 % interval]")
    for label in result.labels[1:]:
        d = result.decisions[label]
        interval = f"[{d.ci_low:.3f}, {d.ci_high:.3f}]" if d.ci_low is not None else "[too few rounds]"
        print(f"  {label:<26} {result.typical_ms(label):>10.3f}  {d.ratio:.3f} {interval} over {d.rounds} rounds"
              + (f", {result.contended_rounds} contended rounds redone" if result.contended_rounds else ""))


def print_pair(result: Interleaved, label: str, other: str) -> None:
    """``label / other`` from the same rounds, with its 95 % interval."""
    import numpy as np

    from benchbed.measure.paired import decide

    d = decide(np.asarray(result.round_values_ms[label]) / np.asarray(result.round_values_ms[other]), 0.05, 0.95)
    interval = f"[{d.ci_low:.3f}, {d.ci_high:.3f}]" if d.ci_low is not None else "[too few rounds]"
    print(f"  {label} / {other}: {d.ratio:.3f} {interval} over {d.rounds} rounds", flush=True)
