"""fp32 means fp32 on every GPU backend; TF32 is an explicit option, judged by its own bound (issue 13, item 1).

The doubles compute with TF32 wherever the real libraries do by default -- TensorRT's builder
(``BuilderFlag.TF32``, "Enabled by default"), onnxruntime's CUDA provider (``use_tf32`` = 1) and its TensorRT
provider, which has no option to turn it off -- so these cells go through the worker's parity check exactly
as on a GPU.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from gpu_doubles import install
from gpu_doubles.loader import FakeLoader, install_loader
from gpu_doubles.models import reference, tiny_onnx
from gpu_doubles.onnxruntime_fake import make_onnxruntime

PROFILE = {"name": "test", "warmup_seconds": 0.0, "warmup_iterations": 1, "min_seconds": 0.02,
           "min_iterations": 3, "max_seconds": 5.0}
TRT_VERSIONS = ["10.16.1.11", "11.4.0.106"]
FP32_BOUND = 1e-4


@pytest.fixture
def artifact(tmp_path):
    """The tiny fp32 ONNX with the reference outputs the worker checks parity against."""
    from benchbed.artifacts.export import PARITY_SEED
    from benchbed.artifacts.synthetic import synthetic_images

    path = tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")
    np.save(path.parent / "reference_outputs.npy", reference(path, synthetic_images(3, 8, seed=PARITY_SEED)))
    return path


def _measure(artifact, backend, **extra):
    from benchbed.artifacts.export import PARITY_SEED
    from benchbed.core.cell import Cell
    from benchbed.core.job import Job
    from benchbed.launchers.worker import measure

    job = Job(Cell("tiny", backend, "fp32", "single-stream", 1), 8, PROFILE,
              {"threads": None, "io_binding": True, "extra": {k: str(v) for k, v in extra.items()}},
              parity_tolerance=FP32_BOUND, max_batch=2, artifact=str(artifact),
              reference=str(artifact.parent / "reference_outputs.npy"), parity_seed=PARITY_SEED)
    doc = measure(job)
    assert doc["status"] == "ok", doc
    return doc


def _fake_ort(monkeypatch):
    loader = FakeLoader()
    ort = make_onnxruntime(["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
                           loader=loader)
    monkeypatch.setitem(sys.modules, "onnxruntime", ort)
    install(monkeypatch, trt_version=None)
    install_loader(monkeypatch, loader)
    return ort


def _fp32(doc):
    parity = doc["parity"]
    assert parity["passed"] and parity["tolerance"] == FP32_BOUND and "tolerance_reason" not in parity, parity
    assert doc["validity"]["status"] == "VALID", doc["validity"]
    assert doc["backend"]["details"]["compute_precision"] == "fp32"


def _tf32(doc):
    from benchbed.artifacts.precision import COMPUTE_TOLERANCES

    parity = doc["parity"]
    bound, reason = COMPUTE_TOLERANCES["tf32"]
    assert parity["passed"] and parity["compute_precision"] == "tf32", parity
    assert parity["tolerance"] == bound and parity["tolerance_reason"] == reason
    assert FP32_BOUND < parity["max_rel_error"] < bound, "it did compute in TF32, and TF32 misses the fp32 bound"
    assert doc["backend"]["details"]["compute_precision"] == "tf32"


# -- the native TensorRT backend ---------------------------------------------------------------------------

@pytest.mark.parametrize("version", TRT_VERSIONS)
def test_the_fake_builder_has_tf32_on_by_default_and_such_an_engine_misses_the_fp32_bound(monkeypatch, artifact,
                                                                                           version):
    """The contract first: without benchbed clearing the flag, an fp32 cell would be INVALID."""
    from benchbed.backends.tensorrt import build

    fake = install(monkeypatch, version)
    logger = build.make_logger(fake.trt)  # the process's one logger (the double refuses a second)
    assert fake.trt.Builder(logger).create_builder_config().get_flag(fake.trt.BuilderFlag.TF32)
    monkeypatch.setattr(build, "_tf32", lambda trt, config, options: True)  # benchbed before issue 13
    doc = _measure(artifact, "tensorrt")
    assert not doc["parity"]["passed"] and doc["parity"]["max_rel_error"] > FP32_BOUND
    assert doc["validity"]["status"] == "INVALID" and "parity failed" in doc["validity"]["reasons"][0]


@pytest.mark.parametrize("version", TRT_VERSIONS)
def test_an_fp32_tensorrt_cell_clears_tf32_and_meets_the_fp32_bound(monkeypatch, artifact, version):
    fake = install(monkeypatch, version)
    doc = _measure(artifact, "tensorrt")
    _fp32(doc)
    assert not fake.trt._fake_state.configs[-1].get_flag(fake.trt.BuilderFlag.TF32)
    assert doc["backend"]["details"]["build"]["tf32"] is False
    assert doc["backend"]["details"]["engine_key"]["builder_options"]["tf32"] is False


@pytest.mark.parametrize("version", TRT_VERSIONS)
def test_tensorrt_tf32_on_is_recorded_and_judged_by_the_tf32_bound(monkeypatch, artifact, version):
    fake = install(monkeypatch, version)
    doc = _measure(artifact, "tensorrt", tf32="on")
    _tf32(doc)
    assert fake.trt._fake_state.configs[-1].get_flag(fake.trt.BuilderFlag.TF32)
    assert doc["backend"]["options"]["extra"]["tf32"] == "on"


def test_tf32_is_part_of_the_engine_cache_key(monkeypatch, artifact):
    """An engine built with TF32 (or by a benchbed that left TensorRT's default on) is never reused for fp32."""
    from benchbed.backends import BackendOptions, get_backend

    fake = install(monkeypatch)
    for tf32, expected in (("on", "built"), ("off", "built"), ("on", "hit"), ("off", "hit")):
        runner = get_backend("tensorrt").prepare(artifact, BackendOptions(extra={"tf32": tf32}))
        runner.activate()
        assert runner.details["engine_cache"].startswith(expected), (tf32, runner.details["engine_cache"])
        runner.deactivate()
    assert fake.trt._fake_state.builds == 2


# -- onnxruntime-gpu ---------------------------------------------------------------------------------------

def test_an_fp32_onnxruntime_cuda_cell_passes_use_tf32_0_and_meets_the_fp32_bound(monkeypatch, artifact):
    ort = _fake_ort(monkeypatch)
    doc = _measure(artifact, "onnxruntime-cuda")
    _fp32(doc)
    (_, options), = ort._fake_state.sessions[-1]._requested
    assert options["use_tf32"] == "0" and doc["backend"]["details"]["tf32"] == "use_tf32=0"


def test_the_fake_cuda_provider_computes_tf32_by_default(monkeypatch, artifact):
    """onnxruntime's default use_tf32=1: an fp32 session that does not pass 0 misses the fp32 bound."""
    from benchbed.artifacts.parity import parity_figures

    ort = _fake_ort(monkeypatch)
    ort.preload_dlls()  # the CUDA and cuDNN wheels are off the loader's path until then
    images = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    outputs = {}
    for label, options in (("default", {}), ("off", {"use_tf32": "0"})):
        session = ort.InferenceSession(str(artifact), providers=[("CUDAExecutionProvider", options)])
        outputs[label] = session._real.run(None, {"images": images})[0]
    expected = reference(artifact, images)
    assert parity_figures(outputs["default"], expected)["max_rel_error"] > FP32_BOUND
    np.testing.assert_array_equal(outputs["off"], expected)


def test_onnxruntime_cuda_tf32_on_is_recorded_and_judged_by_the_tf32_bound(monkeypatch, artifact):
    ort = _fake_ort(monkeypatch)
    doc = _measure(artifact, "onnxruntime-cuda", tf32="on")
    _tf32(doc)
    assert ort._fake_state.sessions[-1]._requested[0][1]["use_tf32"] == "1"


def test_onnxruntime_trt_cannot_turn_tf32_off_so_it_records_tf32_with_the_reason(monkeypatch, artifact):
    """The TensorRT provider has no TF32 option: fp32 cells compute in TF32 (TensorRT's default) and say so,
    judged by the tf32 bound rather than failing the fp32 bound every time."""
    ort = _fake_ort(monkeypatch)
    doc = _measure(artifact, "onnxruntime-trt")
    _tf32(doc)
    details = doc["backend"]["details"]
    assert "no option to clear it" in details["tf32"] and "BuilderFlag.TF32" in details["tf32"]
    trt_options, cuda_options = (o for _, o in ort._fake_state.sessions[-1]._requested)
    assert not any("tf32" in key for key in trt_options)
    assert cuda_options["use_tf32"] == "0", "the CUDA fallback computes what it takes in fp32"


def test_onnxruntime_trt_fp16_is_judged_by_the_fp16_bound(monkeypatch, artifact):
    _fake_ort(monkeypatch)
    doc = _measure(artifact, "onnxruntime-trt", fp16="on")
    assert doc["backend"]["details"]["compute_precision"] == "fp16"
    assert doc["parity"]["passed"] and doc["parity"]["tolerance"] == 5e-2


# -- torch-cuda --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype,tf32,expected", [("fp32", "off", "fp32"), ("fp32", "on", "tf32"),
                                                 ("fp16", "on", "fp16"), ("bf16", "off", "bf16")])
def test_torch_cuda_records_tf32_as_its_compute_precision(monkeypatch, tmp_path, dtype, tf32, expected):
    from benchbed.backends import BackendOptions, get_backend, torch_cuda

    monkeypatch.setattr(torch_cuda, "manifest_key", lambda artifact, backend: None)  # no module is built here
    path = tmp_path / "fp32.onnx"
    runner = get_backend("torch-cuda").prepare(path, BackendOptions(extra={"dtype": dtype, "tf32": tf32}))
    assert runner.details["compute_precision"] == expected and runner.details["tf32"] is (tf32 == "on")


def test_every_gpu_backend_takes_tf32_except_the_tensorrt_provider():
    from benchbed.backends import option_keys

    takes = {name: "tf32" in option_keys(name) for name in ("tensorrt", "onnxruntime-cuda", "torch-cuda",
                                                             "onnxruntime-trt")}
    assert takes == {"tensorrt": True, "onnxruntime-cuda": True, "torch-cuda": True, "onnxruntime-trt": False}


def test_tf32_values_are_checked_like_every_flag(tmp_path):
    from benchbed.backends import BackendOptionError, parse_backend_options

    for name in ("tensorrt", "onnxruntime-cuda", "torch-cuda"):
        with pytest.raises(BackendOptionError, match=f"{name}: tf32 must be on or off"):
            parse_backend_options(name, {"tf32": "maybe"})
