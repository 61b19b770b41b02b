"""The native TensorRT backend through test doubles of tensorrt 10/11 and cuda-python (no GPU here)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from gpu_doubles import MIB, FakeGpu, install
from gpu_doubles.models import reference, tiny_onnx

TRT_VERSIONS = ["10.16.1.11", "11.4.0.106"]


@pytest.fixture
def onnx_path(tmp_path):
    return tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")


def _images(batch: int) -> np.ndarray:
    return np.random.default_rng(batch).standard_normal((batch, 3, 8, 8)).astype(np.float32)


def _runner(path, **extra):
    from benchbed.backends import BackendOptions, get_backend

    return get_backend("tensorrt").prepare(path, BackendOptions(extra={k: str(v) for k, v in extra.items()}))


def _activated(path, **extra):
    runner = _runner(path, **extra)
    runner.activate()
    return runner


@pytest.mark.parametrize("version", TRT_VERSIONS)
def test_build_run_and_outputs_on_both_tensorrt_versions(monkeypatch, onnx_path, version):
    fake = install(monkeypatch, version)
    runner = _activated(onnx_path, max_batch=4)
    images = _images(3)
    runner.set_input(images)
    for _ in range(4):
        runner.infer()
    np.testing.assert_allclose(runner.outputs(), reference(onnx_path, images), rtol=1e-5, atol=1e-6)
    assert len(runner.device_times_ms()) == 4 and all(t > 0 for t in runner.device_times_ms())
    assert runner.details["engine_cache"].startswith("built (not cached)")
    assert runner.details["tensorrt"] == version
    config = fake.trt._fake_state.configs[-1]
    assert not any(config.get_flag(f) for f in fake.trt._precision_flag_values), "strongly typed: no precision flags"
    assert config.builder_optimization_level == 3
    assert config.get_memory_pool_limit(fake.trt.MemoryPoolType.WORKSPACE) == 2048 * MIB
    profile = config._profiles[0].get_shape("images")
    assert profile == [(1, 3, 8, 8), (4, 3, 8, 8), (4, 3, 8, 8)]
    memory = runner.device_memory()
    assert memory["activation_bytes"] == 16 * MIB and memory["engine_bytes"] > 0
    assert memory["used_by_activation_bytes"] >= 16 * MIB and memory["peak_used_bytes"] >= memory["used_by_activation_bytes"]
    assert runner.semantics.device == "cuda:0" and not runner.semantics.copies_included
    runner.deactivate()
    assert not [a for a in fake.gpu.allocations.values()], "every buffer freed"
    assert not hasattr(fake.trt.IExecutionContext, "execute_async_v2")


def test_activation_memory_falls_back_to_device_memory_size_on_old_10x(monkeypatch, onnx_path):
    fake = install(monkeypatch, "10.0.1")
    del fake.trt.ICudaEngine.device_memory_size_v2  # TensorRT < 10.1 has only the deprecated property
    runner = _activated(onnx_path)
    runner.set_input(_images(1))
    assert runner.device_memory()["activation_bytes"] == 4 * MIB
    runner.deactivate()


def test_tensorrt_11_has_no_legacy_precision_api(monkeypatch):
    fake = install(monkeypatch, "11.4.0.106")
    assert not hasattr(fake.trt.BuilderFlag, "FP16") and not hasattr(fake.trt.BuilderFlag, "INT8")
    assert not hasattr(fake.trt.IBuilderConfig(), "int8_calibrator")
    assert not hasattr(fake.trt.ICudaEngine, "device_memory_size")
    fake10 = install(monkeypatch, "10.16.1.11")
    assert hasattr(fake10.trt.BuilderFlag, "FP16") and hasattr(fake10.trt.IBuilderConfig(), "int8_calibrator")


def test_weak_typing_sets_the_legacy_fp16_flag_only_on_tensorrt_10(monkeypatch, tmp_path):
    path = tiny_onnx(tmp_path / "models" / "tiny" / "fp16.onnx")
    fake = install(monkeypatch, "10.16.1.11")
    runner = _activated(path, strongly_typed="off")
    assert fake.trt._fake_state.configs[-1].get_flag(fake.trt.BuilderFlag.FP16)
    assert runner.details["build"]["legacy_flags"] == ["FP16"]
    runner.deactivate()
    install(monkeypatch, "11.4.0.106")
    with pytest.raises(ValueError, match="TensorRT 11 is always strongly typed"):
        _activated(path, strongly_typed="off")


def test_the_double_refuses_precision_flags_on_a_strongly_typed_network(monkeypatch, onnx_path):
    fake = install(monkeypatch, "10.16.1.11")
    trt = fake.trt
    logger = trt.Logger()
    errors = []
    logger.log = lambda severity, msg: errors.append(msg)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    assert trt.OnnxParser(network, logger).parse_from_file(str(onnx_path))
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.FP16)
    assert builder.build_serialized_network(network, config) is None and "strongly typed" in errors[-1]


def test_engine_cache_hit_on_second_activation(monkeypatch, onnx_path):
    fake = install(monkeypatch)
    _activated(onnx_path, max_batch=2).deactivate()
    runner = _activated(onnx_path, max_batch=2)
    assert runner.details["engine_cache"] == "hit" and fake.trt._fake_state.builds == 1
    runner.deactivate()
    engines = sorted(p.suffix for p in (onnx_path.parent / "engines").iterdir() if not p.name.startswith("timing"))
    assert engines == [".engine", ".json"]


def test_cache_rebuilds_when_tensorrt_version_changes(monkeypatch, onnx_path):
    gpu = FakeGpu()
    install(monkeypatch, "10.16.1.11", gpu)
    _activated(onnx_path).deactivate()
    fake = install(monkeypatch, "11.4.0.106", gpu)
    runner = _activated(onnx_path)
    assert runner.details["engine_cache"].startswith("built") and fake.trt._fake_state.builds == 1
    assert fake.trt._fake_state.rejected == [], "the key changed, so the old engine was never offered to 11"
    assert len(list((onnx_path.parent / "engines").glob("timing-*.cache"))) == 2
    assert len(list((onnx_path.parent / "engines").glob("*.engine"))) == 2
    runner.deactivate()


def test_cache_rebuilds_when_the_gpu_changes(monkeypatch, onnx_path):
    install(monkeypatch, gpu=FakeGpu())
    _activated(onnx_path).deactivate()
    fake = install(monkeypatch, gpu=FakeGpu(name="NVIDIA L4", major=8, minor=9, driver=13000))
    runner = _activated(onnx_path)
    assert runner.details["engine_cache"].startswith("built") and fake.trt._fake_state.builds == 1
    assert runner.details["engine_key"]["gpu"] == "NVIDIA L4" and runner.details["engine_key"]["compute_capability"] == "8.9"
    runner.deactivate()


def test_tampered_engine_is_rebuilt_not_loaded(monkeypatch, onnx_path):
    fake = install(monkeypatch)
    _activated(onnx_path).deactivate()
    engine = next((onnx_path.parent / "engines").glob("*.engine"))
    data = bytearray(engine.read_bytes())
    data[-1] ^= 0xFF
    engine.write_bytes(bytes(data))
    runner = _activated(onnx_path)
    assert "does not match the sha256" in runner.details["engine_cache"]
    assert fake.trt._fake_state.builds == 2 and fake.trt._fake_state.deserialized == 2
    runner.deactivate()
    assert _activated(onnx_path).details["engine_cache"] == "hit"


def test_engine_tensorrt_rejects_despite_a_matching_manifest_is_rebuilt(monkeypatch, onnx_path):
    import hashlib
    import json

    fake = install(monkeypatch)
    _activated(onnx_path).deactivate()
    engine = next((onnx_path.parent / "engines").glob("*.engine"))
    manifest = engine.with_name(engine.stem + ".manifest.json")
    engine.write_bytes(b"not an engine")
    doc = json.loads(manifest.read_text())
    doc["engine_sha256"] = hashlib.sha256(b"not an engine").hexdigest()
    manifest.write_text(json.dumps(doc))
    runner = _activated(onnx_path)
    assert "rejected by TensorRT" in runner.details["engine_cache"] and "Magic tag" in runner.details["engine_cache"]
    runner.set_input(_images(1))
    runner.infer()
    runner.deactivate()
    assert fake.trt._fake_state.builds == 2


def test_timing_cache_is_written_then_reused(monkeypatch, onnx_path):
    fake = install(monkeypatch)
    first = _activated(onnx_path, opt_level=3)
    cache = onnx_path.parent / "engines" / "timing-trt10.16.1.11-sm90.cache"
    assert cache.exists() and first.details["build"]["timing_cache_loaded_bytes"] == 0
    assert first.details["build"]["timing_cache_saved_bytes"] == cache.stat().st_size
    misses = fake.trt._fake_state.timing_misses
    assert misses == 3 and fake.trt._fake_state.timing_hits == 0
    first.deactivate()
    second = _activated(onnx_path, opt_level=5)  # another engine, same layers: timings reused
    assert second.details["build"]["timing_cache_loaded_bytes"] > 0
    assert fake.trt._fake_state.timing_hits == 3 and fake.trt._fake_state.timing_misses == misses
    second.deactivate()


def test_timing_cache_waits_for_the_file_lock(monkeypatch, onnx_path):
    from benchbed.backends.tensorrt import timing_cache

    install(monkeypatch)
    cache = onnx_path.parent / "engines" / "timing-trt10.16.1.11-sm90.cache"
    held, released = threading.Event(), []

    def hold():
        with timing_cache.locked(cache):
            held.set()
            time.sleep(0.4)
            released.append(time.monotonic())

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    runner = _activated(onnx_path)
    done = time.monotonic()
    thread.join()
    assert released and done >= released[0], "the build read the timing cache only after the lock was released"
    assert cache.exists()
    runner.deactivate()


def test_corrupt_timing_cache_is_replaced(monkeypatch, onnx_path):
    install(monkeypatch)
    cache = onnx_path.parent / "engines" / "timing-trt10.16.1.11-sm90.cache"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(b"\x00garbage")
    runner = _activated(onnx_path)
    assert runner.details["build"]["timing_cache_loaded_bytes"] == 0 and cache.read_bytes().startswith(b"{")
    runner.deactivate()


def test_every_parser_error_is_reported(monkeypatch, onnx_path):
    from benchbed.backends.tensorrt.build import OnnxParseError

    fake = install(monkeypatch)
    fake.trt.OnnxParser._unsupported = {"GlobalAveragePool", "MatMul"}
    with pytest.raises(OnnxParseError, match=r"2 error\(s\)") as info:
        _activated(onnx_path)
    assert "GlobalAveragePool" in str(info.value) and "MatMul" in str(info.value)


def test_build_out_of_memory_is_classified_with_workspace_and_free_memory(monkeypatch, onnx_path):
    from benchbed.backends.tensorrt.build import BuildOutOfMemory

    install(monkeypatch, gpu=FakeGpu(total=70 * MIB))
    with pytest.raises(BuildOutOfMemory, match=r"lack of memory: workspace 512 MiB, device \d+ MiB free of 70 MiB"):
        _activated(onnx_path, workspace_mib=512)


@pytest.mark.parametrize("graph", [False, True])
def test_cuda_graph_on_and_off(monkeypatch, onnx_path, graph):
    fake = install(monkeypatch)
    runner = _activated(onnx_path, cuda_graph="on" if graph else "off", max_batch=2)
    images = _images(2)
    runner.set_input(images)
    before = list(fake.gpu.log)
    for _ in range(5):
        runner.infer()
    during = fake.gpu.log[len(before):]
    assert ("begin-capture" in before) == graph
    assert during.count("graph-launch") == (5 if graph else 0)
    assert during.count("execute") == (0 if graph else 5)
    np.testing.assert_allclose(runner.outputs(), reference(onnx_path, images), rtol=1e-5, atol=1e-6)
    assert runner.details["cuda_graph"] is graph and f"CUDA graph {'on' if graph else 'off'}" in runner.semantics.notes
    runner.deactivate()


@pytest.mark.parametrize("copies", ["in", "out"])
def test_copies_inside_or_outside_the_timed_region(monkeypatch, onnx_path, copies):
    fake = install(monkeypatch)
    runner = _activated(onnx_path, copies=copies)
    runner.set_input(_images(1))
    start = len(fake.gpu.log)
    runner.infer()
    during = fake.gpu.log[start:]
    copied = [e for e in during if e.startswith("memcpy")]
    assert copied == (["memcpy:cudaMemcpyHostToDevice", "memcpy:cudaMemcpyDeviceToHost"] if copies == "in" else [])
    assert runner.semantics.copies_included == (copies == "in")
    runner.deactivate()


def test_execute_without_input_shape_is_refused_by_the_double(monkeypatch, onnx_path):
    fake = install(monkeypatch)
    runner = _activated(onnx_path)
    stream = fake.cudart.cudaStreamCreate()[1]
    context = runner._engine.create_execution_context()
    assert context.execute_async_v3(int(stream)) is False
    assert "input shape of images not specified" in runner._logger.errors()[-1]
    runner.deactivate()


def test_batch_beyond_the_profile_is_a_clear_error(monkeypatch, onnx_path):
    install(monkeypatch)
    runner = _activated(onnx_path, max_batch=2)
    with pytest.raises(ValueError, match="max_batch=4"):
        runner.set_input(_images(4))
    runner.deactivate()


@pytest.mark.parametrize("extra,message", [({"turbo": "1"}, "unknown option"), ({"copies": "both"}, "copies must be"),
                                           ({"opt_level": "9"}, r"opt_level must be in \[0, 5\]"),
                                           ({"cuda_graph": "maybe"}, "cuda_graph must be on or off")])
def test_bad_options_are_one_line_errors(extra, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        _runner(tmp_path / "fp32.onnx", **extra)


def test_probe_on_this_machine_says_why_unusable():
    from benchbed.backends import get_backend

    usable, why = get_backend("tensorrt").probe()
    assert not usable and ("TensorRT is not installed" in why or "GPU" in why)


def test_probe_without_a_driver_and_without_creating_a_context(monkeypatch):
    from benchbed.backends import get_backend

    fake = install(monkeypatch, gpu=FakeGpu(driver=None))
    usable, why = get_backend("tensorrt").probe()
    assert not usable and "insufficient" in why and "cudaError 35" in why
    fake = install(monkeypatch)
    usable, why = get_backend("tensorrt").probe()
    assert usable and "TensorRT 10.16.1.11" in why
    assert not fake.gpu.context_created
    install(monkeypatch, trt_version=None)
    assert "TensorRT is not installed" in get_backend("tensorrt").probe()[1]


def _job_for_profile(scenario: str, batch: int):
    from benchbed.core.cell import Cell
    from benchbed.core.job import Job

    return Job(Cell("n", "tensorrt", "fp32", scenario, batch), 8, {}, {}, max_batch=16)


def test_profile_is_tuned_for_the_cells_batch_like_trtexec_shapes():
    from benchbed.backends import BackendOptions, get_backend
    from benchbed.backends.tensorrt.options import TrtOptions
    from benchbed.launchers.worker import _with_profile_batch

    backend = get_backend("tensorrt")
    job = _job_for_profile("single-stream", 1)
    extra = _with_profile_batch(backend, BackendOptions(), job).extra
    assert extra == {"max_batch": 16, "opt_batch": 1}
    options = TrtOptions.from_extra(extra)
    assert (options.opt_batch, options.max_batch) == (1, 16)
    offline = _with_profile_batch(backend, BackendOptions(), _job_for_profile("offline", 8))
    assert offline.extra["opt_batch"] == 8
    mlperf = _with_profile_batch(backend, BackendOptions(), _job_for_profile("mlperf-server", 1))
    assert "opt_batch" not in mlperf.extra  # the batcher's batches vary: tuned for the largest
    assert _with_profile_batch(get_backend("onnxruntime"), BackendOptions(), job).extra == {}


def test_engine_cache_key_is_unchanged_by_using_core_files(tmp_path):
    """The key is core.files.sha256_json of the fields: the same canonical JSON hash as before, so engines
    cached by earlier versions are still found."""
    import hashlib
    import json

    from benchbed.backends.tensorrt.engine_cache import EngineCache

    fields = {"format": 1, "onnx_sha256": "ab" * 32, "precision": "fp16", "profile_shapes": {"images": [[1, 3, 8, 8]]}}
    path = EngineCache(tmp_path).store(fields, b"engine")
    legacy = hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert path.name == f"{legacy}.engine"
    assert EngineCache(tmp_path).lookup(fields) == (b"engine", "hit")
