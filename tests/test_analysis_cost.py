"""Pareto fronts and the scaling analysis on result documents with known numbers."""

import math

import pytest

from analysis_docs import ENV, result_doc
from benchbed.accuracy.lookup import AccuracyBook
from benchbed.analysis.pareto import COSTS, cost_per_image, front, fronts_by
from benchbed.analysis.points import hardware_name, to_points
from benchbed.analysis.scaling_fit import fit_power_law, fits, phi_steps, single_vs_compound


def _points(docs):
    return to_points([(d, ENV) for d in docs], AccuracyBook())


def test_front_keeps_only_undominated_points_and_handles_higher_is_better():
    docs = [result_doc("efficientnet_b0", p50=5), result_doc("efficientnet_b1", p50=9),
            result_doc("efficientnet_b2", p50=8),  # more accurate and faster than b1: b1 is dominated
            result_doc("efficientnet_b3", p50=30, validity="INVALID"),  # invalid: never on a front
            result_doc("compound_phi1_a1.2_b1.1_g1.15", p50=1, mode="compound")]  # no accuracy: not on a front
    points = _points(docs)
    assert [p.network for p in front(points, COSTS["p50"])] == ["efficientnet_b0", "efficientnet_b2"]
    # throughput: higher is better; b1 at 2000 img/s beats b0's 200 and is beaten by nothing faster
    docs = [result_doc("efficientnet_b0", throughput=200), result_doc("efficientnet_b1", throughput=2000),
            result_doc("efficientnet_b2", throughput=100)]
    assert [p.network for p in front(_points(docs), COSTS["throughput"])] == ["efficientnet_b1", "efficientnet_b2"]


def test_fronts_per_group_and_cost_per_image():
    docs = [result_doc("efficientnet_b0", p50=5, hardware="A"), result_doc("efficientnet_b0", p50=2, hardware="B"),
            result_doc("efficientnet_b1", p50=10, hardware="B")]
    points = _points(docs)
    groups = fronts_by(points, COSTS["p50"], lambda p: (p.hardware,))
    assert {k: [p.network for p in v] for k, v in groups.items()} == {
        ("A",): ["efficientnet_b0"], ("B",): ["efficientnet_b0", "efficientnet_b1"]}
    cost = cost_per_image({"A": 3.6, "B": 36.0})  # $/hour -> $ per million images at full load
    assert cost.value(points[0]) == pytest.approx(3.6 / 3600 / 200 * 1e6)
    assert [p.hardware for p in front(points, cost)] == ["A", "B"]  # A cheaper, B's b1 more accurate


def test_hardware_name_prefers_label_then_gpu_then_cpu():
    doc = result_doc("efficientnet_b0")
    assert hardware_name(doc, ENV) == "Test CPU (8 cores)"
    gpu_env = dict(ENV, gpus=[{"name": "NVIDIA L4"}])
    assert hardware_name(doc, gpu_env) == "Test CPU (8 cores)"  # a CPU cell on a GPU machine
    doc["timing"]["device"] = "cuda:0"
    assert hardware_name(doc, gpu_env) == "NVIDIA L4"
    assert hardware_name(result_doc("efficientnet_b0", hardware="hw:big"), gpu_env) == "hw:big"


def test_power_law_fit_recovers_a_known_exponent():
    macs = [1e8, 2e8, 4e8, 8e8, 1.6e9]
    fit = fit_power_law(macs, [0.5 * (m / 1e8) ** 0.8 for m in macs])
    assert fit.k == pytest.approx(0.8) and fit.r2 == pytest.approx(1.0) and fit.n == 5
    assert fit.predict_ms(3.2e9) == pytest.approx(0.5 * 32**0.8)
    assert fit_power_law([1e8, 1e8], [1.0, 2.0]) is None  # one size: no slope


def test_phi_steps_and_single_dimension_against_compound():
    docs = [result_doc(f"efficientnet_b{i}", phi=i, macs=1e9 * 2**i, p50=10 * 1.5**i) for i in range(4)]
    docs += [result_doc("compound_phi1", phi=1, mode="compound", macs=2e9, p50=15),
             result_doc("widthonly_phi1", phi=1, mode="width", macs=2.1e9, p50=18),
             result_doc("resolutiononly_phi1", phi=1, mode="resolution", macs=1.9e9, p50=15)]
    points = _points(docs)
    steps = phi_steps(points)
    assert len(steps) == 3 and all(s.latency_ratio == pytest.approx(1.5) for s in steps)
    assert steps[0].flops_ratio == pytest.approx(2.0) and steps[0].vs_promise == pytest.approx(0.75)
    (key, fit), = fits(points).items()
    assert key[1:] == ("onnxruntime", "fp32", "single-stream", 1)
    assert fit.k == pytest.approx(math.log(1.5) / math.log(2)) and fit.n == 5
    modes = {c.mode: c for c in single_vs_compound(points)}
    assert set(modes) == {"width", "resolution"}
    assert modes["width"].latency_ratio == pytest.approx(1.2) and modes["width"].macs_ratio == pytest.approx(1.05)


def test_best_cell_per_network_ignores_invalid_cells():
    from benchbed.analysis.summary import best_table

    docs = [result_doc("efficientnet_b0", p50=5, backend="onnxruntime"),
            result_doc("efficientnet_b0", p50=3, backend="openvino", precision="int8", validity="INVALID"),
            result_doc("efficientnet_b0", p50=4, backend="openvino"),
            result_doc("efficientnet_b0", p50=20, batch=8, scenario="offline", throughput=900, backend="onnxruntime")]
    (table,) = best_table(_points(docs))
    # [n/a]: these documents' samples did not make their p50 and img/s, so no interval is shown beside them
    assert table.rows == [["Test CPU (8 cores)", "0", "efficientnet_b0", "openvino fp32", "4.00 [n/a]",
                           "onnxruntime fp32 b8", "900 [n/a]"]]


def test_unmeasured_precision_never_pushes_a_measured_cell_off_the_front():
    docs = [result_doc("efficientnet_b0", p50=10), result_doc("efficientnet_b0", p50=4, precision="int8")]
    points = _points(docs)
    assert points[1].accuracy.label() == "77.1*"
    assert [(p.precision) for p in front(points, COSTS["p50"])] == ["fp32"]


def test_bf16_compute_on_an_fp32_artifact_is_marked_unmeasured():
    doc = result_doc("efficientnet_b0")
    doc["backend"] = {"details": {"compute_precision": "bf16"}}
    (point,) = _points([doc])
    assert point.precision == "fp32" and point.accuracy_precision == "bf16"
    assert not point.accuracy.precision_measured and point.accuracy.label() == "77.1*"


def test_mlperf_server_counts_at_its_valid_qps_or_not_at_all():
    served = result_doc("efficientnet_b0", scenario="mlperf-server", throughput=500)
    served["loadgen"] = {"search": {"best_qps": 120.0}}
    unmet = result_doc("efficientnet_b1", scenario="mlperf-server", throughput=500)
    unmet["loadgen"] = {"search": {"best_qps": None, "note": "cannot meet the SLA at any load"}}
    a, b = _points([served, unmet])
    assert a.sustained_ips == 120.0 and b.sustained_ips is None
    assert COSTS["throughput"].value(a) == 120.0


def test_history_plot_of_the_reported_cells(tmp_path):
    from benchbed.report.bundle import history_png
    from benchbed.sweep.store import Store

    db = tmp_path / "s.sqlite"
    store = Store(db)
    for i, p50 in enumerate((10.0, 10.2, 15.0)):
        run_id = store.create_run({"n": i}, f"sha{i}", ENV)
        store.add_result(run_id, result_doc("efficientnet_b0", p50=p50))
    store.close()
    points = _points([result_doc("efficientnet_b0")])
    png = history_png(db, points, tmp_path / "out")
    assert png and png.startswith(b"\x89PNG") and (tmp_path / "out" / "plots" / "history.png").exists()
    assert history_png(db, _points([result_doc("efficientnet_b5")]), tmp_path / "o2") is None  # not in the store
    assert history_png(None, points, tmp_path / "o3") is None
