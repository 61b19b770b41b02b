"""The Backend protocol: ``prepare(artifact, options) -> Runner``; a Runner has a lifecycle.

Nothing touches an accelerator before :meth:`Runner.activate` (Polygraphy's rule), so the sweep's
parent process can plan and export without creating a device context. A runner says how its timings
are taken (host clock or device events) and whether host<->device copies are inside them, and every
result records it, so numbers taken differently are never set side by side unlabelled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class BackendOptions:
    """Options every backend understands; backend-specific ones go in ``extra``."""

    threads: int | None = None  # CPU backends: intra-op threads (None: physical cores)
    io_binding: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def check_extra(backend: str, extra: dict, allowed: set[str]) -> dict:
    """Refuse backend options a backend does not know (a typo must not be measured as a default)."""
    unknown = set(extra) - allowed
    if unknown:
        raise ValueError(f"{backend}: unknown option(s) {', '.join(sorted(unknown))}")
    return dict(extra)


_TRUE, _FALSE = {"1", "true", "on", "yes"}, {"0", "false", "off", "no"}


def option_flag(backend: str, name: str, value: object) -> bool:
    """on/off, true/false, 1/0, yes/no -> bool, or a one-line error naming the backend and option."""
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{backend}: {name} must be on or off, got {value!r}")


def option_int(backend: str, name: str, value: object, low: int, high: int | None = None) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ValueError(f"{backend}: {name} must be an integer, got {value!r}") from None
    if number < low or (high is not None and number > high):
        raise ValueError(f"{backend}: {name} must be in [{low}, {high if high is not None else '...'}], got {number}")
    return number


@dataclass(frozen=True)
class TimingSemantics:
    """What a runner's latency samples contain (recorded with every result)."""

    clock: str  # "host" (wall clock around infer) or "device-events"
    copies_included: bool  # host<->device copies inside the timed region
    device: str  # "cpu", "cuda:0", ...
    notes: str = ""


class Runner(Protocol):
    """One prepared model on one device. ``set_input`` stays out of the timed region; ``infer`` is timed."""

    semantics: TimingSemantics
    details: dict

    def activate(self) -> None: ...

    def set_input(self, batch: np.ndarray) -> None: ...

    def infer(self) -> None: ...

    def outputs(self) -> np.ndarray | None: ...

    def deactivate(self) -> None: ...

    def device_memory(self) -> dict | None: ...


class Backend(Protocol):
    name: str
    description: str
    #: measures a real model (False for the null backend, whose figures are the harness overhead)
    computes: bool

    def probe(self) -> tuple[bool, str]:
        """(usable on this machine?, why or why not) without touching a device."""
        ...

    def option_keys(self) -> frozenset[str]:
        """The ``extra`` keys (``--backend-option KEY=VALUE``) this backend takes; used to route options."""
        ...

    def prepare(self, artifact: Path, options: BackendOptions) -> Runner: ...
