"""benchbed's prepared check for a machine with an NVIDIA GPU (issue 13): a few minutes, one JSON summary.

    benchmarks/gpu_check.sh [--out reports/gpu_check.json] [--phi 0] [--max-batch 8] [--nvml-seconds 3]
                            [--work DIR] [--skip-sweep] [--compile]

Runs what needs neither TensorRT, onnxruntime-gpu nor a package index -- a CUDA build of torch, cuda-bindings
(cuda-python) and nvidia-ml-py, with benchbed's own dependencies (its ``cpu`` extra's onnxruntime verifies
every ONNX export) -- for real:

- ``gpu``: what the GPU is (torch, cuda-bindings and NVML each asked) and what ``benchbed info``'s probes say;
- ``cuda_bindings``: benchbed's cuda-python helpers (benchbed/backends/tensorrt/cuda.py): device count and
  identity, free memory, a device buffer and pinned host arrays copied both ways, CUDA-event timing on a
  stream, and a captured CUDA graph replayed after its input changed;
- ``nvml``: benchbed's NVML tracker (power, SM clock, clock-event reasons, energy from the total-energy
  counter) around a few seconds of matrix products on the GPU;
- ``torch_parity``: benchbed's EfficientNet-B{φ} on the GPU against the same module on the CPU, in fp32
  (TF32 off), TF32 and fp16 autocast, each against the bound benchbed judges it by -- the first real
  measurement of the TF32 error the tf32 bound was set from by emulation;
- ``torch_cuda_cells``: ``benchbed sweep --backend torch-cuda`` cells (single-stream and offline, worker
  processes, parity, CUDA-event times, NVML section) with fp32, ``tf32=on`` and ``dtype=fp16``
  (and ``compile=on`` with ``--compile``).

Exit status: 0 every check passed (or was skipped), 1 a check failed (the JSON says which and why), 2 bad
arguments, 3 no usable NVIDIA GPU (one line on stderr, nothing written): on a machine without one this
script stops there.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable, NoReturn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # a checkout that was never pip-installed
    sys.path.insert(0, str(ROOT))

FORMAT = "benchbed-gpu-check/1"
EXIT_FAILED, EXIT_USAGE, EXIT_NO_GPU = 1, 2, 3
#: the sweep variants: name -> torch-cuda backend options
VARIANTS: dict[str, list[str]] = {"fp32": [], "tf32": ["tf32=on"], "fp16": ["dtype=fp16"]}
COMPILE_VARIANT = ("compile", ["compile=on"])


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad argument as one line and exit 2 (benchbed's rule for bad input)."""

    def error(self, message: str) -> NoReturn:
        print(f"gpu_check: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _bounded(kind: type, low: float, high: float) -> Callable[[str], float]:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside [{low:g}, {high:g}]")
        return value

    return parse


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="gpu_check", description="benchbed's GPU check: torch-cuda cells, NVML, cuda-python.")
    parser.add_argument("--out", type=Path, default=Path("reports/gpu_check.json"), help="the JSON summary")
    parser.add_argument("--phi", type=_bounded(int, 0, 7), default=0, help="EfficientNet-B{phi} (0-7)")
    parser.add_argument("--max-batch", type=_bounded(int, 1, 256), default=8, help="largest offline batch")
    parser.add_argument("--nvml-seconds", type=_bounded(float, 0.5, 60), default=3.0,
                        help="seconds of GPU load the NVML tracker watches")
    parser.add_argument("--work", type=Path, default=None, help="folder for models, reports, store (default: temp)")
    parser.add_argument("--skip-sweep", action="store_true", help="leave out the torch-cuda sweep cells")
    parser.add_argument("--compile", action="store_true", help="add a torch.compile variant (needs triton)")
    args = parser.parse_args(argv)
    if args.out.exists() and args.out.is_dir():
        parser.error(f"argument --out: {args.out} is a folder, not a file")
    return args


def gpu_or_reason() -> tuple[bool, str]:
    """Is there a GPU torch can use? benchbed's torch-cuda probe answers (no CUDA context is created)."""
    if importlib.util.find_spec("torch") is None:
        return False, "torch is not installed"
    from benchbed.backends import get_backend

    return get_backend("torch-cuda").probe()


def _run(check: Callable[[], dict]) -> dict:
    """A check's result; an exception is a failure with its reason, never a crash of the whole check."""
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:
        result = {"status": "fail", "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()[-3000:]}
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _versions() -> dict:
    from benchbed.core.versions import package_version

    names = ("benchbed", "torch", "cuda-bindings", "cuda-python", "nvidia-ml-py", "onnxruntime", "onnxruntime-gpu",
             "tensorrt", "tensorrt-cu13", "onnx", "numpy")
    return {name: package_version(name) for name in names}


def check_gpu() -> dict:
    """What the GPU is, asked three ways, and what benchbed's backend probes say on this machine."""
    import torch

    from benchbed.backends import probe_all

    props = torch.cuda.get_device_properties(0)
    found: dict = {"torch": {"name": props.name, "capability": f"{props.major}.{props.minor}",
                             "total_bytes": int(props.total_memory), "count": torch.cuda.device_count(),
                             "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()}}
    try:
        from benchbed.backends.tensorrt import cuda

        count, why = cuda.device_count()
        found["cuda_bindings"] = {"count": count, "why": why, **cuda.device_identity().to_dict()}
    except Exception as exc:
        found["cuda_bindings"] = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        from benchbed.measure.trackers.nvml import nvml_handle, nvml_session

        with nvml_session() as nvml:
            handle = nvml_handle(nvml, 0)
            name = nvml.nvmlDeviceGetName(handle)
            found["nvml"] = {"count": nvml.nvmlDeviceGetCount(), "name": name.decode() if isinstance(name, bytes)
                             else name, "driver": _text(nvml.nvmlSystemGetDriverVersion())}
    except Exception as exc:
        found["nvml"] = {"error": f"{type(exc).__name__}: {exc}"}
    found["probes"] = [{"backend": n, "usable": ok, "reason": why} for n, ok, why in probe_all()]
    usable = {row["backend"] for row in found["probes"] if row["usable"]}
    found["status"] = "pass" if "torch-cuda" in usable else "fail"
    return found


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def check_cuda_bindings() -> dict:
    """benchbed's cuda-python helpers for real: buffers, pinned arrays, copies, events, a captured graph."""
    import numpy as np

    from benchbed.backends.tensorrt import cuda

    count, why = cuda.device_count()
    if not count:
        return {"status": "fail", "error": why}
    identity = cuda.device_identity().to_dict()
    free_before, total = cuda.mem_get_info()
    nbytes = 4 << 20
    source = cuda.PinnedArray((nbytes // 4,), np.float32)
    target = cuda.PinnedArray((nbytes // 4,), np.float32)
    device = cuda.DeviceBuffer(nbytes)
    stream = cuda.Stream()
    graph = None
    try:
        source.array[...] = np.arange(source.array.size, dtype=np.float32)
        target.array[...] = 0

        def round_trip() -> None:
            cuda.copy_async(device.ptr, source.ptr, nbytes, True, stream.handle)
            cuda.copy_async(target.ptr, device.ptr, nbytes, False, stream.handle)

        stream.start()
        round_trip()
        stream.stop()
        stream.synchronize()
        copy_ms = stream.elapsed_ms()
        copied = bool(np.array_equal(source.array, target.array))
        free_during, _ = cuda.mem_get_info()
        graph = cuda.CapturedGraph(stream, round_trip)
        source.array[...] = -source.array  # a replayed graph reads the same pinned addresses: new data goes through
        stream.start()
        graph.launch(stream)
        stream.stop()
        stream.synchronize()
        graph_ms = stream.elapsed_ms()
        replayed = bool(np.array_equal(source.array, target.array))
    finally:
        if graph is not None:
            graph.destroy()
        stream.destroy()
        for buffer in (device, source, target):
            buffer.free()
    ok = copied and replayed and copy_ms > 0 and graph_ms > 0 and free_during < free_before
    return {"status": "pass" if ok else "fail", "device": identity, "free_before_bytes": free_before,
            "total_bytes": total, "free_with_buffer_bytes": free_during, "round_trip_bytes": nbytes,
            "copies_equal": copied, "copy_events_ms": copy_ms, "graph_replay_equal": replayed,
            "graph_events_ms": graph_ms, "gbps_both_ways": round(2 * nbytes / copy_ms / 1e6, 2) if copy_ms else None}


def gpu_matmul_load(seconds: float) -> int:
    """Matrix products on the GPU for ``seconds``; returns how many ran (the tracker's "inferences")."""
    import torch

    a = torch.randn(4096, 4096, device="cuda")
    b = torch.randn(4096, 4096, device="cuda")
    done, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(8):
            a = (a @ b) / 64.0
        torch.cuda.synchronize()
        done += 8
    return done


def check_nvml(seconds: float, load: Callable[[float], int] = gpu_matmul_load) -> dict:
    """benchbed's NVML tracker around ``seconds`` of GPU load: power, clocks and an energy difference."""
    from benchbed.measure.trackers.nvml import NvmlTracker

    tracker = NvmlTracker.open(interval_s=0.05)
    if tracker is None:
        return {"status": "fail", "error": "NVML is not available (nvidia-ml-py not installed, or no driver)"}
    load(0.5)  # warm-up, as a benchmark's: the tracker's idle sample stays before mark()
    tracker.mark()
    inferences = load(seconds)
    summary = tracker.stop(inferences, inferences)
    ok = (summary["samples"] >= 3 and (summary["power_w"]["mean"] or 0) > 0
          and summary["energy_mj"] is not None and summary["energy_mj"] > 0)
    return {"status": "pass" if ok else "fail", "inferences": inferences, "summary": summary}


def check_torch_parity(phi: int, batch: int = 3, **overrides: float) -> dict:
    """benchbed's network on the GPU against the CPU, in fp32 (TF32 off), TF32 and fp16, each judged by
    benchbed's bound for it (the figures are what the worker's parity check would see). ``overrides``: width,
    depth, resolution of a smaller network (tests)."""
    import torch

    from benchbed.artifacts.parity import parity_figures
    from benchbed.artifacts.precision import COMPUTE_TOLERANCES, PRECISIONS
    from benchbed.artifacts.synthetic import synthetic_images
    from benchbed.networks import build_network, network_spec

    spec = network_spec(phi, **overrides)
    model = build_network(spec).eval()
    images = synthetic_images(batch, spec.resolution, seed=12345)
    with torch.inference_mode():
        reference = model(torch.from_numpy(images)).numpy()
    gpu = model.to("cuda")
    x = torch.from_numpy(images).to("cuda")
    modes = {"fp32": (False, None, PRECISIONS["fp32"].tolerance), "tf32": (True, None, COMPUTE_TOLERANCES["tf32"][0]),
             "fp16": (False, torch.float16, COMPUTE_TOLERANCES["fp16"][0])}
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    results = {}
    try:
        for mode, (tf32, dtype, bound) in modes.items():
            torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = tf32
            with torch.inference_mode(), torch.autocast("cuda", dtype=dtype or torch.float16, enabled=dtype is not None):
                out = gpu(x).float().cpu().numpy()
            figures = parity_figures(out, reference)
            results[mode] = {"max_rel_error": figures["max_rel_error"], "min_cosine": figures["min_cosine"],
                             "top1_agreement": figures["top1_agreement"], "bound": bound,
                             "passed": figures["max_rel_error"] <= bound}
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
    return {"status": "pass" if all(r["passed"] for r in results.values()) else "fail", "network": spec.name,
            "batch": batch, "modes": results}


def cell_summary(doc: dict) -> dict:
    """The figures of one stored result (or failure) document that this check reports."""
    cell = doc.get("cell", {})
    row = {"scenario": cell.get("scenario"), "batch": cell.get("batch"), "status": doc.get("status")}
    if doc.get("status") != "ok":
        return {**row, "error": doc.get("error"), "passed": False}
    parity = doc.get("parity") or {}
    timing = doc.get("timing", {})
    nvml = doc.get("nvml") or {}
    row.update(validity=doc.get("validity", {}).get("status"), reasons=doc.get("validity", {}).get("reasons", []),
               warnings=doc.get("validity", {}).get("warnings", []),
               compute_precision=doc.get("backend", {}).get("details", {}).get("compute_precision"),
               parity={k: parity.get(k) for k in ("max_rel_error", "tolerance", "passed", "tolerance_reason")},
               p50_ms=doc.get("stats", {}).get("p50_ms"),
               device_p50_ms=timing.get("device_stats", {}).get("p50_ms"),
               energy_per_image_mj=nvml.get("energy_per_image_mj"), power_w=nvml.get("power_w", {}).get("mean"))
    row["passed"] = bool(parity.get("passed")) and row["device_p50_ms"] is not None and bool(nvml)
    return row


def check_torch_cuda_cells(phi: int, max_batch: int, work: Path, variants: dict[str, list[str]]) -> dict:
    """``benchbed sweep --backend torch-cuda`` per variant, read back from its results.json."""
    if importlib.util.find_spec("onnxruntime") is None:
        return {"status": "fail", "error": "onnxruntime (CPU) is not importable: benchbed verifies every ONNX "
                                           "export with it (benchbed's cpu extra)"}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    found = {}
    for name, options in variants.items():
        reports = work / "reports" / name
        command = [sys.executable, "-m", "benchbed.cli", "sweep", "--phi", str(phi), "--backend", "torch-cuda",
                   "--precision", "fp32", "--scenario", "single-stream,offline", "--max-batch", str(max_batch),
                   "--quick", "--cell-timeout", "600", "--db", str(work / "store.sqlite"),
                   "--models", str(work / "models"), "--reports", str(reports), "--format", "json"]
        for option in options:
            command += ["--backend-option", option]
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=work, env=env)
        results = sorted(reports.glob("*/results.json"))
        if not results:
            found[name] = {"passed": False, "exit": done.returncode, "error": (done.stderr or done.stdout)[-2000:]}
            continue
        cells = [cell_summary(doc) for doc in json.loads(results[-1].read_text())["results"]]
        found[name] = {"passed": done.returncode == 0 and bool(cells) and all(c["passed"] for c in cells),
                       "exit": done.returncode, "options": options, "cells": cells}
    return {"status": "pass" if all(v["passed"] for v in found.values()) else "fail", "variants": found}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    usable, why = gpu_or_reason()
    if not usable:
        print(f"gpu_check: no usable NVIDIA GPU: {why}", file=sys.stderr)
        return EXIT_NO_GPU
    variants = dict(VARIANTS)
    if args.compile:
        variants[COMPILE_VARIANT[0]] = COMPILE_VARIANT[1]
    with tempfile.TemporaryDirectory(prefix="benchbed-gpu-check-") as scratch:
        work = (args.work or Path(scratch)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        checks = {"gpu": _run(check_gpu), "cuda_bindings": _run(check_cuda_bindings),
                  "nvml": _run(lambda: check_nvml(args.nvml_seconds)),
                  "torch_parity": _run(lambda: check_torch_parity(args.phi))}
        checks["torch_cuda_cells"] = ({"status": "skip", "why": "--skip-sweep"} if args.skip_sweep else
                                      _run(lambda: check_torch_cuda_cells(args.phi, args.max_batch, work, variants)))
    failed = sorted(name for name, result in checks.items() if result["status"] == "fail")
    summary = {"format": FORMAT, "passed": not failed, "failed": failed, "gpu": why,
               "argv": sys.argv[1:] if argv is None else argv,
               "host": {"machine": platform.node(), "python": platform.python_version()}, "versions": _versions(),
               "checks": checks}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, default=str))
    print(f"gpu_check: {'passed' if not failed else 'FAILED: ' + ', '.join(failed)}; summary in {args.out}")
    return EXIT_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
