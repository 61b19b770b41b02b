"""Libraries that are installed but not loadable (issue 13, item 2), through the loader double.

onnxruntime-gpu lists its CUDA and TensorRT providers wherever it is installed; their libraries need CUDA 13,
cuDNN 9 and TensorRT 10, which pip puts in site-packages, off the loader's path, until
``onnxruntime.preload_dlls()`` / ``import tensorrt_libs`` load them. The probes do what the worker does, so a
missing library is one line before anything runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gpu_doubles import install
from gpu_doubles.loader import FakeLoader, install_loader
from gpu_doubles.models import tiny_onnx
from gpu_doubles.onnxruntime_fake import CPU, CUDA, TRT, make_onnxruntime

AVAILABLE = [TRT, CUDA, CPU]


def _setup(monkeypatch, loader: FakeLoader):
    ort = make_onnxruntime(AVAILABLE, loader=loader)
    monkeypatch.setitem(sys.modules, "onnxruntime", ort)
    install(monkeypatch, trt_version=None)
    install_loader(monkeypatch, loader)
    from benchbed.backends import onnxruntime_gpu

    monkeypatch.setattr(onnxruntime_gpu, "package_version", lambda name: "1.31.1" if name == "onnxruntime-gpu" else None)
    return ort


def test_the_double_drops_a_listed_provider_until_its_libraries_are_loaded(monkeypatch, tmp_path, capfd):
    """The contract: listed as available, yet the session falls back while libnvinfer is off the path."""
    loader = FakeLoader()
    ort = _setup(monkeypatch, loader)
    path = str(tiny_onnx(tmp_path / "fp32.onnx"))
    assert TRT in ort.get_available_providers()
    assert ort.InferenceSession(path, providers=[TRT, CUDA]).get_providers() == [CPU]
    ort.preload_dlls()
    assert ort.InferenceSession(path, providers=[TRT, CUDA]).get_providers() == [CUDA, CPU]
    import tensorrt_libs  # noqa: F401  (what `import tensorrt` does: loads libnvinfer & co. by full path)

    assert ort.InferenceSession(path, providers=[TRT, CUDA]).get_providers() == [TRT, CUDA, CPU]
    assert "EP Error" in capfd.readouterr().out


def test_missing_tensorrt_libraries_make_onnxruntime_trt_unusable_before_anything_runs(monkeypatch):
    from benchbed.backends import get_backend, probe_all, resolve_backend
    from benchbed.core.errors import BenchbedError

    loader = FakeLoader()
    del loader.wheels["tensorrt_libs"]  # onnxruntime-gpu and its CUDA extras, no tensorrt-cu13-libs
    ort = _setup(monkeypatch, loader)
    usable, why = get_backend("onnxruntime-trt").probe()
    assert not usable and why.startswith("libnvinfer.so.10 not loadable (TensorRT 10's libraries"), why
    assert "pip install 'benchbed[gpu]'" in why and "tensorrt_libs is not installed" in why
    rows = {name: (ok, reason) for name, ok, reason in probe_all()}
    assert rows["onnxruntime-trt"] == (False, why) and rows["onnxruntime-cuda"][0], "CUDA's libraries load"
    with pytest.raises(BenchbedError, match="'onnxruntime-trt' is not usable here: libnvinfer.so.10 not loadable"):
        resolve_backend("onnxruntime-trt")
    assert ort._fake_state.sessions == [], "found out without making a session"


def test_missing_cuda_wheels_make_both_providers_unusable(monkeypatch):
    from benchbed.backends import get_backend

    loader = FakeLoader()
    del loader.wheels["cuda"]  # onnxruntime-gpu without its [cuda] extra
    _setup(monkeypatch, loader)
    for name, first in (("onnxruntime-cuda", "libcublasLt.so.13"), ("onnxruntime-trt", "libcublas.so.13")):
        usable, why = get_backend(name).probe()
        assert not usable and why.startswith(f"{first} not loadable (CUDA 13 (onnxruntime-gpu's cuda extra)"), why


def test_missing_cudnn_makes_the_cuda_provider_unusable(monkeypatch):
    from benchbed.backends import get_backend

    loader = FakeLoader()
    del loader.wheels["cudnn"]
    _setup(monkeypatch, loader)
    usable, why = get_backend("onnxruntime-cuda").probe()
    assert not usable and why.startswith("libcudnn.so.9 not loadable (cuDNN 9"), why


def test_the_probe_loads_the_supported_way_then_checks_every_library(monkeypatch):
    from benchbed.backends import get_backend

    loader = FakeLoader()
    ort = _setup(monkeypatch, loader)
    usable, why = get_backend("onnxruntime-trt").probe()
    assert usable, why
    assert ort._fake_state.preloads == 1 and "import tensorrt_libs" in loader.calls
    assert loader.calls.index("import tensorrt_libs") < loader.calls.index("libnvinfer.so.10")
    assert {"libnvinfer.so.10", "libnvonnxparser.so.10", "libcudnn.so.9", "libcudart.so.13"} <= set(loader.calls)


def test_libraries_on_the_system_path_need_no_wheel(monkeypatch):
    """A TensorRT installed from NVIDIA's tar/deb (on the loader's path) is as good as the wheel."""
    from benchbed.backends import get_backend

    loader = FakeLoader()
    del loader.wheels["tensorrt_libs"]
    loader.system |= {"libnvinfer.so.10", "libnvonnxparser.so.10"}
    _setup(monkeypatch, loader)
    assert get_backend("onnxruntime-trt").probe()[0]


def test_the_worker_loads_the_libraries_itself_before_its_session(monkeypatch, tmp_path):
    """A worker that never probed (or whose probe ran in another process) still gets the TensorRT provider."""
    from benchbed.backends import BackendOptions, get_backend

    loader = FakeLoader()
    ort = _setup(monkeypatch, loader)
    path = tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")
    runner = get_backend("onnxruntime-trt").prepare(path, BackendOptions(extra={"max_batch": "2"}))
    runner.activate()
    assert runner.details["session_providers"][0] == TRT and ort._fake_state.preloads == 1
    runner.deactivate()


def test_a_worker_whose_library_is_missing_says_which(monkeypatch, tmp_path, capfd):
    from benchbed.backends import BackendOptions, get_backend

    loader = FakeLoader()
    del loader.wheels["tensorrt_libs"]
    _setup(monkeypatch, loader)
    path = tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")
    runner = get_backend("onnxruntime-trt").prepare(path, BackendOptions(extra={"max_batch": "2"}))
    with pytest.raises(RuntimeError, match=r"did not enable TensorrtExecutionProvider \(session uses "
                                           r"CUDAExecutionProvider, CPUExecutionProvider\); libnvinfer.so.10 not loadable"):
        runner.activate()
    capfd.readouterr()


def test_native_tensorrt_without_its_libraries_names_the_library(monkeypatch):
    """The bindings wheel without tensorrt-cu13-libs: ``import tensorrt`` fails with the loader's message."""
    import importlib.abc
    import importlib.machinery

    from benchbed.backends import get_backend
    from benchbed.backends.gpu_libraries import unloadable_library

    class BindingsWithoutLibs(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path, target=None):
            return importlib.machinery.ModuleSpec(fullname, self) if fullname == "tensorrt" else None

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            raise ImportError("libnvinfer.so.10: cannot open shared object file: No such file or directory")

    install(monkeypatch)  # cuda-python and a GPU
    monkeypatch.delitem(sys.modules, "tensorrt")
    monkeypatch.setattr(sys, "meta_path", [BindingsWithoutLibs(), *sys.meta_path])
    usable, why = get_backend("tensorrt").probe()
    assert not usable and why.startswith("libnvinfer.so.10 not loadable (TensorRT's libraries"), why
    assert unloadable_library(ImportError("no module named tensorrt")) is None


def test_needed_libraries_reads_dt_needed_like_readelf():
    import _ctypes

    from benchbed.backends.gpu_libraries import needed_libraries

    path = Path(_ctypes.__file__)
    found = needed_libraries(path)
    assert "libc.so.6" in found
    if shutil.which("readelf"):
        out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
        assert found == [line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]
    with pytest.raises(ValueError, match="not a little-endian ELF64"):
        needed_libraries(Path(__file__))


def test_the_real_dlopen_is_what_benchbed_calls_by_default():
    from benchbed.backends import gpu_libraries

    with pytest.raises(OSError, match="libnvinfer.so.10"):
        gpu_libraries.dlopen("libnvinfer.so.10")  # not on this machine
