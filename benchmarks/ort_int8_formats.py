"""Why onnxruntime int8 is slower than fp32 here: quantization formats side by side on one B0 ONNX.

    python benchmarks/ort_int8_formats.py [--phi 0] [--rounds 5] [--seconds 1.5]

Quantizes benchbed's fp32 export four ways with onnxruntime.quantization (MinMax on 8 seeded synthetic
images, per-channel weights): Q/DQ on every op with symmetric int8 activations (benchbed's `int8`,
the form TensorRT and OpenVINO consume), Q/DQ on Conv/Gemm only (s8s8 and u8s8), and QOperator u8s8.
Times a bare session.run loop per variant, interleaved in rounds (order reversed every other round),
and prints the median p50, the ratio fp32/variant and each variant's max relative error against fp32.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from benchbed.artifacts.synthetic import synthetic_images

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phi", default="0")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="benchbed-int8-formats-"))
    subprocess.run([sys.executable, "-m", "benchbed.cli", "export", "--phi", args.phi, "--out", str(work),
                    "--format", "json"], check=True, capture_output=True)
    src = next(work.glob("*/fp32.onnx"))
    resolution = json.loads(src.with_name("fp32.manifest.json").read_text())["spec"]["resolution"]
    name = onnx.load(str(src), load_external_data=False).graph.input[0].name
    images = synthetic_images(8, resolution, seed=0)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter([{name: images[i:i + 1]} for i in range(len(images))])

        def get_next(self):
            return next(self._it, None)

    conv_only = ["Conv", "Gemm", "MatMul"]
    symmetric = {"ActivationSymmetric": True, "WeightSymmetric": True}
    variants = {
        "qdq all ops s8s8 (benchbed int8)": dict(quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                                                  extra_options=symmetric),
        "qdq conv only s8s8": dict(quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                                   op_types_to_quantize=conv_only, extra_options=symmetric),
        "qdq conv only u8s8": dict(quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                                   op_types_to_quantize=conv_only),
        "qoperator conv u8s8": dict(quant_format=QuantFormat.QOperator, activation_type=QuantType.QUInt8,
                                    op_types_to_quantize=conv_only),
    }
    prepared = work / "prepared.onnx"
    quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
    files = {"fp32": src}
    for i, (label, options) in enumerate(variants.items()):
        files[label] = work / f"v{i}.onnx"
        quantize_static(str(prepared), str(files[label]), Reader(), per_channel=True, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, **options)
    so = ort.SessionOptions()
    sessions = {k: ort.InferenceSession(str(f), so, providers=["CPUExecutionProvider"]) for k, f in files.items()}
    x = images[:1]
    reference = sessions["fp32"].run(None, {name: x})[0]
    error = {k: float(np.abs(s.run(None, {name: x})[0] - reference).max() / np.abs(reference).max())
             for k, s in sessions.items()}
    p50: dict[str, list[float]] = {k: [] for k in sessions}
    for round_index in range(args.rounds):
        order = list(sessions) if round_index % 2 == 0 else list(reversed(sessions))
        for key in order:
            samples, end = [], time.perf_counter() + args.seconds
            while time.perf_counter() < end:
                start = time.perf_counter()
                sessions[key].run(None, {name: x})
                samples.append(time.perf_counter() - start)
            p50[key].append(statistics.median(samples) * 1e3)
    base = statistics.median(p50["fp32"])
    print(f"EfficientNet-B{args.phi}, onnxruntime {ort.__version__} CPU, batch 1, median of {args.rounds} "
          f"interleaved rounds:")
    for key, values in p50.items():
        value = statistics.median(values)
        print(f"  {key:<34} {value:7.2f} ms   fp32/this {base / value:5.2f}   max rel error {error[key]:.2f}")


if __name__ == "__main__":
    main()
