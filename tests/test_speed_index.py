"""The machine speed index: its reading, and how compare and history use it (or say why not)."""

import json
import math

import numpy as np
import pytest

from benchbed.analysis.compare import Thresholds, compare_cells
from benchbed.analysis.history import trends
from benchbed.core.result import check_documents
from benchbed.measure.speed_index import BRACKET, WORKLOAD, bracket, reading
from benchbed.report.compare import to_json, to_markdown
from benchbed.report.terminal import comparison_table, history_table
from benchbed.sweep.store import Store
from conftest import run_cli

ENV = {"cpu_model": "X", "physical_cores": 2, "versions": {"onnxruntime": "1.31.1"}, "fingerprint": "f"}
NOTE = "latency normalized by the machine speed index (both sides measured it)"


def _speed(index_ms: float, **changed) -> dict:
    return {"matmul_ms": index_ms, "copy_ms": index_ms, "index_ms": index_ms, "workload": WORKLOAD,
            "blas": "openblas 0.3", "blas_threads": 2} | changed


def _doc(center: float, index_ms: float | None, seed: int = 0, network: str = "net", n: int = 200,
         **speed_changes) -> dict:
    samples = list(center * (1 + 0.02 * np.random.default_rng(seed).standard_normal(n)))
    doc = {"status": "ok", "cell": {"network": network, "backend": "onnxruntime", "precision": "fp32",
                                    "scenario": "single-stream", "batch": 1},
           "samples_ms": samples, "validity": {"status": "VALID", "reasons": []}, "memory": {"peak_rss_bytes": 1e8},
           "timing": {"profile": {"name": "quick"}, "clock": "host", "copies_included": False},
           "backend": {"options": {"threads": 2}},
           "stats": {"p50_ms": float(np.median(samples)), "p99_ms": float(np.percentile(samples, 99)),
                     "throughput_ips": 1e3 / float(np.median(samples))}}
    if index_ms is not None:
        doc["speed_index"] = _speed(index_ms, **speed_changes)
    return doc


def _one(base: dict, current: dict, normalize: str = "auto"):
    return compare_cells([(base, ENV)], [(current, ENV)], Thresholds(normalize=normalize))[0]


def test_a_reading_is_two_positive_timings_and_their_geometric_mean():
    value = reading()
    assert {"matmul_ms", "copy_ms", "index_ms", "workload", "blas", "blas_threads"} <= set(value)
    for name in ("matmul_ms", "copy_ms", "index_ms"):
        assert math.isfinite(value[name]) and value[name] > 0
    assert value["index_ms"] == pytest.approx(math.sqrt(value["matmul_ms"] * value["copy_ms"]))
    assert value["workload"] == WORKLOAD and value["blas_threads"] in (None, *range(1, 1025))
    check_documents([_doc(10, None) | {"speed_index": value}], "test")  # the schema takes what reading() makes


def test_the_cells_reading_brackets_it_and_old_readings_are_not_mixed_with_it():
    before, after = _speed(4.0), _speed(9.0)
    both = bracket(before, after)
    assert both["index_ms"] == pytest.approx(6.0) and both["matmul_ms"] == pytest.approx(6.0)
    assert (both["before_index_ms"], both["after_index_ms"], both["when"]) == (4.0, 9.0, BRACKET)
    check_documents([_doc(10, None) | {"speed_index": both}], "test")
    # a stored result read before the cell only is another kind of reading: compared raw, and said why
    row = compare_cells([(_doc(10, None) | {"speed_index": both}, ENV)], [(_doc(10, 6.0), ENV)], Thresholds())[0]
    assert not row.normalized and "read before the cell only" in "; ".join(row.reasons)


def test_a_uniformly_slower_machine_is_slower_raw_and_no_change_normalized():
    base, current = _doc(10, 5.0, seed=1), _doc(13, 6.5, seed=2)  # everything 30 % slower, the index too
    raw = _one(base, current, "off")
    assert raw.verdict == "slower" and not raw.normalized and not any("normalized" in r for r in raw.reasons)
    row = _one(base, current)
    assert row.verdict == "no significant change" and row.normalized
    latency = row.metrics[0]
    assert latency.normalized and latency.ratio == pytest.approx(1.0, abs=0.02)
    assert latency.base == pytest.approx(10, rel=0.02) and latency.current == pytest.approx(13, rel=0.02)
    assert latency.raw_ratio == pytest.approx(1.3, rel=0.02)  # the measured figures are kept
    assert any(r.startswith("latency and throughput normalized by the machine speed index") and "+30.0%" in r
               for r in row.reasons)


def test_a_real_regression_on_an_unchanged_machine_is_still_slower():
    row = _one(_doc(10, 5.0, seed=1), _doc(13, 5.0, seed=2))
    assert row.verdict == "slower" and row.normalized and row.metrics[0].ratio == pytest.approx(1.3, rel=0.02)


@pytest.mark.parametrize("base_index,current_index,side", [(None, 6.5, "BASE"), (5.0, None, "CURRENT")])
def test_only_one_side_with_a_speed_index_compares_raw_and_says_why(base_index, current_index, side):
    row = _one(_doc(10, base_index, seed=1), _doc(13, current_index, seed=2))
    assert row.verdict == "slower" and not row.normalized and not row.metrics[0].normalized
    assert f"latency not normalized: {side} measured no machine speed index" in "; ".join(row.reasons)


def test_readings_of_different_workloads_are_not_set_against_each_other():
    row = _one(_doc(10, 5.0, seed=1), _doc(13, 6.5, seed=2, blas_threads=1))
    assert row.verdict == "slower" and not row.normalized
    assert "different workloads" in "; ".join(row.reasons)


def test_old_documents_without_a_speed_index_load_and_compare_as_before():
    base, current = _doc(10, None, seed=1), _doc(13, None, seed=2)
    assert check_documents([base], "old results.json") == [base]
    row = _one(base, current)
    assert row.verdict == "slower" and not row.normalized and row.reasons == [
        "one run per side: run-to-run variation not measured (see docs/ci-regression.md)"]
    with pytest.raises(Exception, match=r"speed_index.index_ms 0.0 is not a finite number > 0"):
        check_documents([_doc(10, 0.0)], "results.json")


def test_outputs_say_when_latency_was_normalized():
    rows = compare_cells([(_doc(10, 5.0, seed=1, network="a"), ENV), (_doc(10, None, seed=3, network="b"), ENV)],
                         [(_doc(13, 6.5, seed=2, network="a"), ENV), (_doc(10, 5.0, seed=4, network="b"), ENV)])
    assert [r.normalized for r in rows] == [True, False]
    line = f"{NOTE} for 1 of 2 cells; the others say why not"
    assert json.loads(to_json(rows, "A", "B", []))["normalization"] == line
    assert "Latency normalized by the machine speed index (both sides measured it) for 1 of 2" in \
        to_markdown(rows, "A", "B", [])
    assert comparison_table(rows, "A", "B", [], ("slower",)).caption == line
    only_a = compare_cells([(_doc(10, 5.0, seed=1), ENV)], [(_doc(13, 6.5, seed=2), ENV)])
    assert json.loads(to_json(only_a, "A", "B", []))["normalization"] == NOTE
    raw = compare_cells([(_doc(10, None), ENV)], [(_doc(10, None, seed=2), ENV)])
    assert json.loads(to_json(raw, "A", "B", []))["normalization"] is None and NOTE not in to_markdown(raw, "A", "B", [])


def _store(path, runs: list[tuple[float, float | None]]) -> Store:
    store = Store(path)
    for i, (value, index) in enumerate(runs):
        run_id = store.create_run({"phi": [0]}, "sha", ENV)
        store.add_result(run_id, _doc(value, index, seed=i, n=50))
    return store


def test_history_normalizes_where_every_run_measured_it(tmp_path):
    machine_slowed = [(10, 5.0)] * 4 + [(13, 6.5)] * 3  # the machine, not the software, got 30 % slower
    store = _store(tmp_path / "h.sqlite", machine_slowed)
    raw, normalized = trends(store, normalize="off")[0], trends(store)[0]
    throughput = trends(store, metric="throughput")[0]
    store.close()
    assert raw.change_points == [4] and not raw.normalized and raw.note == ""
    assert normalized.change_points == [] and normalized.normalized and "median 5 ms" in normalized.note
    assert normalized.to_dict()["raw_values"][-1] == pytest.approx(13, rel=0.03)
    assert normalized.points[-1].value == pytest.approx(10, rel=0.03)  # at the median machine speed
    assert throughput.normalized and throughput.change_points == []
    assert history_table([normalized], "p50").caption.startswith("p50 normalized by the machine speed index")


def test_history_with_a_run_lacking_the_speed_index_stays_raw_and_says_why(tmp_path):
    store = _store(tmp_path / "h.sqlite", [(10, None)] + [(10, 5.0)] * 3 + [(13, 6.5)] * 3)
    found = trends(store)[0]
    memory = trends(store, metric="memory")[0]
    store.close()
    assert not found.normalized and found.change_points == [4]
    assert found.note == "not normalized: 1 of 7 runs measured no machine speed index"
    assert not memory.normalized and memory.note == ""  # memory is not a speed


@pytest.mark.parametrize("command", [["compare", "a.json", "b.json"], ["history", "--db", "none.sqlite"]])
def test_an_unknown_normalize_mode_is_one_line_and_exit_2(command, tmp_path):
    result = run_cli(*command, "--normalize", "banana", cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.strip() == "benchbed: error: unknown --normalize 'banana'; choose one of auto, off"
