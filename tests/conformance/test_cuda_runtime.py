"""The cuda-python double (gpu_doubles/cudart.py) and benchbed's CUDA calls against the real
``cuda.bindings.runtime`` of the pinned cuda-python, which imports without a GPU (it loads libcuda lazily)."""

from __future__ import annotations

import json
import types

import pytest

from conformance.compare import paths_for, surface_problems, use_problems
from conformance.probe import describe
from conformance.scan import cuda_runtime_uses
from conformance.surface import module_surface
from gpu_doubles.cudart import RUNTIME_VERSION, cudaError_t, make_runtime
from gpu_doubles.gpu import FakeGpu

MODULE = "cuda.bindings.runtime"
#: one harmless call per function of the double (dummy handles: only made where there is no CUDA driver)
CALLS = {
    "cudaGetErrorString": "(m.cudaError_t.cudaErrorNotReady,)", "cudaGetDeviceCount": "()",
    "cudaDriverGetVersion": "()", "cudaRuntimeGetVersion": "()", "cudaGetDeviceProperties": "(0,)",
    "cudaMemGetInfo": "()", "cudaMalloc": "(16,)", "cudaMallocHost": "(16,)", "cudaFree": "(0,)",
    "cudaFreeHost": "(0,)", "cudaMemcpyAsync": "(0, 0, 0, m.cudaMemcpyKind.cudaMemcpyHostToDevice, 0)",
    "cudaStreamCreate": "()", "cudaStreamDestroy": "(0,)", "cudaStreamSynchronize": "(0,)",
    "cudaEventCreate": "()", "cudaEventDestroy": "(0,)", "cudaEventRecord": "(0, 0)",
    "cudaEventSynchronize": "(0,)", "cudaEventQuery": "(0,)", "cudaEventElapsedTime": "(0, 0)",
    "cudaStreamBeginCapture": "(0, m.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal)",
    "cudaStreamEndCapture": "(0,)", "cudaGraphInstantiate": "(0, 0)", "cudaGraphLaunch": "(0, 0)",
    "cudaGraphExecDestroy": "(0,)", "cudaGraphDestroy": "(0,)",
}
CALL_ALL = """
import json
result = {}
for name, args in json.loads(CALLS).items():
    try:
        out = getattr(m, name)(*eval(args, {"m": m}))
        result[name] = [len(out), int(out[0]), out[1:]]
    except Exception as exc:
        result[name] = f"{type(exc).__name__}: {exc}"
"""
ERROR_TEXTS = """
result = {int(e): m.cudaGetErrorString(m.cudaError_t(e))[1] for e in CODES}
"""


def _call_all(module) -> dict:
    namespace = {"m": module, "CALLS": json.dumps(CALLS)}
    exec(CALL_ALL, namespace)
    return json.loads(json.dumps(namespace["result"], default=lambda v: int(v) if isinstance(v, int) else repr(v)))


@pytest.fixture(scope="module")
def cuda(real_cuda) -> types.SimpleNamespace:
    double = make_runtime(FakeGpu())
    items = module_surface(double)
    uses = cuda_runtime_uses()
    code = {"calls": f"CALLS = {json.dumps(CALLS)!r}\n" + CALL_ALL,
            "texts": f"CODES = {[int(e) for e in cudaError_t]!r}\n" + ERROR_TEXTS,
            "version": "import cuda.bindings\nresult = cuda.bindings.__version__"}
    real = describe(real_cuda, MODULE, paths_for(items, uses), code)
    return types.SimpleNamespace(items=items, uses=uses, real=real, answers=real["paths"])


def test_the_real_bindings_are_the_pinned_version(cuda):
    from conformance.packages import pinned

    assert cuda.real["code"]["version"]["result"] == pinned("tensorrt", "cuda-python")


def test_every_function_parameter_and_enum_value_of_the_double_is_real(cuda):
    functions = [i for i in cuda.items if i.kind == "function"]
    assert len(functions) >= 25 and len([i for i in cuda.items if i.kind == "enum"]) == 3
    assert surface_problems(cuda.items, cuda.answers) == []


def test_benchbed_uses_only_real_names_and_its_calls_bind(cuda):
    assert len({u.path for u in cuda.uses}) >= 20, "the scan of benchbed found no cuda-python use"
    assert use_problems(cuda.uses, cuda.answers) == []


def test_error_strings_and_runtime_version_are_the_real_ones(cuda):
    texts = {int(k): v for k, v in cuda.real["code"]["texts"]["result"].items()}
    double = make_runtime(FakeGpu())
    assert {int(e): double.cudaGetErrorString(e)[1].decode() for e in cudaError_t} == texts
    runtime = cuda.real["code"]["calls"]["result"]["cudaRuntimeGetVersion"]
    assert runtime == [2, 0, [RUNTIME_VERSION]], "the double's runtime is not cuda-bindings' CUDA runtime"


def test_results_are_tuples_of_the_real_length(cuda, cuda_device_count):
    """benchbed unpacks ``(err, *values)``: the double must return as many values as the real call,
    checked where there is no CUDA driver (real calls with dummy handles would touch a real GPU), so every
    call fails first with cudaErrorInsufficientDriver in both."""
    if cuda_device_count[0] != cudaError_t.cudaErrorInsufficientDriver:
        pytest.skip("a CUDA driver is present: dummy-handle calls are only made on machines without one")
    double_functions = {i.path for i in cuda.items if i.kind == "function"}
    assert double_functions == set(CALLS), "give every function of the double a call in CALLS"
    real = cuda.real["code"]["calls"]["result"]
    double = _call_all(make_runtime(FakeGpu(driver=None)))
    problems = [f"{name}: real {real[name]!r}, double {double[name]!r}" for name in CALLS
                if isinstance(real[name], str) or isinstance(double[name], str) or real[name][:2] != double[name][:2]]
    assert problems == [], "(length, cudaError) of each result without a driver"
