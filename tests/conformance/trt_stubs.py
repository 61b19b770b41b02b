"""Stub libnvinfer / libnvonnxparser / libnvinfer_plugin so the real TensorRT bindings import without a GPU.

The bindings' ``tensorrt.so`` links nine C entry points from those libraries. Stubs that export them (each
returning NULL / 0) satisfy the dynamic linker; every class, method, enum and pybind signature is then
TensorRT's own. A factory returning NULL is also what the real library does without a usable GPU, so
``trt.Builder(logger)`` raises the real "factory function returned nullptr" error.

Which sonames and symbols are needed is read from the ELF file itself (``readelf -d``, ``nm -D``), falling
back to what 10.16 and 11.4 need when binutils is absent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

#: which library exports which entry point (TensorRT's headers)
OWNER = {"createInferBuilder_INTERNAL": "nvinfer", "createInferRuntime_INTERNAL": "nvinfer",
         "createInferRefitter_INTERNAL": "nvinfer", "getPluginRegistry": "nvinfer",
         "getBuilderPluginRegistry": "nvinfer", "createNvOnnxParser_INTERNAL": "nvonnxparser",
         "createNvOnnxParserRefitter_INTERNAL": "nvonnxparser", "getNvOnnxParserVersion": "nvonnxparser",
         "initLibNvInferPlugins": "nvinfer_plugin"}
SHIM = "from tensorrt_bindings import *\nfrom tensorrt_bindings import __version__\n"  # tensorrt-cu13's __init__


def needed_sonames(extension: Path, major: int) -> list[str]:
    """The libnv* sonames ``extension`` is linked against (DT_NEEDED)."""
    if shutil.which("readelf"):
        out = subprocess.run(["readelf", "-d", str(extension)], capture_output=True, text=True, check=True).stdout
        return sorted(set(re.findall(r"Shared library: \[(libnv[\w.]+)\]", out)))
    return sorted(f"lib{name}.so.{major}" for name in set(OWNER.values()))


def needed_symbols(extension: Path) -> list[str]:
    """Undefined, unversioned C symbols of ``extension`` (the TensorRT entry points)."""
    if shutil.which("nm"):
        out = subprocess.run(["nm", "-D", "--undefined-only", str(extension)], capture_output=True, text=True,
                             check=True).stdout
        found = {parts[1] for parts in (line.split() for line in out.splitlines())
                 if len(parts) == 2 and parts[0] == "U" and "@" not in parts[1]}
        # Python's C API and libdl come from the interpreter and libc, not from TensorRT
        return sorted(s for s in found if not re.match(r"_?Py|dl[a-z]+$|pthread_", s))
    return sorted(OWNER)


def build_stubs(bindings: Path, out: Path) -> Path:
    """Compile the stub libraries ``bindings/tensorrt_bindings/tensorrt.so`` needs into ``out``; returns ``out``."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise FileNotFoundError("no C compiler (cc) to build the TensorRT stub libraries")
    extension = bindings / "tensorrt_bindings" / "tensorrt.so"
    major = int(_version(bindings).split(".")[0])
    sonames = needed_sonames(extension, major)
    symbols = needed_symbols(extension)
    out.mkdir(parents=True, exist_ok=True)
    for soname in sonames:
        library = re.match(r"lib(\w+)\.so", soname).group(1)
        mine = [s for s in symbols if OWNER.get(s, "nvinfer") == library]
        source = out / f"{library}.c"
        source.write_text("".join(f"void *{s}(void) {{ return 0; }}\n" for s in mine) or "int benchbed_stub;\n")
        subprocess.run([compiler, "-shared", "-fPIC", "-o", str(out / soname), f"-Wl,-soname,{soname}", str(source)],
                       check=True, capture_output=True)
    return out


def _version(bindings: Path) -> str:
    init = (bindings / "tensorrt_bindings" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', init, re.MULTILINE).group(1)


def add_shim(bindings: Path) -> None:
    """``import tensorrt`` as the tensorrt-cu13 meta package provides it (it needs NVIDIA's index)."""
    package = bindings / "tensorrt"
    package.mkdir(exist_ok=True)
    if not (package / "__init__.py").exists() or (package / "__init__.py").read_text() != SHIM:
        (package / "__init__.py").write_text(SHIM)
