#!/usr/bin/env bash
# benchbed's GPU check (issue 13): torch-cuda cells, the NVML tracker and the cuda-python helpers, for real,
# on a machine with an NVIDIA GPU, a CUDA build of torch, cuda-bindings and nvidia-ml-py (no TensorRT, no
# onnxruntime-gpu, no package index needed). A few minutes; writes a JSON summary (--out, default
# reports/gpu_check.json). Arguments: see `benchmarks/gpu_check.sh --help` or benchmarks/gpu_check.py.
#
# Exit status: 0 passed, 1 a check failed, 2 bad arguments, 3 no usable NVIDIA GPU (one line on stderr).
# The Python it runs: $PYTHON, else the checkout's .venv, else python3.
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python="python3"; fi
fi
if ! command -v "$python" >/dev/null 2>&1; then
    echo "gpu_check: no Python interpreter '$python' (set PYTHON)" >&2
    exit 2
fi
exec "$python" "$root/benchmarks/gpu_check.py" "$@"
