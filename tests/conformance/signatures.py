"""Parameter lists from pybind11 docstrings and ``inspect``, and the checks that compare them.

pybind11 callables have no ``inspect.signature``; their ``__doc__`` starts with one line per overload such
as ``set_shape(self: tensorrt.IOptimizationProfile, input: str, min: tensorrt.Dims, ...) -> None``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

_OPEN, _CLOSE = "([{<", ")]}>"


@dataclass(frozen=True)
class Param:
    name: str
    has_default: bool = False
    kind: str = "POSITIONAL_OR_KEYWORD"  # an inspect.Parameter kind name


def _split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split at ``sep`` outside brackets and quotes (defaults like ``<Severity.WARNING: 2>`` hold commas)."""
    parts, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        elif char == sep and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current))
    return [p.strip() for p in parts]


def _closing(text: str) -> int | None:
    """Index of the ``)`` that closes an already opened parenthesis (quotes and brackets skipped)."""
    depth, quote = 1, ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth == 0:
                return i
    return None


def parse_pybind(line: str) -> tuple[str, list[Param]]:
    """``name(a: T, b: U = 1) -> R`` -> (name, [Param(a), Param(b, has_default=True)])."""
    name, _, rest = line.partition("(")
    end = _closing(rest)
    if end is None:
        raise ValueError(f"not a pybind11 signature: {line!r}")
    params: list[Param] = []
    keyword_only = False
    for part in _split_top_level(rest[:end]):
        if not part:
            continue
        if part == "/":  # everything before is positional-only
            params = [Param(p.name, p.has_default, "POSITIONAL_ONLY") for p in params]
        elif part == "*":
            keyword_only = True
        elif part.startswith("**"):
            params.append(Param(part[2:].split(":")[0].strip(), False, "VAR_KEYWORD"))
        elif part.startswith("*"):
            params.append(Param(part[1:].split(":")[0].strip(), False, "VAR_POSITIONAL"))
        else:
            head = _split_top_level(part, "=")
            params.append(Param(head[0].split(":")[0].strip(), len(head) > 1,
                                "KEYWORD_ONLY" if keyword_only else "POSITIONAL_OR_KEYWORD"))
    return name.strip(), params


def from_describe(answer: dict) -> list[list[Param]]:
    """Overloads of a callable described by describe.py (inspect signature, else its pybind11 docstring)."""
    if answer.get("signature") is not None:
        return [[Param(n, d, k) for n, k, d in answer["signature"]]]
    return [parse_pybind(line)[1] for line in answer.get("doc_signatures") or []]


def from_callable(fn) -> list[Param]:
    return [Param(p.name, p.default is not inspect.Parameter.empty, p.kind.name)
            for p in inspect.signature(fn).parameters.values()]


def without_self(params: list[Param]) -> list[Param]:
    return params[1:] if params and params[0].name == "self" else params


def accepts(params: list[Param], positional: int, keywords: tuple[str, ...] = (), star: bool = False) -> bool:
    """Would a call with ``positional`` arguments and these keyword names bind to ``params``?"""
    if star:  # *args / **kwargs at the call site: only the keyword names can be checked
        names = {p.name for p in params}
        return all(k in names for k in keywords) or any(p.kind == "VAR_KEYWORD" for p in params)
    signature = inspect.Signature([inspect.Parameter(p.name, getattr(inspect.Parameter, p.kind),
                                                     default=0 if p.has_default else inspect.Parameter.empty)
                                   for p in params])
    try:
        signature.bind(*range(positional), **{k: 0 for k in keywords})
    except TypeError:
        return False
    return True


def param_problems(where: str, double: list[Param], overloads: list[list[Param]]) -> list[str]:
    """Why the double's parameters do not match any real overload (empty when one matches).

    A match: the same names in the same order, except that the double may leave off trailing real
    parameters that have defaults; a parameter with a default in the double must have one in reality
    (or benchbed could leave out an argument TensorRT requires).
    """
    if not overloads:
        return [f"{where}: the real callable has no readable signature"]
    double = [p for p in double if p.kind not in ("VAR_POSITIONAL", "VAR_KEYWORD")]
    reasons = []
    for real in overloads:
        if any(p.kind in ("VAR_POSITIONAL", "VAR_KEYWORD") for p in real) and len(real) <= 2 and len(overloads) > 1:
            continue  # pybind11's "(*args, **kwargs)" header of an overloaded function
        names = [p.name for p in real]
        head, tail = real[:len(double)], real[len(double):]
        if [p.name for p in head] != [p.name for p in double]:
            reasons.append(f"names {[p.name for p in double]} vs real {names}")
        elif any(not p.has_default and p.kind not in ("VAR_POSITIONAL", "VAR_KEYWORD") for p in tail):
            reasons.append(f"leaves out required real parameter(s) {[p.name for p in tail if not p.has_default]}")
        elif any(d.has_default and not r.has_default for d, r in zip(double, head)):
            reasons.append(f"defaults {[p.name for p in double if p.has_default]} where real has none")
        else:
            return []
    return [f"{where}: parameters do not match the real ones ({'; '.join(reasons)})"]
