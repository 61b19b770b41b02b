"""How close a candidate's outputs are to the PyTorch reference, and the one way benchbed runs an ONNX file
on the CPU outside a backend (export checks, accuracy evaluation): onnxruntime's CPU provider."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

#: The names every exported network's input and output carry.
INPUT_NAME, OUTPUT_NAME = "images", "logits"


def cpu_predictor(path: Path, threads: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """A function from a float32 NCHW batch to float32 logits, by onnxruntime on the CPU (fp16 inputs fed as such)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    # onnxruntime logs a failing kernel itself (an ANSI-coloured line on stderr) and then raises the same
    # message: benchbed reports the exception in its one line, so the session's own log keeps to fatal errors
    options.log_severity_level = 4
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    first = session.get_inputs()[0]
    feed_type = np.float16 if first.type == "tensor(float16)" else np.float32
    # the graph's own first input/output: INPUT_NAME/OUTPUT_NAME for benchbed's exports, anything for a user's file
    input_name, output_name = first.name, session.get_outputs()[0].name

    def predict(images: np.ndarray) -> np.ndarray:
        (out,) = session.run([output_name], {input_name: images.astype(feed_type)})
        return np.asarray(out, dtype=np.float32)

    return predict


def onnx_outputs(path: Path, images: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Run ``images`` through ``path`` with onnxruntime on the CPU."""
    return cpu_predictor(path, threads)(images)


def parity_figures(candidate: np.ndarray, reference: np.ndarray) -> dict:
    """How far ``candidate`` is from ``reference``: relative max error, cosine, top-1 agreement."""
    diff = np.abs(candidate.astype(np.float64) - reference.astype(np.float64))
    scale = float(np.max(np.abs(reference))) or 1.0
    a, b = candidate.reshape(len(candidate), -1), reference.reshape(len(reference), -1)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-30)
    return {
        "max_abs_error": float(diff.max()),
        "max_rel_error": float(diff.max() / scale),
        "mean_abs_error": float(diff.mean()),
        "min_cosine": float(cos.min()),
        "top1_agreement": float(np.mean(a.argmax(1) == b.argmax(1))),
        "reference_std": float(reference.std()),
        "batch": int(len(reference)),
    }
