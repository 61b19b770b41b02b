"""OpenVINO on the CPU, reading the same ONNX file as every other backend.

Backend options (``--backend-option``): ``hint`` = latency (default) or throughput (OpenVINO's
PERFORMANCE_HINT), ``inference_precision`` = f32 (default) or bf16 (INFERENCE_PRECISION_HINT; this
kind of CPU has AVX-512 BF16), ``streams`` (NUM_STREAMS). The timing loop is synchronous: one infer
request at a time, so a throughput hint's extra streams only help inside one request; OpenVINO's
benchmark_app keeps several requests in flight instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Mapping

import numpy as np

from benchbed.backends import register
from benchbed.backends.base import (BackendBase, BackendOptionError, BackendOptions, Capabilities, TimingSemantics,
                                    check_extra, option_choice, option_int)
from benchbed.core.versions import package_version

HINTS = {"latency": "LATENCY", "throughput": "THROUGHPUT"}
PRECISIONS = {"f32": "f32", "bf16": "bf16"}


@dataclass(frozen=True)
class OpenVinoConfig:
    """``hint``: PERFORMANCE_HINT; ``inference_precision``: INFERENCE_PRECISION_HINT; ``streams``: NUM_STREAMS,
    a count or AUTO (None: the hint's choice)."""

    KEYS: ClassVar[frozenset[str]] = frozenset({"hint", "inference_precision", "streams"})

    hint: str = "latency"
    inference_precision: str = "f32"
    streams: str | None = None

    @classmethod
    def from_extra(cls, extra: Mapping[str, object]) -> "OpenVinoConfig":
        extra = check_extra("openvino", extra, cls.KEYS)
        return cls(hint=option_choice("openvino", "hint", extra.get("hint", "latency"), tuple(HINTS)),
                   inference_precision=option_choice("openvino", "inference_precision",
                                                     extra.get("inference_precision", "f32"), tuple(PRECISIONS)),
                   streams=_streams(extra["streams"]) if "streams" in extra else None)

    def compile_config(self, threads: int | None) -> dict:
        """The properties ``compile_model`` gets."""
        config: dict = {"PERFORMANCE_HINT": HINTS[self.hint],
                        "INFERENCE_PRECISION_HINT": PRECISIONS[self.inference_precision]}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        if self.streams is not None:
            config["NUM_STREAMS"] = self.streams
        return config


def _streams(value: object) -> str:
    """NUM_STREAMS as OpenVINO takes it: a positive count, or AUTO."""
    if str(value).strip().upper() == "AUTO":
        return "AUTO"
    try:
        return str(option_int("openvino", "streams", value, 1))
    except ValueError:
        raise BackendOptionError(f"openvino: streams must be a count >= 1 or auto, got {value!r}") from None


class OpenVinoRunner:
    semantics = TimingSemantics(clock="host", copies_included=False, device="cpu",
                                notes="synchronous infer request on a model compiled for the static input shape, "
                                      "input tensor shared with numpy")

    def __init__(self, artifact: Path, options: BackendOptions, config: OpenVinoConfig) -> None:
        self.artifact = artifact
        self.config = config.compile_config(options.threads)
        self.details = {"device": "CPU", "config": dict(self.config), "openvino": package_version("openvino")}
        self._request = None

    def activate(self) -> None:
        import openvino as ov

        self._core = ov.Core()
        self._model = self._core.read_model(str(self.artifact))
        self._compiled_for: dict[tuple, object] = {}
        self._dtype = np.float16 if self._model.input(0).get_element_type().get_type_name() == "f16" else np.float32

    def _compile(self, shape: tuple) -> None:
        """Compile for this exact input shape (once per shape): OpenVINO's CPU plugin runs a static shape
        faster than the dynamic batch axis, and benchmark_app reshapes to static shapes too."""
        if shape not in self._compiled_for:
            model = self._model.clone()
            model.reshape({model.input(0).get_any_name(): list(shape)})
            compiled = self._core.compile_model(model, "CPU", self.config)
            self._compiled_for[shape] = compiled
            self.details["streams"] = int(compiled.get_property("NUM_STREAMS"))
            effective = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
            self.details["effective_precision"] = effective
            self.details["compute_precision"] = {"bf16": "bf16", "f16": "fp16"}.get(effective, "fp32")
        self._compiled = self._compiled_for[shape]
        self._request = self._compiled.create_infer_request()

    def set_input(self, batch: np.ndarray) -> None:
        import openvino as ov

        self._batch = np.ascontiguousarray(batch.astype(self._dtype, copy=False))
        self._compile(self._batch.shape)
        self._request.set_input_tensor(ov.Tensor(self._batch, shared_memory=True))

    def infer(self) -> None:
        self._request.infer()

    def outputs(self) -> np.ndarray | None:
        return np.array(self._request.get_output_tensor(0).data, dtype=np.float32)

    def deactivate(self) -> None:
        self._request = None
        self._compiled = None
        self._compiled_for = {}

    def device_memory(self) -> dict | None:
        return None


@register("openvino")
class OpenVinoBackend(BackendBase):
    name = "openvino"
    description = "OpenVINO Runtime, CPU plugin"
    capabilities = Capabilities(device="cpu")
    config = OpenVinoConfig

    def probe(self) -> tuple[bool, str]:
        try:
            import openvino as ov
        except ImportError:
            return False, "openvino is not installed (pip install 'benchbed[openvino]')"
        devices = ov.Core().available_devices
        if "CPU" not in devices:
            return False, f"OpenVINO sees no CPU device ({', '.join(devices) or 'none'})"
        return True, f"OpenVINO {ov.__version__} CPU plugin"

    def prepare(self, artifact: Path, options: BackendOptions) -> OpenVinoRunner:
        return OpenVinoRunner(artifact, options, OpenVinoConfig.from_extra(options.extra))
