"""benchbed itself (its CLI, in a subprocess) on the real GPU Python stack -- TensorRT 10.16 bindings, cuda-python,
nvidia-ml-py -- on this machine: without a GPU it must say why no GPU backend is usable, not crash."""

from __future__ import annotations

import json

from conformance.packages import pinned
from conformance.probe import RealEnv


def test_benchbed_info_on_the_real_gpu_stack(real_tensorrt, real_cuda, real_nvml, cuda_device_count, tmp_path):
    trt = real_tensorrt("tensorrt")
    stack = RealEnv(trt.python_path + real_cuda.python_path + real_nvml.python_path, trt.library_path)
    done = stack.run(["-m", "benchbed.cli", "info", "--format", "json"], cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    info = json.loads(done.stdout)
    versions = info["environment"]["versions"]
    assert versions.get("cuda-bindings") == pinned("tensorrt", "cuda-python")
    assert versions.get("nvidia-ml-py") == pinned("gpu", "nvidia-ml-py")
    tensorrt = next(b for b in info["backends"] if b["backend"] == "tensorrt")
    _, count, text = cuda_device_count
    if count:  # a machine with a GPU: the same stack must find it
        assert tensorrt["usable"] and info["environment"]["gpus"], info
        return
    assert not tensorrt["usable"]
    assert "cudaGetDeviceCount" in tensorrt["reason"] and text in tensorrt["reason"], tensorrt
    assert info["environment"]["gpus"] == [], "NVML without its library must mean no GPUs listed"
