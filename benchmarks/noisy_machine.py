"""Does the interleaved A/B test cry wolf, and does it see real slowdowns? (issue 14's measured targets)

    python benchmarks/noisy_machine.py --phi 0 [--aa 50] [--trials 30] [--calibrate 120] [--out FILE]

For one φ, single-stream batch 1 on onnxruntime, with abtest's defaults (``InterleaveSettings()``: 5 %
minimum effect, 60 s budget, 0.25 s bursts, at least 8 rounds, 99 % interval):
1. **True sizes.** Slightly wider networks (the width multiplier times 1.03 ... 1.10: real extra work,
   not an injected sleep) are screened against the unchanged network in one interleaved run; the
   candidates nearest a 5 % and a 10 % slowdown (or ``--choose``) then each get one long two-variant
   interleaved run (``--truth`` seconds) that fixes their true size.
2. **A/A.** ``--aa`` trials of the unchanged network against itself, each in two fresh resident
   workers (as ``benchbed abtest`` starts them): a "slower" or "faster" verdict is a false alarm.
3. **Detection.** ``--trials`` trials each of the 5 % and 10 % slowdowns, alternating, fresh workers
   each: a "slower" verdict is a detection; "unknown" (budget spent) and "same" are misses.
Prints each rate with its 95 % Wilson interval, and the machine time per trial. Every trial is
appended to ``--out`` as it ends. Run it on a quiet machine, and nothing else at the same time.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

from peers import cell_request, replicated

from benchbed.analysis.abtest import plan_jobs
from benchbed.analysis.interleave import InterleaveSettings
from benchbed.cli.sweep import parse_sweep_args
from benchbed.launchers.base import resolve_artifact
from benchbed.networks import network_spec

WIDTH_FACTORS = (1.03, 1.04, 1.05, 1.06, 1.08, 1.10)


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = hits / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def job_for(phi: int, width: float | None, models: Path):
    args = ["--phi", str(phi), "--scenario", "single-stream", "--backend", "onnxruntime", "--models", str(models)]
    if width is not None:
        args += ["--width", f"{width:.4f}"]
    return resolve_artifact(plan_jobs(parse_sweep_args(args))[0])


def trial(jobs: list, settings: InterleaveSettings):
    """Fresh resident workers for every variant, as ``benchbed abtest`` starts and loads them."""
    return replicated({label: cell_request(job) for label, job in jobs}, settings)


def record(out: Path, entry: dict) -> None:
    with out.open("a") as handle:
        handle.write(json.dumps(entry) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phi", type=int, default=0)
    parser.add_argument("--aa", type=int, default=50)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--calibrate", type=float, default=120.0, help="seconds of the screening run")
    parser.add_argument("--truth", type=float, default=90.0, help="seconds of each chosen slowdown's true-size run")
    parser.add_argument("--choose", default=None, help="width factors for 5 %% and 10 %%, e.g. 1.06,1.1 (no screening)")
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--out", type=Path, default=Path("reports/noisy-machine.jsonl"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = InterleaveSettings()
    print(f"phi {args.phi}, onnxruntime single-stream b1; abtest defaults: {settings}", flush=True)

    base_width = network_spec(args.phi).scaling.width
    reference = job_for(args.phi, None, args.models)
    candidates = {f: job_for(args.phi, base_width * f, args.models) for f in WIDTH_FACTORS}

    long = dict(min_rounds=1000, confidence=0.95, min_effect=0.01)
    if args.choose:
        chosen = dict(zip((0.05, 0.10), (float(f) for f in args.choose.split(","))))
        candidates = {f: candidates.get(f) or job_for(args.phi, base_width * f, args.models) for f in chosen.values()}
    else:  # 1a. screening: every candidate against the unchanged network in one interleaved run
        screen = trial([("reference", reference)] + [(f"width x{f}", job) for f, job in candidates.items()],
                       InterleaveSettings(budget_seconds=args.calibrate, **long))
        for f in WIDTH_FACTORS:
            print(f"  screening width x{f}: {screen.decisions[f'width x{f}'].describe()}", flush=True)
        record(args.out, {"phi": args.phi, "kind": "screen", "seconds": screen.seconds,
                          "decisions": {f: screen.decisions[f"width x{f}"].to_dict() for f in WIDTH_FACTORS}})
        chosen = {target: min(WIDTH_FACTORS, key=lambda f: abs(screen.decisions[f"width x{f}"].ratio - 1 - target))
                  for target in (0.05, 0.10)}
    # 1b. true sizes: one long two-variant interleaved run per chosen slowdown
    truth = {}
    for target, f in chosen.items():
        run = trial([("reference", reference), ("wider", candidates[f])], InterleaveSettings(budget_seconds=args.truth,
                                                                                             **long))
        truth[f] = run.decisions["wider"]
        print(f"  true size of the {target:.0%} slowdown, width x{f}: {truth[f].describe()}", flush=True)
        record(args.out, {"phi": args.phi, "kind": "truth", "target": target, "width_factor": f,
                          "seconds": run.seconds, "decision": truth[f].to_dict()})

    # 2 and 3: A/A and detection trials, interleaved in time so drift hits every kind alike
    if not args.aa and not args.trials:
        return 0
    kinds = ["aa"] * args.aa + ["5%", "10%"] * args.trials
    order = list(range(len(kinds)))
    random.Random(0).shuffle(order)  # kinds mixed over the run
    tallies: dict[str, list] = {"aa": [], "5%": [], "10%": []}
    seconds: dict[str, list] = {"aa": [], "5%": [], "10%": []}
    for count, index in enumerate(order):
        kind = kinds[index]
        other = reference if kind == "aa" else candidates[chosen[0.05 if kind == "5%" else 0.10]]
        started = time.monotonic()
        result = trial([("base", reference), ("current", other)], InterleaveSettings(seed=count))
        decision = result.decisions["current"]
        tallies[kind].append(decision.verdict)
        seconds[kind].append(result.seconds)
        record(args.out, {"phi": args.phi, "kind": kind, "verdict": decision.verdict, "ratio": decision.ratio,
                          "ci": [decision.ci_low, decision.ci_high], "rounds": decision.rounds,
                          "seconds": result.seconds, "wall": time.monotonic() - started,
                          "contended_rounds": result.contended_rounds})
        print(f"  [{count + 1}/{len(kinds)}] {kind}: {decision.describe()} in {result.seconds:.1f} s", flush=True)

    print(f"\nphi {args.phi} summary (95 % Wilson intervals):")
    aa = tallies["aa"]
    alarms = sum(v in ("slower", "faster") for v in aa)
    print(f"  A/A false alarms: {alarms}/{len(aa)} = {alarms / len(aa):.1%} {wilson(alarms, len(aa))}; "
          f"same {aa.count('same')}, unknown {aa.count('unknown')}")
    for kind in tallies:
        if seconds[kind]:
            print(f"  {kind}: machine time per trial median {sorted(seconds[kind])[len(seconds[kind]) // 2]:.1f} s, "
                  f"max {max(seconds[kind]):.1f} s")
    for kind, target in (("5%", 0.05), ("10%", 0.10)):
        found = tallies[kind]
        if not found:
            continue
        hits = found.count("slower")
        print(f"  {kind} slowdown (true {truth[chosen[target]].ratio:.3f}): detected {hits}/{len(found)} = "
              f"{hits / len(found):.1%} {wilson(hits, len(found))}; verdicts {dict((v, found.count(v)) for v in set(found))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
