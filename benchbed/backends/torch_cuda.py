"""PyTorch on an NVIDIA GPU ("torch-cuda"), from the generator's own module (not from the ONNX file).

A separate backend name from ``torch`` (CPU), so one sweep can set the two side by side. The module is
rebuilt from the artifact's manifest exactly as the CPU backend does, then moved to ``cuda:N`` in
:meth:`TorchCudaRunner.activate` -- nothing touches the GPU before that (``probe`` asks only
``torch.cuda.is_available()`` / ``device_count()``, which create no CUDA context).

Timing, recorded with every result: the host latency (wall clock around ``infer``) ends with
``torch.cuda.synchronize``, so it is the real latency, not the launch time; the GPU compute time of the
forward pass is taken by a ``torch.cuda.Event(enable_timing=True)`` pair around it (``device_times_ms``,
the same protocol as the TensorRT runner, so the worker records ``timing.device_samples_ms``).

Backend options (``--backend-option torch-cuda.KEY=VALUE``):

| option | values (default) | meaning |
|---|---|---|
| ``channels_last`` | **true** / false | module and input in channels-last memory format |
| ``compile`` | true / **false** | ``torch.compile`` the module (after moving it to the GPU) |
| ``dtype`` | **fp32** / fp16 / bf16 | fp16/bf16 by ``torch.autocast("cuda")``; fp32 is true fp32 (TF32 off) |
| ``tf32`` | true / **false** | allow TF32 in cuDNN convolutions and matmuls (faster, ~1e-3 relative error) |
| ``cudnn_benchmark`` | **true** / false | ``torch.backends.cudnn.benchmark`` (picks conv algorithms in warm-up) |
| ``copies`` | in / **out** | host<->device copies inside the timed region (pinned input), or a device-resident input |
| ``device`` | **0** | the GPU index N of ``cuda:N`` |
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Mapping

import numpy as np

from benchbed.backends import register
from benchbed.backends.base import (BackendBase, BackendOptionError, BackendOptions, Capabilities, TimingSemantics,
                                    check_extra, option_choice, option_copies, option_flag)
from benchbed.backends.torch_cpu import build_module, manifest_key
from benchbed.core.versions import package_version

DTYPES = {"fp32": None, "fp16": "float16", "bf16": "bfloat16"}


@dataclass(frozen=True)
class TorchCudaConfig:
    """The options in the module docstring's table, typed (``copies=in`` is ``copies_included``)."""

    KEYS: ClassVar[frozenset[str]] = frozenset({"channels_last", "compile", "dtype", "tf32", "cudnn_benchmark",
                                                "copies", "device"})

    channels_last: bool = True
    compile: bool = False
    dtype: str = "fp32"
    tf32: bool = False
    cudnn_benchmark: bool = True
    copies_included: bool = False
    device: int = 0

    @classmethod
    def from_extra(cls, extra: Mapping[str, object]) -> "TorchCudaConfig":
        extra = check_extra("torch-cuda", extra, cls.KEYS)

        def flag(key: str, default: str) -> bool:
            return option_flag("torch-cuda", key, extra.get(key, default))

        return cls(channels_last=flag("channels_last", "on"), compile=flag("compile", "off"),
                   dtype=option_choice("torch-cuda", "dtype", extra.get("dtype", "fp32"), tuple(DTYPES)),
                   tf32=flag("tf32", "off"), cudnn_benchmark=flag("cudnn_benchmark", "on"),
                   copies_included=option_copies("torch-cuda", extra.get("copies", "out")),
                   device=_device_index(extra.get("device", 0)))


def _device_index(value: object) -> int:
    """N of ``cuda:N``: an integer >= 0, given as a number or its digits (``--backend-option device=1``)."""
    text = str(value).strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()):
        raise BackendOptionError(f"torch-cuda: device must be a GPU index >= 0, got {value!r}")
    return int(text)


class TorchCudaRunner:
    def __init__(self, artifact: Path, options: BackendOptions, config: TorchCudaConfig) -> None:
        self.key = manifest_key(artifact, "torch-cuda")
        self.index, self.dtype = config.device, config.dtype
        self.channels_last, self.compile, self.tf32 = config.channels_last, config.compile, config.tf32
        self.cudnn_benchmark, self.copies_included = config.cudnn_benchmark, config.copies_included
        self.semantics = TimingSemantics(
            clock="host", copies_included=self.copies_included, device=f"cuda:{self.index}",
            notes=(f"torch.inference_mode; wall clock around the forward pass and torch.cuda.synchronize; "
                   f"GPU compute time by a torch.cuda.Event pair around the forward pass; host<->device copies "
                   f"{'inside (pinned input, synchronous output copy)' if self.copies_included else 'outside'} "
                   f"the timed region"))
        self.details = {"channels_last": self.channels_last, "compile": self.compile, "dtype": self.dtype,
                        "autocast": DTYPES[self.dtype], "tf32": self.tf32, "cudnn_benchmark": self.cudnn_benchmark,
                        "copies_included": self.copies_included,
                        # tf32=on with fp32: convolutions and matmuls in TF32, judged by the tf32 bound
                        "compute_precision": "tf32" if self.tf32 and self.dtype == "fp32" else self.dtype,
                        "torch": package_version("torch")}
        self._torch = None
        self._model = None
        self._device_ms: list[float] = []

    def activate(self) -> None:
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("torch-cuda: no CUDA device visible to torch")
        count = torch.cuda.device_count()
        if self.index >= count:
            raise RuntimeError(f"torch-cuda: no GPU cuda:{self.index} (torch sees {count})")
        device = torch.device(f"cuda:{self.index}")
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = self.cudnn_benchmark
        torch.backends.cudnn.allow_tf32 = self.tf32
        torch.backends.cuda.matmul.allow_tf32 = self.tf32
        torch.cuda.reset_peak_memory_stats(device)
        model = build_module(self.key).eval()
        model = model.to(device, memory_format=torch.channels_last) if self.channels_last else model.to(device)
        self._model = torch.compile(model) if self.compile else model
        self._start = torch.cuda.Event(enable_timing=True)
        self._end = torch.cuda.Event(enable_timing=True)
        self._amp = getattr(torch, DTYPES[self.dtype]) if DTYPES[self.dtype] else None
        self._device, self._torch = device, torch
        self.details.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda,
                            cudnn=torch.backends.cudnn.version())

    def _to_device(self, host):
        x = host.to(self._device, non_blocking=self.copies_included)
        return x.contiguous(memory_format=self._torch.channels_last) if self.channels_last else x

    def set_input(self, batch: np.ndarray) -> None:
        torch = self._torch
        host = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        self._out = None
        self._device_ms = []
        if self.copies_included:
            self._host = host.pin_memory()  # so the timed host->device copy is a real async DMA
            self._input = None
        else:
            self._input = self._to_device(host)
            torch.cuda.synchronize(self._device)  # the copy finishes outside the timed region

    def infer(self) -> None:
        torch = self._torch
        with torch.inference_mode(), torch.autocast("cuda", dtype=self._amp, enabled=self._amp is not None):
            x = self._to_device(self._host) if self.copies_included else self._input
            self._start.record()
            out = self._model(x)
            self._end.record()
            if self.copies_included:
                out = out.to("cpu")
        torch.cuda.synchronize(self._device)
        self._out = out
        self._device_ms.append(self._start.elapsed_time(self._end))

    def outputs(self) -> np.ndarray | None:
        if self._out is None:
            return None
        return self._out.float().cpu().numpy()

    def device_times_ms(self) -> list[float]:
        """GPU compute time of each ``infer`` since the last ``set_input``, by CUDA events."""
        return list(self._device_ms)

    def deactivate(self) -> None:
        if self._torch is None:
            return
        self._model = self._input = self._out = self._host = None
        self._torch.cuda.empty_cache()

    def device_memory(self) -> dict | None:
        if self._torch is None:
            return None
        cuda, device = self._torch.cuda, self._device
        return {"peak_allocated_bytes": int(cuda.max_memory_allocated(device)),
                "peak_reserved_bytes": int(cuda.max_memory_reserved(device)),
                "allocated_bytes": int(cuda.memory_allocated(device)),
                "reserved_bytes": int(cuda.memory_reserved(device)),
                "source": "torch.cuda caching allocator, this process, peaks since activate"}


@register("torch-cuda")
class TorchCudaBackend(BackendBase):
    name = "torch-cuda"
    description = "PyTorch eager or torch.compile on an NVIDIA GPU (CUDA), from the generator's module"
    capabilities = Capabilities(device="cuda", device_times=True, reads_onnx=False)
    config = TorchCudaConfig

    def probe(self) -> tuple[bool, str]:
        if importlib.util.find_spec("torch") is None:
            return False, "torch is not installed"
        import torch

        # is_available()/device_count() ask the driver for the device count and create no CUDA context
        if not torch.cuda.is_available():
            if not torch.version.cuda:
                return False, f"no CUDA device: torch {torch.__version__} is a CPU-only build"
            return False, f"no CUDA device visible to torch {torch.__version__} (built for CUDA {torch.version.cuda})"
        return True, f"torch {torch.__version__} with CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s)"

    def prepare(self, artifact: Path, options: BackendOptions) -> TorchCudaRunner:
        return TorchCudaRunner(artifact, options, TorchCudaConfig.from_extra(options.extra))
