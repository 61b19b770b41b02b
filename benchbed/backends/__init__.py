"""Backend registry (``@register``), and ``auto`` selection: the best usable backend on this machine.

What a backend declares is read here without importing any GPU library: its device and capabilities
(:func:`backend_device`, :func:`backend_capabilities`), its option keys (:func:`option_keys`), and its
typed options (:func:`parse_backend_options`), which :func:`route_options` applies to every selected backend
so a bad value stops the sweep in the parent before any cell runs.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from benchbed.backends.base import (Backend, BackendConfig, BackendOptionError, BackendOptions, Capabilities, Runner,
                                    TimingSemantics)
from benchbed.core.errors import BenchbedError

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
                                   torch_cpu, torch_cuda)  # (registration)


def backend_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def get_backend(name: str) -> Backend:
    _load_builtin()
    if name not in _REGISTRY:
        raise BenchbedError(f"unknown backend {name!r}; choose auto or one of {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]()


def backend_capabilities(name: str) -> Capabilities:
    """What backend ``name`` declares it can do (no GPU library is imported to answer)."""
    return get_backend(name).capabilities


def backend_device(name: str) -> str:
    """"cpu" or "cuda": where backend ``name`` computes (a Ray task for a "cuda" backend asks for a GPU)."""
    return backend_capabilities(name).device


def option_keys(name: str) -> frozenset[str]:
    """The backend options (``BackendOptions.extra`` keys) backend ``name`` takes."""
    return get_backend(name).option_keys()


def parse_backend_options(name: str, extra: Mapping[str, Any]) -> BackendConfig:
    """Backend ``name``'s typed options from ``--backend-option`` values, or a one-line
    :class:`BackendOptionError` (a BenchbedError: exit 2) naming the backend and the key."""
    return get_backend(name).parse_options(extra)


def route_options(items: list[tuple[str, object]], backends: list[str]) -> dict[str, dict]:
    """Give each selected backend its options: ``{backend: {key: value}}`` (backends without options omitted).

    ``items`` are ``(KEY, VALUE)`` or ``(BACKEND.KEY, VALUE)`` pairs in command-line order. A scoped option goes
    to its backend only and must be one that backend takes; an unscoped one goes to every selected backend that
    takes the key, and is an error when none does. Scoped values win over unscoped ones for the same key.
    Backend names contain no dot, so the first dot separates the scope. Every selected backend then parses
    its options (:func:`parse_backend_options`), so a bad value is an error here, before anything runs; the
    values are returned as given (results record the user's strings).
    """
    backends = list(dict.fromkeys(backends))
    keys = {name: option_keys(name) for name in backends}
    routed: dict[str, dict] = {}
    scoped = []
    for raw, value in items:
        scope, dot, key = raw.partition(".")
        if dot:
            if not scope or not key:
                raise BenchbedError(f"--backend-option {raw}: expected BACKEND.KEY=VALUE")
            scoped.append((raw, scope, key, value))
            continue
        targets = [name for name in backends if raw in keys[name]]
        if not targets:
            raise BenchbedError(f"--backend-option {raw}: none of the selected backends ({', '.join(backends)}) takes "
                                f"it; they take {_describe(keys)}")
        for name in targets:
            routed.setdefault(name, {})[raw] = value
    for raw, scope, key, value in scoped:
        if scope not in keys:
            raise BenchbedError(f"--backend-option {raw}: backend {scope!r} is not selected in this sweep "
                                f"(--backend {','.join(backends)})")
        if key not in keys[scope]:
            raise BenchbedError(f"--backend-option {raw}: {scope} has no option {key!r}; it takes "
                                f"{', '.join(sorted(keys[scope])) or 'none'}")
        routed.setdefault(scope, {})[key] = value
    for name in backends:
        parse_backend_options(name, routed.get(name, {}))
    return {name: routed[name] for name in backends if name in routed}


def _describe(keys: dict[str, frozenset[str]]) -> str:
    return "; ".join(f"{name}: {', '.join(sorted(k)) or 'none'}" for name, k in keys.items())


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


__all__ = ["Backend", "BackendConfig", "BackendOptionError", "BackendOptions", "Capabilities", "Runner",
           "TimingSemantics", "backend_capabilities", "backend_device", "backend_names", "get_backend", "option_keys",
           "parse_backend_options", "probe_all", "register", "resolve_backend", "route_options"]
