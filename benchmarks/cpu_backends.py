"""CPU backends side by side: benchbed's openvino cell against OpenVINO's own benchmark_app (same
ONNX file, latency hint, f32), benchbed's onnxruntime cell against a plain onnxruntime session with
its own defaults, and benchbed's torch cell, interleaved in rounds.

    python benchmarks/cpu_backends.py [--phi 0,3] [--rounds 3] [--seconds 3]

Prints the median over rounds of each tool's batch-1 p50 (benchmark_app: its "Median" latency), the
ratios benchbed-openvino / benchmark_app (target <= 1.05) and benchbed-onnxruntime / plain session,
then benchbed's fastest VALID cell against the fastest peer tool (target <= 1.0) per φ.
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

from benchbed.networks.scaling import parse_phi_list

BACKENDS = ("openvino", "onnxruntime", "torch")


def benchmark_app(onnx: Path, resolution: int, seconds: float) -> float:
    tool = shutil.which("benchmark_app", path=str(Path(sys.executable).parent))
    out = subprocess.run([tool, "-m", str(onnx), "-d", "CPU", "-hint", "latency", "-t", str(int(seconds)),
                          "-shape", f"[1,3,{resolution},{resolution}]", "-infer_precision", "f32"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Median:\s+([\d.]+) ms", out).group(1))


def plain_ort_session(onnx: Path, resolution: int, seconds: float) -> float:
    """A plain onnxruntime session with its own defaults, session.run in a loop: the median latency (ms)."""
    code = ("import sys,time,statistics,numpy as np,onnxruntime as ort\n"
            "s=ort.InferenceSession(sys.argv[1],providers=['CPUExecutionProvider'])\n"
            "x={s.get_inputs()[0].name:np.random.default_rng(0).random((1,3,int(sys.argv[2]),int(sys.argv[2])),"
            "dtype=np.float32)}\n"
            "for _ in range(3): s.run(None,x)\n"
            "t=[];end=time.perf_counter()+float(sys.argv[3])\n"
            "while time.perf_counter()<end or len(t)<10:\n"
            " a=time.perf_counter();s.run(None,x);t.append(time.perf_counter()-a)\n"
            "print(statistics.median(t)*1e3)")
    out = subprocess.run([sys.executable, "-c", code, str(onnx), str(resolution), str(seconds)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def benchbed_cell(work: Path, phi: float, backend: str, seconds: float, *extra: str) -> dict:
    """One real single-stream `benchbed sweep` cell in its own store; ``extra``: more sweep flags."""
    reports = Path(tempfile.mkdtemp(dir=work))
    subprocess.run([sys.executable, "-m", "benchbed.cli", "sweep", "--phi", f"{phi:g}", "--backend", backend, *extra,
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
        p50: dict[str, list[float]] = {"benchmark_app": [], "plain onnxruntime": [], **{b: [] for b in BACKENDS}}
        valid: dict[str, bool] = {}
        for round_index in range(args.rounds):
            order = list(p50)
            if round_index % 2:
                order.reverse()
            for name in order:
                if name == "benchmark_app":
                    p50[name].append(benchmark_app(onnx, resolution, args.seconds))
                elif name == "plain onnxruntime":
                    p50[name].append(plain_ort_session(onnx, resolution, args.seconds))
                else:
                    doc = benchbed_cell(work, phi, name, args.seconds)
                    p50[name].append(doc["stats"]["p50_ms"])
                    valid[name] = valid.get(name, True) and doc["validity"]["status"] == "VALID"
            print(f"B{phi:g} round {round_index + 1}: " + ", ".join(f"{k} {v[-1]:.2f} ms" for k, v in p50.items()),
                  flush=True)
        medians = {k: statistics.median(v) for k, v in p50.items()}
        print(f"\nEfficientNet-B{phi:g}, batch 1, f32, median of {args.rounds} interleaved rounds:")
        for name, value in medians.items():
            note = "" if name not in BACKENDS else ("" if valid.get(name) else "  (some rounds not VALID)")
            print(f"  {name:<14} {value:8.2f} ms{note}")
        print(f"  benchbed openvino / benchmark_app = {medians['openvino'] / medians['benchmark_app']:.3f}")
        print(f"  benchbed onnxruntime / plain onnxruntime session = "
              f"{medians['onnxruntime'] / medians['plain onnxruntime']:.3f}")
        best = min((b for b in BACKENDS if valid.get(b)), key=lambda b: medians[b], default=None)
        peer = min(("benchmark_app", "plain onnxruntime"), key=lambda k: medians[k])
        if best:
            ratio = medians[best] / medians[peer]
            print(f"  fastest VALID benchbed cell: {best} {medians[best]:.2f} ms; fastest peer: {peer} "
                  f"{medians[peer]:.2f} ms; ratio {ratio:.3f} ({'meets' if ratio <= 1.0 else 'misses'} <= 1.0)\n",
                  flush=True)


if __name__ == "__main__":
    main()
