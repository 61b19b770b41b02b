"""NVML readings and CUDA-event times for cells that run on an NVIDIA GPU (nothing on the CPU)."""

from __future__ import annotations

DEFAULT_DEVICE_CLOCK = "cuda-events (GPU compute time, enqueue to completion)"


def open_gpu_tracker(runner):
    """An NVML tracker for a runner on an NVIDIA GPU (None on the CPU, or when NVML is unavailable)."""
    if not runner.semantics.device.startswith("cuda"):
        return None
    from benchbed.measure.trackers.nvml import NvmlTracker

    index = runner.semantics.device.partition(":")[2]
    return NvmlTracker.open(int(index) if index.isdigit() else 0)


def add_gpu_sections(validity: dict, timing: dict, sections: dict, nvml: dict | None,
                     device_ms: list[float] | None, batch: int, device_clock: str = DEFAULT_DEVICE_CLOCK) -> None:
    """NVML readings (their warnings join the verdict) and CUDA-event GPU compute times, for GPU cells only."""
    from benchbed.measure.stats import LatencyStats

    if nvml is not None:
        sections["nvml"] = nvml
        validity["warnings"].extend(nvml["warnings"])
    if device_ms:
        timing["device_clock"] = device_clock
        timing["device_samples_ms"] = device_ms
        timing["device_stats"] = LatencyStats.from_samples(device_ms, batch).to_dict()
