"""A fake ``cuda.bindings.runtime`` with cuda-python's conventions: every call returns a tuple whose first
element is a ``cudaError_t``; nothing raises. Enforces the contracts benchbed relies on: copies go the way
their kind says between real allocations, streams/events/graphs must be live, no synchronize during a
capture, EndCapture only after BeginCapture, event times only after both events were recorded and have
completed -- an event completes when its stream is synchronised (or the event itself), before that
cudaEventElapsedTime / cudaEventQuery answer cudaErrorNotReady as the real runtime does while the GPU is
still working. The runtime is CUDA 13.4's (cuda-bindings 13.4.4): a driver older than CUDA 13 is
cudaErrorInsufficientDriver. Names, parameters, enum values and error strings are the real module's
(tests/conformance checks them)."""

from __future__ import annotations

import ctypes
import enum
import functools
import types

from gpu_doubles.gpu import FakeGpu, FakeStream


class cudaError_t(enum.IntEnum):
    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorMemoryAllocation = 2
    cudaErrorInsufficientDriver = 35
    cudaErrorNoDevice = 100
    cudaErrorInvalidResourceHandle = 400
    cudaErrorIllegalState = 401
    cudaErrorNotReady = 600
    cudaErrorStreamCaptureUnsupported = 900


class cudaMemcpyKind(enum.IntEnum):
    cudaMemcpyHostToHost = 0
    cudaMemcpyHostToDevice = 1
    cudaMemcpyDeviceToHost = 2
    cudaMemcpyDeviceToDevice = 3


class cudaStreamCaptureMode(enum.IntEnum):
    cudaStreamCaptureModeGlobal = 0
    cudaStreamCaptureModeThreadLocal = 1
    cudaStreamCaptureModeRelaxed = 2


_TEXT = {cudaError_t.cudaSuccess: b"no error", cudaError_t.cudaErrorInvalidValue: b"invalid argument",
         cudaError_t.cudaErrorMemoryAllocation: b"out of memory",
         cudaError_t.cudaErrorInsufficientDriver: b"CUDA driver version is insufficient for CUDA runtime version",
         cudaError_t.cudaErrorNoDevice: b"no CUDA-capable device is detected",
         cudaError_t.cudaErrorInvalidResourceHandle: b"invalid resource handle",
         cudaError_t.cudaErrorNotReady: b"device not ready",
         cudaError_t.cudaErrorIllegalState: b"the operation cannot be performed in the present state",
         cudaError_t.cudaErrorStreamCaptureUnsupported: b"operation not permitted when stream is capturing"}
OK = cudaError_t.cudaSuccess
#: cudaRuntimeGetVersion of cuda-bindings 13.4.4 (statically linked CUDA 13.4 runtime)
RUNTIME_VERSION = 13040


class _Event:
    def __init__(self, handle: int) -> None:
        self.handle, self.time_ms, self.done = handle, None, False

    def __int__(self) -> int:
        return self.handle


class _Graph:
    def __init__(self, ops) -> None:
        self.ops, self.alive = list(ops), True


def make_runtime(gpu: FakeGpu) -> types.ModuleType:
    rt = types.ModuleType("cuda.bindings.runtime")
    rt.cudaError_t, rt.cudaMemcpyKind, rt.cudaStreamCaptureMode = cudaError_t, cudaMemcpyKind, cudaStreamCaptureMode
    events: dict[int, _Event] = {}

    def driver_too_old() -> bool:
        return gpu.driver is None or gpu.driver // 1000 < RUNTIME_VERSION // 1000

    def ready():
        if driver_too_old():
            return cudaError_t.cudaErrorInsufficientDriver
        if gpu.count == 0:
            return cudaError_t.cudaErrorNoDevice
        gpu.create_context()
        return OK

    def stream_of(s):
        return gpu.streams.get(int(s)) if s is not None else None

    def cudaGetErrorString(error):
        return OK, _TEXT.get(cudaError_t(int(error)), b"unknown error")

    def cudaGetDeviceCount():
        gpu.log.append("cudaGetDeviceCount")
        if driver_too_old():
            return cudaError_t.cudaErrorInsufficientDriver, None
        if gpu.count == 0:
            return cudaError_t.cudaErrorNoDevice, 0
        return OK, gpu.count

    def cudaDriverGetVersion():
        return OK, gpu.driver or 0

    def cudaRuntimeGetVersion():
        return OK, RUNTIME_VERSION

    def cudaGetDeviceProperties(device):
        if (err := ready()) != OK:
            return err, None
        if not 0 <= device < gpu.count:
            return cudaError_t.cudaErrorInvalidValue, None
        return OK, types.SimpleNamespace(name=gpu.name.encode(), major=gpu.major, minor=gpu.minor,
                                         totalGlobalMem=gpu.total)

    def cudaMemGetInfo():
        if (err := ready()) != OK:
            return err, None, None
        return OK, gpu.free, gpu.total

    def cudaMalloc(size):
        if (err := ready()) != OK:
            return err, None
        gpu.log.append("cudaMalloc")
        address = gpu.allocate(int(size))
        return (OK, address) if address is not None else (cudaError_t.cudaErrorMemoryAllocation, None)

    def cudaMallocHost(size):
        if (err := ready()) != OK:
            return err, None
        return OK, gpu.allocate(int(size), pinned=True)

    def cudaFree(devPtr):
        return (OK,) if gpu.release(int(devPtr), pinned=False) else (cudaError_t.cudaErrorInvalidValue,)

    def cudaFreeHost(ptr):
        return (OK,) if gpu.release(int(ptr), pinned=True) else (cudaError_t.cudaErrorInvalidValue,)

    def cudaMemcpyAsync(dst, src, count, kind, stream):
        s = stream_of(stream)
        if s is None:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        kind = cudaMemcpyKind(int(kind))
        dst_dev = kind in (cudaMemcpyKind.cudaMemcpyHostToDevice, cudaMemcpyKind.cudaMemcpyDeviceToDevice)
        src_dev = kind in (cudaMemcpyKind.cudaMemcpyDeviceToHost, cudaMemcpyKind.cudaMemcpyDeviceToDevice)
        if not (gpu.region(int(dst), int(count), dst_dev) and gpu.region(int(src), int(count), src_dev)):
            return (cudaError_t.cudaErrorInvalidValue,)
        gpu.log.append(f"memcpy:{kind.name}")

        def op():
            ctypes.memmove(int(dst), int(src), int(count))
            return count / 20e6  # 20 GB/s in ms per byte
        s.submit(op)
        return (OK,)

    def cudaStreamCreate():
        if (err := ready()) != OK:
            return err, None
        s = FakeStream(gpu, gpu.handle())
        gpu.streams[s.handle] = s
        return OK, s

    def cudaStreamDestroy(stream):
        s = stream_of(stream)
        if s is None or s.capture is not None:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        del gpu.streams[s.handle]
        return (OK,)

    def cudaStreamSynchronize(stream):
        s = stream_of(stream)
        if s is None:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        if s.capture is not None:
            return (cudaError_t.cudaErrorStreamCaptureUnsupported,)
        gpu.log.append("sync")
        for event in s.events:  # everything enqueued so far has finished
            event.done = True
        s.events.clear()
        return (OK,)

    def cudaEventCreate():
        if (err := ready()) != OK:
            return err, None
        e = _Event(gpu.handle())
        events[e.handle] = e
        return OK, e

    def cudaEventDestroy(event):
        return (OK,) if events.pop(int(event), None) else (cudaError_t.cudaErrorInvalidResourceHandle,)

    def cudaEventRecord(event, stream):
        s, e = stream_of(stream), events.get(int(event))
        if s is None or e is None:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)

        def op():
            e.time_ms, e.done = s.clock_ms, False  # reached by the stream; complete once synchronised
            s.events.append(e)
            return 0.0
        s.submit(op)
        return (OK,)

    def cudaEventSynchronize(event):
        e = events.get(int(event))
        if e is None:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        for s in gpu.streams.values():  # the event's stream has finished the work before it
            if e in s.events:
                done = s.events[:s.events.index(e) + 1]
                for other in done:
                    other.done = True
                del s.events[:len(done)]
        return (OK,)

    def cudaEventQuery(event):
        e = events.get(int(event))
        if e is None:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        return (OK,) if e.time_ms is None or e.done else (cudaError_t.cudaErrorNotReady,)

    def cudaEventElapsedTime(start, end):
        a, b = events.get(int(start)), events.get(int(end))
        if a is None or b is None or a.time_ms is None or b.time_ms is None:
            return cudaError_t.cudaErrorInvalidResourceHandle, None
        if not (a.done and b.done):
            return cudaError_t.cudaErrorNotReady, None
        return OK, b.time_ms - a.time_ms

    def cudaStreamBeginCapture(stream, mode):
        s = stream_of(stream)
        if s is None or s.capture is not None:
            return (cudaError_t.cudaErrorIllegalState,)
        cudaStreamCaptureMode(int(mode))
        s.capture = []
        gpu.log.append("begin-capture")
        return (OK,)

    def cudaStreamEndCapture(stream):
        s = stream_of(stream)
        if s is None or s.capture is None:
            return cudaError_t.cudaErrorIllegalState, None
        graph, s.capture = _Graph(s.capture), None
        gpu.log.append("end-capture")
        return OK, graph

    def cudaGraphInstantiate(graph, flags):
        if not isinstance(graph, _Graph) or not graph.alive:
            return cudaError_t.cudaErrorInvalidValue, None
        return OK, _Graph(graph.ops)

    def cudaGraphLaunch(graphExec, stream):
        s = stream_of(stream)
        if s is None or not isinstance(graphExec, _Graph) or not graphExec.alive:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        gpu.graph_launches += 1
        gpu.log.append("graph-launch")
        s.submit(lambda: sum(op() for op in graphExec.ops) * 0.9)  # launch overhead saved
        return (OK,)

    def _destroy(graph):
        if not isinstance(graph, _Graph) or not graph.alive:
            return (cudaError_t.cudaErrorInvalidValue,)
        graph.alive = False
        return (OK,)

    def cudaGraphExecDestroy(graphExec):
        return _destroy(graphExec)

    def cudaGraphDestroy(graph):
        return _destroy(graph)

    for fn in (cudaGetErrorString, cudaGetDeviceCount, cudaDriverGetVersion, cudaRuntimeGetVersion,
               cudaGetDeviceProperties, cudaMemGetInfo, cudaMalloc, cudaMallocHost, cudaFree, cudaFreeHost,
               cudaMemcpyAsync, cudaStreamCreate, cudaStreamDestroy, cudaStreamSynchronize, cudaEventCreate,
               cudaEventDestroy, cudaEventRecord, cudaEventSynchronize, cudaEventQuery, cudaEventElapsedTime,
               cudaStreamBeginCapture, cudaStreamEndCapture, cudaGraphInstantiate, cudaGraphLaunch,
               cudaGraphExecDestroy, cudaGraphDestroy):
        setattr(rt, fn.__name__, fn if fn in (cudaGetErrorString, cudaDriverGetVersion, cudaRuntimeGetVersion)
                else _needs_driver(fn, driver_too_old))
    return rt


def _needs_driver(fn, driver_too_old):
    """Without a (new enough) driver every runtime call fails first with cudaErrorInsufficientDriver and
    no values, as the real runtime's lazy initialisation does."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        out = fn(*args, **kwargs)
        if driver_too_old():
            return (cudaError_t.cudaErrorInsufficientDriver,) + (None,) * (len(out) - 1)
        return out
    return call
