"""onnxruntime on the CPU: the embedded default that runs anywhere.

Graph optimisations on (ORT_ENABLE_ALL), intra-op threads = physical cores unless set, sequential
execution, and IO binding: inputs bound once outside the timed region and outputs into a
preallocated buffer, so the timed ``infer`` is one ``run_with_iobinding`` call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Mapping

import numpy as np

from benchbed.backends import register
from benchbed.backends.base import BackendBase, BackendOptions, Capabilities, TimingSemantics, check_extra
from benchbed.core.environment import physical_cores
from benchbed.core.versions import package_version

PROVIDER = "CPUExecutionProvider"


@dataclass(frozen=True)
class OrtCpuConfig:
    """No backend options: threads and IO binding are common options (--threads, --io-binding)."""

    KEYS: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_extra(cls, extra: Mapping[str, object]) -> "OrtCpuConfig":
        check_extra("onnxruntime", extra, cls.KEYS)
        return cls()


class OrtCpuRunner:
    semantics = TimingSemantics(clock="host", copies_included=False, device="cpu",
                                notes="CPU memory is the device memory: nothing to copy")

    def __init__(self, artifact: Path, options: BackendOptions) -> None:
        self.artifact = artifact
        self.options = options
        self.threads = options.threads or physical_cores()
        self.details = {"provider": PROVIDER, "threads": self.threads, "io_binding": options.io_binding,
                        "graph_optimization": "ORT_ENABLE_ALL", "onnxruntime": package_version("onnxruntime")
                        or package_version("onnxruntime-gpu")}
        self._session = None

    def activate(self) -> None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(str(self.artifact), so, providers=[PROVIDER])
        inp = self._session.get_inputs()[0]
        self._input_name, self._output_name = inp.name, self._session.get_outputs()[0].name
        self._dtype = np.float16 if inp.type == "tensor(float16)" else np.float32

    def set_input(self, batch: np.ndarray) -> None:
        self._batch = np.ascontiguousarray(batch.astype(self._dtype, copy=False))
        self._out = None
        if self.options.io_binding:
            self._binding = self._session.io_binding()
            self._binding.bind_cpu_input(self._input_name, self._batch)
            self._binding.bind_output(self._output_name, "cpu")

    def infer(self) -> None:
        if self.options.io_binding:
            self._session.run_with_iobinding(self._binding)
        else:
            self._out = self._session.run([self._output_name], {self._input_name: self._batch})

    def outputs(self) -> np.ndarray | None:
        if self.options.io_binding:
            return np.asarray(self._binding.copy_outputs_to_cpu()[0], dtype=np.float32)
        return None if self._out is None else np.asarray(self._out[0], dtype=np.float32)

    def deactivate(self) -> None:
        self._session = None
        self._binding = None

    def device_memory(self) -> dict | None:
        return None  # host memory is tracked by the worker (peak RSS)


@register("onnxruntime")
class OrtCpuBackend(BackendBase):
    name = "onnxruntime"
    description = "onnxruntime, CPUExecutionProvider"
    capabilities = Capabilities(device="cpu")
    config = OrtCpuConfig

    def probe(self) -> tuple[bool, str]:
        try:
            import onnxruntime as ort
        except ImportError:
            return False, "onnxruntime is not installed (pip install 'benchbed[cpu]')"
        if PROVIDER not in ort.get_available_providers():
            return False, f"{PROVIDER} missing from this onnxruntime build"
        return True, f"onnxruntime {ort.__version__} with {PROVIDER}"

    def prepare(self, artifact: Path, options: BackendOptions) -> OrtCpuRunner:
        OrtCpuConfig.from_extra(options.extra)
        return OrtCpuRunner(artifact, options)
