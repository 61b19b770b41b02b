"""Session fixtures: the real packages (installed once into the cache) as environments for subprocesses."""

from __future__ import annotations

import shutil
import subprocess
from typing import Callable

import pytest

from conformance import packages
from conformance.probe import RealEnv, describe
from conformance.trt_stubs import add_shim, build_stubs


@pytest.fixture(scope="session")
def real_tensorrt(tmp_path_factory) -> Callable[[str], RealEnv]:
    """``real_tensorrt(extra)``: the TensorRT bindings of that extra, importable as ``tensorrt``, with stub
    libnvinfer & co. on LD_LIBRARY_PATH."""
    made: dict[str, RealEnv] = {}

    def get(extra: str) -> RealEnv:
        if extra not in made:
            folder = packages.ensure(packages.tensorrt_bindings(extra))
            add_shim(folder)
            if not (shutil.which("cc") or shutil.which("gcc")):
                packages.unavailable("TensorRT stub libraries", "no C compiler (cc) on PATH", offline=True)
            try:
                stubs = build_stubs(folder, tmp_path_factory.mktemp(f"trt-stubs-{extra}"))
            except subprocess.CalledProcessError as exc:
                pytest.fail(f"building the TensorRT stub libraries failed: {exc.stderr}", pytrace=False)
            made[extra] = RealEnv((folder,), (stubs,))
        return made[extra]

    return get


@pytest.fixture(scope="session")
def real_cuda() -> RealEnv:
    return RealEnv((packages.ensure(packages.cuda_bindings()),))


@pytest.fixture(scope="session")
def real_nvml() -> RealEnv:
    return RealEnv((packages.ensure(packages.nvidia_ml_py()),))


@pytest.fixture(scope="session")
def real_onnxruntime_gpu() -> RealEnv:
    return RealEnv((packages.ensure(packages.onnxruntime_gpu()),))


@pytest.fixture(scope="session")
def cuda_device_count(real_cuda) -> tuple[int, int, str]:
    """(cudaError, count, error text) from the real cudaGetDeviceCount on this machine."""
    code = ("err, count = m.cudaGetDeviceCount()\n"
            "result = [int(err), count or 0, m.cudaGetErrorString(err)[1]]")
    answer = describe(real_cuda, "cuda.bindings.runtime", [], {"count": code})["code"]["count"]
    assert "result" in answer, answer
    return tuple(answer["result"])
