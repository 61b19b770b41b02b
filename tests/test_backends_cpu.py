"""The OpenVINO and PyTorch CPU backends, measured for real on tiny networks through the sweep."""

import json

import pytest

from conftest import TINY_ARGS, run_cli

FAST = ["--quick", "--duration", "0.2", "--iterations", "5", "--scenario", "single-stream"]


def _sweep(tmp_path, *args):
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, "--db", str(tmp_path / "db.sqlite"),
                     "--models", str(tmp_path / "models"), "--reports", str(tmp_path / "r"), "--format", "json",
                     *args)
    assert result.returncode == 0, result.stderr
    return json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())["results"]


@pytest.mark.parametrize("backend,options,detail", [
    ("openvino", [], ("config", "PERFORMANCE_HINT", "LATENCY")),
    ("openvino", ["--backend-option", "hint=throughput"], ("config", "PERFORMANCE_HINT", "THROUGHPUT")),
    ("torch", [], ("channels_last", None, True)),
    ("torch", ["--backend-option", "channels_last=false", "--backend-option", "compile=true"], ("compile", None, True)),
])
def test_cpu_backend_cells_are_valid_and_match_pytorch(tmp_path, backend, options, detail):
    pytest.importorskip(backend)
    doc = _sweep(tmp_path, "--backend", backend, *options)[0]
    assert doc["status"] == "ok", doc.get("error")
    assert doc["validity"]["status"] == "VALID", doc["validity"]
    assert doc["parity"]["passed"] and doc["parity"]["max_rel_error"] <= 1e-4
    section, key, value = detail
    details = doc["backend"]["details"]
    assert (details[section][key] if key else details[section]) == value


def test_bf16_runtime_precision_is_recorded_and_judged_by_parity(tmp_path):
    pytest.importorskip("openvino")
    doc = _sweep(tmp_path, "--backend", "openvino", "--backend-option", "inference_precision=bf16")[0]
    assert doc["status"] == "ok" and doc["backend"]["details"]["effective_precision"] == "bf16"
    # bf16 compute is judged by the bf16 bound (recorded with its reason), not the fp32 artifact's 1e-4
    parity = doc["parity"]
    assert parity["compute_precision"] == "bf16" and parity["tolerance"] == 0.1 and "bf16" in parity["tolerance_reason"]
    assert 1e-4 < parity["max_rel_error"]  # really computed in bf16: outside the fp32 bound
    assert parity["passed"] == (parity["max_rel_error"] <= 0.1)
    assert (doc["validity"]["status"] == "VALID") == parity["passed"]


def test_unknown_backend_option_is_refused_before_measuring(tmp_path):
    """An option no selected backend takes is a one-line error (exit 2), not a cell measured with defaults."""
    pytest.importorskip("openvino")
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, "--db", str(tmp_path / "db.sqlite"),
                     "--models", str(tmp_path / "models"), "--reports", str(tmp_path / "r"),
                     "--backend", "openvino", "--backend-option", "turbo=1")
    assert result.returncode == 2 and "none of the selected backends (openvino) takes it" in result.stderr


def test_several_backends_in_one_sweep(tmp_path):
    pytest.importorskip("openvino")
    docs = _sweep(tmp_path, "--backend", "onnxruntime,openvino,torch")
    assert sorted(d["cell"]["backend"] for d in docs) == ["onnxruntime", "openvino", "torch"]
    assert all(d["validity"]["status"] == "VALID" for d in docs), [d["validity"] for d in docs]
    report = next((tmp_path / "r").glob("*/report.md")).read_text()
    assert "| openvino |" in report and "| torch |" in report


def test_selftest_passes_every_usable_backend_here(tmp_path):
    result = run_cli("selftest", "--resolution", "32", "--format", "json", "--out", str(tmp_path / "st.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {r["backend"]: r for r in json.loads(result.stdout)}
    sent = json.loads((tmp_path / "st.json").read_text())  # the one file a GPU owner sends back
    assert sent["format"] == "benchbed-selftest/1" and sent["rows"] == list(rows.values())
    assert sent["environment"]["versions"] and "gpus" in sent["environment"] and sent["failed"] is False
    assert rows["onnxruntime"]["status"] == "PASS" and rows["onnxruntime"]["parity"] <= 1e-4
    assert rows["tensorrt"]["status"] == "skipped" and not rows["tensorrt"]["usable"]
