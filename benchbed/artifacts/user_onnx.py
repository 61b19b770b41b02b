"""A user's ONNX file as a network: checked in the parent, measured like a generated one, parity against
onnxruntime CPU fp32 on the same file (there is no torch module), cost counted from the graph.

What is counted: ``params`` = elements of every initializer; ``macs`` = multiply-accumulates of Conv,
ConvTranspose, Gemm and MatMul at batch 1 (from shape inference); other ops (BatchNorm, activations,
pooling, element-wise) are not counted, as for generated networks.

Refused before anything runs, each in one line: a file ``onnx.checker`` rejects, a graph with no inputs (or
more than one: the harness feeds one), dynamic axes other than batch without ``--shapes``, external data
that points outside the model's folder, and a file onnxruntime's CPU provider cannot load or run (an
operator or opset it does not implement: the checker passes those, and every cell would fail on them).
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from benchbed.core.errors import BenchbedError, ConfigError
from benchbed.core.user_files import check_encodable_path, display_path, shown

#: The parity inputs are a seeded batch of this many; the worker feeds the first (as for generated networks).
PARITY_BATCH = 3
_SHAPES = re.compile(r"^\s*([^:]+):(\d+(?:x\d+)*)\s*$")
_MAC_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


@dataclass(frozen=True)
class OnnxModel:
    """One user ONNX file, as a sweep carries it to workers (JSON-able; the sha256 pins its content)."""

    path: str
    name: str
    sha256: str
    input_name: str
    output_name: str
    sample_shape: tuple[int, ...]  # one sample's input dims (batch axis removed)
    input_type: str = "tensor(float)"
    static_batch: int | None = None  # a graph whose batch axis is fixed only runs that batch
    params: int = 0
    macs: int = 0

    @property
    def resolution(self) -> int:
        """The input's last dim (its height/width for images): what reports show as resolution."""
        return int(self.sample_shape[-1]) if self.sample_shape else 0

    def summary(self) -> dict:
        return {"name": self.name, "mode": "onnx", "source": "onnx", "path": self.path, "sha256": self.sha256,
                "input": self.input_name, "output": self.output_name, "input_shape": list(self.sample_shape),
                "resolution": self.resolution, "params": self.params, "macs": self.macs,
                "counted": "params: initializer elements; macs: Conv/ConvTranspose/Gemm/MatMul at batch 1"}

    def to_dict(self) -> dict:
        data = asdict(self)
        data["sample_shape"] = list(self.sample_shape)
        return {"onnx": data}

    @classmethod
    def from_dict(cls, data: dict) -> "OnnxModel":
        data = dict(data["onnx"])
        data["sample_shape"] = tuple(data["sample_shape"])
        return cls(**data)


#: One dimension of an input: far above any image side or batch, far below int64's range.
MAX_SHAPE_DIM = 1 << 20
#: One input sample (B7 at 600 px is 4.3 MB) and any one tensor a sample makes (B7's largest is ~100 MB):
#: bounded so a tiny file cannot make benchbed allocate, or write as a parity reference, gigabytes.
MAX_SAMPLE_BYTES = int(os.environ.get("BENCHBED_MAX_SAMPLE_BYTES", 256 << 20))
MAX_TENSOR_BYTES = int(os.environ.get("BENCHBED_MAX_TENSOR_BYTES", 1 << 30))
#: Files one --onnx folder may hold: each is a set of cells (minutes each); more is a mistake, not a sweep.
MAX_ONNX_FILES = int(os.environ.get("BENCHBED_MAX_ONNX_FILES", 64))


def parse_shapes(text: str | None) -> dict[str, list[int]]:
    """trtexec's ``--shapes input:1x3x224x224[,other:...]`` -> {name: dims}."""
    shapes: dict[str, list[int]] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        match = _SHAPES.match(item)
        if not match:
            raise BenchbedError(f"--shapes expects NAME:DxDxD (e.g. input:1x3x224x224), got {item.strip()!r}")
        name, dims = match.group(1).strip(), [int(d) for d in match.group(2).split("x")]
        if name in shapes:
            raise BenchbedError(f"--shapes names input {shown(name)} twice")
        if not all(1 <= d <= MAX_SHAPE_DIM for d in dims):
            raise BenchbedError(f"--shapes {shown(item.strip())}: every dimension must be 1 to {MAX_SHAPE_DIM:,}")
        shapes[name] = dims
    return shapes


def _check_external_data(model, folder: Path, path: Path) -> None:
    """Every external-data location must stay inside the model's folder (checked before anything loads it)."""
    from onnx.external_data_helper import _get_all_tensors

    for tensor in _get_all_tensors(model):
        if tensor.data_location != tensor.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        target = (folder / location).resolve()
        if Path(location).is_absolute() or not target.is_relative_to(folder.resolve()):
            raise BenchbedError(f"{path}: tensor {tensor.name!r} has external data at {location!r}, outside the "
                                f"model's folder {folder}; benchbed reads external data only from there")


def value_dims(value_info) -> list[int | str]:
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in
            value_info.type.tensor_type.shape.dim]


@dataclass(frozen=True)
class GraphCost:
    """What the graph costs at batch 1, from onnx's shape inference (0 / empty where it could not tell)."""

    params: int
    macs: int
    #: the largest activation or output one sample makes, in bytes (4 per element)
    largest_tensor_bytes: int = 0
    #: each graph output's rank, where inference knows it
    output_ranks: tuple[int, ...] = ()


def count_graph_cost(model, input_name: str, sample_shape: tuple[int, ...]) -> GraphCost:
    """Initializer elements, Conv/Gemm/MatMul MACs, largest tensor and output ranks at batch 1."""
    import onnx
    from onnx import numpy_helper  # noqa: F401  (keeps onnx's helpers importable here)

    params = sum(int(np.prod(t.dims)) if len(t.dims) else 1 for t in model.graph.initializer)
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for inp in fixed.graph.input:
        if inp.name == input_name:
            dims = inp.type.tensor_type.shape.dim
            for dim, value in zip(dims, (1, *sample_shape)):
                dim.Clear()
                dim.dim_value = int(value)
    try:
        inferred = onnx.shape_inference.infer_shapes(fixed, data_prop=True)
    except Exception:  # shape inference is a best effort: MACs are then unknown (0), never a crash
        return GraphCost(params, 0)
    shapes: dict[str, list] = {}
    for info in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        shapes[info.name] = value_dims(info)
    for tensor in model.graph.initializer:
        shapes[tensor.name] = list(tensor.dims)

    def known(name: str) -> list[int] | None:
        dims = shapes.get(name)
        return dims if dims and all(isinstance(d, int) and d > 0 for d in dims) else None

    macs = 0
    for node in inferred.graph.node:
        if node.op_type not in _MAC_OPS or not node.output:
            continue
        out = known(node.output[0])
        weight = known(node.input[1]) if len(node.input) > 1 else None
        if out is None or weight is None:
            continue
        if node.op_type == "Conv":  # W: [M, C/group, k...]: each output element takes C/group * prod(k)
            macs += int(np.prod(out)) * int(np.prod(weight[1:]))
        elif node.op_type == "ConvTranspose":  # W: [C, M/group, k...]: each input element feeds M/group * prod(k)
            source = known(node.input[0])
            if source is not None:
                macs += int(np.prod(source)) * int(np.prod(weight[1:]))
        else:  # Gemm / MatMul: each output element is a dot product over K
            a = known(node.input[0])
            trans_a = next((attr.i for attr in node.attribute if attr.name == "transA"), 0)
            if a is not None:
                k = a[-2] if trans_a else a[-1]
                macs += int(np.prod(out)) * int(k)
    largest = max((int(np.prod(dims, dtype=object)) * 4 for name, dims in shapes.items()
                   if name not in {t.name for t in model.graph.initializer} and known(name)), default=0)
    ranks = tuple(len(value_dims(out)) for out in inferred.graph.output if out.type.tensor_type.HasField("shape"))
    return GraphCost(params, macs, largest, ranks)


def inspect_onnx(path: Path, name: str | None = None, shapes: dict[str, list[int]] | None = None) -> OnnxModel:
    """Check one ONNX file and describe it; raises :class:`BenchbedError` (one line) when it cannot be run."""
    import onnx

    from benchbed.core.files import sha256_file

    path = check_encodable_path(path, "--onnx")
    if not path.is_file():
        raise BenchbedError(f"--onnx {display_path(path)}: no such file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise BenchbedError(f"--onnx {path}: not an ONNX model ({_first_line(exc)})") from None
    _check_external_data(model, path.parent, path)
    try:
        onnx.checker.check_model(str(path))
    except Exception as exc:
        raise BenchbedError(f"--onnx {path}: onnx.checker rejects it: {_first_line(exc)}") from None
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if not inputs:
        raise BenchbedError(f"--onnx {path}: the graph has no inputs; there is nothing to feed")
    if len(inputs) > 1:
        raise BenchbedError(f"--onnx {path}: the graph has {len(inputs)} inputs "
                            f"({', '.join(i.name for i in inputs)}); benchbed feeds one input")
    if not model.graph.output:
        raise BenchbedError(f"--onnx {path}: the graph has no outputs")
    first = inputs[0]
    dims = value_dims(first)
    if not dims:
        raise BenchbedError(f"--onnx {path}: input {first.name!r} has no shape (a scalar); benchbed feeds batches")
    given = (shapes or {}).get(first.name)
    if given is not None:
        if len(given) != len(dims):
            raise BenchbedError(f"--shapes {first.name}: {len(given)} dims given, the graph's input has {len(dims)} "
                                f"({'x'.join(map(str, dims))})")
        clash = [i for i, (g, d) in enumerate(zip(given, dims)) if i > 0 and isinstance(d, int) and d > 0 and g != d]
        if clash:
            raise BenchbedError(f"--shapes {first.name}: axis {clash[0]} is fixed at {dims[clash[0]]} in the graph, "
                                f"got {given[clash[0]]}")
        sample = tuple(int(d) for d in given[1:])
    else:
        dynamic = [i for i, d in enumerate(dims) if i > 0 and not (isinstance(d, int) and d > 0)]
        if dynamic:
            raise BenchbedError(f"--onnx {path}: input {first.name!r} has dynamic axes other than batch "
                                f"({'x'.join(map(str, dims))}, axis {', '.join(map(str, dynamic))}); give them with "
                                f"--shapes {first.name}:{'x'.join(str(d) if isinstance(d, int) and d > 0 else 'N' for d in dims)}")
        sample = tuple(int(d) for d in dims[1:])
    unknown = set(shapes or {}) - {first.name}
    if unknown:
        raise BenchbedError(f"--shapes names {', '.join(sorted(unknown))}, not an input of {path} "
                            f"(its input: {first.name})")
    elem = first.type.tensor_type.elem_type
    kinds = {onnx.TensorProto.FLOAT: "tensor(float)", onnx.TensorProto.FLOAT16: "tensor(float16)"}
    if elem not in kinds:
        raise BenchbedError(f"--onnx {path}: input {first.name!r} is {onnx.TensorProto.DataType.Name(elem)}; "
                            "benchbed feeds float32 or float16 inputs")
    if not sample:
        raise BenchbedError(f"--onnx {path}: input {first.name!r} has only a batch axis; benchbed feeds batches of "
                            "samples with at least one axis each")
    sample_bytes = int(np.prod(sample, dtype=object)) * 4
    if sample_bytes > MAX_SAMPLE_BYTES:
        raise BenchbedError(f"--onnx {path}: one sample of {first.name!r} ({'x'.join(map(str, sample))}) is "
                            f"{sample_bytes / 2**20:,.0f} MiB, above {MAX_SAMPLE_BYTES / 2**20:,.0f} MiB "
                            "(BENCHBED_MAX_SAMPLE_BYTES raises it)")
    cost = count_graph_cost(model, first.name, sample)
    if cost.largest_tensor_bytes > MAX_TENSOR_BYTES:
        raise BenchbedError(f"--onnx {path}: one sample makes a {cost.largest_tensor_bytes / 2**20:,.0f} MiB tensor, "
                            f"above {MAX_TENSOR_BYTES / 2**20:,.0f} MiB (BENCHBED_MAX_TENSOR_BYTES raises it)")
    if 0 in cost.output_ranks:
        raise BenchbedError(f"--onnx {path}: an output is a scalar; benchbed compares outputs per sample of a batch")
    params, macs = cost.params, cost.macs
    batch_dim = dims[0]
    if isinstance(batch_dim, int) and batch_dim > 1:
        raise BenchbedError(f"--onnx {path}: the batch axis of {first.name!r} is fixed at {batch_dim}; benchbed "
                            "measures batch 1 upwards: export with a dynamic batch axis (or batch 1)")
    found = OnnxModel(path=str(path.resolve()), name=name or path.stem, sha256=sha256_file(path),
                      input_name=first.name, output_name=model.graph.output[0].name, sample_shape=sample,
                      input_type=kinds[elem], static_batch=batch_dim if isinstance(batch_dim, int) and batch_dim > 0
                      else None, params=params, macs=macs)
    check_runs(found)
    return found


def check_runs(model: OnnxModel) -> None:
    """onnxruntime's CPU provider loads the file and runs one parity sample, here, before any cell: what every
    cell's parity reference needs. A file it cannot (an op or opset it lacks, shapes its kernels refuse) is
    one line now instead of a failed cell per backend, precision and batch later."""
    try:
        import onnxruntime  # noqa: F401  (missing: its own message, not "cannot load" the user's file)
    except ImportError:
        raise BenchbedError("--onnx needs onnxruntime for the parity reference: pip install 'benchbed[cpu]'") from None
    from benchbed.artifacts.export import PARITY_SEED

    try:
        reference_outputs(model, PARITY_SEED)  # the very sample every cell's reference will be
    except Exception as exc:  # onnxruntime raises its own classes (Fail, InvalidGraph, NotImplemented, ...)
        raise ConfigError("onnx", f"{model.path}: onnxruntime cannot run it on the CPU: {_ort_reason(exc)}") from None


def check_plain_name(name: str, what: str) -> str:
    """A network name names folders and table rows: one plain path component, printable, at most 128 long."""
    if (name in ("", ".", "..") or len(name) > 128 or any(c in name for c in "/\\")
            or any(not c.isprintable() for c in name)):
        raise BenchbedError(f"{what} {shown(name)} is not a plain name: use letters, digits, '.', '_' or '-' "
                            "(no '/', '..', control characters; at most 128 characters)")
    return name


def load_onnx_models(target: str | Path, name: str | None = None, shapes: str | None = None) -> list[OnnxModel]:
    """The models ``--onnx FILE|DIR`` names (a folder: its ``*.onnx`` files, sorted), each checked."""
    target = Path(target)
    if target.is_dir():
        files = sorted(target.glob("*.onnx"))
        if not files:
            raise BenchbedError(f"--onnx {target}: the folder holds no .onnx files")
        if len(files) > MAX_ONNX_FILES:
            raise BenchbedError(f"--onnx {target}: the folder holds {len(files)} .onnx files, more than "
                                f"{MAX_ONNX_FILES} (BENCHBED_MAX_ONNX_FILES raises it); name fewer")
        if name is not None and len(files) > 1:
            raise BenchbedError(f"--name names one model; --onnx {target} holds {len(files)}")
    else:
        files = [target]
    if name is not None:
        check_plain_name(name, "--name")
    for file in files:
        check_encodable_path(file, "--onnx")
        check_plain_name(file.stem, f"--onnx {display_path(file.parent)}: the file name")
    parsed = parse_shapes(shapes)
    models = [inspect_onnx(f, name, parsed) for f in files]
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise BenchbedError(f"--onnx: two models are named {next(n for n in names if names.count(n) > 1)!r}")
    return models


def model_inputs(model: OnnxModel, batch: int, seed: int) -> np.ndarray:
    """Seeded inputs of ``batch`` samples: image-like for a 3xHxW input, standard normal otherwise."""
    from benchbed.artifacts.synthetic import synthetic_batch

    return synthetic_batch(batch, model.sample_shape, seed)


def is_image_input(model: OnnxModel) -> bool:
    """A 3xHxH input: what benchbed's int8 calibration images fit."""
    shape = model.sample_shape
    return len(shape) == 3 and shape[0] == 3 and shape[1] == shape[2]


def check_precision(model: OnnxModel, precision: str) -> None:
    """fp32 and fp16 (a cast of any graph) apply to every file; int8 calibrates on synthetic images, so it
    needs a 3xHxH input."""
    if precision.startswith("int8") and not is_image_input(model):
        raise BenchbedError(f"--precision {precision} with --onnx {model.name}: int8 calibrates on 3xHxH images, "
                            f"the input {model.input_name!r} is {'x'.join(map(str, model.sample_shape))}; "
                            "measure this file at fp32 or fp16")


def user_artifact(model: OnnxModel, precision: str, models_dir: str | Path, parity_seed: int) -> tuple[Path, Path]:
    """(the file to measure, its reference outputs). fp32: the user's file itself, checked unchanged since
    planning; fp16/int8: benchbed's transform of it, cached in ``models/onnx/<name>/`` by the file's hash. The
    reference is always onnxruntime CPU fp32 on the user's file."""
    import io

    from benchbed.core.files import (atomic_write_bytes, atomic_write_json, ensure_writable_dir, path_inside,
                                     read_json, sha256_file)

    check_precision(model, precision)
    path = Path(model.path)
    if not path.is_file() or sha256_file(path) != model.sha256:
        raise BenchbedError(f"{path} changed since the sweep was planned (sha256 differs); start the sweep again")
    folder = path_inside(models_dir, "onnx", model.name)
    ensure_writable_dir(folder, "--models")
    reference, manifest_path = folder / "onnx_reference.npy", folder / "onnx_reference.json"
    key = {"sha256": model.sha256, "seed": parity_seed, "shape": list(model.sample_shape)}
    manifest = read_json(manifest_path)
    if not (manifest and manifest.get("key") == key and reference.exists()
            and sha256_file(reference) == manifest.get("reference_sha256")):
        buffer = io.BytesIO()
        np.save(buffer, reference_outputs(model, parity_seed))
        atomic_write_bytes(reference, buffer.getvalue())
        atomic_write_json(manifest_path, {"key": key, "reference_sha256": sha256_file(reference),
                                          "reference_by": "onnxruntime CPU fp32, same file"})
    if precision == "fp32":
        return path, reference
    return _transformed(model, precision, folder), reference


def _transformed(model: OnnxModel, precision: str, folder: Path) -> Path:
    """The user's file through benchbed's ``precision`` transform, rebuilt unless its manifest matches."""
    import tempfile

    from benchbed.artifacts.precision import TransformOptions, get_precision
    from benchbed.core.files import atomic_write_json, read_json, sha256_file
    from benchbed.core.versions import library_versions

    rule, options = get_precision(precision), TransformOptions()
    target, manifest_path = folder / f"{precision}.onnx", folder / f"{precision}.manifest.json"
    key = {"source_sha256": model.sha256, "precision": precision, "options": options.key(precision),
           "versions": library_versions(("onnx", "onnxruntime") + tuple(rule.libraries))}
    manifest = read_json(manifest_path)
    if manifest and manifest.get("key") == key and target.exists() and sha256_file(target) == manifest.get("sha256"):
        return target
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        staged = Path(tmp) / target.name
        details = rule.transform(Path(model.path), staged, model.resolution, options)
        staged.replace(target)
    atomic_write_json(manifest_path, {"key": key, "sha256": sha256_file(target), "details": details})
    return target


def reference_outputs(model: OnnxModel, parity_seed: int) -> np.ndarray:
    """The first output for the parity sample (the first of a seeded batch of 3), by onnxruntime CPU (the
    graph's first input and output are the model's: a float16 input is fed as float16)."""
    from benchbed.artifacts.parity import cpu_predictor

    return cpu_predictor(Path(model.path))(model_inputs(model, PARITY_BATCH, parity_seed)[:1])


#: onnxruntime's message framing: "[ONNXRuntimeError] : 1 : FAIL : Load model from X failed:", and a C++
#: source location with its function signature ("/onnxruntime_src/...h:46 void f(...) ")
_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*(?:Load model from .*? failed:)?\s*")
_ORT_SOURCE = re.compile(r"^\S+\.(?:h|cc|cpp):\d+ [^()]*\(.*?\) (?=[A-Z])")


def _ort_reason(exc: Exception) -> str:
    """onnxruntime's reason in one line, without its framing."""
    text = _first_line(exc)
    text = _ORT_SOURCE.sub("", _ORT_PREFIX.sub("", text)).strip()
    return text or type(exc).__name__


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[:1]) if text else type(exc).__name__
