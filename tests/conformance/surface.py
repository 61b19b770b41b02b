"""The public surface of a test double: every name a test or benchbed could touch, with its parameters.

Module attributes, and for each class: its methods (``inspect.signature``), properties, nested enums and
class attributes (own and inherited from other classes of the double), plus the instance attributes its
methods assign (``self.x = ...``, read from the double's source with ``ast``). Names starting with ``_``
are the double's own test hooks and are left out; everything else must exist in the real library.
"""

from __future__ import annotations

import ast
import enum
import functools
import inspect
import types
from dataclasses import dataclass
from pathlib import Path

from conformance.signatures import Param, from_callable, without_self


@dataclass(frozen=True)
class Item:
    path: str
    kind: str  # "class" | "enum" | "function" | "attribute"
    params: tuple[Param, ...] | None = None  # functions and methods, without self
    members: tuple[tuple[str, int], ...] | None = None  # enums
    value: int | str | None = None  # module-level constants (NVML_CLOCK_SM, __version__)


def public(name: str) -> bool:
    return not name.startswith("_") or name in ("__version__", "__init__")


def is_enum(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, enum.Enum)


@functools.cache
def _instance_attributes(source: Path) -> dict[str, frozenset[str]]:
    """{class name: names assigned as ``self.<name>`` in its methods} for every class in ``source``."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(source.read_text())):
        if not isinstance(node, ast.ClassDef):
            continue
        names = found.setdefault(node.name, set())
        for item in ast.walk(node):
            targets = []
            if isinstance(item, ast.Assign):
                targets = item.targets
            elif isinstance(item, (ast.AnnAssign, ast.AugAssign)):
                targets = [item.target]
            for target in targets:
                for leaf in ast.walk(target):
                    if (isinstance(leaf, ast.Attribute) and isinstance(leaf.value, ast.Name)
                            and leaf.value.id == "self"):
                        names.add(leaf.attr)
    return {k: frozenset(v) for k, v in found.items()}


def _own_classes(cls: type, module_name: str) -> list[type]:
    """``cls`` and its bases that the double itself defines (not enum, object or a real library's)."""
    return [k for k in cls.__mro__ if k.__module__ == module_name and not is_enum(k)]


def _function_item(path: str, fn, bound: bool) -> Item:
    params = from_callable(fn)
    return Item(path, "function", tuple(without_self(params) if bound else params))


def class_items(path: str, cls: type) -> list[Item]:
    if is_enum(cls):
        return [Item(path, "enum", members=tuple((m.name, int(m.value)) for m in cls))]
    items = [Item(path, "class")]
    seen: set[str] = set()
    for klass in _own_classes(cls, cls.__module__):
        for name, value in vars(klass).items():
            if not public(name) or name in seen:
                continue
            seen.add(name)
            where = f"{path}.{name}"
            if isinstance(value, staticmethod):
                items.append(_function_item(where, value.__func__, bound=False))
            elif isinstance(value, classmethod):
                items.append(_function_item(where, value.__func__, bound=True))
            elif isinstance(value, types.FunctionType):
                items.append(_function_item(where, value, bound=True))
            elif isinstance(value, type):
                items += class_items(where, value)
            else:
                items.append(Item(where, "attribute"))
        source = inspect.getsourcefile(klass)
        for name in sorted(_instance_attributes(Path(source)).get(klass.__name__, frozenset())):
            if public(name) and name not in seen:
                seen.add(name)
                items.append(Item(f"{path}.{name}", "attribute"))
    return items


def module_surface(module: types.ModuleType, owner: str = "gpu_doubles") -> list[Item]:
    """Every public name of a double module, recursively through the classes the double defines
    (a class it borrows from a real library, e.g. onnxruntime's SessionOptions, is only named)."""
    items = []
    for name in sorted(vars(module)):
        if not public(name) or name == "__init__":
            continue
        value = getattr(module, name)
        if isinstance(value, type) and (value.__module__.startswith(owner) or is_enum(value)):
            items += class_items(name, value)
        elif isinstance(value, type):
            items.append(Item(name, "class"))
        elif callable(value):
            items.append(_function_item(name, value, bound=False))
        elif isinstance(value, (int, str)) and not isinstance(value, bool):
            items.append(Item(name, "attribute", value=value))
        else:
            items.append(Item(name, "attribute"))
    return items
