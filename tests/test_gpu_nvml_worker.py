"""The NVML tracker (fake pynvml) and its wiring into the worker's result document."""

from __future__ import annotations

import sys
import time

import pytest

from gpu_doubles import FakeGpu, install
from gpu_doubles.models import tiny_onnx

PROFILE = {"name": "test", "warmup_seconds": 0.02, "warmup_iterations": 2, "min_seconds": 0.3,
           "min_iterations": 20, "max_seconds": 5.0}


def _tracker(monkeypatch, **nvml):
    from benchbed.measure.trackers.nvml import NvmlTracker

    fake = install(monkeypatch, trt_version=None, nvml=nvml)
    return fake, NvmlTracker.open(interval_s=0.01)


def test_energy_per_inference_from_the_total_energy_counter(monkeypatch):
    fake, tracker = _tracker(monkeypatch, power_mw=lambda t: 250_000)
    tracker.mark()
    time.sleep(0.2)
    summary = tracker.stop(inferences=100, images=400)
    elapsed_energy = summary["energy_mj"]
    assert 250_000 * 0.18 <= elapsed_energy <= 250_000 * 0.5, "250 W for ~0.2 s is ~50 J"
    assert summary["energy_per_inference_mj"] == pytest.approx(elapsed_energy / 100)
    assert summary["energy_per_image_mj"] == pytest.approx(elapsed_energy / 400)
    assert summary["samples"] >= 5 and summary["power_w"]["mean"] == pytest.approx(250.0)
    assert summary["warnings"] == [] and summary["sm_clock_mhz"]["min"] == 1980
    assert fake.pynvml._fake_state.init == 0, "nvmlShutdown balanced nvmlInit"


def test_clock_drop_and_thermal_reason_warn(monkeypatch):
    _, tracker = _tracker(monkeypatch, sm_clock=lambda t: 1980 if t < 0.05 else 1410,
                          reasons=lambda t: 0 if t < 0.05 else 0x20)
    tracker.mark()
    time.sleep(0.15)
    summary = tracker.stop(10, 10)
    assert summary["sm_clock_mhz"]["max"] == 1980 and summary["sm_clock_mhz"]["min"] == 1410
    assert "SwThermalSlowdown" in summary["clock_event_reasons"]
    assert any("dropped from 1980 to 1410 MHz" in w for w in summary["warnings"])
    assert any("limited" in w and "SwThermalSlowdown" in w for w in summary["warnings"])


def test_old_nvml_uses_the_throttle_reasons_name(monkeypatch):
    fake, tracker = _tracker(monkeypatch, new_reason_api=False, reasons=lambda t: 0x4)
    summary = tracker.stop(1, 1)
    assert "throttle-reasons" in fake.pynvml._fake_state.calls and "event-reasons" not in fake.pynvml._fake_state.calls
    assert summary["clock_event_reasons"] == ["SwPowerCap"]


def test_energy_counter_not_supported_is_a_note(monkeypatch):
    _, tracker = _tracker(monkeypatch, energy_supported=False)
    tracker.mark()
    summary = tracker.stop(5, 5)
    assert summary["energy_mj"] is None and "unavailable" in summary["energy_source"]


def test_no_nvml_means_no_tracker(monkeypatch):
    from benchbed.measure.trackers.nvml import NvmlTracker

    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert NvmlTracker.open() is None
    install(monkeypatch, trt_version=None, gpu=FakeGpu(driver=None), nvml={})
    assert NvmlTracker.open() is None


def _job(tmp_path, backend, artifact, batch=2):
    return {"cell": {"backend": backend, "scenario": "single-stream", "batch": batch, "precision": "fp32"},
            "profile": PROFILE, "backend_options": {"threads": None, "io_binding": True, "extra": {}},
            "artifact": str(artifact), "reference": None, "resolution": 8, "max_batch": 4}


def test_worker_records_nvml_and_cuda_event_times_for_a_gpu_cell(monkeypatch, tmp_path):
    from benchbed.launchers.worker import measure

    install(monkeypatch, "11.4.0.106", nvml={"sm_clock": lambda t: 1980 if t < 0.1 else 1200})
    artifact = tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")
    doc = measure(_job(tmp_path, "tensorrt", artifact))
    assert doc["status"] == "ok" and doc["backend"]["options"]["extra"]["max_batch"] == 4
    assert len(doc["timing"]["device_samples_ms"]) == len(doc["samples_ms"])
    assert doc["timing"]["device_stats"]["p50_ms"] == pytest.approx(0.5)
    assert doc["nvml"]["energy_per_inference_mj"] > 0
    assert any("GPU SM clock dropped" in w for w in doc["validity"]["warnings"])
    assert doc["memory"]["device"]["activation_bytes"] > 0 and doc["timing"]["device"] == "cuda:0"


def test_worker_cpu_cell_has_no_gpu_sections(monkeypatch, tmp_path):
    from benchbed.launchers.worker import measure

    install(monkeypatch, "11.4.0.106", nvml={})
    artifact = tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")
    doc = measure(_job(tmp_path, "onnxruntime", artifact))
    assert doc["status"] == "ok" and "nvml" not in doc and "device_samples_ms" not in doc["timing"]
    assert "max_batch" not in doc["backend"]["options"]["extra"]


def _loadgen_job(tmp_path, backend, artifact, scenario="mlperf-singlestream", batch=1):
    job = _job(tmp_path, backend, artifact, batch)
    job["cell"]["scenario"] = scenario
    job["mlperf"] = {"duration_ms": 300, "strict": False, "sla_ms": None, "percentile": None,
                     "max_queue_delay_ms": 1.0, "log_dir": str(tmp_path / "loadgen" / backend)}
    return job


@pytest.mark.parametrize("scenario,batch", [("mlperf-singlestream", 1), ("mlperf-offline", 2)])
def test_loadgen_gpu_cell_records_nvml_and_device_times(monkeypatch, tmp_path, scenario, batch):
    pytest.importorskip("mlperf_loadgen")
    from benchbed.measure.trackers import nvml as nvml_module
    from benchbed.launchers.worker import measure

    fake = install(monkeypatch, "11.4.0.106", nvml={"sm_clock": lambda t: 1980 if t < 0.1 else 1200})
    marks = []
    real_mark = nvml_module.NvmlTracker.mark
    monkeypatch.setattr(nvml_module.NvmlTracker, "mark", lambda self: (marks.append(1), real_mark(self))[1])
    artifact = tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")
    doc = measure(_loadgen_job(tmp_path, "tensorrt", artifact, scenario, batch))
    assert doc["status"] == "ok" and "loadgen" in doc, doc.get("error")
    assert marks == [1], "the measured phase starts once, when LoadGen takes over (after the probes)"
    nvml = doc["nvml"]
    assert nvml["energy_per_inference_mj"] > 0 and nvml["energy_per_image_mj"] > 0
    images_per_inference = nvml["energy_per_inference_mj"] / nvml["energy_per_image_mj"]
    assert 1 <= images_per_inference <= batch + 1e-9
    assert any("GPU SM clock dropped" in w for w in doc["validity"]["warnings"])
    device = doc["timing"]["device_samples_ms"]
    assert device and all(ms == pytest.approx(0.5) for ms in device), "fake GPU: 0.5 ms per enqueue"
    assert "SUT batch" in doc["timing"]["device_clock"] and doc["timing"]["device_stats"]["p50_ms"] == pytest.approx(0.5)
    assert fake.pynvml._fake_state.init == 0, "tracker stopped: nvmlShutdown balanced nvmlInit"
    if scenario == "mlperf-singlestream":
        assert len(device) == doc["stats"]["count"], "one device time per LoadGen query (batch 1)"


def test_loadgen_cpu_cell_has_no_gpu_sections(monkeypatch, tmp_path):
    pytest.importorskip("mlperf_loadgen")
    from benchbed.launchers import worker

    install(monkeypatch, "11.4.0.106", nvml={})
    seen = []
    real = worker._measure_loadgen
    monkeypatch.setattr(worker, "_measure_loadgen", lambda job, runner, on_start=None: (
        seen.append((type(runner).__name__, on_start)), real(job, runner, on_start))[1])
    artifact = tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")
    doc = worker.measure(_loadgen_job(tmp_path, "onnxruntime", artifact))
    assert doc["status"] == "ok" and "nvml" not in doc and "device_samples_ms" not in doc["timing"]
    assert seen == [("OrtCpuRunner", None)], "CPU path: the runner itself, no tracker hook"


def test_a_ramp_up_before_the_measured_phase_is_not_a_clock_drop(monkeypatch):
    # idle at 210 MHz until warm-up boosts the clock; measured from the boost on: no warning
    _, tracker = _tracker(monkeypatch, sm_clock=lambda t: 210 if t < 0.05 else 1980)
    time.sleep(0.1)
    tracker.mark()
    time.sleep(0.1)
    summary = tracker.stop(inferences=10, images=10)
    assert summary["warnings"] == [] and summary["sm_clock_mhz"]["min"] == 1980


def test_largest_drop_is_taken_in_time_order():
    from benchbed.measure.trackers.nvml import _largest_drop

    peak, low = _largest_drop([1000, 1500, 1980])
    assert low == peak  # rising: no drop
    assert _largest_drop([1980, 1410, 1900, 1800]) == (1980, 1410)


def test_nvml_follows_cuda_visible_devices(monkeypatch):
    from benchbed.measure.trackers.nvml import nvml_handle
    from gpu_doubles import FakeGpu

    fake = install(monkeypatch, trt_version=None, gpu=FakeGpu(count=4), nvml={})
    fake.pynvml.nvmlInit()
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert nvml_handle(fake.pynvml, 1) == ("handle", 1)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,2")  # what Ray sets for a task given GPUs 3 and 2
    assert nvml_handle(fake.pynvml, 0) == ("handle", 3) and nvml_handle(fake.pynvml, 1) == ("handle", 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-fake-2")
    assert nvml_handle(fake.pynvml, 0) == ("handle", 2)
    with pytest.raises(ValueError, match="not among CUDA_VISIBLE_DEVICES"):
        nvml_handle(fake.pynvml, 1)
