"""Test doubles of ``tensorrt`` (10 and 11), ``cuda.bindings.runtime`` and ``pynvml`` over one fake GPU.

:func:`install` puts them in ``sys.modules`` through pytest's monkeypatch, so they vanish after the test.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types

from gpu_doubles.cudart import make_runtime
from gpu_doubles.gpu import MIB, FakeGpu
from gpu_doubles.pynvml_fake import make_pynvml
from gpu_doubles.tensorrt_fake import make_tensorrt

__all__ = ["FakeGpu", "MIB", "install", "make_pynvml"]


def _module(name: str, module: types.ModuleType | None = None) -> types.ModuleType:
    module = module or types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    return module


def install(monkeypatch, trt_version: str | None = "10.16.1.11", gpu: FakeGpu | None = None,
            nvml: dict | None = None) -> types.SimpleNamespace:
    """Install the doubles; ``trt_version=None`` leaves tensorrt uninstalled, ``nvml=None`` leaves pynvml out."""
    gpu = gpu or FakeGpu()
    runtime = _module("cuda.bindings.runtime", make_runtime(gpu))
    bindings = _module("cuda.bindings")
    bindings.runtime = runtime
    cuda = _module("cuda")
    cuda.bindings = bindings
    for name, module in (("cuda", cuda), ("cuda.bindings", bindings), ("cuda.bindings.runtime", runtime)):
        monkeypatch.setitem(sys.modules, name, module)
    trt = None
    if trt_version:
        trt = _module("tensorrt", make_tensorrt(trt_version, gpu))
        monkeypatch.setitem(sys.modules, "tensorrt", trt)
    else:
        monkeypatch.setitem(sys.modules, "tensorrt", None)  # import raises ImportError
    nvml_module = None
    if nvml is not None:
        nvml_module = _module("pynvml", make_pynvml(gpu, **nvml))
        monkeypatch.setitem(sys.modules, "pynvml", nvml_module)
    return types.SimpleNamespace(gpu=gpu, trt=trt, cudart=runtime, pynvml=nvml_module)
