"""Run in a subprocess beside a real package: describe the attributes asked for, as JSON on stdout.

Request (JSON on stdin): ``{"module": "tensorrt", "paths": ["Builder.__init__", ...], "code": {"label": "..."}}``.
Each path is resolved from the module by ``getattr``; the answer says whether it exists, what it is (class,
enum, function, property, value), the enum's members and int values, the parameters from
``inspect.signature`` where the callable has one, else the signature lines of its ``__doc__`` (pybind11).
Each ``code`` snippet runs with the module as ``m`` and answers with its ``result`` or the exception.
Standalone on purpose: it must import nothing from the tests (the doubles live there).
"""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import re
import sys
import traceback
from typing import Any

_MISSING = object()


def jsonable(value: Any, depth: int = 0) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)  # enums too
    if isinstance(value, float):
        return value
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, (list, tuple)) and depth < 4:
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, dict) and depth < 4:
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    return repr(value)[:300]


def _members(obj: Any) -> dict[str, int] | None:
    members = getattr(obj, "__members__", None)
    if not isinstance(obj, type) or members is None:
        return None
    try:
        return {str(name): int(value) for name, value in dict(members).items()}
    except (TypeError, ValueError):
        return None


def _signature(obj: Any) -> list[list] | None:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [[p.name, p.kind.name, p.default is not inspect.Parameter.empty] for p in signature.parameters.values()]


def _doc_signatures(obj: Any, name: str) -> list[str]:
    doc = getattr(obj, "__doc__", None) or ""
    lines = [line.strip() for line in doc.splitlines()]
    numbered = [re.sub(r"^\d+\.\s+", "", line) for line in lines if re.match(rf"^\d+\.\s+{re.escape(name)}\(", line)]
    if numbered:
        return numbered
    return [line for line in lines if line.startswith(f"{name}(")][:1]


def describe(module: Any, path: str) -> dict:
    owner, obj = None, module
    for part in path.split("."):
        owner = obj
        obj = getattr(obj, part, _MISSING)
        if obj is _MISSING:
            return {"exists": False}
    name = path.split(".")[-1]
    static = inspect.getattr_static(owner, name, None) if owner is not None else None
    answer: dict[str, Any] = {"exists": True}
    members = _members(obj)
    if members is not None:
        answer.update(kind="enum", members=members)
    elif isinstance(obj, type):
        answer["kind"] = "class"
        answer["bases"] = [b.__name__ for b in obj.__mro__[1:]]
        answer["attributes"] = sorted(n for n in dir(obj) if not n.startswith("_"))
    elif isinstance(static, property):
        answer["kind"] = "property"
        answer["writable"] = static.fset is not None
    elif callable(obj):
        answer["kind"] = "function"
        # object.__init__'s slot wrapper: a pybind11 class without a Python constructor
        answer["slot"] = type(obj).__name__ in ("wrapper_descriptor", "method-wrapper")
        answer["signature"] = None if answer["slot"] else _signature(obj)
        answer["doc_signatures"] = _doc_signatures(obj, name)
    else:
        answer.update(kind="value", value=jsonable(obj))
    return answer


def run(request: dict) -> dict:
    module = importlib.import_module(request["module"])
    out: dict[str, Any] = {"file": getattr(module, "__file__", None),
                           "version": jsonable(getattr(module, "__version__", None)), "paths": {}, "code": {}}
    for path in request.get("paths", []):
        try:
            out["paths"][path] = describe(module, path)
        except Exception as exc:  # a broken attribute is an answer, not a crash of the whole probe
            out["paths"][path] = {"exists": True, "kind": "error", "error": f"{type(exc).__name__}: {exc}"}
    for label, code in request.get("code", {}).items():
        namespace: dict[str, Any] = {"m": module, "enum": enum}
        try:
            exec(code, namespace)
            out["code"][label] = {"result": jsonable(namespace.get("result"))}
        except BaseException as exc:  # noqa: BLE001 - SystemExit from a library is an answer too
            out["code"][label] = {"error": [type(exc).__name__, str(exc)],
                                  "traceback": traceback.format_exc()[-2000:]}
    return out


if __name__ == "__main__":
    print(json.dumps(run(json.load(sys.stdin))))
