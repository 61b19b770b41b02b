"""Reduced precision on this CPU: do bf16 and int8 cells that pass parity go >= 1.5x further than fp32?

    python benchmarks/cpu_precisions.py [--phi 0,3] [--rounds 3] [--seconds 3]

Every cell is a real `benchbed sweep` single-stream cell (batch 1), run interleaved in rounds (the
order reversed every other round) so the machine's drift hits all alike. Prints, per φ, the median p50
of each cell over the rounds, whether every round was VALID (parity included), and each reduced-precision
cell's speed-up over the fastest fp32 cell. int8 is the Q/DQ ONNX from `benchbed export --precision
int8` (onnxruntime's quantizer), int8-nncf the one from NNCF (OpenVINO's quantizer); bf16 is OpenVINO's
inference_precision=bf16 on the fp32 ONNX (this CPU has AVX-512 BF16).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchbed.networks.scaling import parse_phi_list
from cpu_backends import benchbed_cell  # benchmarks/ is on sys.path when run as a script

#: (label, backend, precision, backend options)
CELLS = (
    ("onnxruntime fp32", "onnxruntime", "fp32", []),
    ("openvino f32", "openvino", "fp32", []),
    ("onnxruntime int8", "onnxruntime", "int8", []),
    ("openvino int8", "openvino", "int8", []),
    ("onnxruntime int8-nncf", "onnxruntime", "int8-nncf", []),
    ("openvino int8-nncf", "openvino", "int8-nncf", []),
    ("openvino bf16", "openvino", "fp32", ["inference_precision=bf16"]),
)


def cell(work: Path, phi: float, backend: str, precision: str, options: list[str], seconds: float) -> dict:
    extra = [a for o in options for a in ("--backend-option", o)]
    return benchbed_cell(work, phi, backend, seconds, "--precision", precision, *extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phi", default="0,3")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="benchbed-cpu-precisions-"))
    for phi in parse_phi_list(args.phi):
        for precision in ("fp32", "int8", "int8-nncf"):  # exports outside the timed rounds
            subprocess.run([sys.executable, "-m", "benchbed.cli", "export", "--phi", f"{phi:g}", "--precision",
                            precision, "--out", str(work / "models"), "--format", "json"], check=True,
                           capture_output=True)
        p50: dict[str, list[float]] = {label: [] for label, *_ in CELLS}
        valid: dict[str, bool] = {}
        parity: dict[str, float] = {}
        for round_index in range(args.rounds):
            order = list(CELLS) if round_index % 2 == 0 else list(reversed(CELLS))
            for label, backend, precision, options in order:
                doc = cell(work, phi, backend, precision, options, args.seconds)
                p50[label].append(doc["stats"]["p50_ms"])
                valid[label] = valid.get(label, True) and doc["validity"]["status"] == "VALID"
                parity[label] = (doc.get("parity") or {}).get("max_rel_error", float("nan"))
            print(f"B{phi:g} round {round_index + 1}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in p50.items()),
                  flush=True)
        medians = {k: statistics.median(v) for k, v in p50.items()}
        fp32 = min((k for k in medians if "int8" not in k and "bf16" not in k and valid[k]), key=medians.get)
        print(f"\nEfficientNet-B{phi:g}, batch 1, median p50 of {args.rounds} interleaved rounds "
              f"(fastest VALID fp32: {fp32}, {medians[fp32]:.2f} ms):")
        for label, value in medians.items():
            speedup = medians[fp32] / value
            verdict = "VALID" if valid[label] else "INVALID in some round"
            target = "" if label in ("onnxruntime fp32", "openvino f32") else \
                f"  x{speedup:.2f} vs fastest fp32 ({'meets' if speedup >= 1.5 and valid[label] else 'misses'} 1.5x)"
            print(f"  {label:<18} {value:8.2f} ms  parity {parity[label]:.1e}  {verdict}{target}")
        print(flush=True)


if __name__ == "__main__":
    main()
