"""The ``null`` backend: does no work, so its figures are the harness's own per-inference overhead."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchbed.backends import register
from benchbed.backends.base import BackendOptions, TimingSemantics


class NullRunner:
    semantics = TimingSemantics(clock="host", copies_included=False, device="none",
                                notes="no work: measures the timing loop itself")

    def __init__(self) -> None:
        self.details: dict = {}

    def activate(self) -> None:
        pass

    def set_input(self, batch: np.ndarray) -> None:
        self._batch = batch

    def infer(self) -> None:
        pass

    def outputs(self) -> np.ndarray | None:
        return None

    def deactivate(self) -> None:
        pass

    def device_memory(self) -> dict | None:
        return None


@register("null")
class NullBackend:
    name = "null"
    description = "does nothing: the harness overhead"
    computes = False

    def probe(self) -> tuple[bool, str]:
        return True, "always available"

    def prepare(self, artifact: Path, options: BackendOptions) -> NullRunner:
        return NullRunner()
