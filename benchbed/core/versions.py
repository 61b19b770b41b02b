"""Versions of the libraries that change an artifact or a measurement (recorded with every result)."""

from __future__ import annotations

from importlib import metadata

TRACKED = ("benchbed", "torch", "onnx", "onnxruntime", "onnxruntime-gpu", "onnxconverter-common", "numpy",
           "openvino", "nncf", "tensorrt", "cuda-bindings", "nvidia-ml-py")


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def library_versions(names: tuple[str, ...] = TRACKED) -> dict[str, str]:
    """Installed versions of ``names``; packages that are absent are left out."""
    found = {name: package_version(name) for name in names}
    return {name: version for name, version in found.items() if version}
