"""The pip extras install what the GPU backends load (issue 13, item 2); read from pyproject.toml, no network.

What each backend's libraries need is pinned elsewhere against the real wheels (tests/conformance): here the
extras are held to it -- the TensorRT libraries the gpu extra installs are the major version onnxruntime-gpu's
TensorRT provider links, the same TensorRT as the tensorrt extra, and never next to TensorRT 11's.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _extras() -> dict[str, dict[str, str]]:
    """{extra: {package (with its [extras]): version}}."""
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {extra: dict(r.split("==", 1) for r in requirements)
            for extra, requirements in doc["project"]["optional-dependencies"].items()}


def test_the_gpu_extra_brings_cuda_cudnn_and_tensorrt_10_for_onnxruntime_gpus_providers():
    from benchbed.backends.gpu_libraries import PROVIDER_NEEDS, TRT_EP

    gpu = _extras()["gpu"]
    assert gpu["onnxruntime-gpu[cuda,cudnn]"] == "1.31.1"
    nvinfer = next(n for n in PROVIDER_NEEDS[TRT_EP] if n.startswith("libnvinfer.so."))
    assert gpu["tensorrt-cu13-libs"].split(".")[0] == nvinfer.rsplit(".", 1)[1] == "10"
    assert "nvidia-ml-py" in gpu


def test_the_gpu_extras_tensorrt_is_the_tensorrt_extras_and_not_tensorrt11s():
    extras = _extras()
    assert extras["gpu"]["tensorrt-cu13-libs"] == extras["tensorrt"]["tensorrt-cu13"]
    assert extras["tensorrt11"]["tensorrt-cu13"].split(".")[0] == "11"
    assert extras["gpu"]["tensorrt-cu13-libs"] != extras["tensorrt11"]["tensorrt-cu13"], \
        "documented: gpu and tensorrt11 cannot be installed together"


def test_exactly_one_onnxruntime_per_extra():
    for extra, packages in _extras().items():
        names = {re.sub(r"\[.*\]", "", p) for p in packages}
        assert not {"onnxruntime", "onnxruntime-gpu"} <= names, extra
    assert "onnxruntime" in _extras()["cpu"] and "onnxruntime-gpu" not in _extras()["cpu"]
