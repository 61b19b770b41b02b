import pytest

from benchbed.launchers.process import run_cell
from benchbed.measure.timing import PROFILES


def _job(tmp_path, fault=None, backend="null"):
    artifact = tmp_path / "none.onnx"
    artifact.write_bytes(b"")
    job = {"cell": {"network": "n", "backend": backend, "precision": "fp32", "scenario": "single-stream", "batch": 1},
           "artifact": str(artifact), "reference": None, "parity_seed": 0, "parity_tolerance": 1e-4,
           "resolution": 16, "profile": PROFILES["quick"].to_dict(),
           "backend_options": {"threads": 1, "io_binding": True, "extra": {}}, "network_info": {"phi": 0}}
    if fault:
        job["fault"] = fault
    return job


def test_null_backend_cell_measures_the_harness(tmp_path):
    phases = []
    doc = run_cell(_job(tmp_path), timeout=60, on_phase=phases.append)
    assert doc["status"] == "ok" and doc["validity"]["status"] == "VALID", doc
    assert doc["parity"] is None and doc["stats"]["p50_ms"] < 1.0 and len(doc["samples_ms"]) >= 5
    assert {"load", "warm-up", "measure"} <= set(phases)
    assert doc["memory"]["peak_rss_bytes"] >= doc["memory"]["idle_rss_bytes"] > 0
    assert doc["timing"]["clock"] == "host"


@pytest.mark.parametrize("fault,needle", [("kill", "SIGKILL (out of memory?)"), ("segv", "SIGSEGV")])
def test_a_crashing_worker_is_one_failed_cell(tmp_path, fault, needle):
    doc = run_cell(_job(tmp_path, fault), timeout=60)
    assert doc["status"] == "failed" and needle in doc["error"]


def test_a_hanging_worker_is_killed_at_the_timeout(tmp_path):
    doc = run_cell(_job(tmp_path, "hang"), timeout=3)
    assert doc["status"] == "failed" and "timed out after 3s" in doc["error"]


def test_an_error_inside_the_worker_is_reported_with_its_reason(tmp_path):
    doc = run_cell(_job(tmp_path, backend="onnxruntime"), timeout=60)  # an empty file is no ONNX model
    assert doc["status"] == "failed" and doc["error"] and "traceback" in doc
