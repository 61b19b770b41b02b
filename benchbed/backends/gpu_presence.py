"""Is an NVIDIA GPU usable here? Asked without creating a CUDA context (probes run in the sweep's parent).

Tries cuda-python's device count (initialises the driver, creates no context), then NVML, then the
driver's /proc entries, so onnxruntime-gpu users without cuda-python still get an answer.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def gpu_present() -> tuple[bool, str]:
    if importlib.util.find_spec("cuda") is not None:
        try:
            from benchbed.backends.tensorrt.cuda import device_count

            count, why = device_count()
            return (True, f"{count} NVIDIA GPU(s)") if count else (False, why)
        except ImportError:
            pass
        except Exception as exc:  # a broken driver install must be a reason, not a traceback
            return False, f"no usable NVIDIA GPU: {type(exc).__name__}: {exc}"
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            count = pynvml.nvmlDeviceGetCount()
        finally:
            pynvml.nvmlShutdown()
        return (True, f"{count} NVIDIA GPU(s) (NVML)") if count else (False, "NVML sees no NVIDIA GPU")
    except ImportError:
        pass
    except Exception as exc:
        return False, f"no usable NVIDIA GPU: NVML says {exc}"
    gpus = Path("/proc/driver/nvidia/gpus")
    if gpus.is_dir() and any(gpus.iterdir()):
        return True, "NVIDIA driver lists a GPU"
    return False, "no NVIDIA GPU or driver found"
