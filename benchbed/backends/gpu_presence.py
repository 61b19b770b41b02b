"""Is an NVIDIA GPU usable here? Asked without creating a CUDA context (probes run in the sweep's parent).

One place for the question every GPU backend's probe asks: :func:`cuda_python_gpus` (cuda-python's device
count: initialises the driver, creates no context) for the backends that run on cuda-python, and
:func:`gpu_present`, which falls back to NVML and then the driver's /proc entries, so onnxruntime-gpu users
without cuda-python still get an answer. (torch-cuda asks torch itself: only torch knows whether its own
build can use the GPU.)
"""

from __future__ import annotations

from pathlib import Path


def cuda_python_gpus() -> tuple[int | None, str]:
    """(GPU count, why) from cuda-python; count None when cuda-python is not installed. Never raises."""
    try:
        from benchbed.backends.tensorrt.cuda import device_count

        count, why = device_count()
    except ImportError as exc:
        return None, str(exc)
    except Exception as exc:  # a broken driver install must be a reason, not a traceback
        return 0, f"no usable NVIDIA GPU: {type(exc).__name__}: {exc}"
    return (count, f"{count} NVIDIA GPU(s)") if count else (0, why)


def nvml_gpus() -> tuple[int | None, str]:
    """(GPU count, why) from NVML; count None when nvidia-ml-py is not installed. Never raises."""
    from benchbed.measure.trackers.nvml import nvml_session

    try:
        with nvml_session() as nvml:
            count = nvml.nvmlDeviceGetCount()
    except ImportError:
        return None, "nvidia-ml-py is not installed"
    except Exception as exc:
        return 0, f"no usable NVIDIA GPU: NVML says {exc}"
    return (count, f"{count} NVIDIA GPU(s) (NVML)") if count else (0, "NVML sees no NVIDIA GPU")


def gpu_present() -> tuple[bool, str]:
    """(usable, why): the first of cuda-python, NVML and /proc/driver/nvidia that is installed answers."""
    for ask in (cuda_python_gpus, nvml_gpus):
        count, why = ask()
        if count is not None:
            return bool(count), why
    gpus = Path("/proc/driver/nvidia/gpus")
    if gpus.is_dir() and any(gpus.iterdir()):
        return True, "NVIDIA driver lists a GPU"
    return False, "no NVIDIA GPU or driver found"
