"""PyTorch on the CPU, from the generator's own module (not from the ONNX file).

The artifact's manifest says which network it is (scaling coefficients, overrides, seed), so the
runner rebuilds exactly that module, weight for weight. Backend options: ``channels_last``
(default true), ``compile`` (``torch.compile``, default false) and ``dtype`` = fp32 (default) or bf16
(autocast). Only fp32 artifacts are accepted: the torch backend's precision is its ``dtype``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Mapping

import numpy as np

from benchbed.core.files import read_json
from benchbed.backends import register
from benchbed.backends.base import (BackendBase, BackendOptions, Capabilities, TimingSemantics, check_extra,
                                    option_choice, option_flag)
from benchbed.core.versions import package_version


@dataclass(frozen=True)
class TorchConfig:
    """``channels_last``: module and input in channels-last memory format; ``compile``: ``torch.compile`` the
    module; ``dtype``: fp32, or bf16 by ``torch.autocast``."""

    KEYS: ClassVar[frozenset[str]] = frozenset({"channels_last", "compile", "dtype"})

    channels_last: bool = True
    compile: bool = False
    dtype: str = "fp32"

    @classmethod
    def from_extra(cls, extra: Mapping[str, object]) -> "TorchConfig":
        extra = check_extra("torch", extra, cls.KEYS)
        return cls(channels_last=option_flag("torch", "channels_last", extra.get("channels_last", "on")),
                   compile=option_flag("torch", "compile", extra.get("compile", "off")),
                   dtype=option_choice("torch", "dtype", extra.get("dtype", "fp32"), ("fp32", "bf16")))


def manifest_key(artifact: Path, backend: str) -> dict:
    """The network key of an fp32 artifact's manifest (the torch backends rebuild the module from it)."""
    manifest = read_json(Path(artifact).with_name(Path(artifact).stem + ".manifest.json"))
    if not manifest or manifest.get("precision") != "fp32":
        raise ValueError(f"{backend} backend measures fp32 artifacts only (use --backend-option dtype=...)")
    return manifest["key"]


def build_module(key: dict):
    """The generator's own module for a manifest key, weight for weight (CPU, fp32, eval mode)."""
    from benchbed.networks import build_model

    net = key["network"]
    overrides = {k: net[k] for k in net.get("overrides", [])}
    return build_model(net["phi"], net["mode"], alpha=net["alpha"], beta=net["beta"], gamma=net["gamma"],
                       seed=key["seed"] if key["seed"] >= 0 else 0, **overrides)


class TorchRunner:
    semantics = TimingSemantics(clock="host", copies_included=False, device="cpu",
                                notes="torch.inference_mode; the input tensor is created outside the timed region")

    def __init__(self, artifact: Path, options: BackendOptions, config: TorchConfig) -> None:
        self.key = manifest_key(artifact, "torch")
        self.options = options
        self.channels_last, self.compile, self.dtype = config.channels_last, config.compile, config.dtype
        self.details = {"channels_last": self.channels_last, "compile": self.compile, "dtype": self.dtype,
                        "compute_precision": self.dtype, "torch": package_version("torch")}

    def activate(self) -> None:
        import torch

        if self.options.threads:
            torch.set_num_threads(int(self.options.threads))
        self.details["threads"] = torch.get_num_threads()
        model = build_module(self.key)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self._model = torch.compile(model) if self.compile else model
        self._torch = torch

    def set_input(self, batch: np.ndarray) -> None:
        tensor = self._torch.from_numpy(np.ascontiguousarray(batch))
        self._input = tensor.to(memory_format=self._torch.channels_last) if self.channels_last else tensor
        self._out = None

    def infer(self) -> None:
        torch = self._torch
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.dtype == "bf16"):
            self._out = self._model(self._input)

    def outputs(self) -> np.ndarray | None:
        return None if self._out is None else self._out.float().numpy()

    def deactivate(self) -> None:
        self._model = None

    def device_memory(self) -> dict | None:
        return None


@register("torch")
class TorchBackend(BackendBase):
    name = "torch"
    description = "PyTorch eager or torch.compile, CPU"
    capabilities = Capabilities(device="cpu", reads_onnx=False)
    config = TorchConfig

    def probe(self) -> tuple[bool, str]:
        try:
            import torch
        except ImportError:
            return False, "torch is not installed"
        return True, f"torch {torch.__version__} (CPU)"

    def prepare(self, artifact: Path, options: BackendOptions) -> TorchRunner:
        return TorchRunner(artifact, options, TorchConfig.from_extra(options.extra))
