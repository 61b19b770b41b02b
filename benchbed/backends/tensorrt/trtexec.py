"""NVIDIA's ``trtexec`` on the same ONNX, so ``benchbed selftest`` can set its latency beside benchbed's.

trtexec's performance summary prints lines such as
``[I] Latency: min = 0.59 ms, max = 1.30 ms, mean = 0.61 ms, median = 0.60 ms, percentile(90%) = ...``
(host latency: H2D + compute + D2H) and ``[I] GPU Compute Time: min = ..., median = ...`` (compute only,
which is what benchbed's CUDA-event times measure).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

_LINE = re.compile(r"(?:^|\]\s*)(Latency|GPU Compute Time):\s*(.*)$")
_FIELD = re.compile(r"(min|max|mean|median|percentile\((\d+(?:\.\d+)?)%\))\s*=\s*([0-9.eE+-]+)\s*ms")


def parse_summary(text: str) -> dict[str, dict[str, float]]:
    """{"latency": {...}, "gpu_compute": {...}} in ms from trtexec's output; lines absent are left out.

    Only the plain "Latency:" line counts as latency ("H2D Latency:"/"D2H Latency:" are copies alone).
    """
    found: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        match = _LINE.search(line.strip())
        if not match:
            continue
        key = "latency" if match.group(1) == "Latency" else "gpu_compute"
        values = {}
        for name, pct, number in _FIELD.findall(match.group(2)):
            values[f"p{pct}" if pct else name] = float(number)
        if "median" in values:
            found[key] = values
    return found


def run_trtexec(onnx_path: Path, input_name: str, shape: list[int], timeout: float = 900.0) -> dict:
    """Run trtexec on ``onnx_path`` for one static input shape; {"median_ms", "gpu_compute_median_ms", ...}
    or {"error": ...} (never raises: the selftest reports it beside the other rows)."""
    exe = shutil.which("trtexec")
    if exe is None:
        return {"error": "trtexec not on PATH"}
    shapes = f"{input_name}:{'x'.join(str(d) for d in shape)}"
    command = [exe, f"--onnx={onnx_path}", f"--shapes={shapes}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"trtexec did not finish: {exc}", "command": " ".join(command)}
    summary = parse_summary(done.stdout + "\n" + done.stderr)
    if done.returncode != 0 or "latency" not in summary:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"trtexec exit {done.returncode}: {tail[0]}", "command": " ".join(command)}
    return {"median_ms": summary["latency"]["median"],
            "gpu_compute_median_ms": summary.get("gpu_compute", {}).get("median"),
            "latency_ms": summary["latency"], "command": " ".join(command)}
