"""The real inputs of an exported ONNX file and their dims, read in one place for every backend that needs them.

TensorRT's optimization profile (native backend and onnxruntime's TensorRT EP) covers the dynamic batch axis,
so both need the input's name and dims; only the graph is read (``load_external_data=False``).
"""

from __future__ import annotations

from pathlib import Path


def graph_inputs(onnx_path: Path) -> dict[str, list[int]]:
    """{name: dims} of the graph inputs that are not initializers, in graph order; -1 marks a dynamic axis."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    return {inp.name: [d.dim_value if d.HasField("dim_value") else -1 for d in inp.type.tensor_type.shape.dim]
            for inp in model.graph.input if inp.name not in initializers}


def dynamic_batch_input(onnx_path: Path) -> tuple[str, list[int]] | None:
    """(name, dims) of the first input when its batch axis is dynamic, else None."""
    for name, dims in graph_inputs(onnx_path).items():
        return (name, dims) if dims and dims[0] < 0 else None
    return None
