"""The ``null`` backend: does no work, so its figures are the harness's own per-inference overhead.

For testing load generators against a known answer it can also pretend to work: backend options
``service_ms`` (per call) and ``per_sample_ms`` (per image in the batch) make ``infer`` sleep.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Mapping

import numpy as np

from benchbed.backends import register
from benchbed.backends.base import (BackendBase, BackendOptions, Capabilities, TimingSemantics, check_extra,
                                    option_float)


@dataclass(frozen=True)
class NullConfig:
    """``service_ms`` per call and ``per_sample_ms`` per image: how long ``infer`` pretends to work."""

    KEYS: ClassVar[frozenset[str]] = frozenset({"service_ms", "per_sample_ms"})

    service_ms: float = 0.0
    per_sample_ms: float = 0.0

    @classmethod
    def from_extra(cls, extra: Mapping[str, object]) -> "NullConfig":
        extra = check_extra("null", extra, cls.KEYS)
        return cls(**{key: option_float("null", key, value) for key, value in extra.items()})


class NullRunner:
    semantics = TimingSemantics(clock="host", copies_included=False, device="none",
                                notes="no work: measures the timing loop itself")

    def __init__(self, service_ms: float = 0.0, per_sample_ms: float = 0.0) -> None:
        self.service_ms, self.per_sample_ms = float(service_ms), float(per_sample_ms)
        self.details: dict = {"service_ms": self.service_ms, "per_sample_ms": self.per_sample_ms}
        self._batch_size = 1

    def activate(self) -> None:
        pass

    def set_input(self, batch: np.ndarray) -> None:
        self._batch_size = len(batch)

    def infer(self) -> None:
        if self.service_ms or self.per_sample_ms:
            time.sleep((self.service_ms + self.per_sample_ms * self._batch_size) / 1e3)

    def outputs(self) -> np.ndarray | None:
        return None

    def deactivate(self) -> None:
        pass

    def device_memory(self) -> dict | None:
        return None


@register("null")
class NullBackend(BackendBase):
    name = "null"
    description = "does nothing: the harness overhead"
    computes = False
    capabilities = Capabilities(device="cpu")
    config = NullConfig

    def probe(self) -> tuple[bool, str]:
        return True, "always available"

    def prepare(self, artifact: Path, options: BackendOptions) -> NullRunner:
        config = NullConfig.from_extra(options.extra)
        return NullRunner(config.service_ms, config.per_sample_ms)
