"""A fake ``onnxruntime`` (the onnxruntime-gpu build's Python surface) over the real CPU onnxruntime.

Enforces: an unavailable provider is warned about and the session falls back to the CPU (what ORT does
since 1.10); a provider listed as available whose library fails to load (``unloadable``: the GPU wheel
lists CUDA and TensorRT wherever it is installed, and loads libonnxruntime_providers_*.so only when a
session asks) is dropped as onnxruntime-gpu 1.31 does -- CUDA with an error logged to stderr and no Python
warning, TensorRT by an exception the Python layer prints as "EP Error" before retrying with CUDA + CPU
(CUDA only if it was asked for), without the provider options; 'cuda' OrtValues need the CUDA provider; a
binding must bind every input and output before ``run_with_iobinding``; provider options must be known to
the provider (option names are the real build's: tests/conformance reads them from onnxruntime-gpu's
libraries). Records what was asked so tests can check provider options.

With a ``loader`` (gpu_doubles/loader.py), whether a provider's library loads is the loader's answer for every
library it needs (``PROVIDER_NEEDS``: the real 1.31.1 libraries' DT_NEEDED entries, compared by
tests/conformance), and ``preload_dlls()`` loads the CUDA and cuDNN wheels' libraries as the real one does.
TF32 as in the real providers: the CUDA provider computes fp32 convolutions and matrix products in TF32
unless ``use_tf32`` is 0 (its default is 1), the TensorRT provider always (TensorRT's builder default; it has
no option), so an fp32 session that forgets ``use_tf32=0`` misses the fp32 parity bound here too."""

from __future__ import annotations

import sys
import types
import warnings

import numpy as np

from gpu_doubles.tf32 import tf32_onnx

KNOWN_OPTIONS = {
    "CUDAExecutionProvider": {"device_id", "cudnn_conv_algo_search", "enable_cuda_graph", "prefer_nhwc",
                              "gpu_mem_limit", "arena_extend_strategy", "do_copy_in_default_stream", "use_tf32"},
    "TensorrtExecutionProvider": {"device_id", "trt_fp16_enable", "trt_int8_enable", "trt_engine_cache_enable",
                                  "trt_engine_cache_path", "trt_timing_cache_enable", "trt_timing_cache_path",
                                  "trt_cuda_graph_enable", "trt_builder_optimization_level",
                                  "trt_max_workspace_size", "trt_profile_min_shapes", "trt_profile_opt_shapes",
                                  "trt_profile_max_shapes"},
}


CUDA, TRT, CPU = "CUDAExecutionProvider", "TensorrtExecutionProvider", "CPUExecutionProvider"
#: what onnxruntime-gpu 1.31.1 says when a provider library does not load (tests/conformance compares)
TRT_LOAD_ERROR = ("Please install TensorRT libraries as mentioned in the GPU requirements page, make sure they're in "
                  "the PATH or LD_LIBRARY_PATH, and that your GPU is supported.")
CUDA_LOAD_ERROR = ("Failed to create CUDAExecutionProvider. Require cuDNN 9.* and CUDA 13.*. Please install all "
                   "dependencies as mentioned in the GPU requirements page "
                   "(https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html#requirements), make "
                   "sure they're in the PATH, and that your GPU is supported.")


#: the NVIDIA libraries each provider library of onnxruntime-gpu 1.31.1 links (DT_NEEDED; tests/conformance)
PROVIDER_NEEDS = {
    CUDA: ("libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudart.so.13", "libcuda.so.1"),
    TRT: ("libcublas.so.13", "libnvinfer.so.10", "libnvonnxparser.so.10", "libcudart.so.13", "libcudnn.so.9"),
}


def _off(value) -> bool:
    return str(value).strip().lower() in ("0", "false")


def make_onnxruntime(available: list[str], version: str = "1.31.1", unloadable: frozenset[str] = frozenset(),
                     loader=None) -> types.ModuleType:
    """``available``: what get_available_providers lists; ``unloadable``: those of them whose library fails
    to load when a session asks for them; ``loader``: a FakeLoader deciding that instead (None: all load)."""
    import onnxruntime as real

    m = types.ModuleType("onnxruntime")
    m.__version__ = version
    m.SessionOptions, m.GraphOptimizationLevel, m.ExecutionMode = real.SessionOptions, real.GraphOptimizationLevel, real.ExecutionMode
    m.get_available_providers = lambda: list(available)
    state = types.SimpleNamespace(sessions=[], runs=0, uploads=0, downloads=0, preloads=0)
    m._fake_state = state

    def preload_dlls(cuda=True, cudnn=True, msvc=True, directory=None):
        """The CUDA and cuDNN wheels' libraries by full path; prints what fails, as the real one does."""
        state.preloads += 1
        if loader is None:
            return
        for package, wanted in (("cuda", cuda), ("cudnn", cudnn)):
            if wanted and not loader.load_wheel(package) and package == "cuda":
                print("Failed to load libcublasLt.so.13: libcublasLt.so.13: cannot open shared object file")

    m.preload_dlls = preload_dlls

    def fails_to_load(name):
        if name in unloadable:
            return True
        return loader is not None and not all(loader.loadable(lib) for lib in PROVIDER_NEEDS.get(name, ()))

    class OrtValue:
        def __init__(self, ortvalue, numpy_obj=None, session=None):
            """The real one wraps a C OrtValue; here ``ortvalue`` is an (array, device) pair."""
            self._array, self._device = ortvalue

        @staticmethod
        def ortvalue_from_numpy(numpy_obj, device_type="cpu", device_id=0):
            if device_type == "cuda" and CUDA not in available:
                raise RuntimeError("ortvalue_from_numpy: this onnxruntime build has no CUDA device")
            state.uploads += device_type == "cuda"
            return OrtValue((np.array(numpy_obj), device_type))

        @staticmethod
        def ortvalue_from_shape_and_type(shape, element_type, device_type="cpu", device_id=0):
            return OrtValue((np.zeros(shape, dtype=element_type), device_type))

        def update_inplace(self, data):
            if data.shape != self._array.shape:
                raise RuntimeError("update_inplace: shape differs")
            state.uploads += 1
            self._array[...] = data

        def device_name(self):
            return self._device

        def numpy(self):
            return self._array.copy()

    class IOBinding:
        def __init__(self, session):
            self._session, self._inputs, self._outputs, self._output_devices = session, {}, {}, {}

        def bind_ortvalue_input(self, name, ortvalue):
            self._inputs[name] = ortvalue

        def bind_cpu_input(self, name, arr_on_cpu):
            self._inputs[name] = OrtValue((np.array(arr_on_cpu), "cpu"))

        def bind_ortvalue_output(self, name, ortvalue):
            self._outputs[name] = ortvalue

        def bind_output(self, name, device_type="cpu", device_id=0):
            self._output_devices[name] = device_type

        def synchronize_outputs(self):
            pass

        def copy_outputs_to_cpu(self):
            state.downloads += 1
            return [self._outputs[o.name].numpy() for o in self._session._real.get_outputs()]

    def computes_tf32(provider, options):
        """TensorRT: always (its builder's default, no provider option); CUDA: unless use_tf32 is 0."""
        return provider == TRT or (provider == CUDA and not _off(options.get("use_tf32", "1")))

    def requested(providers, name):
        return any((p if isinstance(p, str) else p[0]) == name for p in providers)

    class InferenceSession:
        def __init__(self, path_or_bytes, sess_options=None, providers=None, provider_options=None, **kwargs):
            if providers is None:
                raise ValueError("This ORT build has ['CUDAExecutionProvider', ...] enabled. Since ORT 1.9, you are "
                                 "required to explicitly set the providers parameter")
            self._requested = providers
            try:
                self._providers, options = self._create(providers)
            except RuntimeError as exc:  # onnxruntime's Python layer: print, then retry once without options
                both = requested(providers, TRT) and requested(providers, CUDA)
                fallback = [CUDA, CPU] if TRT in available and both else [CPU]
                print("*************** EP Error ***************")
                print(f"EP Error {exc} when using {providers}")
                print(f"Falling back to {fallback} and retrying.")
                print("****************************************")
                self._providers, options = self._create(fallback)
            self._tf32 = computes_tf32(self._providers[0], options.get(self._providers[0], {}))
            model = path_or_bytes
            if self._tf32:
                model = tf32_onnx(open(model, "rb").read() if isinstance(model, str) else model)
            self._real = real.InferenceSession(model, providers=[CPU])
            state.sessions.append(self)

        @staticmethod
        def _create(providers):
            """(providers the session uses, {provider: its options})."""
            used, options = [], {}
            for entry in providers:
                name, opts = (entry, {}) if isinstance(entry, str) else entry
                if name not in available:
                    warnings.warn(f"Specified provider '{name}' is not in available provider names."
                                  f"Available providers: '{', '.join(available)}'")
                    continue
                if name == TRT and fails_to_load(name):
                    raise RuntimeError(TRT_LOAD_ERROR)
                if fails_to_load(name):  # logged by onnxruntime's C++ logger, not a Python warning
                    print(f"[E:onnxruntime:Default, provider_bridge_ort.cc] Failed to load library "
                          f"libonnxruntime_providers_{name[:-len('ExecutionProvider')].lower()}.so", file=sys.stderr)
                    print(f"[W:onnxruntime:Default, onnxruntime_pybind_state.cc] {CUDA_LOAD_ERROR}", file=sys.stderr)
                    continue
                unknown = set(opts) - KNOWN_OPTIONS.get(name, set(opts))
                if unknown:
                    raise RuntimeError(f"[ONNXRuntimeError] : 1 : FAIL : Unknown provider option: {sorted(unknown)}")
                used.append(name)
                options[name] = opts
            return (used + [CPU] if CPU not in used else used), options

        def get_providers(self):
            return list(self._providers)

        def get_inputs(self):
            return self._real.get_inputs()

        def get_outputs(self):
            return self._real.get_outputs()

        def io_binding(self):
            return IOBinding(self)

        def run_with_iobinding(self, iobinding, run_options=None):
            binding = iobinding
            missing = [i.name for i in self._real.get_inputs() if i.name not in binding._inputs]
            missing += [o.name for o in self._real.get_outputs()
                        if o.name not in binding._outputs and o.name not in binding._output_devices]
            if missing:
                raise RuntimeError(f"run_with_iobinding: not bound: {missing}")
            outs = self._real.run(None, {k: v._array for k, v in binding._inputs.items()})
            for o, value in zip(self._real.get_outputs(), outs):
                if o.name in binding._outputs:
                    binding._outputs[o.name]._array[...] = value
                else:
                    binding._outputs[o.name] = OrtValue((value, binding._output_devices[o.name]))
            state.runs += 1

    m.OrtValue, m.InferenceSession, m.IOBinding = OrtValue, InferenceSession, IOBinding
    return m
