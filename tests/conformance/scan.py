"""What benchbed uses of tensorrt, cuda.bindings.runtime and pynvml, read from its source with ``ast``.

Every ``.py`` under benchbed/ is scanned (never a fixed list of modules: the package layout may change):

- TensorRT: attribute chains on a name bound to the module (``trt``, ``import tensorrt as X``), e.g.
  ``trt.BuilderFlag.FP16`` -> ``BuilderFlag.FP16``;
- cuda-python: attribute chains from the first ``cudaXxx`` name, whatever object holds it
  (``cudart.cudaError_t.cudaSuccess``, ``runtime().cudaMalloc(n)``);
- NVML: ``nvmlXxx`` / ``NVML_XXX`` attributes, and such names given to ``getattr``.

A chain that is called records the call's shape (positional count, keyword names), and
``getattr(chain, "NAME")`` / ``hasattr(chain, "NAME")`` extend the chain by ``NAME`` (marked optional
when the code is ready for it to be missing).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "benchbed"
CUDA_NAME = re.compile(r"^cuda[A-Z]\w*$")
NVML_NAME = re.compile(r"^(nvml[A-Z]\w*|NVML_\w+)$")


@dataclass(frozen=True)
class Call:
    positional: int
    keywords: tuple[str, ...] = ()
    star: bool = False  # *args or **kwargs at the call site


@dataclass(frozen=True)
class Use:
    path: str  # dotted, inside the library module
    where: str  # file:line
    call: Call | None = None
    optional: bool = False  # looked up with hasattr / getattr(..., default): may be absent


def python_files(root: Path = PACKAGE) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _chain(node: ast.Attribute) -> tuple[ast.AST, list[str]]:
    """(base expression, [attr, attr, ...]) of ``base.attr.attr``."""
    attrs = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    return node, attrs[::-1]


def _call_of(node: ast.AST, parents: dict) -> Call | None:
    parent = parents.get(node)
    if isinstance(parent, ast.Call) and parent.func is node:
        star = any(isinstance(a, ast.Starred) for a in parent.args) or any(k.arg is None for k in parent.keywords)
        return Call(sum(not isinstance(a, ast.Starred) for a in parent.args),
                    tuple(k.arg for k in parent.keywords if k.arg is not None), star)
    return None


def _probe_name(node: ast.AST, parents: dict) -> tuple[str, bool] | None:
    """(name, optional) when ``node`` is the object of ``getattr(node, "name"[, default])`` / ``hasattr``."""
    parent = parents.get(node)
    if (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id in ("getattr", "hasattr")
            and len(parent.args) >= 2 and parent.args[0] is node and isinstance(parent.args[1], ast.Constant)
            and isinstance(parent.args[1].value, str)):
        return parent.args[1].value, parent.func.id == "hasattr" or len(parent.args) > 2
    return None


def _uses(tree: ast.AST, where: str, start) -> list[Use]:
    """Uses from every maximal attribute chain; ``start(base, attrs)`` gives the index the path begins at."""
    parents = _parents(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            continue  # not the end of the chain
        base, attrs = _chain(node)
        index = start(base, attrs)
        if index is None:
            continue
        path = ".".join(attrs[index:])
        line = f"{where}:{node.lineno}"
        if path:
            found.append(Use(path, line, _call_of(node, parents)))
        probe = _probe_name(node, parents)
        if probe:
            found.append(Use(".".join(filter(None, [path, probe[0]])), line, None, probe[1]))
    return found


def _tensorrt_aliases(tree: ast.AST) -> set[str]:
    aliases = {"trt"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == "tensorrt"}
    return aliases


def tensorrt_uses(root: Path = PACKAGE) -> list[Use]:
    uses = []
    for path in python_files(root):
        tree = ast.parse(path.read_text(), str(path))
        aliases = _tensorrt_aliases(tree)
        uses += _uses(tree, str(path.relative_to(root.parent)),
                      lambda base, attrs, names=aliases: 0 if isinstance(base, ast.Name) and base.id in names else None)
        # a bare module name probed with getattr/hasattr: hasattr(trt, "X")
        parents = _parents(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in aliases:
                probe = _probe_name(node, parents)
                if probe:
                    uses.append(Use(probe[0], f"{path.relative_to(root.parent)}:{node.lineno}", None, probe[1]))
    return uses


def _first_matching(pattern: re.Pattern):
    def start(base, attrs):
        return next((i for i, a in enumerate(attrs) if pattern.match(a)), None)
    return start


def cuda_runtime_uses(root: Path = PACKAGE) -> list[Use]:
    uses = []
    for path in python_files(root):
        tree = ast.parse(path.read_text(), str(path))
        uses += _uses(tree, str(path.relative_to(root.parent)), _first_matching(CUDA_NAME))
    return uses


def nvml_uses(root: Path = PACKAGE) -> list[Use]:
    uses = []
    for path in python_files(root):
        tree = ast.parse(path.read_text(), str(path))
        where = str(path.relative_to(root.parent))
        uses += _uses(tree, where, _first_matching(NVML_NAME))
        parents = _parents(tree)
        for node in ast.walk(tree):  # getattr(nvml, "nvmlDeviceGet...", None) on any object
            probe = _probe_name(node, parents) if isinstance(node, ast.Name) else None
            if probe and NVML_NAME.match(probe[0]):
                uses.append(Use(probe[0], f"{where}:{node.lineno}", None, probe[1]))
    return uses


def string_constants(root: Path = PACKAGE) -> set[str]:
    """Every string literal in benchbed (names such as "FP16" probed through a variable)."""
    found = set()
    for path in python_files(root):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def defining_module(name: str, root: Path = PACKAGE) -> str:
    """The dotted module in benchbed that defines top-level function or class ``name`` (found by name,
    so a test that needs one of benchbed's functions in a subprocess survives a move of its module)."""
    found = []
    for path in python_files(root):
        for node in ast.parse(path.read_text(), str(path)).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                parts = path.relative_to(root.parent).with_suffix("").parts
                found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    if len(found) != 1:
        raise LookupError(f"expected one definition of {name} in {root}, found {found}")
    return found[0]


def probed_names(root: Path = PACKAGE) -> set[str]:
    """Names benchbed looks up with ``hasattr(x, "NAME")`` / ``getattr(x, "NAME", ...)`` on any object
    (``hasattr(engine, "device_memory_size_v2")``): their presence is a version test."""
    found = set()
    for path in python_files(root):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("hasattr", "getattr")
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                    and isinstance(node.args[1].value, str)):
                found.add(node.args[1].value)
    return found
