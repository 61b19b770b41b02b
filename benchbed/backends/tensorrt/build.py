"""Build a serialized TensorRT engine from an exported ONNX file (TensorRT 10 and 11).

Strongly typed on both (11 is always strongly typed and has no FP16/INT8/BF16 builder flags or INT8
calibrator: precision comes from the ONNX precision transforms). Weak typing with the legacy FP16 flag is
kept only for 10.x, and only where ``hasattr`` says the flag exists. Every parser error is reported, and a
build that fails for lack of memory says so with the workspace and the free device memory.
"""

from __future__ import annotations

import collections
import re
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchbed.backends.onnx_inputs import graph_inputs
from benchbed.backends.tensorrt import timing_cache
from benchbed.backends.tensorrt.options import TrtOptions

_OOM = re.compile(r"out of memory|outofmemory|cudaErrorMemoryAllocation|insufficient memory|"
                  r"requested amount of gpu memory|failed to allocate", re.IGNORECASE)
_MIB = 1 << 20


class OnnxParseError(RuntimeError):
    """TensorRT's ONNX parser rejected the model; the message lists every error it reported."""


class BuildOutOfMemory(RuntimeError):
    """The engine build failed for lack of device memory."""


class BuildFailed(RuntimeError):
    """The builder returned no engine for another reason (its logged errors are in the message)."""


def trt_module() -> Any:
    import tensorrt as trt

    return trt


def major_version(trt: Any) -> int:
    return int(str(trt.__version__).split(".")[0])


#: one logger per tensorrt module (per process in real life; the tests' fake modules each count as one)
_LOGGERS: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def make_logger(trt: Any) -> Any:
    """The process's TensorRT logger, which keeps warnings and errors so a failed call can say why.

    One for the whole process: TensorRT keeps the first logger given to a Builder, Runtime or Refitter and
    sends every later message there (a second logger is ignored), so a build's own logger would never see
    its errors. Callers take :meth:`mark` before a call and read ``errors(since=mark)`` after it.
    """
    logger = _LOGGERS.get(trt)
    if logger is None:
        logger = _LOGGERS[trt] = _new_logger(trt)
    return logger


def _new_logger(trt: Any) -> Any:
    class _Logger(trt.ILogger):
        def __init__(self) -> None:
            super().__init__()  # the pybind11 base must be initialised; no reference to ``trt`` kept
            self.messages: collections.deque[tuple[int, str, str]] = collections.deque(maxlen=1000)
            self._count = 0
            self._lock = threading.Lock()

        def log(self, severity: Any, msg: str) -> None:
            name = getattr(severity, "name", str(severity))
            if name in ("INTERNAL_ERROR", "ERROR", "WARNING"):
                with self._lock:
                    self.messages.append((self._count, name, str(msg)))
                    self._count += 1

        def mark(self) -> int:
            """The position after the last message: pass it as ``since`` to read only what follows."""
            return self._count

        def errors(self, since: int = 0) -> list[str]:
            return [m for i, s, m in list(self.messages) if i >= since and s in ("INTERNAL_ERROR", "ERROR")]

        def warnings(self, since: int = 0) -> list[str]:
            return [m for i, s, m in list(self.messages) if i >= since and s == "WARNING"]

    return _Logger()


def profile_shapes(onnx_path: Path, max_batch: int, opt_batch: int | None = None) -> dict[str, list[list[int]]]:
    """{input: [min, opt, max]} for the dynamic batch axis: min batch 1, opt = max = the sweep's largest."""
    shapes = {}
    for name, dims in graph_inputs(onnx_path).items():
        if any(d < 0 for d in dims[1:]):
            raise ValueError(f"tensorrt: input {name} has dynamic axes other than the batch axis: {dims}")
        rest = dims[1:]
        if dims and dims[0] < 0:
            shapes[name] = [[1, *rest], [opt_batch or max_batch, *rest], [max_batch, *rest]]
        else:
            shapes[name] = [dims, dims, dims]
    return shapes


@dataclass
class BuildReport:
    """What the build did, recorded in the runner's details."""

    seconds: float = 0.0
    timing_cache_loaded_bytes: int | None = None
    timing_cache_saved_bytes: int | None = None
    legacy_flags: list[str] = field(default_factory=list)
    tf32: bool = False  # BuilderFlag.TF32 as the engine was built
    timing_cache_merged: bool | None = None  # the file's entries were merged in (None: nothing on disk)
    warnings: list[str] = field(default_factory=list)


def _free_memory_text() -> str:
    try:
        from benchbed.backends.tensorrt.cuda import mem_get_info

        free, total = mem_get_info()
        return f"{free / _MIB:.0f} MiB free of {total / _MIB:.0f} MiB"
    except Exception as exc:  # the report must not hide the build error behind a second one
        return f"free memory unknown ({exc})"


def _oom(options: TrtOptions, detail: str) -> BuildOutOfMemory:
    return BuildOutOfMemory(f"TensorRT engine build failed for lack of memory: workspace {options.workspace_mib} MiB, "
                            f"device {_free_memory_text()}: {detail}")


def _parse(trt: Any, network: Any, logger: Any, onnx_path: Path, since: int) -> None:
    parser = trt.OnnxParser(network, logger)
    if parser.parse_from_file(str(onnx_path)):
        return
    errors = [str(parser.get_error(i)) for i in range(parser.num_errors)] or logger.errors(since) or ["no detail"]
    raise OnnxParseError(f"TensorRT could not parse {onnx_path.name} ({len(errors)} error(s)): " + " | ".join(errors))


def _precision_flags(trt: Any, config: Any, precision: str, options: TrtOptions) -> list[str]:
    """Legacy weak-typing flags (TensorRT 10 only, and only when strong typing is turned off)."""
    if options.strongly_typed:
        return []
    if major_version(trt) >= 11:
        raise ValueError("tensorrt: strongly_typed=off needs TensorRT 10; TensorRT 11 is always strongly typed")
    wanted = {"fp16": ["FP16"], "bf16": ["BF16"], "int8": ["INT8", "FP16"]}.get(precision, [])
    set_flags = []
    for flag in wanted:
        if hasattr(trt.BuilderFlag, flag):
            config.set_flag(getattr(trt.BuilderFlag, flag))
            set_flags.append(flag)
    return set_flags


def _tf32(trt: Any, config: Any, options: TrtOptions) -> bool:
    """Set or clear ``BuilderFlag.TF32`` as the options say; returns whether TF32 is allowed.

    TensorRT 10 and 11 turn TF32 on in every new builder config ("Enabled by default"), so an fp32 engine
    would round convolution and matrix-product inputs to 10-bit mantissas and miss the fp32 parity bound:
    benchbed clears it unless ``tf32=on`` asks for it (then the cell is judged by the tf32 bound)."""
    flag = trt.BuilderFlag.TF32
    if options.tf32:
        config.set_flag(flag)
    else:
        config.clear_flag(flag)
    return bool(config.get_flag(flag))


def _profile(builder: Any, config: Any, network: Any, shapes: dict[str, list[list[int]]]) -> None:
    """One optimization profile covering ``shapes``, added to ``config``.

    ``IOptimizationProfile.set_shape`` returns None and raises on shapes that contradict each other (the
    bindings' docstring says ValueError; 10.16 and 11.4 raise RuntimeError "Shape provided for opt is
    inconsistent with other shapes."); ``add_optimization_profile`` returns -1 for an invalid profile. Both
    become one :class:`BuildFailed` naming the input and its shapes, before the builder runs."""
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        name = network.get_input(i).name
        if name not in shapes:
            raise BuildFailed(f"network input {name!r} missing from the ONNX inputs {sorted(shapes)}")
        low, opt, high = (tuple(s) for s in shapes[name])
        try:
            profile.set_shape(name, low, opt, high)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise BuildFailed(f"TensorRT refused the optimization profile of {name} (min {low}, opt {opt}, "
                              f"max {high}): {exc}") from None
    if config.add_optimization_profile(profile) < 0:
        raise BuildFailed(f"TensorRT refused the optimization profile {shapes} (add_optimization_profile "
                          "returned -1: invalid profile)")


def build_engine(onnx_path: Path, precision: str, shapes: dict[str, list[list[int]]], options: TrtOptions,
                 cache_path: Path | None) -> tuple[bytes, BuildReport]:
    """The serialized engine for ``onnx_path``; raises OnnxParseError / BuildOutOfMemory / BuildFailed."""
    import time

    trt = trt_module()
    report = BuildReport()
    started = time.perf_counter()
    logger = make_logger(trt)
    since = logger.mark()
    builder = trt.Builder(logger)
    flags = 0 if not options.strongly_typed else 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    _parse(trt, network, logger, onnx_path, since)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mib * _MIB)
    config.builder_optimization_level = options.opt_level
    report.legacy_flags = _precision_flags(trt, config, precision, options)
    report.tf32 = _tf32(trt, config, options)
    _profile(builder, config, network, shapes)
    if cache_path is not None:
        _, report.timing_cache_loaded_bytes = timing_cache.attach(config, cache_path)
    try:
        serialized = builder.build_serialized_network(network, config)
    except (MemoryError, RuntimeError) as exc:
        if isinstance(exc, MemoryError) or _OOM.search(str(exc)):
            raise _oom(options, str(exc)) from exc
        raise
    errors = logger.errors(since)
    if serialized is None:
        detail = " | ".join(errors) or "build_serialized_network returned None"
        if any(_OOM.search(e) for e in errors):
            raise _oom(options, detail)
        raise BuildFailed(f"TensorRT engine build failed: {detail}")
    if cache_path is not None:
        report.timing_cache_saved_bytes, report.timing_cache_merged = timing_cache.save(config, cache_path)
    report.warnings = logger.warnings(since)[:20]
    report.seconds = time.perf_counter() - started
    return bytes(serialized), report
