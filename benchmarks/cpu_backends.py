"""CPU backends side by side: benchbed's openvino cell against OpenVINO's own benchmark_app (same
ONNX file, latency hint, f32), and benchbed's onnxruntime and torch cells, interleaved in rounds.

    python benchmarks/cpu_backends.py [--phi 0,3] [--rounds 3] [--seconds 3]

Prints the median over rounds of each tool's batch-1 p50 (benchmark_app: its "Median" latency) and
the ratio benchbed-openvino / benchmark_app (target <= 1.05), then the fastest VALID backend per φ.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchbed.scaling import parse_phi_list

BACKENDS = ("openvino", "onnxruntime", "torch")


def benchmark_app(onnx: Path, resolution: int, seconds: float) -> float:
    tool = shutil.which("benchmark_app", path=str(Path(sys.executable).parent))
    out = subprocess.run([tool, "-m", str(onnx), "-d", "CPU", "-hint", "latency", "-t", str(int(seconds)),
                          "-shape", f"[1,3,{resolution},{resolution}]", "-infer_precision", "f32"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Median:\s+([\d.]+) ms", out).group(1))


def benchbed_cell(work: Path, phi: float, backend: str, seconds: float) -> dict:
    reports = Path(tempfile.mkdtemp(dir=work))
    subprocess.run([sys.executable, "-m", "benchbed.cli", "sweep", "--phi", f"{phi:g}", "--backend", backend,
                    "--scenario", "single-stream", "--duration", str(seconds), "--models", str(work / "models"),
                    "--db", str(reports / "db.sqlite"), "--reports", str(reports), "--format", "json"],
                   check=True, capture_output=True)
    return json.loads(next(reports.glob("*/results.json")).read_text())["results"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phi", default="0,3")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="benchbed-cpu-backends-"))
    for phi in parse_phi_list(args.phi):
        # export once through benchbed, so every tool reads the very same ONNX file
        subprocess.run([sys.executable, "-m", "benchbed.cli", "export", "--phi", f"{phi:g}", "--out",
                        str(work / "models"), "--format", "json"], check=True, capture_output=True)
        onnx = work / "models" / f"efficientnet_b{int(phi)}" / "fp32.onnx"
        resolution = json.loads(onnx.with_name("fp32.manifest.json").read_text())["spec"]["resolution"]
        p50: dict[str, list[float]] = {"benchmark_app": [], **{b: [] for b in BACKENDS}}
        valid: dict[str, bool] = {}
        for round_index in range(args.rounds):
            order = ["benchmark_app", *BACKENDS]
            if round_index % 2:
                order.reverse()
            for name in order:
                if name == "benchmark_app":
                    p50[name].append(benchmark_app(onnx, resolution, args.seconds))
                else:
                    doc = benchbed_cell(work, phi, name, args.seconds)
                    p50[name].append(doc["stats"]["p50_ms"])
                    valid[name] = valid.get(name, True) and doc["validity"]["status"] == "VALID"
            print(f"B{phi:g} round {round_index + 1}: " + ", ".join(f"{k} {v[-1]:.2f} ms" for k, v in p50.items()),
                  flush=True)
        medians = {k: statistics.median(v) for k, v in p50.items()}
        print(f"\nEfficientNet-B{phi:g}, batch 1, f32, median of {args.rounds} interleaved rounds:")
        for name, value in medians.items():
            note = "" if name == "benchmark_app" else ("" if valid.get(name) else "  (some rounds not VALID)")
            print(f"  {name:<14} {value:8.2f} ms{note}")
        print(f"  benchbed openvino / benchmark_app = {medians['openvino'] / medians['benchmark_app']:.3f}")
        best = min((b for b in BACKENDS if valid.get(b)), key=lambda b: medians[b], default=None)
        print(f"  fastest VALID benchbed backend: {best}\n", flush=True)


if __name__ == "__main__":
    main()
