import sys
from pathlib import Path

import pytest

from benchbed.core.cell import Cell
from benchbed.core.job import Job
from benchbed.launchers.process import run_cell
from benchbed.measure.timing import PROFILES

FAULTY_WORKER = Path(__file__).parent / "helpers" / "faulty_worker.py"


def _job(tmp_path, backend="null"):
    artifact = tmp_path / "none.onnx"
    artifact.write_bytes(b"")
    return Job(Cell("n", backend, "fp32", "single-stream", 1), 16, PROFILES["quick"].to_dict(),
               {"threads": 1, "io_binding": True, "extra": {}}, parity_tolerance=1e-4, network_info={"phi": 0},
               artifact=str(artifact), parity_seed=0)


def _faulty(fault: str) -> list[str]:
    return [sys.executable, str(FAULTY_WORKER), fault]


def test_null_backend_cell_measures_the_harness(tmp_path):
    phases = []
    doc = run_cell(_job(tmp_path), timeout=60, on_phase=phases.append)
    assert doc["status"] == "ok" and doc["validity"]["status"] == "VALID", doc
    assert doc["parity"] is None and doc["stats"]["p50_ms"] < 1.0 and len(doc["samples_ms"]) >= 5
    assert {"load", "warm-up", "measure"} <= set(phases)
    assert doc["memory"]["peak_rss_bytes"] >= doc["memory"]["idle_rss_bytes"] > 0
    assert doc["timing"]["clock"] == "host"
    assert phases[0] == phases[-1] == "speed index"  # read before the worker started and after it ended
    reading = doc["speed_index"]
    assert reading["index_ms"] == pytest.approx((reading["before_index_ms"] * reading["after_index_ms"]) ** 0.5)


@pytest.mark.parametrize("fault,needle", [("kill", "SIGKILL (out of memory?)"), ("segv", "SIGSEGV")])
def test_a_crashing_worker_is_one_failed_cell(tmp_path, fault, needle):
    doc = run_cell(_job(tmp_path), timeout=60, worker=_faulty(fault))
    assert doc["status"] == "failed" and needle in doc["error"]


def test_a_hanging_worker_is_killed_at_the_timeout(tmp_path):
    doc = run_cell(_job(tmp_path), timeout=3, worker=_faulty("hang"))
    assert doc["status"] == "failed" and "timed out after 3s" in doc["error"]


def test_an_error_inside_the_worker_is_reported_with_its_reason(tmp_path):
    doc = run_cell(_job(tmp_path, backend="onnxruntime"), timeout=60)  # an empty file is no ONNX model
    assert doc["status"] == "failed" and doc["error"] and "traceback" in doc
    assert "speed_index" not in doc  # nothing measured: nothing to normalize
