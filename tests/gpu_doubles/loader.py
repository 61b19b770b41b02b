"""A double of the dynamic loader for the NVIDIA libraries, and of the packages that bring them.

pip's NVIDIA wheels install their shared libraries inside site-packages, off the loader's path: a library
loads by soname only when it is on the system path (ldconfig, LD_LIBRARY_PATH; the driver's libcuda.so.1)
or after something loaded it by full path in this process -- ``onnxruntime.preload_dlls()`` for the CUDA and
cuDNN wheels, ``import tensorrt_libs`` (what ``import tensorrt`` does) for TensorRT's. :class:`FakeLoader`
keeps those three sets; the fake onnxruntime asks it whether a provider's library would load, and
:func:`install_loader` routes benchbed's ``gpu_libraries.dlopen`` and ``import tensorrt_libs`` through it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from dataclasses import dataclass, field

#: what each package loads by full path (names from onnxruntime 1.31.1's preload list and TensorRT 10's libs)
CUDA_WHEELS = frozenset({"libcublasLt.so.13", "libcublas.so.13", "libnvrtc.so.13", "libcurand.so.10",
                         "libcufft.so.12", "libcudart.so.13"})
CUDNN_WHEEL = frozenset({"libcudnn.so.9"})
TENSORRT_LIBS = frozenset({"libnvinfer.so.10", "libnvonnxparser.so.10", "libnvinfer_plugin.so.10"})
DRIVER = frozenset({"libcuda.so.1"})


@dataclass
class FakeLoader:
    """``system``: found by soname anywhere; ``wheels``: package -> libraries it loads by full path
    ("cuda", "cudnn" for preload_dlls, "tensorrt_libs" for its import); ``loaded``: loaded in this process."""

    system: set[str] = field(default_factory=lambda: set(DRIVER))
    wheels: dict[str, frozenset[str]] = field(default_factory=lambda: {"cuda": CUDA_WHEELS, "cudnn": CUDNN_WHEEL,
                                                                       "tensorrt_libs": TENSORRT_LIBS})
    loaded: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def loadable(self, name: str) -> bool:
        return name in self.loaded or name in self.system

    def dlopen(self, name: str) -> object:
        """ctypes.CDLL: a handle, or OSError with the loader's message."""
        self.calls.append(name)
        if not self.loadable(name):
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
        self.loaded.add(name)
        return object()

    def load_wheel(self, package: str) -> frozenset[str]:
        """Load a package's libraries by full path; returns what it loaded (nothing when not installed)."""
        libraries = self.wheels.get(package, frozenset())
        self.loaded |= libraries
        return libraries


class _TensorrtLibsFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``tensorrt_libs`` as the tensorrt-cu13-libs wheel provides it: importing it loads the libraries."""

    def __init__(self, loader: FakeLoader) -> None:
        self.loader = loader

    def find_spec(self, fullname, path, target=None):
        if fullname != "tensorrt_libs" or "tensorrt_libs" not in self.loader.wheels:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        self.loader.load_wheel("tensorrt_libs")
        self.loader.calls.append("import tensorrt_libs")


def install_loader(monkeypatch, loader: FakeLoader | None = None) -> FakeLoader:
    """Route benchbed's library loading and ``import tensorrt_libs`` through ``loader``."""
    from benchbed.backends import gpu_libraries

    loader = loader or FakeLoader()
    monkeypatch.setattr(gpu_libraries, "dlopen", loader.dlopen)
    monkeypatch.setitem(sys.modules, "tensorrt_libs", None)  # recorded, so the import below is undone too
    monkeypatch.delitem(sys.modules, "tensorrt_libs")
    monkeypatch.setattr(sys, "meta_path", [_TensorrtLibsFinder(loader), *sys.meta_path])
    return loader
