"""The Backend protocol: ``prepare(artifact, options) -> Runner``; a Runner has a lifecycle.

Nothing touches an accelerator before :meth:`Runner.activate` (Polygraphy's rule), so the sweep's
parent process can plan and export without creating a device context. A runner says how its timings
are taken (host clock or device events) and whether host<->device copies are inside them, and every
result records it, so numbers taken differently are never set side by side unlabelled.

Each backend declares two values instead of being probed with ``hasattr``: its :class:`Capabilities`
and its options class (``config``), a frozen dataclass whose ``from_extra`` turns the user's
``--backend-option KEY=VALUE`` strings into typed values. The parent parses them once to refuse a bad
value before any cell runs; the worker parses the same strings again with the same function to use them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping, Protocol

import numpy as np

from benchbed.core.errors import BenchbedError


@dataclass(frozen=True)
class BackendOptions:
    """Options every backend understands; backend-specific ones go in ``extra`` (the user's strings, as given,
    so results keep them verbatim; each backend's ``config.from_extra`` gives their typed values)."""

    threads: int | None = None  # CPU backends: intra-op threads (None: physical cores)
    io_binding: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


#: where a backend computes: "cuda" backends need an NVIDIA GPU (a Ray task asks for one)
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared as a value so callers never probe attributes.

    ``device``: "cpu" or "cuda" (schedulers reserve a GPU for "cuda"); ``takes_max_batch``: it builds for an
    optimization profile, so the worker passes the sweep's largest batch as ``max_batch``; ``device_times``:
    its runners have ``device_times_ms()`` (GPU compute time of each ``infer`` by device events); ``reads_onnx``:
    it runs the ONNX file itself (torch backends rebuild benchbed's module instead, so cannot run a user's file).
    """

    device: str = "cpu"
    takes_max_batch: bool = False
    device_times: bool = False
    reads_onnx: bool = True

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"Capabilities.device must be one of {', '.join(DEVICES)}, got {self.device!r}")


class BackendOptionError(BenchbedError, ValueError):
    """A bad ``--backend-option``: one line naming the backend and the key (exit 2 from the CLI).

    Also a ValueError: it is a bad value, and callers of ``prepare`` have always caught it as one."""


def check_extra(backend: str, extra: Mapping[str, object], allowed: frozenset[str]) -> dict:
    """Refuse backend options a backend does not know (a typo must not be measured as a default)."""
    unknown = set(extra) - set(allowed)
    if unknown:
        raise BackendOptionError(f"{backend}: unknown option(s) {', '.join(sorted(unknown))}; it takes "
                                 f"{', '.join(sorted(allowed)) or 'none'}")
    return dict(extra)


_TRUE, _FALSE = {"1", "true", "on", "yes"}, {"0", "false", "off", "no"}


def option_flag(backend: str, name: str, value: object) -> bool:
    """on/off, true/false, 1/0, yes/no -> bool, or a one-line error naming the backend and option.

    Never ``bool(value)``: ``bool("off")`` is True."""
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BackendOptionError(f"{backend}: {name} must be on or off, got {value!r}")


def option_int(backend: str, name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool):
        raise BackendOptionError(f"{backend}: {name} must be an integer, got {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise BackendOptionError(f"{backend}: {name} must be an integer, got {value!r}") from None
    if number < low or (high is not None and number > high):
        raise BackendOptionError(f"{backend}: {name} must be in [{low}, {high if high is not None else '...'}], "
                                 f"got {number}")
    return number


def option_float(backend: str, name: str, value: object, low: float = 0.0) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise BackendOptionError(f"{backend}: {name} must be a number, got {value!r}") from None
    if not number >= low or number == float("inf"):  # also refuses nan
        raise BackendOptionError(f"{backend}: {name} must be a finite number >= {low:g}, got {value!r}")
    return number


def option_choice(backend: str, name: str, value: object, choices: tuple[str, ...]) -> str:
    """The one of ``choices`` that ``value`` names (in any case), or an error listing them."""
    text = str(value).strip().lower()
    for choice in choices:
        if text == choice.lower():
            return choice
    listed = " or ".join(choices) if len(choices) == 2 else "one of " + ", ".join(choices)
    raise BackendOptionError(f"{backend}: {name} must be {listed}, got {value!r}")


def option_copies(backend: str, value: object) -> bool:
    """``copies=in`` (host<->device copies inside the timed region) -> True, ``out`` -> False."""
    text = str(value).strip().lower()
    if text not in ("in", "out"):
        raise BackendOptionError(f"{backend}: copies must be in or out (of the timed region), got {value!r}")
    return text == "in"


class BackendConfig(Protocol):
    """A backend's typed options: ``KEYS`` it takes, parsed from ``BackendOptions.extra`` by ``from_extra``."""

    KEYS: ClassVar[frozenset[str]]

    @classmethod
    def from_extra(cls, extra: Mapping[str, object]) -> "BackendConfig":
        """Typed values, or :class:`BackendOptionError` (one line naming the backend and key)."""
        ...


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
    capabilities: Capabilities
    #: the options class: ``config.KEYS`` are the ``--backend-option`` keys, ``config.from_extra`` parses them
    config: type[BackendConfig]

    def probe(self) -> tuple[bool, str]:
        """(usable on this machine?, why or why not) without touching a device."""
        ...

    def option_keys(self) -> frozenset[str]:
        """The ``extra`` keys (``--backend-option KEY=VALUE``) this backend takes; used to route options."""
        ...

    def parse_options(self, extra: Mapping[str, object]) -> BackendConfig:
        """``extra`` as this backend's typed options (raises :class:`BackendOptionError`)."""
        ...

    def prepare(self, artifact: Path, options: BackendOptions) -> Runner: ...


class BackendBase:
    """What every backend shares: option keys and parsing come from its declared ``config`` class.

    A subclass declares ``name``, ``description``, ``capabilities`` and ``config`` itself (no defaults, so
    a backend that forgets one fails the registry's tests instead of running as a CPU backend)."""

    name: ClassVar[str]
    description: ClassVar[str]
    computes: ClassVar[bool] = True
    capabilities: ClassVar[Capabilities]
    config: ClassVar[type]

    def option_keys(self) -> frozenset[str]:
        return frozenset(self.config.KEYS)

    def parse_options(self, extra: Mapping[str, object]) -> Any:
        return self.config.from_extra(extra)
