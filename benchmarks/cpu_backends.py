"""CPU backends beside their peer tools, interleaved: benchbed's onnxruntime cell against a plain
onnxruntime session, benchbed's openvino cell against OpenVINO's own benchmark_app, and benchbed's
torch cell, on the same ONNX file (torch: the same network), batch 1, f32.

    python benchmarks/cpu_backends.py [--phi 0,3] [--budget 90]

First, per φ, benchbed's onnxruntime cell and the plain session alone, interleaved as ``benchbed abtest``
runs its sides (0.25 s bursts, ``--replicas`` processes each) for ``--pair-budget`` seconds (the
harness check). Then every variant is loaded once (resident
workers; benchmark_app runs once per burst) and timed in alternating one-second bursts for ``--budget``
seconds per φ. Prints each variant's median and its ratio
to the plain onnxruntime session with a 95 % interval over rounds (``benchbed.analysis.interleave``).
Targets: benchbed onnxruntime / plain session within 0.97-1.03 with an interval narrower than ±2 %;
benchbed openvino / benchmark_app <= 1.05. Run it on a quiet machine, nothing else at the same time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from peers import (PEER_SETTINGS, benchbed_cell, benchbed_job, benchmark_app, cell_request, plain_request,
                   plain_session, print_pair, print_ratios, replicated, run)

from benchbed.analysis.interleave import InterleaveSettings
from benchbed.networks.scaling import parse_phi_list


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phi", default="0,3")
    parser.add_argument("--budget", type=float, default=90.0)
    parser.add_argument("--statistic", default="min", help="each burst's figure: min, p10 or median")
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--pair-budget", type=float, default=60.0, help="seconds of the two-variant harness check")
    parser.add_argument("--replicas", type=int, default=4, help="processes per side in the harness check")
    parser.add_argument("--check-only", action="store_true", help="the harness check alone, no peer tools")
    args = parser.parse_args()
    for phi in parse_phi_list(args.phi):
        common = ["--phi", f"{phi:g}", "--models", str(args.models)]
        jobs = {b: benchbed_job([*common, "--backend", b]) for b in ("onnxruntime", "openvino", "torch")}
        onnx = Path(jobs["onnxruntime"].artifact)
        shape = [1, 3, jobs["onnxruntime"].resolution, jobs["onnxruntime"].resolution]
        check = replicated({"plain onnxruntime session": plain_request(onnx, shape),
                            "benchbed onnxruntime": cell_request(jobs["onnxruntime"])},
                           InterleaveSettings(**{**PEER_SETTINGS, "burst_seconds": 0.25}, budget_seconds=args.pair_budget,
                                              statistic=args.statistic, replicas=args.replicas))
        print_ratios(f"EfficientNet-B{phi:g} harness check (target 0.97-1.03, interval narrower than ±2 %; "
                     f"{args.replicas} processes each)", check)
        if args.check_only:
            continue
        factories = [plain_session("plain onnxruntime session", onnx, shape),
                     benchbed_cell("benchbed onnxruntime", jobs["onnxruntime"]),
                     benchmark_app("openvino benchmark_app", onnx, shape),
                     benchbed_cell("benchbed openvino", jobs["openvino"])]
        if not args.no_torch:
            factories.append(benchbed_cell("benchbed torch", jobs["torch"]))
        result = run(factories, args.budget, args.statistic)
        print_ratios(f"EfficientNet-B{phi:g} ({onnx})", result)
        print_pair(result, "benchbed openvino", "openvino benchmark_app")


if __name__ == "__main__":
    main()
