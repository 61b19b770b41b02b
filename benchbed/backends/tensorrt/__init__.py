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
from benchbed.backends.base import BackendBase, BackendOptions, Capabilities
from benchbed.backends.gpu_libraries import unloadable_library
from benchbed.backends.gpu_presence import cuda_python_gpus
from benchbed.backends.tensorrt.options import TrtOptions


def probe_gpu_stack() -> tuple[bool, str]:
    """(usable, why) for tensorrt + cuda-python + a GPU, without creating a CUDA context.

    The import check uses ``find_spec``; the GPU check is cuda-python's device count (no context)."""
    if importlib.util.find_spec("tensorrt") is None:
        return False, "TensorRT is not installed (pip install 'benchbed[tensorrt]'; needs an NVIDIA GPU)"
    count, why = cuda_python_gpus()
    return (True, why) if count else (False, why)


@register("tensorrt")
class TensorRTBackend(BackendBase):
    name = "tensorrt"
    description = "TensorRT (native, Python API), engines cached under models/<network>/engines"
    #: builds for an optimization profile: the worker passes the sweep's largest batch as max_batch
    capabilities = Capabilities(device="cuda", takes_max_batch=True, device_times=True)
    config = TrtOptions

    def probe(self) -> tuple[bool, str]:
        usable, why = probe_gpu_stack()
        if not usable:
            return usable, why
        try:
            import tensorrt as trt  # imports tensorrt_libs, which loads libnvinfer & co. from site-packages
        except Exception as exc:  # the bindings wheel without its libraries fails here
            soname = unloadable_library(exc)
            if soname:
                return False, (f"{soname} not loadable (TensorRT's libraries, tensorrt-cu13-libs: pip install "
                               f"'benchbed[tensorrt]'): TensorRT does not import: {exc}")
            return False, f"TensorRT does not import: {type(exc).__name__}: {exc}"
        return True, f"TensorRT {trt.__version__}, {why}"

    def prepare(self, artifact: Path, options: BackendOptions):
        from benchbed.backends.tensorrt.runner import TensorRTRunner

        return TensorRTRunner(artifact, TrtOptions.from_extra(options.extra))
