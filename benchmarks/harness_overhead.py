"""Harness overhead, measured side by side in one process.

    python benchmarks/harness_overhead.py [--phi 0] [--rounds 5] [--seconds 3]

1. The ``null`` backend through benchbed's timing loop: the per-inference cost of the harness itself.
2. EfficientNet-B{φ} on onnxruntime (CPU): benchbed's runner + timing loop against a bare
   ``session.run`` loop timed with perf_counter, on the same onnxruntime session (ORT_ENABLE_ALL,
   intra-op threads = physical cores, sequential). Variants alternate (A B, B A, ...) in short rounds
   so machine drift hits both; the script prints medians of the per-round p50s and of their ratios.
   Target: benchbed within 3 % of the bare loop.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchbed.networks import network_spec
from benchbed.backends import BackendOptions, get_backend
from benchbed.backends.null import NullRunner
from benchbed.artifacts.export import export_network
from benchbed.measure.stats import LatencyStats
from benchbed.measure.timing import TimingProfile, time_runner
from benchbed.core.environment import physical_cores
from benchbed.artifacts.synthetic import synthetic_images


def bare_loop(session, name: str, batch: np.ndarray, seconds: float, iterations: int) -> list[float]:
    """The loop a user would write by hand."""
    feed = {name: batch}
    for _ in range(3):
        session.run(None, feed)
    samples, begin = [], time.perf_counter()
    while time.perf_counter() - begin < seconds or len(samples) < iterations:
        t0 = time.perf_counter()
        session.run(None, feed)
        samples.append((time.perf_counter() - t0) * 1e3)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phi", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--models", default="models")
    args = parser.parse_args()

    profile = TimingProfile("bench", 0.2, 3, args.seconds, 10, args.seconds * 10)
    null = NullRunner()
    null_stats = LatencyStats.from_samples(time_runner(null.infer, TimingProfile("null", 0.1, 100, 1.0, 1000, 10))
                                           .samples_ms, 1)
    print(f"null backend: p50 {null_stats.p50_ms * 1e6:.0f} ns, mean {null_stats.mean_ms * 1e6:.0f} ns per inference "
          f"over {null_stats.count} iterations")

    spec = network_spec(args.phi)
    artifact = export_network(spec, "fp32", args.models)
    batch = synthetic_images(1, spec.resolution, seed=1)
    runner = get_backend("onnxruntime").prepare(artifact.path, BackendOptions(io_binding=True))
    runner.activate()
    runner.set_input(batch)
    session = runner._session  # the bare loop runs on the very same session: only the harness differs

    def bench_benchbed() -> float:
        return LatencyStats.from_samples(time_runner(runner.infer, profile).samples_ms, 1).p50_ms

    def bench_bare() -> float:
        return float(np.median(bare_loop(session, "images", batch, args.seconds, 10)))

    p50s: dict[str, list[float]] = {"bare session.run": [], "benchbed": []}
    ratios = []
    for round_index in range(args.rounds):
        order = [("bare session.run", bench_bare), ("benchbed", bench_benchbed)]
        if round_index % 2:
            order.reverse()  # A B, B A, ...: neither always runs first
        for label, bench in order:
            p50s[label].append(bench())
        ratios.append(p50s["benchbed"][-1] / p50s["bare session.run"][-1])
        print(f"round {round_index + 1}: bare {p50s['bare session.run'][-1]:.3f} ms, benchbed "
              f"{p50s['benchbed'][-1]:.3f} ms, ratio {ratios[-1]:.3f}", flush=True)
    bare, ours = statistics.median(p50s["bare session.run"]), statistics.median(p50s["benchbed"])
    print(f"\n{spec.name} on onnxruntime CPU ({physical_cores()} threads, IO binding), {args.rounds} interleaved "
          f"rounds of {args.seconds:g} s:")
    print(f"  bare session.run p50 (median of rounds) {bare:.3f} ms")
    print(f"  benchbed p50 (median of rounds)         {ours:.3f} ms")
    print(f"  ratio of medians {ours / bare:.3f}; median of per-round ratios {statistics.median(ratios):.3f} "
          f"(target <= 1.03)")


if __name__ == "__main__":
    main()
