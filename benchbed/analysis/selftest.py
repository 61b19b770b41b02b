"""``benchbed selftest``: build, run and check parity on every usable backend with one small network.

A backend PASSes when its cell ran, its result is VALID and its outputs match PyTorch within the
precision's tolerance; backends that are not usable here are ``skipped`` with the reason. With
``trtexec`` on PATH, a passing TensorRT row also gets trtexec's own median on the same ONNX, so the two
harnesses can be compared on this machine. Values only: the CLI renders them.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from benchbed.networks.scaling import PAPER_ALPHA, PAPER_BETA, PAPER_GAMMA

#: The test network: EfficientNet-B0 at half width (resolution chosen by the caller), fp32, batch 1.
WIDTH = 0.5


def check_document(document: dict) -> dict:
    """The selftest row fields of one measured cell: status PASS or FAIL, and the figures behind it."""
    if document["status"] != "ok":
        return {"status": "FAIL", "why": document.get("error", "failed")}
    parity = document.get("parity")
    passed = document["validity"]["status"] == "VALID" and (parity is None or parity["passed"])
    checked = {"status": "PASS" if passed else "FAIL", "p50_ms": document["stats"]["p50_ms"],
               "parity": None if parity is None else parity["max_rel_error"],
               "device_p50_ms": document["timing"].get("device_stats", {}).get("p50_ms")}
    reasons = "; ".join(document["validity"]["reasons"])
    return checked | ({"why": reasons} if reasons else {})


def selftest(resolution: int = 64) -> list[dict]:
    """One row per known backend: backend, usable, why, status (PASS, FAIL or skipped) and the figures."""
    from benchbed.backends import probe_all
    from benchbed.core.environment import environment
    from benchbed.measure.timing import get_profile
    from benchbed.sweep import Store, SweepConfig, open_run, run_sweep

    probes = probe_all()
    usable = [name for name, ok, _ in probes if ok]
    rows = {name: {"backend": name, "usable": ok, "why": why, "status": "?" if ok else "skipped"}
            for name, ok, why in probes}
    with tempfile.TemporaryDirectory(prefix="benchbed-selftest-") as tmp:
        config = SweepConfig(phis=[0.0], mode="preset", alpha=PAPER_ALPHA, beta=PAPER_BETA, gamma=PAPER_GAMMA,
                             overrides={"width": WIDTH, "resolution": resolution}, backend=",".join(usable),
                             precisions=["fp32"], scenarios=["single-stream"],
                             profile=replace(get_profile("quick"), min_seconds=0.2), max_batch=1,
                             models_dir=f"{tmp}/models", reports_dir=f"{tmp}/reports")
        store = Store(f"{tmp}/store.sqlite")
        try:
            run_id, _ = open_run(store, config, environment(), False, None)
            documents = {d["cell"]["backend"]: d for d in run_sweep(config, store, run_id)}
            for backend, document in documents.items():
                rows[backend].update(check_document(document))
            if rows.get("tensorrt", {}).get("status") == "PASS":
                rows["tensorrt"].update(trtexec_beside(Path(tmp) / "models", documents["tensorrt"]))
        finally:
            store.close()
    return list(rows.values())


#: The format of ``benchbed selftest --out``: what a GPU owner sends back.
SELFTEST_FORMAT = "benchbed-selftest/1"


def report_document(rows: list[dict], resolution: int) -> dict:
    """Every backend's row (pass/fail, parity, latency beside trtexec's) with the machine's environment:
    library versions, GPUs and driver, benchbed's version and commit."""
    from benchbed.core.environment import environment

    return {"format": SELFTEST_FORMAT, "resolution": resolution, "width": WIDTH, "failed": failed(rows),
            "environment": environment(), "rows": rows}


def failed(rows: list[dict]) -> bool:
    """Whether any backend that was tried failed (skipped backends do not fail the selftest)."""
    return any(row["status"] == "FAIL" for row in rows)


def trtexec_beside(models: Path, document: dict | None = None) -> dict:
    """trtexec on the selftest's ONNX, for the tensorrt row, on the same semantics as benchbed's cell.

    trtexec's "Latency" means different things by version (10.x includes host<->device copies; 11.x turned
    them off and CUDA graphs on), so with the cell's ``document`` trtexec gets the cell's own options in its
    version's flags and its GPU compute median is compared with the cell's CUDA-event median
    (``trtexec_compare_ms`` beside ``device_p50_ms``). A trtexec of another TensorRT major than the one
    benchbed ran is marked not comparable."""
    if shutil.which("trtexec") is None:
        return {"trtexec": "not on PATH"}
    from benchbed.backends.tensorrt.build import profile_shapes
    from benchbed.backends.tensorrt.options import TrtOptions
    from benchbed.backends.tensorrt.trtexec import run_trtexec

    onnx_path = next(models.glob("*/fp32.onnx"), None)
    if onnx_path is None:
        return {"trtexec": "no fp32 ONNX found"}
    name, (shape, _, _) = next(iter(profile_shapes(onnx_path, 1).items()))
    options = TrtOptions.from_extra(document["backend"]["options"]["extra"]) if document else None
    result = run_trtexec(onnx_path, name, shape, options=options, precision="fp32")
    row = {"trtexec_median_ms": result.get("median_ms"),
           "trtexec_gpu_compute_median_ms": result.get("gpu_compute_median_ms"),
           "trtexec_compare_ms": result.get("compare_ms") if result.get("matched") else None,
           "trtexec_flags": result.get("flags"), "trtexec_version": result.get("trtexec_version"),
           "trtexec": result.get("error") or result["command"]}
    ran = str(((document or {}).get("backend", {}).get("details") or {}).get("tensorrt") or "")
    theirs = str(result.get("trtexec_version") or "")
    if ran and theirs and ran.split(".")[0] != theirs.split(".")[0]:
        row["trtexec_compare_ms"] = None
        row["trtexec"] += f" (not comparable: trtexec is TensorRT {theirs}, benchbed ran {ran})"
    return row
