"""Does the machine speed index make stored-baseline comparisons cry wolf less? A/A runs, raw vs normalized.

    python benchmarks/speed_index_aa.py [--runs 12] [--duration SECONDS] [--sweep-args "..."] [--work DIR]

Runs N separate ``benchbed sweep`` processes of the same unchanged sweep (B0, single-stream, onnxruntime
CPU, the quick timing profile), one after another, like CI jobs of the same commit at different times,
into one store and one report folder each. Every run's cell carries the speed index read just before it.
Then every pair of runs (i < j) is compared with compare's defaults, with ``normalize="off"``, with
``normalize="auto"`` on the reading taken before each cell only (the earlier rule, recovered from the
stored ``before_index_ms``), and with ``normalize="auto"`` on the bracketing reading (library: compare_cells). Nothing changed between runs, so every "slower"
or "faster" is a false alarm. Printed per mode: the false-alarm fraction with a 95 % Wilson interval,
and the median |log ratio| of the pairs' latency medians (how far apart unchanged runs look); and how
closely the speed index follows the runs' latency (correlation of the logs over the runs).

A false alarm is a latency or throughput verdict other than "no significant change" (the cell verdict
also carries memory, which the speed index does not touch).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchbed.analysis.compare import Thresholds, compare_cells

SWEEP = ["--phi", "0", "--scenario", "single-stream", "--backend", "onnxruntime", "--quick"]
TIME_METRICS = ("latency", "throughput")


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion: sound at 0 of n and for small n, unlike p ± z·se."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def sweep_command(work: Path, index: int, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "benchbed.cli", "sweep", *SWEEP, *extra, "--models", str(work / "models"),
            "--db", str(work / "store.sqlite"), "--reports", str(work / f"run-{index:02d}"), "--format", "json"]


def run_sweep(work: Path, index: int, extra: list[str]) -> Path:
    """Run ``index``'s sweep, or reuse its results where ``--work`` already holds them (analysis again)."""
    done = sorted((work / f"run-{index:02d}").glob("*/results.json"))
    if done:
        return done[0]
    subprocess.run(sweep_command(work, index, extra), check=True, stdout=subprocess.DEVNULL)
    return next((work / f"run-{index:02d}").glob("*/results.json"))


def side(path: Path) -> list[tuple[dict, dict]]:
    data = json.loads(path.read_text())
    return [(doc, data["run"]["environment"]) for doc in data["results"] if doc["status"] == "ok"]


def before_only(pairs: list[tuple[dict, dict]]) -> list[tuple[dict, dict]]:
    """The same results as if only the reading before each cell had been taken (the earlier rule)."""
    out = []
    for doc, env in pairs:
        reading = doc.get("speed_index")
        if reading and "before_index_ms" in reading:
            reading = {k: v for k, v in reading.items() if k not in ("when", "after_index_ms")}
            reading["index_ms"] = reading["before_index_ms"]
            doc = doc | {"speed_index": reading}
        out.append((doc, env))
    return out


def alarmed(row) -> bool:
    return any(m.verdict != "no significant change" for m in row.metrics if m.metric in TIME_METRICS)


def report_pairs(sides: list[list[tuple[dict, dict]]], k: int) -> None:
    """False alarms over every pair of sides (each side ``k`` pooled runs), raw and both normalizations."""
    pairs = list(itertools.combinations(range(len(sides)), 2))
    print(f"\npairs: {len(pairs)} (every group i < j of {k} consecutive run(s) per side)")
    variants = {"off": (sides, "off"), "auto, reading before the cell only": ([before_only(s) for s in sides], "auto"),
                "auto (reading before and after the cell)": (sides, "auto")}
    for mode, (these, normalize) in variants.items():
        thresholds = Thresholds(normalize=normalize)
        rows = [row for i, j in pairs for row in compare_cells(these[i], these[j], thresholds) if row.metrics]
        alarms = sum(alarmed(row) for row in rows)
        low, high = wilson(alarms, len(rows))
        log_ratios = [abs(math.log(m.ratio)) for row in rows for m in row.metrics if m.metric == "latency"]
        normalized = sum(row.normalized for row in rows)
        print(f"normalize={mode}: false alarms {alarms}/{len(rows)} = {alarms / max(1, len(rows)):.1%} "
              f"(95 % Wilson {low:.1%}-{high:.1%}); median |log latency ratio| {np.median(log_ratios):.4f}; "
              f"{normalized} of {len(rows)} comparisons normalized", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12, help="separate sweeps (>= 2)")
    parser.add_argument("--duration", type=float, default=None, help="--duration of each sweep (default: quick's)")
    parser.add_argument("--sweep-args", default="", help="more sweep arguments, e.g. a tiny network for a smoke run")
    parser.add_argument("--per-side", type=int, default=1,
                        help="runs pooled per side: consecutive runs form groups of this size, every two groups a pair")
    parser.add_argument("--work", type=Path, default=None, help="folder for the store and reports (default: a temp one)")
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2")
    work = args.work or Path(tempfile.mkdtemp(prefix="benchbed-speed-index-aa-"))
    extra = shlex.split(args.sweep_args) + (["--duration", str(args.duration)] if args.duration else [])
    print("command: " + shlex.join([sys.executable, *sys.argv]))
    print("each run: " + shlex.join(sweep_command(work, 0, extra)).replace("run-00", "run-NN"))
    t = Thresholds()
    print(f"runs: {args.runs}; compare defaults: min effect {t.latency:g} (latency and throughput), alpha {t.alpha:g}, "
          f"{t.confidence:.0%} bootstrap CI ({t.resamples} resamples, seed {t.seed}); normalize off vs auto", flush=True)

    files = []
    for index in range(args.runs):
        files.append(run_sweep(work, index, extra))
        docs = [doc for doc, _ in side(files[-1])]
        p50 = ", ".join(f"{doc['stats']['p50_ms']:.3g} ms" for doc in docs)
        speed = ", ".join(f"{doc['speed_index']['index_ms']:.3g} ms" for doc in docs if doc.get("speed_index"))
        print(f"run {index + 1}/{args.runs}: p50 {p50}; speed index {speed or 'none'}", flush=True)

    runs = [side(path) for path in files]
    for k in sorted({1, max(1, args.per_side)}):
        report_pairs([[entry for run in runs[g * k:(g + 1) * k] for entry in run] for g in range(len(runs) // k)], k)

    measured = [doc for run in runs for doc, _ in run if doc.get("speed_index")]
    medians = [float(np.median(doc["samples_ms"])) for doc in measured]
    for name, field in (("before and after", "index_ms"), ("before only", "before_index_ms")):
        indices = [doc["speed_index"].get(field, doc["speed_index"]["index_ms"]) for doc in measured]
        if len(medians) >= 3:
            correlation = float(np.corrcoef(np.log(medians), np.log(indices))[0, 1])
            spread = np.std(np.log(medians)), np.std(np.log(np.divide(medians, indices)))
            print(f"across runs, index {name}: corr(log p50, log speed index) {correlation:+.2f}; sd of log p50 "
                  f"raw {spread[0]:.4f}, normalized {spread[1]:.4f}")
    print(f"(work folder {work})")


if __name__ == "__main__":
    main()
