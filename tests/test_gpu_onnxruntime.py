"""onnxruntime-cuda / onnxruntime-trt backends through a fake onnxruntime-gpu (real CPU ORT underneath)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from gpu_doubles import FakeGpu, install
from gpu_doubles.loader import FakeLoader, install_loader
from gpu_doubles.models import reference, tiny_onnx
from gpu_doubles.onnxruntime_fake import make_onnxruntime

GPU_PROVIDERS = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


@pytest.fixture
def onnx_path(tmp_path):
    return tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")


def _fake_ort(monkeypatch, providers=GPU_PROVIDERS, gpu=True, libs=True):
    """``libs``: the TensorRT 10 libraries wheel (tensorrt_libs) is installed; CUDA and cuDNN always are."""
    loader = FakeLoader()
    if not libs:
        del loader.wheels["tensorrt_libs"]
    ort = make_onnxruntime(providers, loader=loader)
    monkeypatch.setitem(sys.modules, "onnxruntime", ort)
    install(monkeypatch, trt_version=None, gpu=FakeGpu(count=1 if gpu else 0))
    install_loader(monkeypatch, loader)
    from benchbed.backends import onnxruntime_gpu

    monkeypatch.setattr(onnxruntime_gpu, "package_version", lambda name: "1.31.1" if name == "onnxruntime-gpu" else None)
    return ort


def _runner(name, path, **extra):
    from benchbed.backends import BackendOptions, get_backend

    return get_backend(name).prepare(path, BackendOptions(extra={k: str(v) for k, v in extra.items()}))


def test_cuda_provider_options_and_device_resident_io(monkeypatch, onnx_path):
    ort = _fake_ort(monkeypatch)
    runner = _runner("onnxruntime-cuda", onnx_path, cuda_graph="on", cudnn_conv_algo_search="heuristic")
    runner.activate()
    session = ort._fake_state.sessions[-1]
    # use_tf32 "0" added for issue 13: onnxruntime's default (1) computes fp32 in TF32
    assert session._requested == [("CUDAExecutionProvider", {"device_id": "0", "cudnn_conv_algo_search": "HEURISTIC",
                                                            "enable_cuda_graph": "1", "prefer_nhwc": "0",
                                                            "use_tf32": "0"})]
    images = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    runner.set_input(images)
    uploads = ort._fake_state.uploads
    for _ in range(3):
        runner.infer()
    assert ort._fake_state.uploads == uploads and ort._fake_state.downloads == 0, "copies=out: nothing moves while timed"
    np.testing.assert_allclose(runner.outputs(), reference(onnx_path, images), rtol=1e-5, atol=1e-6)
    assert runner.details["session_providers"][0] == "CUDAExecutionProvider" and runner.semantics.device == "cuda:0"
    runner.deactivate()


def test_copies_in_moves_input_and_output_each_inference(monkeypatch, onnx_path):
    ort = _fake_ort(monkeypatch)
    runner = _runner("onnxruntime-cuda", onnx_path, copies="in")
    runner.activate()
    runner.set_input(np.zeros((1, 3, 8, 8), np.float32))
    uploads, downloads = ort._fake_state.uploads, ort._fake_state.downloads
    runner.infer()
    assert (ort._fake_state.uploads - uploads, ort._fake_state.downloads - downloads) == (1, 1)
    assert runner.semantics.copies_included


def test_tensorrt_provider_options_keep_caches_inside_models(monkeypatch, onnx_path):
    ort = _fake_ort(monkeypatch)
    runner = _runner("onnxruntime-trt", onnx_path, fp16="on", max_batch=8, cuda_graph="on")
    runner.activate()
    (trt_name, trt), (cuda_name, cuda) = ort._fake_state.sessions[-1]._requested
    assert (trt_name, cuda_name) == ("TensorrtExecutionProvider", "CUDAExecutionProvider")
    cache = str(onnx_path.parent / "ort-trt-cache")
    assert trt["trt_engine_cache_enable"] and trt["trt_engine_cache_path"] == cache
    assert trt["trt_timing_cache_enable"] and trt["trt_timing_cache_path"] == cache
    assert trt["trt_fp16_enable"] is True and trt["trt_cuda_graph_enable"] is True
    assert (trt["trt_profile_min_shapes"], trt["trt_profile_max_shapes"]) == ("images:1x3x8x8", "images:8x3x8x8")
    assert cuda["enable_cuda_graph"] == "0", "graphs are the TensorRT EP's when it is primary"
    assert (onnx_path.parent / "ort-trt-cache").is_dir()


def test_fallback_to_cpu_is_refused_not_measured(monkeypatch, onnx_path):
    _fake_ort(monkeypatch, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    runner = _runner("onnxruntime-trt", onnx_path)
    with pytest.warns(UserWarning, match="not in available provider names"):
        with pytest.raises(RuntimeError, match="did not enable TensorrtExecutionProvider"):
            runner.activate()


@pytest.mark.parametrize("providers,gpu,libs,usable,reason", [
    (GPU_PROVIDERS, True, True, True, "with CUDAExecutionProvider"),
    (["CPUExecutionProvider"], True, True, False, "CUDAExecutionProvider missing"),
    (GPU_PROVIDERS, False, True, False, "no CUDA-capable device"),
])
def test_cuda_probe(monkeypatch, providers, gpu, libs, usable, reason):
    from benchbed.backends import get_backend

    _fake_ort(monkeypatch, providers, gpu, libs)
    ok, why = get_backend("onnxruntime-cuda").probe()
    assert ok is usable and reason in why


def test_trt_probe_needs_the_tensorrt_libraries(monkeypatch):
    from benchbed.backends import get_backend

    _fake_ort(monkeypatch, libs=False)
    ok, why = get_backend("onnxruntime-trt").probe()
    assert not ok and "libnvinfer.so.10" in why


def test_both_onnxruntime_packages_installed_is_unusable(monkeypatch):
    from benchbed.backends import get_backend, onnxruntime_gpu

    _fake_ort(monkeypatch)
    monkeypatch.setattr(onnxruntime_gpu, "package_version", lambda name: "1.31.1")
    ok, why = get_backend("onnxruntime-cuda").probe()
    assert not ok and "overwrite each other" in why


def test_probe_on_this_machine():
    from benchbed.backends import get_backend

    for name in ("onnxruntime-cuda", "onnxruntime-trt"):
        ok, why = get_backend(name).probe()
        assert not ok and why


def test_bad_options(onnx_path):
    with pytest.raises(ValueError, match="unknown option"):
        _runner("onnxruntime-cuda", onnx_path, fp16="on")  # fp16 is the TensorRT EP's option only
    with pytest.raises(ValueError, match="cudnn_conv_algo_search must be"):
        _runner("onnxruntime-cuda", onnx_path, cudnn_conv_algo_search="fastest")
