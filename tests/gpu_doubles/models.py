"""A tiny ONNX classifier with a dynamic batch axis (GlobalAveragePool -> Flatten -> MatMul)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as _real_ort  # bound now: tests may put a fake onnxruntime in sys.modules later


def tiny_onnx(path: Path, classes: int = 5, seed: int = 0) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.default_rng(seed).standard_normal((3, classes)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["images"], ["pooled"], name="pool"),
         helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"),
         helper.make_node("MatMul", ["flat", "weight"], ["logits"], name="fc")],
        "tiny",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
        [numpy_helper.from_array(weight, "weight")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def reference(path: Path, images: np.ndarray) -> np.ndarray:
    session = _real_ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": images})[0]
