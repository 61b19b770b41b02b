"""Compare a double's surface and benchbed's uses against the real module's answers (describe.py).

Each function returns a list of problems, one line each, empty when everything conforms; the tests assert
the list is empty so one run names every discrepancy at once.
"""

from __future__ import annotations

from typing import Iterable

from conformance.scan import Use
from conformance.signatures import Param, accepts, from_describe, param_problems, without_self
from conformance.surface import Item

CALLABLE_KINDS = ("function",)


def paths_for(items: Iterable[Item] = (), uses: Iterable[Use] = ()) -> list[str]:
    """Every real path the comparisons need (constructors of called classes included)."""
    paths = {item.path for item in items}
    for use in uses:
        paths.add(use.path)
        if use.call is not None:
            paths.add(f"{use.path}.__init__")
    return sorted(paths)


def enum_problems(path: str, double: dict[str, int], real: dict[str, int]) -> list[str]:
    """Every member of the double's enum must be a real member with the same int value."""
    problems = []
    for name, value in double.items():
        if name not in real:
            problems.append(f"{path}.{name}: not a member of the real enum (real: {', '.join(sorted(real))})")
        elif real[name] != value:
            problems.append(f"{path}.{name} = {value} in the double, {real[name]} in the real enum")
    return problems


def surface_problems(items: Iterable[Item], real: dict[str, dict]) -> list[str]:
    """The double's names, kinds, parameters and enum values against the real module."""
    problems = []
    for item in items:
        answer = real.get(item.path, {"exists": False})
        if not answer.get("exists"):
            problems.append(f"{item.path}: the double has it, the real module does not")
            continue
        kind = answer.get("kind")
        if item.kind == "enum":
            if kind != "enum":
                problems.append(f"{item.path}: an enum in the double, a {kind} in the real module")
            else:
                problems += enum_problems(item.path, dict(item.members), answer["members"])
        elif item.kind == "function":
            if item.path.endswith(".__init__") and answer.get("slot"):
                continue  # the real class has no Python constructor: the double's is its own business
            if kind not in CALLABLE_KINDS:
                problems.append(f"{item.path}: a function in the double, a {kind} in the real module")
            else:
                overloads = [without_self(o) for o in from_describe(answer)]
                problems += param_problems(item.path, list(item.params), overloads)
        elif item.kind == "attribute" and kind in CALLABLE_KINDS:
            problems.append(f"{item.path}: data in the double, a method in the real module (call it)")
        elif item.value is not None and kind == "value" and answer.get("value") != item.value:
            problems.append(f"{item.path} = {item.value!r} in the double, {answer.get('value')!r} in the real module")
        elif item.kind == "class" and kind not in ("class", "enum"):
            problems.append(f"{item.path}: a class in the double, a {kind} in the real module")
    return problems


def _call_overloads(use: Use, real: dict[str, dict]) -> list[list[Param]]:
    answer = real[use.path]
    if answer.get("kind") in ("class", "enum"):
        init = real.get(f"{use.path}.__init__", {})
        return [without_self(o) for o in from_describe(init)] if init.get("exists") else []
    return from_describe(answer)


def _not_constructible(use: Use, real: dict[str, dict]) -> bool:
    return real[use.path].get("kind") == "class" and real.get(f"{use.path}.__init__", {}).get("slot", False)


def use_problems(uses: Iterable[Use], real: dict[str, dict], optional_elsewhere: set[str] = frozenset()) -> list[str]:
    """benchbed's names must exist (an optional probe: in some version) and its calls must bind."""
    problems = []
    for use in uses:
        answer = real.get(use.path, {"exists": False})
        if not answer.get("exists"):
            if use.optional and use.path in optional_elsewhere:
                continue
            what = "probes for" if use.optional else "uses"
            problems.append(f"{use.where}: benchbed {what} {use.path}, which the real module does not have")
            continue
        if use.call is None:
            continue
        if _not_constructible(use, real):
            problems.append(f"{use.where}: benchbed constructs {use.path}, which has no Python constructor")
            continue
        overloads = _call_overloads(use, real)
        if not overloads:
            continue  # no readable signature (a property or a plain type): existence is what can be checked
        if not any(accepts(o, use.call.positional, use.call.keywords, use.call.star) for o in overloads):
            shown = " | ".join("(" + ", ".join(p.name for p in o) + ")" for o in overloads)
            problems.append(f"{use.where}: benchbed calls {use.path} with {use.call.positional} positional "
                            f"argument(s) and keywords {list(use.call.keywords)}; real parameters {shown}")
    return problems
