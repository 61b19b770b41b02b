"""A fake ``onnxruntime`` (the onnxruntime-gpu build's Python surface) over the real CPU onnxruntime.

Enforces: an unavailable provider is warned about and the session falls back to the CPU (what ORT does
since 1.10), 'cuda' OrtValues need the CUDA provider, a binding must bind every input and output before
``run_with_iobinding``, provider options must be known to the provider. Records what was asked so tests
can check provider options."""

from __future__ import annotations

import types
import warnings

import numpy as np

KNOWN_OPTIONS = {
    "CUDAExecutionProvider": {"device_id", "cudnn_conv_algo_search", "enable_cuda_graph", "prefer_nhwc",
                              "gpu_mem_limit", "arena_extend_strategy", "do_copy_in_default_stream", "use_tf32"},
    "TensorrtExecutionProvider": {"device_id", "trt_fp16_enable", "trt_int8_enable", "trt_engine_cache_enable",
                                  "trt_engine_cache_path", "trt_timing_cache_enable", "trt_timing_cache_path",
                                  "trt_cuda_graph_enable", "trt_builder_optimization_level",
                                  "trt_max_workspace_size", "trt_profile_min_shapes", "trt_profile_opt_shapes",
                                  "trt_profile_max_shapes"},
}


def make_onnxruntime(available: list[str], version: str = "1.31.1") -> types.ModuleType:
    import onnxruntime as real

    m = types.ModuleType("onnxruntime")
    m.__version__ = version
    m.SessionOptions, m.GraphOptimizationLevel, m.ExecutionMode = real.SessionOptions, real.GraphOptimizationLevel, real.ExecutionMode
    m.get_available_providers = lambda: list(available)
    state = types.SimpleNamespace(sessions=[], runs=0, uploads=0, downloads=0)
    m._fake_state = state

    class OrtValue:
        def __init__(self, array, device):
            self._array, self._device = array, device

        @staticmethod
        def ortvalue_from_numpy(array, device_type="cpu", device_id=0):
            if device_type == "cuda" and "CUDAExecutionProvider" not in available:
                raise RuntimeError("ortvalue_from_numpy: this onnxruntime build has no CUDA device")
            state.uploads += device_type == "cuda"
            return OrtValue(np.array(array), device_type)

        @staticmethod
        def ortvalue_from_shape_and_type(shape, element_type, device_type="cpu", device_id=0):
            return OrtValue(np.zeros(shape, dtype=element_type), device_type)

        def update_inplace(self, array):
            if array.shape != self._array.shape:
                raise RuntimeError("update_inplace: shape differs")
            state.uploads += 1
            self._array[...] = array

        def device_name(self):
            return self._device

        def numpy(self):
            return self._array.copy()

    class IOBinding:
        def __init__(self, session):
            self._session, self.inputs, self.outputs, self.output_devices = session, {}, {}, {}

        def bind_ortvalue_input(self, name, value):
            self.inputs[name] = value

        def bind_cpu_input(self, name, array):
            self.inputs[name] = OrtValue(np.array(array), "cpu")

        def bind_ortvalue_output(self, name, value):
            self.outputs[name] = value

        def bind_output(self, name, device_type="cpu", device_id=0):
            self.output_devices[name] = device_type

        def synchronize_outputs(self):
            pass

        def copy_outputs_to_cpu(self):
            state.downloads += 1
            return [self.outputs[o.name].numpy() for o in self._session._real.get_outputs()]

    class InferenceSession:
        def __init__(self, path, sess_options=None, providers=None, provider_options=None):
            if providers is None:
                raise ValueError("This ORT build has ['CUDAExecutionProvider', ...] enabled. Since ORT 1.9, you are "
                                 "required to explicitly set the providers parameter")
            self.requested = providers
            used = []
            for entry in providers:
                name, opts = (entry, {}) if isinstance(entry, str) else entry
                unknown = set(opts) - KNOWN_OPTIONS.get(name, set(opts))
                if unknown:
                    raise RuntimeError(f"[ONNXRuntimeError] : 1 : FAIL : Unknown provider option: {sorted(unknown)}")
                if name in available:
                    used.append(name)
                else:
                    warnings.warn(f"Specified provider '{name}' is not in available provider names."
                                  f"Available providers: '{', '.join(available)}'")
            self._providers = used + ["CPUExecutionProvider"] if "CPUExecutionProvider" not in used else used
            self._real = real.InferenceSession(path, providers=["CPUExecutionProvider"])
            state.sessions.append(self)

        def get_providers(self):
            return list(self._providers)

        def get_inputs(self):
            return self._real.get_inputs()

        def get_outputs(self):
            return self._real.get_outputs()

        def io_binding(self):
            return IOBinding(self)

        def run_with_iobinding(self, binding):
            missing = [i.name for i in self._real.get_inputs() if i.name not in binding.inputs]
            missing += [o.name for o in self._real.get_outputs()
                        if o.name not in binding.outputs and o.name not in binding.output_devices]
            if missing:
                raise RuntimeError(f"run_with_iobinding: not bound: {missing}")
            outs = self._real.run(None, {k: v._array for k, v in binding.inputs.items()})
            for o, value in zip(self._real.get_outputs(), outs):
                if o.name in binding.outputs:
                    binding.outputs[o.name]._array[...] = value
                else:
                    binding.outputs[o.name] = OrtValue(value, binding.output_devices[o.name])
            state.runs += 1

    m.OrtValue, m.InferenceSession = OrtValue, InferenceSession
    return m
