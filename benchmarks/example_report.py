"""Make reports/example/: real sweeps of this machine's CPU, reported together as markdown + HTML.

    python benchmarks/example_report.py [--out reports/example] [--models models]

Runs (each a real `benchbed sweep`, quick profile, into a fresh store):
  1. B0-B7 fp32 on onnxruntime and openvino, single-stream and offline (batch up to 8);
  2. B0-B7 int8 (Q/DQ) on openvino, single-stream;
  3. φ 1-3 compound and width/depth/resolution-only networks on onnxruntime, single-stream
     (the paper's scaling-dimension study on the cost axis);
then `benchbed report … --html --prices examples/prices.example.yaml --out OUT`, and a procure answer.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = (
    ["--phi", "0-7", "--backend", "onnxruntime,openvino", "--scenario", "single-stream,offline", "--max-batch", "8"],
    ["--phi", "0-7", "--backend", "openvino", "--precision", "int8", "--scenario", "single-stream"],
    *(["--phi", "1-3", "--mode", mode, "--backend", "onnxruntime", "--scenario", "single-stream"]
      for mode in ("compound", "width", "depth", "resolution")),
)


def benchbed(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchbed.cli", *args], capture_output=True, text=True, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "reports" / "example"))
    parser.add_argument("--models", default=str(ROOT / "models"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="benchbed-example-"))
    paths = ["--db", str(work / "store.sqlite"), "--reports", str(work), "--models", args.models]
    run_ids = []
    for sweep in SWEEPS:
        started = time.perf_counter()
        result = benchbed("sweep", *sweep, "--quick", *paths, "--format", "json")
        if result.returncode != 0:
            sys.exit(f"sweep {' '.join(sweep)} failed: {result.stderr[-2000:]}")
        run_ids.append(json.loads(result.stdout)["run_id"])
        print(f"{' '.join(sweep)}: run {run_ids[-1]} in {time.perf_counter() - started:.0f} s", flush=True)
    prices = str(ROOT / "examples" / "prices.example.yaml")
    report = benchbed("report", *run_ids, "--db", str(work / "store.sqlite"), "--html", "--out", args.out,
                      "--prices", prices)
    if report.returncode != 0:
        sys.exit(report.stderr)
    procure = benchbed("procure", *run_ids, "--db", str(work / "store.sqlite"), "--prices", prices,
                       "--min-top1", "80", "--sla", "100ms", "--target-qps", "50", "--show-excluded")
    (Path(args.out) / "procure.md").write_text(
        "# benchbed procure (example prices: placeholders, not quotes)\n\n"
        "`benchbed procure RUNS --prices examples/prices.example.yaml --min-top1 80 --sla 100ms "
        "--target-qps 50 --show-excluded`\n\n" + procure.stdout)
    print(report.stderr + f"procure exit {procure.returncode}\n" + procure.stdout)


if __name__ == "__main__":
    main()
