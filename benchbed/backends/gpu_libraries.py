"""The NVIDIA libraries a GPU runtime loads, loaded the way their packages support, and checked by name.

pip's NVIDIA wheels put their shared libraries inside site-packages, off the dynamic loader's path, so a
library that links them by soname (onnxruntime-gpu's ``libonnxruntime_providers_tensorrt.so`` needs
``libnvinfer.so.10``) finds them only after something loaded them by full path first:

- CUDA 13 and cuDNN 9 (``onnxruntime-gpu[cuda,cudnn]``: nvidia-cuda-runtime, nvidia-cublas, nvidia-cudnn-cu13,
  ...): ``onnxruntime.preload_dlls()``, onnxruntime's own loader for them;
- TensorRT 10 (``tensorrt-cu13-libs``): ``import tensorrt_libs``, which is what ``import tensorrt`` does.

Once loaded, a library is found by its soname for the rest of the process. onnxruntime lists its CUDA and
TensorRT providers wherever the GPU wheel is installed and loads their libraries only when a session asks,
falling back to another provider when that fails; so the probe behind ``benchbed info`` does here what the
worker will do -- the same loading, then every library the provider needs by name -- and a missing one is
"libnvinfer.so.10 not loadable" before anything runs, not a cell that fails after the fact. Loading a
library creates no CUDA context.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import importlib.util
import io
import re
import struct
from pathlib import Path
from typing import Any, Callable

CUDA_EP, TRT_EP = "CUDAExecutionProvider", "TensorrtExecutionProvider"

#: the NVIDIA libraries among a provider library's DT_NEEDED entries (not libc, libstdc++, libdl, ...)
_NVIDIA = re.compile(r"^lib(cu|nv)")

#: What each onnxruntime-gpu 1.31.1 provider library needs (its DT_NEEDED NVIDIA entries, read with readelf;
#: tests/conformance compares them with the pinned wheel). Used when the installed provider library cannot
#: be read; :func:`provider_needs` prefers the installed file's own list.
PROVIDER_NEEDS: dict[str, tuple[str, ...]] = {
    CUDA_EP: ("libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudart.so.13", "libcuda.so.1"),
    TRT_EP: ("libcublas.so.13", "libnvinfer.so.10", "libnvonnxparser.so.10", "libcudart.so.13", "libcudnn.so.9"),
}
#: Loaded at run time rather than linked: the CUDA provider resolves cuDNN's functions with dlsym (its load
#: error says "Require cuDNN 9.* and CUDA 13.*").
RUNTIME_NEEDS: dict[str, tuple[str, ...]] = {CUDA_EP: ("libcudnn.so.9",), TRT_EP: ()}

#: library name prefix -> what installs it (the first match is the hint in the probe's reason)
WHERE_FROM: tuple[tuple[str, str], ...] = (
    ("libnvinfer", "TensorRT 10's libraries (tensorrt-cu13-libs 10.16): pip install 'benchbed[gpu]'"),
    ("libnvonnxparser", "TensorRT 10's libraries (tensorrt-cu13-libs 10.16): pip install 'benchbed[gpu]'"),
    ("libcudnn", "cuDNN 9 (onnxruntime-gpu's cudnn extra): pip install 'benchbed[gpu]'"),
    ("libcuda.so", "the NVIDIA driver's library: install the NVIDIA driver"),
    ("lib", "CUDA 13 (onnxruntime-gpu's cuda extra): pip install 'benchbed[gpu]'"),
)


def dlopen(name: str) -> Any:
    """Load a shared library by name or path (the one call tests replace with a loader double)."""
    return ctypes.CDLL(name)


def needed_libraries(path: Path) -> list[str]:
    """The DT_NEEDED sonames of a little-endian ELF64 shared library (what the dynamic loader will demand)."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path} is not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    for _, kind, _, _, offset, size, link, _, _, entsize in sections:
        if kind != 6:  # SHT_DYNAMIC
            continue
        strings = sections[link][4]
        names = []
        for at in range(offset, offset + size, entsize or 16):
            tag, value = struct.unpack_from("<qQ", data, at)
            if tag == 0:  # DT_NULL
                break
            if tag == 1:  # DT_NEEDED
                start = strings + value
                names.append(data[start:data.index(b"\0", start)].decode())
        return names
    return []


def provider_library(ort: Any, provider: str) -> Path | None:
    """The installed ``libonnxruntime_providers_<name>.so`` of ``provider``, when ``ort`` is a real onnxruntime."""
    module_file = getattr(ort, "__file__", None)
    if not module_file:
        return None
    short = provider[:-len("ExecutionProvider")].lower()
    path = Path(module_file).parent / "capi" / f"libonnxruntime_providers_{short}.so"
    return path if path.is_file() else None


def provider_needs(ort: Any, provider: str) -> tuple[str, ...]:
    """The NVIDIA libraries ``provider`` needs: the installed provider library's own DT_NEEDED list (the
    truth for whatever build is installed), else what onnxruntime-gpu 1.31.1's needs; plus those it loads at
    run time."""
    path = provider_library(ort, provider)
    linked = PROVIDER_NEEDS[provider]
    if path is not None:
        with contextlib.suppress(OSError, ValueError, struct.error, IndexError):
            linked = tuple(n for n in needed_libraries(path) if _NVIDIA.match(n))
    return linked + tuple(n for n in RUNTIME_NEEDS[provider] if n not in linked)


def where_from(soname: str) -> str:
    return next(hint for prefix, hint in WHERE_FROM if soname.startswith(prefix))


def _preload_cuda(ort: Any) -> str:
    """``onnxruntime.preload_dlls()``: CUDA and cuDNN from the nvidia-* wheels; returns what it printed."""
    preload: Callable[..., Any] | None = getattr(ort, "preload_dlls", None)
    if preload is None:  # onnxruntime < 1.21: the libraries must be on the loader's path
        return ""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # it prints its failures; stdout may be a JSON document
        try:
            preload(cuda=True, cudnn=True)
        except Exception as exc:  # a reason, never a traceback: the name check below says what is missing
            print(f"preload_dlls failed: {type(exc).__name__}: {exc}")
    return printed.getvalue()


def _import_tensorrt_libs() -> str:
    """``import tensorrt_libs`` (tensorrt-cu13-libs), which loads libnvinfer & co. by full path."""
    if importlib.util.find_spec("tensorrt_libs") is None:
        return "tensorrt_libs is not installed"
    try:
        importlib.import_module("tensorrt_libs")
    except Exception as exc:
        return f"import tensorrt_libs failed: {type(exc).__name__}: {exc}"
    return ""


#: provider -> the loading steps its package supports, in order
LOADERS: dict[str, tuple[Callable[[Any], str], ...]] = {
    CUDA_EP: (_preload_cuda,),
    TRT_EP: (_preload_cuda, lambda ort: _import_tensorrt_libs()),
}


def load_provider_libraries(ort: Any, provider: str) -> tuple[bool, str]:
    """Load what ``provider`` needs the supported way, then each library by name: (all loadable, why not).

    The reason names the first library that does not load and what installs it, e.g. "libnvinfer.so.10 not
    loadable (TensorRT 10's libraries ...): <the loader's message>"."""
    notes = [note for step in LOADERS[provider] if (note := step(ort))]
    for soname in provider_needs(ort, provider):
        try:
            dlopen(soname)
        except OSError as exc:
            detail = str(exc).strip() or "not found"
            # why the supported loading did not provide it (preload_dlls' printout is left out: it lists
            # every file it tried, the name check already says which one matters)
            why = [n for n in notes if "tensorrt_libs" in n] if soname.startswith("libnv") else []
            return False, "; ".join([f"{soname} not loadable ({where_from(soname)}): {detail}", *why])
    return True, ""


_CANNOT_OPEN = re.compile(r"(lib[\w.+-]+\.so(?:\.\d+)*): cannot open shared object file")


def unloadable_library(exc: BaseException) -> str | None:
    """The soname in a loader error ("libnvinfer.so.10: cannot open shared object file ..."), or None."""
    match = _CANNOT_OPEN.search(str(exc))
    return match.group(1) if match else None
