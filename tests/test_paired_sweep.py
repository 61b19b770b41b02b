"""A sweep of several backends interleaves each network's variants after its cells (``sweep.paired``)."""

from __future__ import annotations

import json

from benchbed.sweep.store import Store
from conftest import TINY_ARGS, run_cli


def test_two_backends_get_a_paired_ratio_with_an_interval(tmp_path):
    args = ["sweep", "--phi", "0", *TINY_ARGS, "--quick", "--scenario", "single-stream", "--backend",
            "onnxruntime,openvino", "--paired-budget", "4", "--db", str(tmp_path / "db.sqlite"),
            "--reports", str(tmp_path / "r"), "--models", str(tmp_path / "m")]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "openvino / onnxruntime min latency" in result.stderr and "(paired, " in result.stderr
    (results,) = (tmp_path / "r").glob("*/results.json")
    (entry,) = json.loads(results.read_text())["paired"]
    assert entry["reference"] == {"backend": "onnxruntime", "precision": "fp32"}
    assert entry["variant"] == {"backend": "openvino", "precision": "fp32"}
    assert entry["verdict"] in ("slower", "faster", "same", "unknown") and entry["ratio"] > 0
    assert entry["seconds"] >= 4 and entry["rounds"] + entry["contended_rounds"] >= 1
    # the reports open with it: the sweep's report.md, and `benchbed report` of the stored run
    report = (results.parent / "report.md").read_text()
    assert report.index("## What differs (beyond noise)") < report.index("## single-stream")
    assert "efficientnet_b0" in report and "openvino / onnxruntime min latency " in report and "(paired, " in report
    printed = run_cli("report", "latest", "--db", str(tmp_path / "db.sqlite"), "--out", str(tmp_path / "again"))
    assert printed.returncode == 0 and "openvino / onnxruntime min latency " in printed.stdout, printed.stderr
    # --resume finds the network paired already and measures nothing again
    store = Store(tmp_path / "db.sqlite")
    (run_id,) = [r["run_id"] for r in store.iter_runs()]
    before = store.paired(run_id)
    again = run_cli(*args, "--resume")
    assert again.returncode == 0, again.stderr
    assert "interleaving" not in again.stderr and Store(tmp_path / "db.sqlite").paired(run_id) == before


def test_one_backend_has_nothing_to_pair(tmp_path):
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--quick", "--scenario", "single-stream", "--backend",
                     "onnxruntime", "--db", str(tmp_path / "db.sqlite"), "--reports", str(tmp_path / "r"),
                     "--models", str(tmp_path / "m"), "--format", "json")
    assert result.returncode == 0, result.stderr
    (results,) = (tmp_path / "r").glob("*/results.json")
    assert "paired" not in json.loads(results.read_text())


def test_bad_paired_budget_is_one_line():
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--paired-budget", "-1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "benchbed: error: --paired-budget must be a finite number of seconds >= 0 (0: off), got -1"]
