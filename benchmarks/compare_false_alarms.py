"""How often `benchbed compare` cries wolf, and the smallest slowdown it reliably catches, here.

    python benchmarks/compare_false_alarms.py [--rounds 6] [--duration 1.0]

Runs B0 single-stream sweeps on onnxruntime CPU in interleaved rounds: the unchanged network (A) and
networks made slower by known amounts (width 1.05 / 1.10 / 1.20, i.e. a "commit" that widened the
model). Then, with compare's default settings (5 % minimum effect, alpha 0.01, 95 % bootstrap CI):
- false alarm rate: share of A-vs-A pairs (different runs of the same sweep) not judged
  "no significant change";
- detection rate per injected slowdown: share of A-vs-variant pairs judged "slower", next to the
  slowdown actually measured (ratio of pooled medians).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchbed.analysis.compare import Thresholds, compare_cells

VARIANTS = {"A": None, "w1.05": 1.05, "w1.10": 1.10, "w1.20": 1.20}


def sweep(work: Path, label: str, width: float | None, round_index: int, duration: float) -> Path:
    reports = work / f"{label}-{round_index}"
    args = [sys.executable, "-m", "benchbed.cli", "sweep", "--phi", "0", "--scenario", "single-stream",
            "--duration", str(duration), "--iterations", "50", "--models", str(work / "models"),
            "--db", str(work / "store.sqlite"), "--reports", str(reports), "--format", "json"]
    if width:
        args += ["--width", str(width)]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return next(reports.glob("*/results.json"))


def side(path: Path) -> list[tuple[dict, dict]]:
    data = json.loads(path.read_text())
    docs = []
    for doc in data["results"]:
        doc["cell"]["network"] = "b0-under-test"  # the same cell before and after the "commit"
        docs.append((doc, data["run"]["environment"]))
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=float, default=1.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="benchbed-compare-bench-"))
    files: dict[str, list[Path]] = {k: [] for k in VARIANTS}
    for round_index in range(args.rounds):
        order = list(VARIANTS) if round_index % 2 == 0 else list(reversed(VARIANTS))
        for label in order:
            files[label].append(sweep(work, label, VARIANTS[label], round_index, args.duration))
        print(f"round {round_index + 1}/{args.rounds} done", flush=True)

    t = Thresholds()

    def verdict(base: list[Path], current: list[Path]) -> str:
        return compare_cells([d for p in base for d in side(p)], [d for p in current for d in side(p)], t)[0].verdict

    def report(label: str, verdicts: list[str]) -> None:
        alarms = sum(v != "no significant change" for v in verdicts)
        print(f"{label}: {alarms} of {len(verdicts)} flagged ({alarms / len(verdicts):.0%} false alarms); "
              f"{dict(zip(*np.unique(verdicts, return_counts=True)))}")

    a_runs = files["A"]
    print()
    report("A/A, one run per side", [verdict([x], [y]) for x, y in itertools.combinations(a_runs, 2)])
    half = len(a_runs) // 2
    splits = [c for c in itertools.combinations(range(len(a_runs)), half) if 0 in c]
    report(f"A/A, {half} runs per side",
           [verdict([a_runs[i] for i in c], [a_runs[i] for i in range(len(a_runs)) if i not in c]) for c in splits])

    def median(paths: list[Path]) -> float:
        return float(np.median([s for p in paths for d, _ in side(p) for s in d["samples_ms"]]))

    base_median = median(a_runs)
    rng = np.random.default_rng(0)
    for label in list(VARIANTS)[1:]:
        single = [verdict([x], [y]) for x in a_runs for y in files[label]]
        pooled = []
        for _ in range(20):
            pooled.append(verdict(list(rng.choice(a_runs, half, replace=False)),
                                  list(rng.choice(files[label], half, replace=False))))
        print(f"{label}: measured slowdown {median(files[label]) / base_median - 1:+.1%}; judged slower in "
              f"{sum(v == 'slower' for v in single)}/{len(single)} single-run pairs, "
              f"{sum(v == 'slower' for v in pooled)}/{len(pooled)} {half}-run pairs")
    print(f"(work folder {work})")


if __name__ == "__main__":
    main()
