"""onnxruntime on NVIDIA GPUs: "onnxruntime-cuda" (CUDAExecutionProvider) and "onnxruntime-trt"
(TensorrtExecutionProvider, falling back to CUDA for nodes TensorRT does not take).

IO binding with device-resident input and output (OrtValues on 'cuda'), so with ``copies=out`` the timed
``infer`` is one ``run_with_iobinding`` plus an output synchronisation; ``copies=in`` adds the host->device
input update and the device->host output copy. The TensorRT EP's engine and timing caches live in
``models/<network>/ort-trt-cache``. Needs onnxruntime-gpu, never installed beside onnxruntime (they
overwrite each other: ``benchbed[gpu]`` vs ``benchbed[cpu]``).

fp32 is fp32: the CUDA provider's ``use_tf32`` (on by default) is passed as 0 unless ``tf32=on``. The TensorRT
provider has no TF32 option (none among onnxruntime-gpu 1.31.1's trt_* option names), so TensorRT's own
default decides -- ``BuilderFlag.TF32``, on -- and an ``onnxruntime-trt`` cell records compute precision
"tf32" and is judged by the tf32 bound, with its reason, instead of failing the fp32 bound it cannot meet.
The provider's libraries are loaded the supported way before a session is made (gpu_libraries).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np

from benchbed.backends import register
from benchbed.backends.base import (BackendBase, BackendOptions, Capabilities, TimingSemantics, check_extra,
                                    option_choice, option_copies, option_flag, option_int)
from benchbed.backends.onnx_inputs import dynamic_batch_input
from benchbed.core.versions import package_version

CUDA_EP, TRT_EP = "CUDAExecutionProvider", "TensorrtExecutionProvider"
CONV_SEARCH = ("EXHAUSTIVE", "HEURISTIC", "DEFAULT")


@dataclass(frozen=True)
class OrtCudaConfig:
    """onnxruntime-cuda: ``cuda_graph`` (the CUDA EP's graph capture), ``copies`` in/out of the timed region,
    ``cudnn_conv_algo_search`` (EXHAUSTIVE, HEURISTIC or DEFAULT), ``prefer_nhwc``, ``tf32`` (the provider's
    ``use_tf32``, on by default in onnxruntime; off here unless asked, so fp32 cells compute in fp32)."""

    KEYS: ClassVar[frozenset[str]] = frozenset({"cuda_graph", "copies", "cudnn_conv_algo_search", "prefer_nhwc",
                                                "tf32"})

    cuda_graph: bool = False
    copies_included: bool = False
    cudnn_conv_algo_search: str = "EXHAUSTIVE"
    prefer_nhwc: bool = False
    tf32: bool = False

    @classmethod
    def from_extra(cls, extra: Mapping[str, object]) -> "OrtCudaConfig":
        name = "onnxruntime-cuda"
        extra = check_extra(name, extra, cls.KEYS)
        search = option_choice(name, "cudnn_conv_algo_search", extra.get("cudnn_conv_algo_search", "EXHAUSTIVE"),
                               CONV_SEARCH)
        return cls(cuda_graph=option_flag(name, "cuda_graph", extra.get("cuda_graph", "off")),
                   copies_included=option_copies(name, extra.get("copies", "out")),
                   cudnn_conv_algo_search=search,
                   prefer_nhwc=option_flag(name, "prefer_nhwc", extra.get("prefer_nhwc", "off")),
                   tf32=option_flag(name, "tf32", extra.get("tf32", "off")))

    def provider_options(self) -> dict:
        """CUDAExecutionProvider's options (strings, as onnxruntime takes them); ``use_tf32`` always explicit."""
        return {"device_id": "0", "cudnn_conv_algo_search": self.cudnn_conv_algo_search,
                "enable_cuda_graph": "1" if self.cuda_graph else "0", "prefer_nhwc": "1" if self.prefer_nhwc else "0",
                "use_tf32": "1" if self.tf32 else "0"}

    def compute(self) -> tuple[str, str]:
        """(compute precision of fp32 layers, how it is set)."""
        return ("tf32" if self.tf32 else "fp32"), f"use_tf32={int(self.tf32)}"


@dataclass(frozen=True)
class OrtTrtConfig:
    """onnxruntime-trt: ``cuda_graph``, ``copies``, ``fp16`` (trt_fp16_enable), ``opt_level`` 0-5, ``workspace_mib``,
    and the dynamic batch axis' profile: ``max_batch`` and ``opt_batch`` (<= max_batch; None: max_batch)."""

    KEYS: ClassVar[frozenset[str]] = frozenset({"cuda_graph", "copies", "fp16", "opt_level", "workspace_mib",
                                                "max_batch", "opt_batch"})

    cuda_graph: bool = False
    copies_included: bool = False
    fp16: bool = False
    opt_level: int = 3
    workspace_mib: int = 2048
    max_batch: int = 1
    opt_batch: int | None = None

    @classmethod
    def from_extra(cls, extra: Mapping[str, object]) -> "OrtTrtConfig":
        name = "onnxruntime-trt"
        extra = check_extra(name, extra, cls.KEYS)
        top = option_int(name, "max_batch", extra.get("max_batch", 1), 1)
        return cls(cuda_graph=option_flag(name, "cuda_graph", extra.get("cuda_graph", "off")),
                   copies_included=option_copies(name, extra.get("copies", "out")),
                   fp16=option_flag(name, "fp16", extra.get("fp16", "off")),
                   opt_level=option_int(name, "opt_level", extra.get("opt_level", 3), 0, 5),
                   workspace_mib=option_int(name, "workspace_mib", extra.get("workspace_mib", 2048), 1),
                   max_batch=top, opt_batch=min(option_int(name, "opt_batch", extra.get("opt_batch", top), 1), top))

    def compute(self) -> tuple[str, str]:
        """(compute precision of fp32 layers, how it is set): TF32 always, fp16 with ``fp16=on``."""
        return ("fp16" if self.fp16 else "tf32"), TRT_EP_TF32

    def provider_options(self, artifact: Path, input_shape: tuple[str, list[int]] | None) -> dict:
        """TensorrtExecutionProvider's options; caches in ``models/<network>/ort-trt-cache``."""
        cache = artifact.parent / "ort-trt-cache"
        options: dict[str, Any] = {
            "device_id": 0, "trt_fp16_enable": self.fp16,
            "trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": True, "trt_timing_cache_path": str(cache),
            "trt_cuda_graph_enable": self.cuda_graph, "trt_builder_optimization_level": self.opt_level,
            "trt_max_workspace_size": self.workspace_mib << 20}
        if input_shape is not None:  # the dynamic batch axis: one profile 1..max_batch, like the native backend
            name, dims = input_shape
            rest = "x".join(str(d) for d in dims[1:])
            options["trt_profile_min_shapes"] = f"{name}:1x{rest}"
            options["trt_profile_opt_shapes"] = f"{name}:{self.opt_batch or self.max_batch}x{rest}"
            options["trt_profile_max_shapes"] = f"{name}:{self.max_batch}x{rest}"
        return options


#: backend name -> its primary execution provider
KINDS = {"onnxruntime-cuda": CUDA_EP, "onnxruntime-trt": TRT_EP}

#: why an onnxruntime-trt cell computes fp32 layers in TF32 (recorded in backend.details.tf32)
TRT_EP_TF32 = ("TensorRT's BuilderFlag.TF32, on by default; TensorrtExecutionProvider has no option to clear it "
               "(none among onnxruntime-gpu 1.31.1's trt_* options), so fp32 cells are judged by the tf32 bound")


class OrtGpuRunner:
    def __init__(self, name: str, artifact: Path, config: OrtCudaConfig | OrtTrtConfig) -> None:
        provider = KINDS[name]
        self.name, self.artifact, self.provider = name, Path(artifact), provider
        self.copies_included = config.copies_included
        if isinstance(config, OrtTrtConfig):  # CUDA EP as the fallback, with its defaults and no CUDA graph
            self.providers = [(TRT_EP, config.provider_options(self.artifact, dynamic_batch_input(self.artifact))),
                              (CUDA_EP, OrtCudaConfig().provider_options())]
        else:
            self.providers = [(CUDA_EP, config.provider_options())]
        graph = config.cuda_graph
        compute, tf32 = config.compute()
        self.semantics = TimingSemantics(
            clock="host", copies_included=self.copies_included, device="cuda:0",
            notes=(f"IO binding with device-resident OrtValues; wall clock around run_with_iobinding and output "
                   f"synchronisation; CUDA graph {'on' if graph else 'off'}; host<->device copies "
                   f"{'inside' if self.copies_included else 'outside'} the timed region"))
        self.details = {"providers": [p for p, _ in self.providers],
                        "provider_options": {p: dict(o) for p, o in self.providers},
                        "cuda_graph": graph, "copies_included": self.copies_included,
                        "compute_precision": compute, "tf32": tf32,
                        "onnxruntime": package_version("onnxruntime-gpu") or package_version("onnxruntime")}
        self._session = None

    def activate(self) -> None:
        import onnxruntime as ort

        from benchbed.backends.gpu_libraries import load_provider_libraries

        # the supported loading (preload_dlls, import tensorrt_libs) before the session asks for the provider;
        # the probe did the same, so the sweep refused this backend already if a library is missing
        _, missing = load_provider_libraries(ort, self.provider)
        if self.provider == TRT_EP:
            Path(self.providers[0][1]["trt_engine_cache_path"]).mkdir(parents=True, exist_ok=True)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(self.artifact), so, providers=self.providers)
        used = self._session.get_providers()
        self.details["session_providers"] = list(used)
        if self.provider not in used:  # onnxruntime warns and falls back to the CPU: never measure that as GPU
            raise RuntimeError(f"{self.name}: onnxruntime did not enable {self.provider} (session uses "
                               f"{', '.join(used)}); {missing or 'check the CUDA/cuDNN/TensorRT libraries'}")
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
    provider = KINDS[name]
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
    from benchbed.backends.gpu_libraries import load_provider_libraries

    loaded, missing = load_provider_libraries(ort, provider)  # what the worker will do before its session
    if not loaded:
        return False, missing
    return True, f"onnxruntime-gpu {ort.__version__} with {provider}, {why}"


class _OrtGpuBackend(BackendBase):
    """Probe and prepare shared by the two onnxruntime-gpu backends; each subclass declares the rest."""

    def probe(self) -> tuple[bool, str]:
        return _probe(self.name)

    def prepare(self, artifact: Path, options: BackendOptions) -> OrtGpuRunner:
        return OrtGpuRunner(self.name, artifact, self.parse_options(options.extra))


@register("onnxruntime-cuda")
class OrtCudaBackend(_OrtGpuBackend):
    name = "onnxruntime-cuda"
    description = "onnxruntime-gpu, CUDAExecutionProvider, IO binding on the device"
    capabilities = Capabilities(device="cuda")
    config = OrtCudaConfig


@register("onnxruntime-trt")
class OrtTrtBackend(_OrtGpuBackend):
    name = "onnxruntime-trt"
    description = "onnxruntime-gpu, TensorrtExecutionProvider (+CUDA fallback), IO binding"
    #: its TensorRT profile covers the sweep's batches, so the worker passes the largest as max_batch
    capabilities = Capabilities(device="cuda", takes_max_batch=True)
    config = OrtTrtConfig
