"""TF32 arithmetic for the doubles: an ONNX graph whose convolutions and matrix products see TF32 inputs.

NVIDIA GPUs since Ampere compute fp32 convolutions and matrix products in TF32 when a library allows it:
inputs rounded to 10-bit mantissas, products accumulated in fp32. TensorRT's builder allows it by default
(``BuilderFlag.TF32``, "Enabled by default") and so does onnxruntime's CUDA provider (``use_tf32`` = 1), so
the doubles do too, and an fp32 cell that forgets to turn it off misses the fp32 parity bound here as it
would on a GPU. Weights are rounded to nearest TF32 exactly; activations through a Cast to float16 and back,
which is the same rounding for the small values the doubles' models produce (fp16 has TF32's mantissa).
"""

from __future__ import annotations

import numpy as np

#: ops whose float inputs TF32 rounds (the ones that run on tensor cores)
TENSOR_CORE_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def round_to_tf32(values: np.ndarray) -> np.ndarray:
    """float32 values rounded to nearest (ties to even) with a 10-bit mantissa."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0xFFF + ((bits >> 13) & 1)) & ~np.uint64(0x1FFF)
    return bits.astype(np.uint32).view(np.float32).reshape(np.shape(values))


def tf32_onnx(data: bytes) -> bytes:
    """``data`` (a serialized fp32 ONNX model) with the float inputs of every tensor-core op rounded to TF32."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load_from_string(bytes(data))
    graph = model.graph
    inferred = onnx.shape_inference.infer_shapes(model).graph
    types = {v.name: v.type.tensor_type.elem_type for v in [*inferred.input, *inferred.value_info, *inferred.output]}
    floats = {i.name for i in graph.initializer if i.data_type == TensorProto.FLOAT}
    rounded = {}
    for init in graph.initializer:
        if init.name in floats:
            rounded[init.name] = numpy_helper.from_array(round_to_tf32(numpy_helper.to_array(init)), init.name)
    for name, tensor in rounded.items():
        target = next(i for i in graph.initializer if i.name == name)
        target.CopyFrom(tensor)
    nodes = []
    for index, node in enumerate(graph.node):
        if node.op_type in TENSOR_CORE_OPS:
            for slot, name in enumerate(node.input[:2]):
                if not name or name in floats or types.get(name) != TensorProto.FLOAT:
                    continue  # weights are rounded above; fp16 tensors have no TF32
                half, back = f"{name}__tf32_half_{index}", f"{name}__tf32_{index}"
                nodes.append(helper.make_node("Cast", [name], [half], to=TensorProto.FLOAT16))
                nodes.append(helper.make_node("Cast", [half], [back], to=TensorProto.FLOAT))
                node.input[slot] = back
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    return model.SerializeToString()
