"""Backends declare their capabilities and typed options; bad option values fail in the parent, before any cell.

Parametrized over the registry, so a new backend is checked as soon as it registers.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from conftest import TINY

#: one bad value per backend that takes options: (backend, key, value, what the one-line error says)
BAD_VALUES = [
    ("null", "service_ms", "soon", "null: service_ms must be a number, got 'soon'"),
    ("null", "per_sample_ms", "-1", "null: per_sample_ms must be a finite number >= 0"),
    ("openvino", "hint", "banana", "openvino: hint must be latency or throughput, got 'banana'"),
    ("openvino", "inference_precision", "fp8", "openvino: inference_precision must be f32 or bf16, got 'fp8'"),
    ("openvino", "streams", "many", "openvino: streams must be a count >= 1 or auto, got 'many'"),
    ("torch", "compile", "maybe", "torch: compile must be on or off, got 'maybe'"),
    ("torch", "channels_last", "sideways", "torch: channels_last must be on or off"),
    ("torch", "dtype", "fp16", "torch: dtype must be fp32 or bf16, got 'fp16'"),
    ("torch-cuda", "compile", "maybe", "torch-cuda: compile must be on or off"),
    ("torch-cuda", "device", "cuda:0", "torch-cuda: device must be a GPU index >= 0, got 'cuda:0'"),
    ("torch-cuda", "copies", "both", "torch-cuda: copies must be in or out"),
    ("onnxruntime-cuda", "cudnn_conv_algo_search", "fastest",
     "onnxruntime-cuda: cudnn_conv_algo_search must be one of EXHAUSTIVE, HEURISTIC, DEFAULT"),
    ("onnxruntime-cuda", "prefer_nhwc", "2", "onnxruntime-cuda: prefer_nhwc must be on or off"),
    ("onnxruntime-trt", "opt_level", "9", "onnxruntime-trt: opt_level must be in [0, 5], got 9"),
    ("onnxruntime-trt", "max_batch", "lots", "onnxruntime-trt: max_batch must be an integer, got 'lots'"),
    ("tensorrt", "copies", "both", "tensorrt: copies must be in or out"),
    ("tensorrt", "workspace_mib", "0", "tensorrt: workspace_mib must be in [1, ...], got 0"),
]

GPU_BACKENDS = {"tensorrt", "onnxruntime-cuda", "onnxruntime-trt", "torch-cuda"}


def _names() -> list[str]:
    from benchbed.backends import backend_names

    return backend_names()


@pytest.mark.parametrize("name", _names())
def test_every_backend_declares_capabilities_and_an_options_class(name):
    from benchbed.backends import Capabilities, backend_capabilities, backend_device, get_backend, option_keys

    backend = get_backend(name)
    assert isinstance(backend.capabilities, Capabilities) and backend_capabilities(name) is backend.capabilities
    assert backend_device(name) == ("cuda" if name in GPU_BACKENDS else "cpu")
    assert option_keys(name) == backend.config.KEYS
    config = backend.parse_options({})
    assert isinstance(config, backend.config) and dataclasses.is_dataclass(config)
    assert backend.config.__dataclass_params__.frozen, "options are values: frozen"


def test_torch_cuda_runs_on_cuda():
    """Ray asks for a GPU for "cuda" backends; torch-cuda was missing from its hand-kept list."""
    from benchbed.backends import backend_device

    assert backend_device("torch-cuda") == "cuda"
    assert {name for name in _names() if backend_device(name) == "cuda"} == GPU_BACKENDS


def test_backend_device_imports_no_accelerator_library():
    """The parent (and Ray's driver) asks where a backend runs without importing any runtime library."""
    code = """
import importlib.abc, sys
BLOCKED = {"torch", "tensorrt", "cuda", "pynvml", "onnxruntime", "openvino", "onnx"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"blocked: {name}")
sys.meta_path.insert(0, Block())
from benchbed.backends import backend_device, backend_names, parse_backend_options
print(",".join(f"{n}={backend_device(n)}" for n in backend_names()))
for n in backend_names():
    parse_backend_options(n, {})
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    devices = dict(item.split("=") for item in done.stdout.strip().split(","))
    assert devices["torch-cuda"] == "cuda" and devices["torch"] == "cpu" and set(devices) == set(_names())


@pytest.mark.parametrize("name,runner", [
    ("tensorrt", "benchbed.backends.tensorrt.runner:TensorRTRunner"),
    ("torch-cuda", "benchbed.backends.torch_cuda:TorchCudaRunner"),
    ("onnxruntime-cuda", "benchbed.backends.onnxruntime_gpu:OrtGpuRunner"),
    ("onnxruntime", "benchbed.backends.onnxruntime_cpu:OrtCpuRunner"),
    ("openvino", "benchbed.backends.openvino_cpu:OpenVinoRunner"),
    ("torch", "benchbed.backends.torch_cpu:TorchRunner"),
    ("null", "benchbed.backends.null:NullRunner"),
])
def test_declared_device_times_match_the_runner(name, runner):
    import importlib

    from benchbed.backends import backend_capabilities

    module, _, cls = runner.partition(":")
    has_method = callable(getattr(getattr(importlib.import_module(module), cls), "device_times_ms", None))
    assert backend_capabilities(name).device_times == has_method


@pytest.mark.parametrize("name,takes", [("tensorrt", True), ("onnxruntime-trt", True), ("onnxruntime-cuda", False),
                                        ("torch-cuda", False), ("onnxruntime", False)])
def test_takes_max_batch_is_declared(name, takes):
    from benchbed.backends import backend_capabilities, get_backend

    assert backend_capabilities(name).takes_max_batch is takes
    assert get_backend(name).capabilities.takes_max_batch is takes  # what the worker reads


def test_capabilities_refuse_an_unknown_device():
    from benchbed.backends import Capabilities

    with pytest.raises(ValueError, match="cpu, cuda"):
        Capabilities(device="tpu")


@pytest.mark.parametrize("text,value", [("off", False), ("OFF", False), ("false", False), ("0", False), ("no", False),
                                        (False, False), ("on", True), ("true", True), ("1", True), ("yes", True),
                                        (True, True)])
@pytest.mark.parametrize("name", ["torch", "torch-cuda"])
def test_compile_flag_is_parsed_not_truthy(name, text, value):
    """``bool("off")`` is True: compile=off used to turn torch.compile on."""
    from benchbed.backends import parse_backend_options

    assert parse_backend_options(name, {"compile": text}).compile is value
    assert parse_backend_options(name, {"channels_last": text}).channels_last is value


@pytest.fixture(scope="module")
def tiny_fp32(tmp_path_factory):
    from benchbed.artifacts.export import export_network
    from benchbed.networks import network_spec

    return export_network(network_spec(0, **TINY), "fp32", tmp_path_factory.mktemp("models")).path


@pytest.mark.parametrize("value,compiled", [("off", False), ("on", True)])
def test_torch_runner_compiles_only_when_asked(tiny_fp32, monkeypatch, value, compiled):
    torch = pytest.importorskip("torch")
    from benchbed.backends import BackendOptions, get_backend

    calls = []
    monkeypatch.setattr(torch, "compile", lambda model, **kw: (calls.append(model), model)[1])
    runner = get_backend("torch").prepare(tiny_fp32, BackendOptions(extra={"compile": value}))
    assert runner.details["compile"] is compiled
    runner.activate()
    try:
        assert len(calls) == int(compiled), "torch.compile called exactly when compile=on"
    finally:
        runner.deactivate()


@pytest.mark.parametrize("backend,key,value,message", BAD_VALUES)
def test_bad_values_are_one_line_errors_from_route_options(backend, key, value, message):
    from benchbed.backends import route_options
    from benchbed.core.errors import BenchbedError

    for items in ([(f"{backend}.{key}", value)], [(key, value)]):
        with pytest.raises(BenchbedError) as info:
            route_options(items, [backend])
        assert message in str(info.value) and "\n" not in str(info.value), str(info.value)


def test_every_backend_with_options_has_a_bad_value_case():
    from benchbed.backends import option_keys

    assert {name for name in _names() if option_keys(name)} == {backend for backend, *_ in BAD_VALUES}


@pytest.mark.parametrize("backend,key,value,message", BAD_VALUES)
def test_prepare_refuses_the_same_values(backend, key, value, message, tmp_path):
    """The worker parses with the same function: same one-line error (a ValueError too, as before)."""
    from benchbed.backends import BackendOptions, get_backend

    with pytest.raises(ValueError) as info:
        get_backend(backend).prepare(tmp_path / "fp32.onnx", BackendOptions(extra={key: value}))
    assert message in str(info.value)


def test_route_options_keeps_the_users_strings():
    """Results' backend.options keep the values as typed; the typed config is derived from them."""
    from benchbed.backends import parse_backend_options, route_options

    routed = route_options([("compile", "off"), ("torch-cuda.device", "1"), ("streams", "auto")],
                           ["torch", "torch-cuda", "openvino"])
    assert routed == {"torch": {"compile": "off"}, "torch-cuda": {"compile": "off", "device": "1"},
                      "openvino": {"streams": "auto"}}
    assert parse_backend_options("torch-cuda", routed["torch-cuda"]).device == 1
    assert parse_backend_options("openvino", routed["openvino"]).streams == "AUTO"


@pytest.mark.parametrize("extra,expected", [
    ({}, dict(cuda_graph=False, copies_included=False, max_batch=1, opt_batch=1)),
    ({"copies": "IN", "cuda_graph": "on", "max_batch": "16", "opt_batch": "32"},
     dict(cuda_graph=True, copies_included=True, max_batch=16, opt_batch=16)),
])
def test_typed_values(extra, expected):
    from benchbed.backends import parse_backend_options

    for name in ("tensorrt", "onnxruntime-trt"):
        config = parse_backend_options(name, extra)
        assert {k: getattr(config, k) for k in expected} == expected


def test_null_options_are_numbers():
    from benchbed.backends import parse_backend_options

    assert parse_backend_options("null", {"service_ms": "1.5", "per_sample_ms": 0}).service_ms == 1.5
