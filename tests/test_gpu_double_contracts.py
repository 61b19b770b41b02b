"""Contracts the GPU doubles enforce because the real libraries do (tests/conformance pins their names and
values to the real modules; these pin their behaviour), and benchbed keeping them."""

from __future__ import annotations

import pytest

from gpu_doubles import FakeGpu, install
from gpu_doubles.cudart import cudaError_t
from gpu_doubles.tensorrt_fake import LoggerRuleViolation


def _stream_with_events(rt):
    _, stream = rt.cudaStreamCreate()
    _, start = rt.cudaEventCreate()
    _, stop = rt.cudaEventCreate()
    assert rt.cudaEventRecord(start, stream) == (cudaError_t.cudaSuccess,)
    assert rt.cudaEventRecord(stop, stream) == (cudaError_t.cudaSuccess,)
    return stream, start, stop


def test_cuda_events_are_not_ready_until_their_stream_is_synchronised(monkeypatch):
    rt = install(monkeypatch).cudart
    stream, start, stop = _stream_with_events(rt)
    assert rt.cudaEventElapsedTime(start, stop) == (cudaError_t.cudaErrorNotReady, None)
    assert rt.cudaEventQuery(stop) == (cudaError_t.cudaErrorNotReady,)
    assert rt.cudaStreamSynchronize(stream) == (cudaError_t.cudaSuccess,)
    assert rt.cudaEventQuery(stop) == (cudaError_t.cudaSuccess,)
    err, ms = rt.cudaEventElapsedTime(start, stop)
    assert err == cudaError_t.cudaSuccess and ms == 0.0
    assert rt.cudaEventRecord(stop, stream) == (cudaError_t.cudaSuccess,)  # recorded again: pending again
    assert rt.cudaEventElapsedTime(start, stop)[0] == cudaError_t.cudaErrorNotReady


def test_event_synchronize_completes_the_event_and_those_before_it(monkeypatch):
    rt = install(monkeypatch).cudart
    _, start, stop = _stream_with_events(rt)
    assert rt.cudaEventSynchronize(stop) == (cudaError_t.cudaSuccess,)
    assert rt.cudaEventElapsedTime(start, stop)[0] == cudaError_t.cudaSuccess


def test_benchbed_reads_event_times_only_after_synchronising(monkeypatch):
    from benchbed.backends.tensorrt import cuda

    install(monkeypatch)
    stream = cuda.Stream()
    stream.start()
    stream.stop()
    with pytest.raises(cuda.CudaError, match="device not ready") as info:
        stream.elapsed_ms()
    assert info.value.code == cudaError_t.cudaErrorNotReady
    stream.synchronize()
    assert stream.elapsed_ms() == 0.0
    stream.destroy()


def test_without_a_cuda_13_driver_every_runtime_call_is_insufficient_driver(monkeypatch):
    rt = install(monkeypatch, gpu=FakeGpu(driver=12080)).cudart
    assert rt.cudaGetDeviceCount() == (cudaError_t.cudaErrorInsufficientDriver, None)
    assert rt.cudaMemGetInfo() == (cudaError_t.cudaErrorInsufficientDriver, None, None)
    assert rt.cudaStreamSynchronize(0) == (cudaError_t.cudaErrorInsufficientDriver,)
    assert rt.cudaDriverGetVersion() == (cudaError_t.cudaSuccess, 12080)


@pytest.mark.parametrize("version", ["10.16.1.11", "11.4.0.106"])
def test_set_shape_raises_on_min_above_opt_or_opt_above_max(monkeypatch, version):
    profile = install(monkeypatch, version).trt.IOptimizationProfile()
    with pytest.raises(RuntimeError, match="Shape provided for opt is inconsistent with other shapes"):
        profile.set_shape("images", (4, 3, 8, 8), (2, 3, 8, 8), (8, 3, 8, 8))
    with pytest.raises(RuntimeError, match="Shape provided for max is inconsistent with other shapes"):
        profile.set_shape("images", (1, 3, 8, 8), (4, 3, 8, 8), (2, 3, 8, 8))
    profile.set_shape("images", (1, 3, 8, 8), (4, 3, 8, 8), (4, 3, 8, 8))
    assert profile.get_shape("images")[2] == (4, 3, 8, 8)


@pytest.mark.parametrize("version", ["10.16.1.11", "11.4.0.106"])
def test_a_second_logger_in_one_process_is_refused(monkeypatch, version):
    trt = install(monkeypatch, version).trt
    first = trt.Logger()
    trt.Builder(first)
    trt.Runtime(first)  # the same logger again is fine
    with pytest.raises(LoggerRuleViolation, match="differs from one already provided"):
        trt.Runtime(trt.Logger())


def test_benchbed_keeps_one_logger_across_builds_and_runners(monkeypatch, tmp_path):
    """Two runners and their builds in one process: every Builder and Runtime gets the same logger, and a
    build's out-of-memory error still reaches the build (it is logged to the process's logger)."""
    from benchbed.backends import BackendOptions, get_backend
    from benchbed.backends.tensorrt.build import BuildOutOfMemory
    from gpu_doubles.models import tiny_onnx

    fake = install(monkeypatch, gpu=FakeGpu(total=200 << 20))
    path = tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")
    for batch in ("1", "2"):
        runner = get_backend("tensorrt").prepare(path, BackendOptions(extra={"max_batch": batch}))
        runner.activate()
        runner.deactivate()
    assert fake.trt._fake_state.builds == 2
    runner = get_backend("tensorrt").prepare(path, BackendOptions(extra={"max_batch": "64"}))
    with pytest.raises(BuildOutOfMemory, match="out of memory"):
        runner.activate()


@pytest.mark.parametrize("unloadable, session_uses", [
    ({"TensorrtExecutionProvider", "CUDAExecutionProvider"}, "CPUExecutionProvider"),
    ({"TensorrtExecutionProvider"}, "CUDAExecutionProvider, CPUExecutionProvider")])
def test_a_provider_whose_library_fails_to_load_is_dropped_and_benchbed_refuses(monkeypatch, tmp_path, capfd,
                                                                                 unloadable, session_uses):
    """onnxruntime-gpu lists CUDA and TensorRT wherever it is installed; a session whose provider library does
    not load falls back (TensorRT: printed "EP Error", retry with CUDA + CPU) instead of failing."""
    import sys

    from benchbed.backends import BackendOptions, get_backend
    from gpu_doubles.models import tiny_onnx
    from gpu_doubles.onnxruntime_fake import make_onnxruntime

    ort = make_onnxruntime(["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
                           unloadable=frozenset(unloadable))
    assert "TensorrtExecutionProvider" in ort.get_available_providers()
    monkeypatch.setitem(sys.modules, "onnxruntime", ort)
    install(monkeypatch, trt_version=None)
    path = tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")
    runner = get_backend("onnxruntime-trt").prepare(path, BackendOptions(extra={"max_batch": "2"}))
    expected = f"did not enable TensorrtExecutionProvider \\(session uses {session_uses}\\)"
    with pytest.raises(RuntimeError, match=expected):
        runner.activate()
    out, err = capfd.readouterr()
    assert "EP Error" in out and "Falling back to ['CUDAExecutionProvider', 'CPUExecutionProvider']" in out
    assert ("Failed to create CUDAExecutionProvider" in err) == ("CUDAExecutionProvider" in unloadable)


@pytest.mark.parametrize("version", ["10.16.1.11", "11.4.0.106"])
def test_combine_takes_another_devices_entries_only_with_ignore_mismatch(monkeypatch, version):
    """The bindings' docstring: ``ignore_mismatch`` True is what lets a cache "created from a different device"
    be combined; one from another TensorRT version is skipped either way (False)."""
    trt = install(monkeypatch, version).trt
    config = trt.IBuilderConfig()
    mine = config.create_timing_cache(b"")
    other_device = trt.ITimingCache({"conv|1": "other"}, mine._tag.rsplit("|", 1)[0] + "|NVIDIA H100 PCIe")
    other_version = trt.ITimingCache({"conv|2": "old"}, "9.3.0.1|" + mine._tag.split("|", 1)[1])
    assert mine.combine(other_device, False) is False and mine._entries == {}
    assert mine.combine(other_version, True) is False and mine._entries == {}
    assert mine.combine(other_device, True) is True and mine._entries == {"conv|1": "other"}


def test_a_timing_cache_written_on_another_gpu_is_replaced_not_merged(monkeypatch, tmp_path):
    """Two GPUs of one architecture (same timing-cache file): the second neither loads nor merges the first's
    timings -- a tactic timed on another device must not steer this one's choice."""
    import json

    from benchbed.backends import BackendOptions, get_backend
    from gpu_doubles.models import tiny_onnx

    path = tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")
    cache = path.parent / "engines" / "timing-trt10.16.1.11-sm90.cache"
    for name, batch in (("NVIDIA H100 PCIe", "2"), ("NVIDIA H100 80GB HBM3", "4")):
        install(monkeypatch, gpu=FakeGpu(name=name))
        runner = get_backend("tensorrt").prepare(path, BackendOptions(extra={"max_batch": batch}))
        runner.activate()
        build = runner.details["build"]
        runner.deactivate()
    assert build["timing_cache_loaded_bytes"] == 0, "the other GPU's cache was not attached"
    assert build["timing_cache_merged"] is False, "nor merged"
    entries = json.loads(cache.read_bytes())["entries"]
    assert entries and all(device.endswith("|NVIDIA H100 80GB HBM3") for device in entries.values()), entries


@pytest.mark.parametrize("version", ["10.16.1.11", "11.4.0.106"])
def test_a_profile_tensorrt_refuses_is_one_build_failed_naming_the_shapes(monkeypatch, tmp_path, version):
    """``set_shape`` returns None and raises on contradicting shapes; ``add_optimization_profile`` returns -1
    for an invalid profile: either is one BuildFailed before the builder runs."""
    from benchbed.backends.tensorrt.build import BuildFailed, build_engine
    from benchbed.backends.tensorrt.options import TrtOptions
    from gpu_doubles.models import tiny_onnx

    fake = install(monkeypatch, version)
    path = tiny_onnx(tmp_path / "fp32.onnx")
    contradicting = {"images": [[1, 3, 8, 8], [4, 3, 8, 8], [2, 3, 8, 8]]}
    with pytest.raises(BuildFailed, match=r"refused the optimization profile of images \(min \(1, 3, 8, 8\), "
                                          r"opt \(4, 3, 8, 8\), max \(2, 3, 8, 8\)\): Shape provided for max is "
                                          r"inconsistent with other shapes\."):
        build_engine(path, "fp32", contradicting, TrtOptions(), None)
    monkeypatch.setattr(fake.trt.IBuilderConfig, "add_optimization_profile", lambda self, profile: -1)
    with pytest.raises(BuildFailed, match="add_optimization_profile returned -1"):
        build_engine(path, "fp32", {"images": [[1, 3, 8, 8], [1, 3, 8, 8], [2, 3, 8, 8]]}, TrtOptions(), None)
    assert fake.trt._fake_state.builds == 0
