"""The ``torch-cuda`` backend through a double of ``torch.cuda`` (real torch math on the CPU, device contracts
enforced: see tests/gpu_doubles/torch_cuda.py), in-process through the worker like the other GPU tests."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TINY
from gpu_doubles import install as install_gpu
from gpu_doubles.torch_cuda import device_of, install

PROFILE = {"name": "test", "warmup_seconds": 0.02, "warmup_iterations": 2, "min_seconds": 0.2,
           "min_iterations": 8, "max_seconds": 30.0}  # generous: a loaded CI machine must not fail this


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    from benchbed.networks import network_spec
    from benchbed.artifacts.export import export_network

    spec = network_spec(0, **TINY)
    art = export_network(spec, "fp32", tmp_path_factory.mktemp("models"))
    return art.path, spec.resolution


@pytest.fixture
def fake(monkeypatch):
    fake = install(monkeypatch)
    yield fake
    fake.close()


def _job(artifact, extra=None, batch=2):
    from benchbed.artifacts.export import PARITY_SEED

    path, resolution = artifact
    from benchbed.core.cell import Cell
    from benchbed.core.job import Job

    return Job(Cell("tiny", "torch-cuda", "fp32", "single-stream", batch), resolution, PROFILE,
               {"threads": None, "io_binding": True, "extra": extra or {}}, parity_tolerance=1e-4, max_batch=4,
               artifact=str(path), reference=str(path.parent / "reference_outputs.npy"), parity_seed=PARITY_SEED)


def _runner(artifact, **extra):
    from benchbed.backends import BackendOptions, get_backend

    return get_backend("torch-cuda").prepare(artifact[0], BackendOptions(extra=extra))


def _reference(artifact, batch):
    from benchbed.backends.torch_cpu import build_module, manifest_key
    from benchbed.artifacts.synthetic import synthetic_images

    import torch

    x = synthetic_images(batch, artifact[1], seed=3)
    with torch.inference_mode():
        return x, build_module(manifest_key(artifact[0], "test"))(torch.from_numpy(x)).numpy()


def test_probe_on_this_machine_says_no_cuda_device_and_creates_no_context():
    import torch

    from benchbed.backends import get_backend

    ok, why = get_backend("torch-cuda").probe()
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    assert not ok and why.startswith("no CUDA device"), why
    assert not torch.cuda.is_initialized()


def test_probe_and_prepare_touch_no_gpu(fake, artifact):
    from benchbed.backends import get_backend

    ok, why = get_backend("torch-cuda").probe()
    assert ok and "CUDA 12.8, 1 GPU(s)" in why
    runner = _runner(artifact)
    assert runner.semantics.device == "cuda:0" and runner.device_memory() is None
    assert not fake.context_created and fake.calls == [], "nothing touches the GPU before activate"
    runner.activate()
    assert fake.context_created and "module.to cuda:0" in fake.calls
    assert fake.calls.index("reset_peak_memory_stats") < fake.calls.index("module.to cuda:0")
    runner.deactivate()


def test_worker_cell_on_cuda_is_valid_with_device_times_memory_and_nvml(fake, artifact, monkeypatch):
    from benchbed.launchers.worker import measure

    install_gpu(monkeypatch, trt_version=None, nvml={})
    doc = measure(_job(artifact))
    assert doc["status"] == "ok" and doc["validity"]["status"] == "VALID", doc["validity"]
    assert doc["parity"]["passed"] and doc["parity"]["max_rel_error"] <= 1e-4
    timing = doc["timing"]
    assert timing["device"] == "cuda:0" and timing["copies_included"] is False
    host, device = doc["samples_ms"], timing["device_samples_ms"]
    assert len(device) == len(host) and all(0 < d <= h for d, h in zip(device, host))
    assert doc["nvml"]["energy_per_inference_mj"] is not None
    memory = doc["memory"]["device"]
    assert memory["peak_allocated_bytes"] > 0 and memory["peak_reserved_bytes"] >= memory["peak_allocated_bytes"]
    details = doc["backend"]["details"]
    assert details["gpu"] == fake.name and details["channels_last"] and details["tf32"] is False
    assert all(fake.forward_inference_mode), "every forward pass under torch.inference_mode"
    assert fake.pending == [], "infer synchronised: no event left in flight"


def test_copies_out_keeps_the_input_on_the_device(fake, artifact):
    x, expected = _reference(artifact, 2)
    runner = _runner(artifact)
    runner.activate()
    runner.set_input(x)
    copies = fake.h2d_copies
    for _ in range(3):
        runner.infer()
        assert fake.pending == []
    assert fake.h2d_copies == copies and fake.d2h_copies == 0, "no copy inside the timed region"
    assert device_of(runner._out) == "cuda:0"
    np.testing.assert_allclose(runner.outputs(), expected, rtol=1e-4, atol=1e-5)
    assert len(runner.device_times_ms()) == 3
    runner.set_input(x)
    assert runner.device_times_ms() == [], "device times restart at every set_input, like the TensorRT runner"
    runner.deactivate()


def test_copies_in_moves_a_pinned_input_in_and_the_output_out_inside_infer(fake, artifact):
    x, expected = _reference(artifact, 1)
    runner = _runner(artifact, copies="in", channels_last=False)
    assert runner.semantics.copies_included
    runner.activate()
    runner.set_input(x)
    assert fake.h2d_copies == 0 and "pin_memory" in fake.calls
    runner.infer()
    runner.infer()
    assert fake.h2d_copies == 2 and fake.d2h_copies == 2
    assert "h2d non_blocking=True pinned=True" in fake.calls
    assert device_of(runner._out) == "cpu"
    np.testing.assert_allclose(runner.outputs(), expected, rtol=1e-4, atol=1e-5)
    runner.deactivate()


@pytest.mark.parametrize("dtype,torch_dtype", [("fp16", "float16"), ("bf16", "bfloat16")])
def test_reduced_precision_is_cuda_autocast(fake, artifact, dtype, torch_dtype):
    import torch

    x, expected = _reference(artifact, 2)
    runner = _runner(artifact, dtype=dtype)
    runner.activate()
    runner.set_input(x)
    runner.infer()
    assert fake.autocasts[-1] == ("cuda", getattr(torch, torch_dtype), True)
    out = runner.outputs()
    assert out.dtype == np.float32 and np.isfinite(out).all()
    scale = np.abs(expected).max()
    assert np.abs(out - expected).max() <= 0.1 * scale, "reduced precision, same network"
    runner.deactivate()
    fp32 = _runner(artifact)
    fp32.activate()
    fp32.set_input(x)
    fp32.infer()
    assert fake.autocasts[-1] == ("cuda", None, False)


def test_compile_wraps_the_module_after_it_is_on_the_device(fake, artifact):
    runner = _runner(artifact, compile=True, device=0)
    runner.activate()
    assert len(fake.compiled) == 1 and fake.compiled[0][1] == "cuda:0"
    runner.deactivate()


def test_a_device_index_torch_does_not_see_is_a_clear_error(fake, artifact):
    runner = _runner(artifact, device=1)
    assert runner.semantics.device == "cuda:1"
    with pytest.raises(RuntimeError, match=r"no GPU cuda:1 \(torch sees 1\)"):
        runner.activate()


@pytest.mark.parametrize("extra,needle", [
    ({"dtype": "int8"}, "dtype must be one of fp32, fp16, bf16"),
    ({"copies": "both"}, "copies must be in or out"),
    ({"device": -1}, "device must be a GPU index"),
    ({"device": "cuda:0"}, "device must be a GPU index"),
    ({"compile": "maybe"}, "compile must be on or off"),
    ({"threads": 4}, "unknown option"),
])
def test_option_errors(artifact, extra, needle):
    with pytest.raises(ValueError, match=needle):
        _runner(artifact, **extra)


def test_double_enforces_the_device_contracts(fake):
    """The double fails the mistakes a real GPU would: wrong-device inputs, numpy of a device tensor,
    reading event times before the device finished."""
    import torch

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)).eval().requires_grad_(False)
    x = torch.zeros(1, 3, 8, 8)
    with pytest.raises(RuntimeError, match="should be the same"):
        model(x.to("cuda:0"))  # weights still on the CPU
    model.to("cuda:0")
    with pytest.raises(RuntimeError, match="same device"):
        model(x)  # input still on the CPU
    out = model(x.to("cuda"))
    with pytest.raises(TypeError, match="cpu"):
        out.numpy()
    assert out.cpu().numpy().shape == (1, 4, 6, 6)
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        x.to("cuda:3")
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    with pytest.raises(RuntimeError, match="recorded"):
        start.elapsed_time(end)
    start.record()
    end.record()
    with pytest.raises(RuntimeError, match="not ready"):
        start.elapsed_time(end)
    torch.cuda.synchronize()
    assert start.elapsed_time(end) >= 0
    untimed = torch.cuda.Event()
    untimed.record()
    torch.cuda.synchronize()
    with pytest.raises(RuntimeError, match="enable_timing"):
        untimed.elapsed_time(end)


def test_torch_and_torch_cuda_are_both_registered_with_their_options():
    from benchbed.backends import backend_names, option_keys, route_options

    assert {"torch", "torch-cuda"} <= set(backend_names())
    assert route_options([("channels_last", False), ("torch-cuda.copies", "in")], ["torch", "torch-cuda"]) == {
        "torch": {"channels_last": False}, "torch-cuda": {"channels_last": False, "copies": "in"}}
    assert "copies" not in option_keys("torch")
