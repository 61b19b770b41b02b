"""onnxruntime on NVIDIA GPUs: "onnxruntime-cuda" (CUDAExecutionProvider) and "onnxruntime-trt"
(TensorrtExecutionProvider, falling back to CUDA for nodes TensorRT does not take).

IO binding with device-resident input and output (OrtValues on 'cuda'), so with ``copies=out`` the timed
``infer`` is one ``run_with_iobinding`` plus an output synchronisation; ``copies=in`` adds the host->device
input update and the device->host output copy. The TensorRT EP's engine and timing caches live in
``models/<network>/ort-trt-cache``. Needs onnxruntime-gpu, never installed beside onnxruntime (they
overwrite each other: ``benchbed[gpu]`` vs ``benchbed[cpu]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchbed.backends import register
from benchbed.backends.base import BackendOptions, TimingSemantics, check_extra, option_flag, option_int
from benchbed.backends.onnx_inputs import dynamic_batch_input
from benchbed.core.versions import package_version

CUDA_EP, TRT_EP = "CUDAExecutionProvider", "TensorrtExecutionProvider"
CONV_SEARCH = ("EXHAUSTIVE", "HEURISTIC", "DEFAULT")


def _cuda_options(extra: dict) -> dict:
    search = str(extra.get("cudnn_conv_algo_search", "EXHAUSTIVE")).upper()
    if search not in CONV_SEARCH:
        raise ValueError(f"onnxruntime-cuda: cudnn_conv_algo_search must be one of {', '.join(CONV_SEARCH)}")
    return {"device_id": "0", "cudnn_conv_algo_search": search,
            "enable_cuda_graph": "1" if option_flag("onnxruntime-cuda", "cuda_graph", extra.get("cuda_graph", "off")) else "0",
            "prefer_nhwc": "1" if option_flag("onnxruntime-cuda", "prefer_nhwc", extra.get("prefer_nhwc", "off")) else "0"}


def _trt_options(extra: dict, artifact: Path, input_shape: tuple[str, list[int]] | None) -> dict:
    cache = artifact.parent / "ort-trt-cache"
    options: dict[str, Any] = {
        "device_id": 0,
        "trt_fp16_enable": option_flag("onnxruntime-trt", "fp16", extra.get("fp16", "off")),
        "trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache),
        "trt_timing_cache_enable": True, "trt_timing_cache_path": str(cache),
        "trt_cuda_graph_enable": option_flag("onnxruntime-trt", "cuda_graph", extra.get("cuda_graph", "off")),
        "trt_builder_optimization_level": option_int("onnxruntime-trt", "opt_level", extra.get("opt_level", 3), 0, 5),
        "trt_max_workspace_size": option_int("onnxruntime-trt", "workspace_mib", extra.get("workspace_mib", 2048), 1) << 20}
    if input_shape is not None:  # the dynamic batch axis: one profile 1..max_batch, like the native backend
        name, dims = input_shape
        top = option_int("onnxruntime-trt", "max_batch", extra.get("max_batch", 1), 1)
        opt = min(option_int("onnxruntime-trt", "opt_batch", extra.get("opt_batch", top), 1), top)
        rest = "x".join(str(d) for d in dims[1:])
        options["trt_profile_min_shapes"] = f"{name}:1x{rest}"
        options["trt_profile_opt_shapes"] = f"{name}:{opt}x{rest}"
        options["trt_profile_max_shapes"] = f"{name}:{top}x{rest}"
    return options


#: name -> (primary provider, backend options it takes)
KINDS = {
    "onnxruntime-cuda": (CUDA_EP, {"cuda_graph", "copies", "cudnn_conv_algo_search", "prefer_nhwc"}),
    "onnxruntime-trt": (TRT_EP, {"cuda_graph", "copies", "fp16", "opt_level", "workspace_mib", "max_batch",
                                 "opt_batch"}),
}


class OrtGpuRunner:
    def __init__(self, name: str, artifact: Path, options: BackendOptions) -> None:
        provider, allowed = KINDS[name]
        extra = check_extra(name, options.extra, allowed)
        copies = str(extra.get("copies", "out")).lower()
        if copies not in ("in", "out"):
            raise ValueError(f"{name}: copies must be in or out (of the timed region), got {copies!r}")
        self.name, self.artifact, self.provider = name, Path(artifact), provider
        self.copies_included = copies == "in"
        cuda = _cuda_options(extra if provider == CUDA_EP else {"cuda_graph": "off"})
        if provider == TRT_EP:
            self.providers = [(TRT_EP, _trt_options(extra, self.artifact, dynamic_batch_input(self.artifact))),
                              (CUDA_EP, cuda)]
        else:
            self.providers = [(CUDA_EP, cuda)]
        graph = option_flag(self.name, "cuda_graph", extra.get("cuda_graph", "off"))
        self.semantics = TimingSemantics(
            clock="host", copies_included=self.copies_included, device="cuda:0",
            notes=(f"IO binding with device-resident OrtValues; wall clock around run_with_iobinding and output "
                   f"synchronisation; CUDA graph {'on' if graph else 'off'}; host<->device copies "
                   f"{'inside' if self.copies_included else 'outside'} the timed region"))
        self.details = {"providers": [p for p, _ in self.providers],
                        "provider_options": {p: dict(o) for p, o in self.providers},
                        "cuda_graph": graph, "copies_included": self.copies_included,
                        "compute_precision": "fp16" if provider == TRT_EP and self.providers[0][1]["trt_fp16_enable"]
                        else "fp32",
                        "onnxruntime": package_version("onnxruntime-gpu") or package_version("onnxruntime")}
        self._session = None

    def activate(self) -> None:
        import onnxruntime as ort

        if self.provider == TRT_EP:
            Path(self.providers[0][1]["trt_engine_cache_path"]).mkdir(parents=True, exist_ok=True)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(self.artifact), so, providers=self.providers)
        used = self._session.get_providers()
        self.details["session_providers"] = list(used)
        if self.provider not in used:  # onnxruntime warns and falls back to the CPU: never measure that as GPU
            raise RuntimeError(f"{self.name}: onnxruntime did not enable {self.provider} (session uses "
                               f"{', '.join(used)}); check the CUDA/cuDNN/TensorRT libraries")
        inp = self._session.get_inputs()[0]
        self._input_name, self._output = inp.name, self._session.get_outputs()[0]
        self._dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
        self._ort = ort

    def set_input(self, batch: np.ndarray) -> None:
        ort = self._ort
        self._host = np.ascontiguousarray(batch.astype(self._dtype, copy=False))
        self._x = ort.OrtValue.ortvalue_from_numpy(self._host, "cuda", 0)
        self._binding = self._session.io_binding()
        self._binding.bind_ortvalue_input(self._input_name, self._x)
        shape = [batch.shape[0] if not isinstance(d, int) else d for d in self._output.shape]
        out_type = np.float16 if self._output.type == "tensor(float16)" else np.float32
        if all(isinstance(d, int) and d > 0 for d in shape):  # a fixed output address (CUDA graphs need one)
            self._y = ort.OrtValue.ortvalue_from_shape_and_type(shape, out_type, "cuda", 0)
            self._binding.bind_ortvalue_output(self._output.name, self._y)
        else:
            self._binding.bind_output(self._output.name, "cuda")
        self._session.run_with_iobinding(self._binding)  # a CUDA graph is captured on the first run, untimed

    def infer(self) -> None:
        if self.copies_included:
            self._x.update_inplace(self._host)
        self._session.run_with_iobinding(self._binding)
        if self.copies_included:
            self._binding.copy_outputs_to_cpu()
        else:
            self._binding.synchronize_outputs()

    def outputs(self) -> np.ndarray | None:
        return np.asarray(self._binding.copy_outputs_to_cpu()[0], dtype=np.float32)

    def deactivate(self) -> None:
        self._binding = self._x = self._y = None
        self._session = None

    def device_memory(self) -> dict | None:
        return None  # onnxruntime exposes no per-session figure; the NVML tracker records device memory used


def _probe(name: str) -> tuple[bool, str]:
    provider = KINDS[name][0]
    try:
        import onnxruntime as ort
    except ImportError:
        return False, "onnxruntime-gpu is not installed (pip install 'benchbed[gpu]')"
    if package_version("onnxruntime") and package_version("onnxruntime-gpu"):
        return False, ("both onnxruntime and onnxruntime-gpu are installed and overwrite each other: "
                       "pip uninstall onnxruntime onnxruntime-gpu, then install one extra")
    if provider not in ort.get_available_providers():
        return False, (f"{provider} missing from this onnxruntime build "
                       f"({'onnxruntime-gpu' if package_version('onnxruntime-gpu') else 'onnxruntime (CPU)'} "
                       f"{ort.__version__}); pip install 'benchbed[gpu]'")
    from benchbed.backends.gpu_presence import gpu_present

    present, why = gpu_present()
    if not present:
        return False, why
    if provider == TRT_EP and not _tensorrt_libraries():
        return False, "TensorrtExecutionProvider needs the TensorRT 10 libraries (libnvinfer.so.10): pip install 'benchbed[tensorrt]'"
    return True, f"onnxruntime-gpu {ort.__version__} with {provider}, {why}"


def _tensorrt_libraries() -> bool:
    import ctypes.util
    import importlib.util

    return importlib.util.find_spec("tensorrt_libs") is not None or ctypes.util.find_library("nvinfer") is not None


def _backend(name: str, text: str):
    class OrtGpuBackend:
        description = text
        computes = True

        def probe(self) -> tuple[bool, str]:
            return _probe(name)

        def option_keys(self) -> frozenset[str]:
            return frozenset(KINDS[name][1])

        def prepare(self, artifact: Path, options: BackendOptions) -> OrtGpuRunner:
            return OrtGpuRunner(name, artifact, options)

    OrtGpuBackend.name = name
    OrtGpuBackend.takes_max_batch = name == "onnxruntime-trt"  # its TensorRT profile covers the sweep's batches
    return register(name)(OrtGpuBackend)


OrtCudaBackend = _backend("onnxruntime-cuda", "onnxruntime-gpu, CUDAExecutionProvider, IO binding on the device")
OrtTrtBackend = _backend("onnxruntime-trt", "onnxruntime-gpu, TensorrtExecutionProvider (+CUDA fallback), IO binding")
