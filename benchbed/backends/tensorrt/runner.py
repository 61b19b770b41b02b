"""The TensorRT runner: engine from the cache (or built), one execution context, one stream.

Timing: the worker's wall clock around :meth:`infer` is the host latency; CUDA events around the
enqueue give the GPU compute time (:meth:`device_times_ms`). With ``copies=in`` the host->device and
device->host copies are enqueued inside ``infer`` (and inside the wall-clock sample, not the events);
with ``copies=out`` input and output stay device-resident while timed. ``cuda_graph=on`` captures the
enqueue once per input shape and replays it with one ``cudaGraphLaunch``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchbed.backends.base import TimingSemantics
from benchbed.backends.tensorrt import cuda, timing_cache
from benchbed.backends.tensorrt.build import BuildFailed, build_engine, make_logger, profile_shapes, trt_module
from benchbed.backends.tensorrt.engine_cache import EngineCache, key_fields
from benchbed.backends.tensorrt.options import TrtOptions
from benchbed.core.files import sha256_file


class TensorRTRunner:
    def __init__(self, artifact: Path, options: TrtOptions) -> None:
        self.artifact = Path(artifact)
        self.options = options
        self.precision = self.artifact.stem
        self.semantics = TimingSemantics(
            clock="host", copies_included=self.options.copies_included, device="cuda:0",
            notes=("samples: wall clock around infer (host latency, stream synchronized); GPU compute time by "
                   f"CUDA events in device_samples_ms; CUDA graph {'on' if self.options.cuda_graph else 'off'}; "
                   f"host<->device copies {'inside' if self.options.copies_included else 'outside'} the timed region"))
        # fp32 layers compute in fp32 unless tf32=on (BuilderFlag.TF32 cleared otherwise): the worker widens the
        # parity bound to the tf32 one, with its reason, only when TF32 was asked for
        self.details: dict = {"options": self.options.to_dict(), "precision": self.precision,
                              "compute_precision": "tf32" if self.options.tf32 else self.precision}
        self._device_ms: list[float] = []
        self._buffers: list[Any] = []
        self._host: dict = {}
        self._device: dict = {}
        self._graph = None
        self._context = None
        self._min_free: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    def activate(self) -> None:
        trt = trt_module()
        self._trt = trt
        self._free_before, self._total = cuda.mem_get_info()
        device = cuda.device_identity()
        self._shapes = profile_shapes(self.artifact, self.options.max_batch, self.options.opt_batch)
        fields = key_fields(sha256_file(self.artifact), self.precision, self._shapes, self.options.builder_key(),
                            str(trt.__version__), device.to_dict())
        cache = EngineCache(self.artifact.parent / "engines")
        self._logger = make_logger(trt)  # the process's one logger: mark before a call, read errors after it
        since = self._logger.mark()
        self._runtime = trt.Runtime(self._logger)
        data, state = cache.lookup(fields)
        engine = self._runtime.deserialize_cuda_engine(data) if data is not None else None
        if data is not None and engine is None:
            state = "cached engine rejected by TensorRT: " + (" | ".join(self._logger.errors(since)) or "no detail")
        build = None
        if engine is None:
            data, report = build_engine(self.artifact, self.precision, self._shapes, self.options,
                                        timing_cache.cache_path(cache.folder, str(trt.__version__),
                                                                   device.compute_capability)
                                        if self.options.timing_cache else None)
            cache.store(fields, data, {"build_seconds": report.seconds})
            build = report.__dict__
            since = self._logger.mark()
            engine = self._runtime.deserialize_cuda_engine(data)
            if engine is None:
                raise BuildFailed("TensorRT could not deserialize the engine it just built: "
                                  + (" | ".join(self._logger.errors(since)) or "no detail"))
        self._engine, self._engine_bytes = engine, len(data)
        since = self._logger.mark()
        self._context = engine.create_execution_context()
        if self._context is None:
            raise RuntimeError("create_execution_context failed (not enough device memory for activations?): "
                               + (" | ".join(self._logger.errors(since)) or "no detail"))
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        self._inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self._outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(self._inputs) != 1 or not self._outputs:
            raise BuildFailed(f"tensorrt: expected one input and at least one output, got {names}")
        self._dtypes = {n: np.dtype(trt.nptype(engine.get_tensor_dtype(n))) for n in names}
        self._stream = cuda.Stream()
        self._free_after = self._note_free()
        self.details.update({
            "tensorrt": str(trt.__version__), "device": device.to_dict(), "engine_cache": "hit" if build is None
            else f"built ({state})", "engine_key": fields, "build": build, "engine_bytes": self._engine_bytes,
            "io": {n: {"mode": "input" if n in self._inputs else "output", "dtype": self._dtypes[n].name}
                   for n in names},
            "cuda_graph": self.options.cuda_graph, "copies_included": self.options.copies_included})

    def set_input(self, batch: np.ndarray) -> None:
        name = self._inputs[0]
        low, _, high = self._shapes[name]
        if not low[0] <= batch.shape[0] <= high[0]:
            raise ValueError(f"tensorrt: batch {batch.shape[0]} is outside the engine profile's batch range "
                             f"{low[0]}..{high[0]}; pass --backend-option max_batch={batch.shape[0]}")
        self._release_io()
        since = self._logger.mark()
        if not self._context.set_input_shape(name, tuple(batch.shape)):
            raise RuntimeError(f"set_input_shape({name}, {tuple(batch.shape)}) refused: "
                               + (" | ".join(self._logger.errors(since)) or "no detail"))
        self._host = {name: cuda.PinnedArray(batch.shape, self._dtypes[name])}
        self._host[name].array[...] = batch.astype(self._dtypes[name], copy=False)
        self._device = {name: cuda.DeviceBuffer(self._host[name].nbytes)}
        for out in self._outputs:
            shape = tuple(int(d) for d in self._context.get_tensor_shape(out))
            self._host[out] = cuda.PinnedArray(shape, self._dtypes[out])
            self._device[out] = cuda.DeviceBuffer(self._host[out].nbytes)
        self._buffers = [*self._host.values(), *self._device.values()]
        for tensor, buffer in self._device.items():
            if not self._context.set_tensor_address(tensor, buffer.ptr):
                raise RuntimeError(f"set_tensor_address({tensor}) refused")
        self._copy_in()
        self._enqueue()  # TensorRT does its shape-dependent setup on the first enqueue: never inside a capture
        self._stream.synchronize()
        if self.options.cuda_graph:
            self._graph = cuda.CapturedGraph(self._stream, self._enqueue)
        self._device_ms = []
        self._note_free()

    def infer(self) -> None:
        if self.options.copies_included:
            self._copy_in()
        self._stream.start()
        if self._graph is not None:
            self._graph.launch(self._stream)
        else:
            self._enqueue()
        self._stream.stop()
        if self.options.copies_included:
            self._copy_out()
        self._stream.synchronize()
        self._device_ms.append(self._stream.elapsed_ms())

    def outputs(self) -> np.ndarray | None:
        if not self.options.copies_included:
            self._copy_out()
            self._stream.synchronize()
        return np.array(self._host[self._outputs[0]].array, dtype=np.float32)

    def device_times_ms(self) -> list[float]:
        """GPU compute time of each ``infer`` since the last ``set_input``, by CUDA events."""
        return list(self._device_ms)

    def deactivate(self) -> None:
        if self._context is None:
            return
        try:
            self._release_io()
            self._stream.destroy()
        finally:
            self._context = None  # context before engine before runtime: TensorRT's destruction order
            self._engine = None
            self._runtime = None

    def device_memory(self) -> dict | None:
        engine = getattr(self, "_engine", None)
        if engine is None:
            return None
        activation = (engine.device_memory_size_v2 if hasattr(engine, "device_memory_size_v2")
                      else engine.device_memory_size)  # TensorRT < 10.1
        now = self._note_free()
        return {"activation_bytes": int(activation), "engine_bytes": self._engine_bytes,
                "streamable_weights_bytes": getattr(engine, "streamable_weights_size", None),
                "io_buffer_bytes": sum(b.nbytes for b in self._device.values()),
                "total_bytes": self._total, "free_before_activate_bytes": self._free_before,
                "free_after_activate_bytes": self._free_after, "free_now_bytes": now,
                "used_by_activation_bytes": self._free_before - self._free_after,
                "peak_used_bytes": self._free_before - (self._min_free if self._min_free is not None else now),
                "source": "cudaMemGetInfo (device-wide: other processes count too) and ICudaEngine"}

    # -- internals ---------------------------------------------------------------------------------------
    def _enqueue(self) -> None:
        since = self._logger.mark()
        if not self._context.execute_async_v3(int(self._stream)):
            raise RuntimeError("execute_async_v3 failed: " + (" | ".join(self._logger.errors(since)[-3:]) or "no detail"))

    def _copy_in(self) -> None:
        name = self._inputs[0]
        cuda.copy_async(self._device[name].ptr, self._host[name].ptr, self._host[name].nbytes, True, self._stream.handle)

    def _copy_out(self) -> None:
        for out in self._outputs:
            cuda.copy_async(self._host[out].ptr, self._device[out].ptr, self._host[out].nbytes, False,
                            self._stream.handle)

    def _note_free(self) -> int:
        free, _ = cuda.mem_get_info()
        self._min_free = free if self._min_free is None else min(self._min_free, free)
        return free

    def _release_io(self) -> None:
        if self._graph is not None:
            self._graph.destroy()
            self._graph = None
        for buffer in self._buffers:
            buffer.free()
        self._buffers = []
        self._host, self._device = {}, {}
