"""Backend registry (``@register``), and ``auto`` selection: the best usable backend on this machine."""

from __future__ import annotations

from typing import Callable

from benchbed.backends.base import Backend, BackendOptions, Runner, TimingSemantics
from benchbed.errors import BenchbedError

_REGISTRY: dict[str, Callable[[], Backend]] = {}

#: ``--backend auto`` tries these in order; names not registered yet are reported as planned.
AUTO_ORDER = ("tensorrt", "onnxruntime-trt", "onnxruntime-cuda", "onnxruntime")


def register(name: str) -> Callable:
    def decorator(factory: Callable[[], Backend]) -> Callable[[], Backend]:
        if name in _REGISTRY:
            raise ValueError(f"backend {name!r} registered twice")
        _REGISTRY[name] = factory
        return factory

    return decorator


def _load_builtin() -> None:
    from benchbed.backends import (null, onnxruntime_cpu, onnxruntime_gpu, openvino_cpu, tensorrt,  # noqa: F401
                                   torch_cpu)  # (registration)


def backend_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def get_backend(name: str) -> Backend:
    _load_builtin()
    if name not in _REGISTRY:
        raise BenchbedError(f"unknown backend {name!r}; choose auto or one of {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]()


def probe_all() -> list[tuple[str, bool, str]]:
    """(name, usable, reason) for every registered and planned backend, in auto order first."""
    _load_builtin()
    rows = []
    for name in list(AUTO_ORDER) + [n for n in sorted(_REGISTRY) if n not in AUTO_ORDER]:
        if name not in _REGISTRY:
            rows.append((name, False, "not implemented in this benchbed version"))
            continue
        usable, reason = _REGISTRY[name]().probe()
        rows.append((name, usable, reason))
    return rows


def resolve_backend(name: str) -> tuple[str, list[str]]:
    """The backend to use for ``name`` (``auto`` picks), and one line per backend skipped on the way."""
    if name != "auto":
        backend = get_backend(name)
        usable, reason = backend.probe()
        if not usable:
            raise BenchbedError(f"backend {name!r} is not usable here: {reason}")
        return name, []
    skipped = []
    for candidate, usable, reason in probe_all():
        if candidate not in AUTO_ORDER:
            continue
        if usable:
            return candidate, skipped
        skipped.append(f"{candidate}: {reason}")
    raise BenchbedError("no usable backend: " + "; ".join(skipped))


__all__ = ["Backend", "BackendOptions", "Runner", "TimingSemantics", "backend_names", "get_backend", "probe_all",
           "register", "resolve_backend"]
