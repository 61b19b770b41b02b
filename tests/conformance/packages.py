"""The real packages, pinned exactly and installed once with ``pip --no-deps --target`` into a cache folder.

Versions come from pyproject.toml's extras, so a pin bumped there is what the conformance tests check.
One folder per package set: the two TensorRT bindings share the module name ``tensorrt_bindings`` and
onnxruntime-gpu would overwrite the CPU onnxruntime, so none of them can share the test environment.

When an install fails: with ``CI`` set the test fails (CI must never pass by skipping); without it, a
skip only when pip could not reach the package index, a failure otherwise.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("BENCHBED_CONFORMANCE_CACHE", ROOT / ".cache" / "conformance"))
#: cuda-bindings imports cuda.pathfinder; cuda-bindings 13.4.4 asks for >=1.4.2, this is the newest there is
CUDA_PATHFINDER = "cuda-pathfinder==1.9.1"
#: pyproject extras pinning TensorRT 10.16 and 11.4
TRT_EXTRAS = ("tensorrt", "tensorrt11")
#: what pip prints when it cannot reach an index (as opposed to a pin that does not exist)
_OFFLINE = ("NewConnectionError", "Failed to establish a new connection", "Temporary failure in name resolution",
            "Max retries exceeded", "Network is unreachable", "ConnectTimeoutError", "ReadTimeoutError",
            "No route to host", "Connection refused")


def _extras() -> dict[str, list[str]]:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return doc["project"]["optional-dependencies"]


def pinned(extra: str, name: str) -> str:
    """The exact version of ``name`` in pyproject's extra ``extra`` (``name==X`` or ``name[extras]==X``)."""
    for requirement in _extras()[extra]:
        package, _, version = requirement.partition("==")
        if package.split("[")[0].strip().lower() == name.lower() and version:
            return version.strip()
    raise LookupError(f"pyproject.toml extra {extra!r} pins no {name}")


@dataclass(frozen=True)
class PackageSet:
    """Requirements installed together into one folder; ``key`` names the folder."""

    key: str
    requirements: tuple[str, ...]


def tensorrt_bindings(extra: str) -> PackageSet:
    """The bindings wheel of the TensorRT pinned in ``extra`` (the meta package needs NVIDIA's index)."""
    version = pinned(extra, "tensorrt-cu13")
    return PackageSet(f"tensorrt-cu13-bindings-{version}", (f"tensorrt-cu13-bindings=={version}",))


def cuda_bindings() -> PackageSet:
    """cuda-python is a meta package; its runtime module lives in cuda-bindings of the same version."""
    version = pinned("tensorrt", "cuda-python")
    return PackageSet(f"cuda-bindings-{version}", (f"cuda-bindings=={version}", CUDA_PATHFINDER))


def nvidia_ml_py() -> PackageSet:
    version = pinned("gpu", "nvidia-ml-py")
    return PackageSet(f"nvidia-ml-py-{version}", (f"nvidia-ml-py=={version}",))


def onnxruntime_gpu() -> PackageSet:
    version = pinned("gpu", "onnxruntime-gpu")
    return PackageSet(f"onnxruntime-gpu-{version}", (f"onnxruntime-gpu=={version}",))


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(what: str, detail: str, offline: bool) -> None:
    """Fail (CI, or a real error) or skip (no CI and no package index) for a missing real package."""
    message = f"{what}: {detail.strip()[-2000:]}"
    if in_ci() or not offline:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


#: seconds each install took in this session (reported by the timing test output)
INSTALL_SECONDS: dict[str, float] = {}


def ensure(packages: PackageSet) -> Path:
    """The folder holding ``packages`` (installed now if not cached); fails or skips when pip cannot."""
    target = CACHE / packages.key
    marker = target / ".complete"
    if marker.exists() and marker.read_text() == "\n".join(packages.requirements):
        return target
    with _locked():
        if marker.exists() and marker.read_text() == "\n".join(packages.requirements):
            return target
        started = time.perf_counter()
        staging = Path(tempfile.mkdtemp(prefix=f".{packages.key}-", dir=CACHE))
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-cache-dir",
                   "--disable-pip-version-check", "--no-input", "--retries", "2", "--timeout", "30",
                   "--target", str(staging), *packages.requirements]
        try:
            # pip reaching the package index is this install step, not traffic from benchbed: the network
            # guard (tests/netguard) is off for it, and only for it
            install_env = {k: v for k, v in os.environ.items() if k != "BENCHBED_NETGUARD_LOG"}
            done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=install_env)
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(staging, ignore_errors=True)
            unavailable(f"pip install {' '.join(packages.requirements)}", f"timed out: {exc}", offline=True)
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            text = done.stdout + done.stderr
            unavailable(f"pip install {' '.join(packages.requirements)}", text, any(m in text for m in _OFFLINE))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        marker.write_text("\n".join(packages.requirements))
        INSTALL_SECONDS[packages.key] = time.perf_counter() - started
    return target
