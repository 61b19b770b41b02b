"""NVIDIA's ``trtexec`` on the same ONNX, so ``benchbed selftest`` can set its figure beside benchbed's.

trtexec's performance summary prints lines such as
``[I] Latency: min = 0.59 ms, max = 1.30 ms, mean = 0.61 ms, median = 0.60 ms, percentile(90%) = ...``
and ``[I] GPU Compute Time: min = ..., median = ...``. "Latency" is "the summation of H2D Latency, GPU Compute
Time, and D2H Latency" -- and what it holds changed with TensorRT 11: 10.x copies inputs and outputs by
default (``--noDataTransfers`` turns that off) and runs without CUDA graphs (``--useCudaGraph``); 11.x turned
data transfers off and CUDA graphs and spin-wait on by default (``--includeDataTransfers`` / ``--noCudaGraph``;
the 10.x flags are deprecated no-ops; trtexec's sampleOptions.cpp, release/10.16 and release/11.x). TF32 is on
in both unless ``--noTF32``.

So the figure that means the same thing on both sides is the GPU compute time: trtexec's "GPU Compute Time"
against benchbed's CUDA-event ``timing.device_stats`` (neither includes copies), with trtexec told the cell's
own engine and timing options in its version's dialect (:data:`DIALECTS`): CUDA graph, copies, TF32, strong
typing, workspace, builder optimization level, profile shapes. :func:`run_trtexec` returns that figure as
``compare_ms``, with the flags it passed and the dialect it used.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchbed.backends.tensorrt.options import TrtOptions

_LINE = re.compile(r"(?:^|\]\s*)(Latency|GPU Compute Time):\s*(.*)$")
_FIELD = re.compile(r"(min|max|mean|median|percentile\((\d+(?:\.\d+)?)%\))\s*=\s*([0-9.eE+-]+)\s*ms")
_VERSION = re.compile(r"TensorRT version: (\d+)\.(\d+)\.(\d+)")
#: benchbed's figure that ``compare_ms`` matches
COMPARE_WITH = "timing.device_stats.p50_ms (CUDA events around the enqueue: GPU compute time, copies excluded)"


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


@dataclass(frozen=True)
class Dialect:
    """How one TensorRT major version's trtexec asks for a cell's options: the flags for each value (an empty
    tuple where the value is trtexec's default), and how to recognise it in ``trtexec --help``."""

    major: int
    marker: str  # an option only this dialect's --help lists
    cuda_graph: dict[bool, tuple[str, ...]]
    copies: dict[bool, tuple[str, ...]]  # True: host<->device copies included
    strongly_typed: dict[bool, tuple[str, ...]]
    tf32: dict[bool, tuple[str, ...]]
    #: weak typing's precision flags (10.x only; 11.x removed them: precision comes from the ONNX)
    precision: dict[str, tuple[str, ...]]


DIALECTS: dict[int, Dialect] = {
    10: Dialect(10, "--noDataTransfers", cuda_graph={True: ("--useCudaGraph",), False: ()},
                copies={True: (), False: ("--noDataTransfers",)},
                strongly_typed={True: ("--stronglyTyped",), False: ()}, tf32={True: (), False: ("--noTF32",)},
                precision={"fp16": ("--fp16",), "bf16": ("--bf16",), "int8": ("--int8", "--fp16")}),
    11: Dialect(11, "--includeDataTransfers", cuda_graph={True: (), False: ("--noCudaGraph",)},
                copies={True: ("--includeDataTransfers",), False: ()},
                strongly_typed={True: (), False: ()}, tf32={True: (), False: ("--noTF32",)}, precision={}),
}


def dialect_of(help_text: str) -> Dialect | None:
    """The dialect whose marker ``trtexec --help`` lists (11's first: its help still lists 10's flags as
    deprecated no-ops)."""
    for major in sorted(DIALECTS, reverse=True):
        if DIALECTS[major].marker in help_text:
            return DIALECTS[major]
    return None


def _dims(name: str, shape: list[int], batch: int | None = None) -> str:
    dims = [batch if batch is not None else shape[0], *shape[1:]]
    return f"{name}:{'x'.join(str(d) for d in dims)}"


def trtexec_flags(dialect: Dialect, options: "TrtOptions", input_name: str, shape: list[int],
                  precision: str = "fp32") -> list[str]:
    """The flags that make trtexec build and time the engine a benchbed cell with ``options`` builds and times
    (``shape``: the cell's input shape, batch first)."""
    flags = [*dialect.strongly_typed[options.strongly_typed], *dialect.tf32[options.tf32],
             *dialect.cuda_graph[options.cuda_graph], *dialect.copies[options.copies_included],
             f"--memPoolSize=workspace:{options.workspace_mib}M",
             f"--builderOptimizationLevel={options.opt_level}"]
    if not options.strongly_typed:
        flags += dialect.precision.get(precision, ())
    top = max(options.max_batch, shape[0])
    flags += [f"--minShapes={_dims(input_name, shape, 1)}",
              f"--optShapes={_dims(input_name, shape, min(options.opt_batch or top, top))}",
              f"--maxShapes={_dims(input_name, shape, top)}"]
    return flags


def _help_text(exe: str) -> str:
    try:
        done = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout + done.stderr


def run_trtexec(onnx_path: Path, input_name: str, shape: list[int], timeout: float = 900.0,
                options: "TrtOptions | None" = None, precision: str = "fp32") -> dict:
    """Run trtexec on ``onnx_path`` for one input shape; never raises (the selftest reports it beside the other
    rows). Returns {"median_ms" (trtexec's "Latency" median, whose meaning depends on the version),
    "gpu_compute_median_ms", "compare_ms" (the GPU compute median: compare with :data:`COMPARE_WITH`),
    "matched" (trtexec was given the cell's options), "flags", "dialect", "trtexec_version", "latency_ms",
    "gpu_compute_ms", "command"} or {"error", ...}.

    Without ``options`` trtexec runs with its own defaults, which differ between 10.x and 11.x (``matched``
    False). With them, ``trtexec --help`` says which dialect to speak (:data:`DIALECTS`)."""
    exe = shutil.which("trtexec")
    if exe is None:
        return {"error": "trtexec not on PATH"}
    command = [exe, f"--onnx={onnx_path}", f"--shapes={_dims(input_name, shape)}"]
    flags: list[str] = []
    dialect = None
    if options is not None:
        dialect = dialect_of(_help_text(exe))
        if dialect is None:
            return {"error": "trtexec --help lists neither --noDataTransfers (TensorRT 10) nor "
                             "--includeDataTransfers (TensorRT 11): cannot tell which flags match the cell",
                    "command": " ".join(command)}
        flags = trtexec_flags(dialect, options, input_name, shape, precision)
    command += flags
    about = {"flags": flags, "dialect": dialect.major if dialect else None, "matched": options is not None,
             "command": " ".join(command)}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"trtexec did not finish: {exc}", **about}
    output = done.stdout + "\n" + done.stderr
    summary = parse_summary(output)
    if done.returncode != 0 or "latency" not in summary:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"trtexec exit {done.returncode}: {tail[0]}", **about}
    version = _VERSION.search(output)
    gpu_compute = summary.get("gpu_compute", {})
    return {"median_ms": summary["latency"]["median"], "gpu_compute_median_ms": gpu_compute.get("median"),
            "compare_ms": gpu_compute.get("median"), "compare_with": COMPARE_WITH,
            "trtexec_version": ".".join(version.groups()) if version else None,
            "latency_ms": summary["latency"], "gpu_compute_ms": gpu_compute, **about}
