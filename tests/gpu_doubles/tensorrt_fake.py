"""Fake ``tensorrt`` modules for TensorRT 10 and 11 that enforce the real Python API's contracts.

Both: no binding API (no execute_async_v2 / num_bindings / build_engine, removed in 10.0); Builder() on a
machine without a usable GPU raises ``TypeError: pybind11::init(): factory function returned nullptr``;
dynamic inputs need an optimization profile; execute_async_v3 returns False (and logs) when an input shape
or a tensor address is missing or the stream is not a live stream; build_serialized_network returns None
and logs "out of memory" when the device cannot hold the build. TensorRT 10: legacy BuilderFlag.FP16/INT8/
BF16, int8_calibrator, device_memory_size, weak typing allowed (precision flags on a strongly typed network
are an error). TensorRT 11: none of those; every network is strongly typed. Enum values, class and method
names and parameter names are the real ones of each version (tests/conformance checks them against the
real bindings). Also enforced: ``IOptimizationProfile.set_shape`` raises on min > opt or opt > max (with the
real bindings' messages), and the single-logger rule -- TensorRT keeps the first logger given to a Builder
or Runtime for the whole process and ignores later ones (a second logger would never see an error), so a
different logger raises :class:`LoggerRuleViolation` here. One fake module is one process.

The "engine" is a header plus the ONNX bytes; executing it runs the ONNX with onnxruntime on the CPU over
the fake device memory, so outputs are real and parity can be checked. ``BuilderFlag.TF32`` is set in every
new builder config, as in TensorRT ("Enabled by default"): an engine built with it computes its fp32
convolutions and matrix products with TF32-rounded inputs (gpu_doubles/tf32.py) and misses the fp32 parity
bound unless the flag is cleared. Timing caches carry TensorRT's version and the device (compute capability
and name); ``combine`` and ``set_timing_cache`` follow the real docstrings' ``ignore_mismatch`` semantics.
"""

from __future__ import annotations

import ctypes
import enum
import json
import types
import weakref

import numpy as np

from gpu_doubles.gpu import FakeGpu
from gpu_doubles.tf32 import tf32_onnx

MAGIC = b"FAKETRT1"


class LoggerRuleViolation(AssertionError):
    """A second, different logger was given to a Builder or Runtime in the same (fake) process."""


class Severity(enum.IntEnum):
    INTERNAL_ERROR = 0
    ERROR = 1
    WARNING = 2
    INFO = 3
    VERBOSE = 4


class ILogger:
    Severity = Severity

    def __init__(self) -> None:
        self._initialised = True

    def log(self, severity, msg) -> None:  # pragma: no cover - overridden
        pass


class Logger(ILogger):
    def __init__(self, min_severity=Severity.WARNING) -> None:
        super().__init__()
        self.min_severity = min_severity


class TensorIOMode(enum.IntEnum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


class DataType(enum.IntEnum):
    FLOAT = 0
    HALF = 1
    INT8 = 2
    INT32 = 3
    BF16 = 7


_NP = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT8: np.int8, DataType.INT32: np.int32}
_ONNX_TYPES = {1: DataType.FLOAT, 10: DataType.HALF, 3: DataType.INT8, 6: DataType.INT32}


def nptype(trt_type):
    return _NP[DataType(int(trt_type))]


class MemoryPoolType(enum.IntEnum):
    WORKSPACE = 0
    DLA_MANAGED_SRAM = 1
    DLA_LOCAL_DRAM = 2
    DLA_GLOBAL_DRAM = 3
    TACTIC_DRAM = 4
    TACTIC_SHARED_MEMORY = 5


def make_tensorrt(version: str, gpu: FakeGpu) -> types.ModuleType:
    major = int(version.split(".")[0])
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.ILogger, trt.Logger, trt.TensorIOMode, trt.DataType = ILogger, Logger, TensorIOMode, DataType
    trt.MemoryPoolType, trt.nptype = MemoryPoolType, nptype
    if major == 10:  # 11 dropped EXPLICIT_BATCH and renumbered
        flags = {"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1, "PREFER_AOT_PYTHON_PLUGINS": 3,
                 "PREFER_JIT_PYTHON_PLUGINS": 2}
    else:
        flags = {"STRONGLY_TYPED": 0, "PREFER_AOT_PYTHON_PLUGINS": 2, "PREFER_JIT_PYTHON_PLUGINS": 1}
    trt.NetworkDefinitionCreationFlag = enum.IntEnum("NetworkDefinitionCreationFlag", flags)
    builder_flags = {"DEBUG": 2, "GPU_FALLBACK": 3, "REFIT": 4, "DISABLE_TIMING_CACHE": 5, "TF32": 6,
                     "SPARSE_WEIGHTS": 7, "EDITABLE_TIMING_CACHE": 27 if major == 10 else 26}
    precision_flags = {"FP16": 0, "INT8": 1, "BF16": 17, "FP8": 15, "OBEY_PRECISION_CONSTRAINTS": 9,
                       "PREFER_PRECISION_CONSTRAINTS": 10}
    if major == 10:
        builder_flags.update(precision_flags)
    trt.BuilderFlag = enum.IntEnum("BuilderFlag", builder_flags)
    precision_values = {v for k, v in precision_flags.items() if k in builder_flags}
    state = types.SimpleNamespace(builds=0, parsed=0, timing_hits=0, timing_misses=0, deserialized=0,
                                  rejected=[], configs=[], logger=None)
    trt._fake_state = state
    trt._fake_gpu = gpu

    def log(logger, severity, msg):
        (state.logger or logger).log(severity, msg)  # TensorRT logs to the process's one logger

    def adopt(logger, entry):
        """The single-logger rule: the first logger is the process's; a different one later is ignored by
        TensorRT (it logs "The logger passed into ... differs ..." to the first), so here it fails."""
        if state.logger is None:
            state.logger = logger
        elif logger is not state.logger:
            raise LoggerRuleViolation(
                f"The logger passed into {entry} differs from one already provided for an existing builder, "
                "runtime, or refitter. Uses of the global logger, returned by nvinfer1::getLogger(), will "
                "return the existing value. (TensorRT sends every message to the first logger: this one would "
                "never see an error.)")

    def need_gpu(logger):
        if gpu.driver is None or gpu.driver // 1000 < 13 or gpu.count == 0:  # cu13 build: CUDA 13 driver
            log(logger, Severity.WARNING, "CUDA initialization failure with error: 35. Please check your CUDA "
                                          "installation: http://docs.nvidia.com/cuda/cuda-installation-guide-linux/")
            raise TypeError("pybind11::init(): factory function returned nullptr")
        gpu.create_context()

    # -- network and parser -------------------------------------------------------------------------------
    class ITensor:
        def __init__(self, name, shape, dtype):
            self.name, self.shape, self.dtype = name, tuple(shape), dtype

    class INetworkDefinition:
        def __init__(self, builder, flags):
            self._builder = builder
            strong = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
            self.flags = flags | strong if major >= 11 else flags  # 11: every network is strongly typed
            self._strongly_typed = bool(self.flags & strong)
            self._inputs, self._outputs, self._onnx, self._ops = [], [], None, []

        def get_flag(self, flag):
            return bool(self.flags & (1 << int(flag)))

        num_inputs = property(lambda self: len(self._inputs))
        num_outputs = property(lambda self: len(self._outputs))

        def get_input(self, index):
            return self._inputs[index]

        def get_output(self, index):
            return self._outputs[index]

    class ParserError:
        def __init__(self, node, op, desc):
            self._node, self._op, self._desc = node, op, desc

        def node(self):
            return self._node

        def desc(self):
            return self._desc

        def __str__(self):
            return f"In node {self._node} ({self._op}): UNSUPPORTED_NODE: {self._desc}"

    class OnnxParser:
        #: ops the fake parser refuses (tests add to it to simulate an unsupported model)
        _unsupported: set = set()

        def __init__(self, network, logger):
            if not isinstance(network, INetworkDefinition):
                raise TypeError("OnnxParser(network, logger): network must be an INetworkDefinition")
            self._network, self._logger, self._errors = network, logger, []

        num_errors = property(lambda self: len(self._errors))

        def get_error(self, index):
            return self._errors[index]

        def clear_errors(self):
            self._errors = []

        def parse_from_file(self, model):
            with open(model, "rb") as handle:
                return self.parse(handle.read())

        def parse(self, model, path=None):
            import onnx

            data = model
            try:
                model = onnx.load_from_string(bytes(data))
            except Exception as exc:
                self._errors.append(ParserError(-1, "", f"Failed to parse ONNX model: {exc}"))
                return False
            for i, node in enumerate(model.graph.node):
                if node.op_type in OnnxParser._unsupported:
                    self._errors.append(ParserError(i, node.op_type, f"No importer registered for op: {node.op_type}"))
            if self._errors:
                return False
            inits = {t.name for t in model.graph.initializer}
            net = self._network
            for value, target in ((model.graph.input, net._inputs), (model.graph.output, net._outputs)):
                for v in value:
                    if v.name in inits:
                        continue
                    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in v.type.tensor_type.shape.dim]
                    target.append(ITensor(v.name, dims, _ONNX_TYPES[v.type.tensor_type.elem_type]))
            net._onnx = bytes(data)
            net._ops = [f"{n.op_type}:{n.name}" for n in model.graph.node]
            state.parsed += 1
            return True

    # -- builder config, profile, timing cache --------------------------------------------------------------
    class IOptimizationProfile:
        def __init__(self):
            self._shapes = {}

        def set_shape(self, input, min, opt, max):
            """Like the bindings: each of min, opt, max is checked against the ones before it, and the
            first inconsistent one raises RuntimeError (pybind11's translation of std::runtime_error)."""
            low, mid, high = (tuple(int(d) for d in shape) for shape in (min, opt, max))
            if any(d < 0 for d in low):
                raise RuntimeError("Shape provided for min is inconsistent with other shapes.")
            if len(mid) != len(low) or any(a > b for a, b in zip(low, mid)):
                raise RuntimeError("Shape provided for opt is inconsistent with other shapes.")
            if len(high) != len(mid) or any(a > b for a, b in zip(mid, high)):
                raise RuntimeError("Shape provided for max is inconsistent with other shapes.")
            self._shapes[input] = (low, mid, high)

        def get_shape(self, input):
            return list(self._shapes.get(input, ()))

    def device_tag():
        """The timing cache's verification header: TensorRT version and CUDA device properties."""
        return f"{version}|sm{gpu.major}{gpu.minor}|{gpu.name}"

    class ITimingCache:
        """Entries map a tactic key to the header of the device that timed it."""

        def __init__(self, entries, tag):
            self._entries, self._tag = dict(entries), tag

        def serialize(self):
            return memoryview(json.dumps({"tag": self._tag, "entries": self._entries}).encode())

        def combine(self, input_cache, ignore_mismatch):
            """The real docstring: another TensorRT version's cache is skipped (False); one "created from a
            different device" is combined only with ``ignore_mismatch`` True; conflicting entries are skipped."""
            if input_cache._tag.split("|")[0] != self._tag.split("|")[0]:
                return False
            if input_cache._tag != self._tag and not ignore_mismatch:
                return False
            for k, v in input_cache._entries.items():
                self._entries.setdefault(k, v)
            return True

        def reset(self):
            self._entries = {}
            return True

    class IBuilderConfig:
        def __init__(self):
            self._flags = {int(trt.BuilderFlag.TF32)}  # "Enabled by default" (10.16 and 11.4 docstrings)
            self._pools = {}
            self._profiles = []
            self.builder_optimization_level = 3
            self._cache = None
            state.configs.append(self)

        flags = property(lambda self: sum(1 << f for f in self._flags),  # the real bit mask
                         lambda self, mask: setattr(self, "_flags", {b for b in range(64) if mask >> b & 1}))

        def set_flag(self, flag):
            self._flags.add(int(flag))

        def clear_flag(self, flag):
            self._flags.discard(int(flag))

        def get_flag(self, flag):
            return int(flag) in self._flags

        def set_memory_pool_limit(self, pool, pool_size):
            self._pools[MemoryPoolType(int(pool))] = int(pool_size)

        def get_memory_pool_limit(self, pool):
            return self._pools.get(MemoryPoolType(int(pool)), gpu.total)

        def add_optimization_profile(self, profile):
            for name, (lo, opt, hi) in profile._shapes.items():
                if not (len(lo) == len(opt) == len(hi) and all(a <= b <= c for a, b, c in zip(lo, opt, hi))):
                    return -1
            self._profiles.append(profile)
            return len(self._profiles) - 1

        def create_timing_cache(self, serialized_timing_cache):
            tag = device_tag()
            if not serialized_timing_cache:
                return ITimingCache({}, tag)
            try:
                doc = json.loads(bytes(serialized_timing_cache))
            except ValueError:
                return None  # the real builder logs an error and returns no cache
            return ITimingCache(doc["entries"], doc["tag"])

        def set_timing_cache(self, cache, ignore_mismatch):
            if cache._tag != device_tag() and not ignore_mismatch:
                return False
            self._cache = cache
            return True

        def get_timing_cache(self):
            return self._cache

    if major == 10:
        IBuilderConfig.int8_calibrator = None  # removed in 11

    class Builder:
        def __init__(self, logger):
            if not isinstance(logger, ILogger) or not getattr(logger, "_initialised", False):
                raise TypeError("Builder(logger): logger must be an initialised tensorrt.ILogger")
            adopt(logger, "createInferBuilder")
            need_gpu(logger)
            self._logger = logger

        def create_network(self, flags=0):
            return INetworkDefinition(self, int(flags))

        def create_builder_config(self):
            return IBuilderConfig()

        def create_optimization_profile(self):
            return IOptimizationProfile()

        def build_serialized_network(self, network, config):
            error = lambda m: (log(self._logger, Severity.ERROR, m), None)[1]  # noqa: E731
            if network._onnx is None or not network._outputs:
                return error("4: Network must have at least one output")
            precision = {int(getattr(trt.BuilderFlag, n)) for n in ("FP16", "INT8", "BF16", "FP8")
                         if hasattr(trt.BuilderFlag, n)}
            if network._strongly_typed and config._flags & precision:
                return error("4: [network.cpp::validate] Error Code 4: API Usage Error (precision builder flags "
                             "are not allowed for a strongly typed network)")
            dynamic = [t for t in network._inputs if -1 in t.shape]
            if dynamic and not config._profiles:
                return error("4: Network has dynamic or shape inputs, but no optimization profile has been defined.")
            for t in dynamic:
                if any(t.name not in p._shapes for p in config._profiles):
                    return error(f"4: optimization profile is missing values for input {t.name}")
            max_batch = max([p._shapes[t.name][2][0] for p in config._profiles for t in dynamic] or [1])
            activation = 4 * (1 << 20) * max_batch
            workspace = config.get_memory_pool_limit(MemoryPoolType.WORKSPACE)
            needed = activation + min(workspace, 32 << 20) + len(network._onnx)
            if needed > gpu.free:
                log(self._logger, Severity.ERROR, "1: [defaultAllocator.cpp::allocate::31] Error Code 1: Cuda Runtime "
                                                  "(out of memory)")
                return error("2: [builder.cpp::buildSerializedNetwork::751] Error Code 2: Internal Error (Assertion "
                             "engine != nullptr failed. )")
            if config._cache is not None:
                for op in network._ops:
                    key = f"{op}|{max_batch}"
                    if key in config._cache._entries:
                        state.timing_hits += 1
                    else:
                        state.timing_misses += 1
                        config._cache._entries[key] = device_tag()
            state.builds += 1
            header = {"version": version, "cc": [gpu.major, gpu.minor], "strongly_typed": network._strongly_typed,
                      "flags": sorted(config._flags), "activation": activation,
                      "profiles": [{k: v for k, v in p._shapes.items()} for p in config._profiles],
                      "inputs": [[t.name, list(t.shape), int(t.dtype)] for t in network._inputs],
                      "outputs": [[t.name, list(t.shape), int(t.dtype)] for t in network._outputs]}
            head = json.dumps(header).encode()
            body = tf32_onnx(network._onnx) if int(trt.BuilderFlag.TF32) in config._flags else network._onnx
            return memoryview(MAGIC + len(head).to_bytes(4, "little") + head + body)

    # -- runtime, engine, execution context ---------------------------------------------------------------
    class ICudaEngine:
        def __init__(self, header, onnx_bytes, logger):
            self._h, self._onnx, self._logger = header, onnx_bytes, logger
            self._io = [(n, s, DataType(d), TensorIOMode.INPUT) for n, s, d in header["inputs"]]
            self._io += [(n, s, DataType(d), TensorIOMode.OUTPUT) for n, s, d in header["outputs"]]
            self._session = None

        num_io_tensors = property(lambda self: len(self._io))
        num_optimization_profiles = property(lambda self: len(self._h["profiles"]))
        device_memory_size_v2 = property(lambda self: self._h["activation"])
        streamable_weights_size = property(lambda self: len(self._onnx))

        def _find(self, name):
            for entry in self._io:
                if entry[0] == name:
                    return entry
            raise KeyError(name)

        def get_tensor_name(self, index):
            return self._io[index][0]

        def get_tensor_mode(self, name):
            try:
                return self._find(name)[3]
            except KeyError:
                return TensorIOMode.NONE

        def get_tensor_dtype(self, name):
            return self._find(name)[2]

        def get_tensor_shape(self, name):
            return tuple(self._find(name)[1])

        def get_tensor_profile_shape(self, name, profile_index):
            return self._h["profiles"][profile_index][name]

        def serialize(self):
            head = json.dumps(self._h).encode()
            return memoryview(MAGIC + len(head).to_bytes(4, "little") + head + self._onnx)

        def create_execution_context(self):
            if not gpu.reserve(self._h["activation"]):
                log(self._logger, Severity.ERROR, "1: Cuda Runtime (out of memory) allocating activation memory")
                return None
            return IExecutionContext(self)

        def _ort_session(self):
            if self._session is None:
                import onnxruntime as ort

                self._session = ort.InferenceSession(self._onnx, providers=["CPUExecutionProvider"])
            return self._session

    if major == 10:
        ICudaEngine.device_memory_size = property(lambda self: self._h["activation"])

    class IExecutionContext:
        def __init__(self, engine):
            self.engine, self._shapes, self._addresses = engine, {}, {}
            weakref.finalize(self, gpu.unreserve, engine._h["activation"])

        def _error(self, msg):
            log(self.engine._logger, Severity.ERROR, msg)
            return False

        def set_input_shape(self, name, shape):
            engine = self.engine
            if engine.get_tensor_mode(name) != TensorIOMode.INPUT:
                return self._error(f"3: setInputShape: {name} is not an input tensor")
            lo, _, hi = engine._h["profiles"][0].get(name, [engine.get_tensor_shape(name)] * 3)
            shape = tuple(int(d) for d in shape)
            if len(shape) != len(lo) or not all(a <= s <= b for a, s, b in zip(lo, shape, hi)):
                return self._error(f"3: setInputShape: shape {shape} of {name} is outside the profile [{lo}, {hi}]")
            self._shapes[name] = shape
            return True

        def get_tensor_shape(self, name):
            _, shape, _, mode = self.engine._find(name)
            if mode == TensorIOMode.INPUT:
                return self._shapes.get(name, tuple(shape))
            batch = next(iter(self._shapes.values()), (-1,))[0]
            return tuple(batch if d == -1 else d for d in shape)

        def set_tensor_address(self, name, memory):
            if self.engine.get_tensor_mode(name) == TensorIOMode.NONE:
                return self._error(f"3: setTensorAddress: no tensor named {name}")
            self._addresses[name] = int(memory)
            return True

        def execute_async_v3(self, stream_handle):
            stream = gpu.streams.get(int(stream_handle))
            if stream is None:
                return self._error("1: [executionContext] invalid stream handle (not a live cudaStream_t)")
            engine = self.engine
            for name, shape, dtype, mode in engine._io:
                if mode == TensorIOMode.INPUT and name not in self._shapes:
                    return self._error(f"3: [executionContext.cpp::enqueueV3] input shape of {name} not specified")
            arrays = {}
            for name, shape, dtype, mode in engine._io:
                dims = self.get_tensor_shape(name)
                size = int(np.prod(dims)) * np.dtype(_NP[dtype]).itemsize
                address = self._addresses.get(name)
                if address is None or not gpu.region(address, size, True):
                    return self._error(f"3: [executionContext.cpp::enqueueV3] address of {name} not set or not "
                                       f"device memory of {size} bytes")
                arrays[name] = (address, dims, _NP[dtype], size, mode)
            gpu.log.append("execute")

            def op():
                feeds = {}
                for name, (address, dims, np_type, size, mode) in arrays.items():
                    if mode == TensorIOMode.INPUT:
                        raw = (ctypes.c_byte * size).from_address(address)
                        feeds[name] = np.frombuffer(raw, dtype=np_type).reshape(dims).copy()
                outs = engine._ort_session().run(None, feeds)
                names = [o.name for o in engine._ort_session().get_outputs()]
                for name, value in zip(names, outs):
                    address, dims, np_type, size, _ = arrays[name]
                    data = np.ascontiguousarray(value, dtype=np_type).tobytes()
                    ctypes.memmove(address, data, min(size, len(data)))
                return gpu.kernel_ms
            stream.submit(op)
            return True

    class Runtime:
        def __init__(self, logger):
            if not isinstance(logger, ILogger):
                raise TypeError("Runtime(logger): logger must be a tensorrt.ILogger")
            adopt(logger, "createInferRuntime")
            need_gpu(logger)
            self._logger = logger

        def deserialize_cuda_engine(self, serialized_engine):
            data = bytes(serialized_engine)
            error = lambda m: (log(self._logger, Severity.ERROR, m), state.rejected.append(m), None)[2]  # noqa: E731
            if not data.startswith(MAGIC):
                return error("1: [stdArchiveReader.cpp] Error Code 1: Serialization (Serialization assertion "
                             "magicTagRead == kMAGIC_TAG failed.Magic tag does not match)")
            size = int.from_bytes(data[8:12], "little")
            try:
                header = json.loads(data[12:12 + size])
            except ValueError:
                return error("1: Serialization (engine header is corrupt)")
            if header["version"] != version:
                return error("1: Serialization (Serialization assertion stdVersionRead == kSERIALIZATION_VERSION "
                             f"failed.Version tag does not match. Note: Current Version: {version}, Serialized "
                             f"Engine Version: {header['version']})")
            if header["cc"] != [gpu.major, gpu.minor]:
                return error("1: Serialization (engine plan built for a different compute capability)")
            state.deserialized += 1
            return ICudaEngine(header, data[12 + size:], self._logger)

    trt.Builder, trt.Runtime, trt.OnnxParser, trt.ICudaEngine = Builder, Runtime, OnnxParser, ICudaEngine
    trt.IExecutionContext, trt.IBuilderConfig, trt.ITimingCache = IExecutionContext, IBuilderConfig, ITimingCache
    trt.INetworkDefinition, trt.IOptimizationProfile, trt.ITensor = INetworkDefinition, IOptimizationProfile, ITensor
    trt.ParserError = ParserError
    OnnxParser._unsupported = set()
    trt._precision_flag_values = precision_values
    return trt
