"""Thin, checked wrappers over cuda-python's runtime API (``cuda.bindings.runtime``).

cuda-python returns ``(cudaError_t, value...)`` tuples instead of raising; every call here goes through
:func:`check`, so a CUDA error surfaces as one :class:`CudaError` naming the call, never as a silently
ignored tuple. Imported lazily: nothing here runs before a runner's ``activate``. cuda-python rather than
pycuda because pycuda ships only as source that needs a CUDA toolkit to build (docs/gpu.md).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import numpy as np

#: cudaErrorMemoryAllocation: the runtime's out-of-memory code
OUT_OF_MEMORY = 2


class CudaError(RuntimeError):
    """A CUDA runtime call failed; ``code`` is the numeric cudaError_t."""

    def __init__(self, call: str, code: int, text: str) -> None:
        super().__init__(f"{call} failed: {text} (cudaError {code})")
        self.call, self.code = call, code


def runtime() -> Any:
    """The ``cuda.bindings.runtime`` module (raises ImportError with an install hint)."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError as exc:  # cuda-python < 12.6 had `from cuda import cudart`; not supported
        raise ImportError("cuda-python is not installed (pip install 'benchbed[tensorrt]')") from exc
    return cudart


def check(result: Any, call: str) -> Any:
    """Unwrap a cuda-python ``(err, *values)`` result: the value(s), or raise :class:`CudaError`."""
    cudart = runtime()
    if not isinstance(result, tuple):
        result = (result,)
    err, values = result[0], result[1:]
    if int(err) != int(cudart.cudaError_t.cudaSuccess):
        text = cudart.cudaGetErrorString(err)
        text = text[1] if isinstance(text, tuple) else text
        raise CudaError(call, int(err), text.decode() if isinstance(text, bytes) else str(text))
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def mem_get_info() -> tuple[int, int]:
    """(free, total) device memory in bytes on the current device."""
    free, total = check(runtime().cudaMemGetInfo(), "cudaMemGetInfo")
    return int(free), int(total)


@dataclass(frozen=True)
class DeviceIdentity:
    """What makes an engine valid on this machine: GPU name, compute capability and driver."""

    name: str
    compute_capability: str
    driver: int
    runtime: int

    def to_dict(self) -> dict:
        return {"name": self.name, "compute_capability": self.compute_capability, "driver": self.driver,
                "cuda_runtime": self.runtime}


def device_identity(device: int = 0) -> DeviceIdentity:
    cudart = runtime()
    props = check(cudart.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
    name = props.name.decode(errors="replace") if isinstance(props.name, bytes) else str(props.name)
    return DeviceIdentity(name.rstrip("\x00"), f"{props.major}.{props.minor}",
                          int(check(cudart.cudaDriverGetVersion(), "cudaDriverGetVersion")),
                          int(check(cudart.cudaRuntimeGetVersion(), "cudaRuntimeGetVersion")))


def device_count() -> tuple[int, str]:
    """(number of GPUs, reason when 0) without raising: probes must never fail with a traceback."""
    cudart = runtime()
    result = cudart.cudaGetDeviceCount()
    err = int(result[0])
    if err != int(cudart.cudaError_t.cudaSuccess):
        text = cudart.cudaGetErrorString(result[0])
        text = text[1] if isinstance(text, tuple) else text
        text = text.decode() if isinstance(text, bytes) else str(text)
        return 0, f"no usable NVIDIA GPU: cudaGetDeviceCount says {text} (cudaError {err})"
    return int(result[1]), "" if result[1] else "no NVIDIA GPU found (cudaGetDeviceCount = 0)"


class DeviceBuffer:
    """``nbytes`` of device memory (cudaMalloc), freed by :meth:`free`."""

    def __init__(self, nbytes: int) -> None:
        self.nbytes = int(nbytes)
        self.ptr = int(check(runtime().cudaMalloc(self.nbytes), f"cudaMalloc({self.nbytes})"))

    def free(self) -> None:
        if self.ptr:
            check(runtime().cudaFree(self.ptr), "cudaFree")
            self.ptr = 0


class PinnedArray:
    """A numpy array in page-locked host memory (cudaMallocHost): async copies from it can be captured."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        dtype = np.dtype(dtype)
        self.nbytes = max(1, int(np.prod(shape)) * dtype.itemsize)
        self.ptr = int(check(runtime().cudaMallocHost(self.nbytes), f"cudaMallocHost({self.nbytes})"))
        raw = (ctypes.c_byte * self.nbytes).from_address(self.ptr)
        self.array = np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape))).reshape(shape)

    def free(self) -> None:
        if self.ptr:
            self.array = None
            check(runtime().cudaFreeHost(self.ptr), "cudaFreeHost")
            self.ptr = 0


def copy_async(dst: int, src: int, nbytes: int, to_device: bool, stream: Any) -> None:
    cudart = runtime()
    kind = (cudart.cudaMemcpyKind.cudaMemcpyHostToDevice if to_device
            else cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost)
    check(cudart.cudaMemcpyAsync(dst, src, nbytes, kind, stream), "cudaMemcpyAsync")


class Stream:
    """A CUDA stream with CUDA-event timing of what is enqueued between :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        cudart = runtime()
        self.handle = check(cudart.cudaStreamCreate(), "cudaStreamCreate")
        self._start = check(cudart.cudaEventCreate(), "cudaEventCreate")
        self._stop = check(cudart.cudaEventCreate(), "cudaEventCreate")

    def __int__(self) -> int:
        return int(self.handle)

    def start(self) -> None:
        check(runtime().cudaEventRecord(self._start, self.handle), "cudaEventRecord")

    def stop(self) -> None:
        check(runtime().cudaEventRecord(self._stop, self.handle), "cudaEventRecord")

    def synchronize(self) -> None:
        check(runtime().cudaStreamSynchronize(self.handle), "cudaStreamSynchronize")

    def elapsed_ms(self) -> float:
        """GPU time between the last start/stop events (call after :meth:`synchronize`)."""
        return float(check(runtime().cudaEventElapsedTime(self._start, self._stop), "cudaEventElapsedTime"))

    def destroy(self) -> None:
        cudart = runtime()
        for event in (self._start, self._stop):
            check(cudart.cudaEventDestroy(event), "cudaEventDestroy")
        check(cudart.cudaStreamDestroy(self.handle), "cudaStreamDestroy")


class CapturedGraph:
    """Work captured from a stream once (cudaStreamBeginCapture ... EndCapture) and replayed by one launch."""

    def __init__(self, stream: Stream, enqueue) -> None:
        cudart = runtime()
        mode = cudart.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        check(cudart.cudaStreamBeginCapture(stream.handle, mode), "cudaStreamBeginCapture")
        try:
            enqueue()
        finally:  # always end the capture, or the stream stays unusable
            graph = check(cudart.cudaStreamEndCapture(stream.handle), "cudaStreamEndCapture")
        self._graph = graph
        self._exec = check(cudart.cudaGraphInstantiate(graph, 0), "cudaGraphInstantiate")

    def launch(self, stream: Stream) -> None:
        check(runtime().cudaGraphLaunch(self._exec, stream.handle), "cudaGraphLaunch")

    def destroy(self) -> None:
        cudart = runtime()
        check(cudart.cudaGraphExecDestroy(self._exec), "cudaGraphExecDestroy")
        check(cudart.cudaGraphDestroy(self._graph), "cudaGraphDestroy")
