"""Native TensorRT backend ("tensorrt"): build from ONNX, engine cache, cuda-python buffers and streams.

Modules, one job each: ``options`` (validated backend options), ``build`` (ONNX -> serialized engine),
``timing_cache`` (file-locked on-disk timing cache), ``engine_cache`` (keyed, hash-verified engines),
``cuda`` (checked cuda-python calls), ``runner`` (the Runner). Nothing imports tensorrt or touches a GPU
until :meth:`TensorRTRunner.activate`; :meth:`TensorRTBackend.probe` creates no CUDA context.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from benchbed.backends import register
from benchbed.backends.base import BackendOptions


def probe_gpu_stack(need_tensorrt: bool = True) -> tuple[bool, str]:
    """(usable, why) for tensorrt + cuda-python + a GPU, without creating a CUDA context.

    Import checks use ``find_spec``; the GPU check asks cuda-python for the device count, which initialises
    the driver but creates no context (cudaGetDeviceCount does not).
    """
    if need_tensorrt and importlib.util.find_spec("tensorrt") is None:
        return False, "TensorRT is not installed (pip install 'benchbed[tensorrt]'; needs an NVIDIA GPU)"
    try:
        from benchbed.backends.tensorrt.cuda import device_count

        count, why = device_count()
    except ImportError as exc:
        return False, str(exc)
    except Exception as exc:  # a broken driver install must be a reason, not a traceback
        return False, f"no usable NVIDIA GPU: {type(exc).__name__}: {exc}"
    if not count:
        return False, why
    return True, f"{count} NVIDIA GPU(s)"


@register("tensorrt")
class TensorRTBackend:
    name = "tensorrt"
    description = "TensorRT (native, Python API), engines cached under models/<network>/engines"
    computes = True
    takes_max_batch = True  # the worker passes the sweep's largest batch for the optimization profile

    def probe(self) -> tuple[bool, str]:
        usable, why = probe_gpu_stack()
        if not usable:
            return usable, why
        try:
            import tensorrt as trt
        except Exception as exc:  # the bindings wheel without its libraries fails here
            return False, f"TensorRT does not import: {type(exc).__name__}: {exc}"
        return True, f"TensorRT {trt.__version__}, {why}"

    def option_keys(self) -> frozenset[str]:
        from benchbed.backends.tensorrt.options import ALLOWED

        return frozenset(ALLOWED)

    def prepare(self, artifact: Path, options: BackendOptions):
        from benchbed.backends.tensorrt.runner import TensorRTRunner

        return TensorRTRunner(artifact, options)
