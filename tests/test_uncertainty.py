"""Uncertainty people see: each cell's p50 with its interval in every table and plot, and reports that open
with which variants differ beyond noise (paired comparisons first, per-cell intervals otherwise)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from analysis_docs import ENV, result_doc
from benchbed.core.errors import BenchbedError
from benchbed.measure.intervals import median_interval, order_statistic_rank, throughput_interval

RUN = {"run_id": "20260101-000000-0000b2", "config": {"backend": "onnxruntime,openvino"}, "environment": ENV,
       "status": "complete", "created": 0}
PAIRED = {"network": "efficientnet_b3", "phi": 3, "scenario": "single-stream", "batch": 1, "metric": "p50_ms",
          "reference": {"backend": "onnxruntime", "precision": "fp32"},
          "variant": {"backend": "openvino", "precision": "fp32"}, "ratio": 0.84, "ci_low": 0.81, "ci_high": 0.87,
          "confidence": 0.95, "rounds": 12, "seconds": 20.1, "verdict": "faster", "min_effect": 0.03,
          "smallest_detectable": 0.02}


def _samples(center: float, n: int = 400, seed: int = 0, spread: float = 0.01) -> list[float]:
    return list(center * (1 + spread * np.random.default_rng(seed).standard_normal(n)))


def timed_doc(network: str, center: float, backend: str = "onnxruntime", precision: str = "fp32", phi: float = 3,
              n: int = 400, seed: int = 0, scenario: str = "single-stream", batch: int = 1,
              validity: str = "VALID") -> dict:
    """A cell whose stored p50 and throughput are its samples' own, as a timed scenario stores them."""
    doc = result_doc(network, phi=phi, backend=backend, precision=precision, scenario=scenario, batch=batch,
                     validity=validity)
    samples = _samples(center, n, seed)
    doc["samples_ms"] = samples
    doc["stats"].update(p50_ms=float(np.median(samples)), throughput_ips=batch * len(samples) * 1e3 / sum(samples))
    return doc


# --- the interval --------------------------------------------------------------------------------------

def test_the_order_statistic_rank_is_the_binomial_one():
    assert order_statistic_rank(5, 0.95) is None  # 1 - 2/32 = 93.75 % < 95 %: no 95 % interval from 5 blocks
    assert order_statistic_rank(6, 0.95) == 1  # 1 - 2/64 = 96.9 %
    assert order_statistic_rank(10, 0.95) == 2  # x(2)..x(9): 97.9 %; x(3)..x(8) would be 89 %
    assert order_statistic_rank(20, 0.95) == 6


def test_median_interval_contains_the_median_and_narrows_with_more_blocks():
    samples = _samples(10.0, n=3000, seed=4)
    low, high = median_interval(samples)
    assert low < float(np.median(samples)) < high
    fine_low, fine_high = median_interval(samples, blocks=100)
    assert fine_high - fine_low < high - low


def test_median_interval_is_none_with_too_few_samples_and_deterministic():
    samples = _samples(10.0, n=200, seed=5)
    assert median_interval(samples[:17]) is None  # 5 blocks of 3: no honest 95 % interval
    assert median_interval(samples[:18]) is not None
    assert median_interval([]) is None
    assert median_interval(samples) == median_interval(list(samples))  # no seed, no randomness


def test_blocks_follow_time_order_so_drift_widens_the_interval():
    """A run that drifted is less sure of its median than the same values in random order: raw-sample
    statistics would call both equally sure."""
    drifting = list(np.linspace(9.0, 11.0, 500))
    shuffled = list(np.random.default_rng(1).permutation(drifting))
    drift_low, drift_high = median_interval(drifting)
    mixed_low, mixed_high = median_interval(shuffled)
    assert drift_high - drift_low > 4 * (mixed_high - mixed_low)


def test_median_interval_covers_at_least_as_often_as_it_says():
    rng = np.random.default_rng(2)
    hits = 0
    for _ in range(300):
        samples = rng.lognormal(mean=np.log(10), sigma=0.2, size=60)  # true median: 10
        low, high = median_interval(list(samples))
        hits += low <= 10.0 <= high
    assert hits / 300 >= 0.93


def test_throughput_interval_contains_the_runs_throughput():
    samples = _samples(4.0, n=500, seed=3)
    low, high = throughput_interval(samples, batch=8)
    assert low < 8 * len(samples) * 1e3 / sum(samples) < high


def test_throughput_interval_holds_its_figure_on_uneven_blocks_and_covers_the_true_rate():
    """#27 item 9: the figure is all images over all time; a median-of-block-rates interval could miss it."""
    rng = np.random.default_rng(11)
    misses_before, hits = 0, 0
    for trial in range(200):
        # blocks of mixed speed with a skewed tail: the harmonic and the median of block rates part ways
        samples = list(np.concatenate([rng.lognormal(np.log(4.0), 0.05, 80), rng.lognormal(np.log(9.0), 0.6, 20)]))
        rng.shuffle(samples)
        figure = 8 * len(samples) * 1e3 / sum(samples)
        low, high = throughput_interval(samples, batch=8)
        assert low <= figure <= high
        from benchbed.measure.stats import time_blocks

        rates = sorted(8 * len(c) * 1e3 / c.sum() for c in time_blocks(samples, 10))
        misses_before += not rates[1] <= figure <= rates[-2]  # the old order-statistic interval (k = 2 of 10)
        true_rate = 8e3 / (0.8 * 4.0 * np.exp(0.05 ** 2 / 2) + 0.2 * 9.0 * np.exp(0.6 ** 2 / 2))
        hits += low <= true_rate <= high
    assert misses_before > 0  # the case this interval is for
    assert hits / 200 >= 0.88  # near its 95 % on iid blocks (t over 10 blocks)


def test_no_interval_beside_a_figure_the_samples_did_not_make():
    from benchbed.analysis.points import p50_interval, throughput_ips_interval

    doc = timed_doc("efficientnet_b0", 5.0)
    assert p50_interval(doc) is not None and throughput_ips_interval(doc) is not None
    loadgen = json.loads(json.dumps(doc))
    loadgen["stats"].update(p50_ms=doc["stats"]["p50_ms"] * 1.3, throughput_ips=123.0)  # LoadGen's own figures
    assert p50_interval(loadgen) is None and throughput_ips_interval(loadgen) is None


# --- the words --------------------------------------------------------------------------------------

def test_one_style_for_a_figure_with_its_interval():
    from benchbed.report.uncertainty import ratio_with_interval, with_interval

    assert with_interval(7.93, (7.81, 8.1)) == "7.93 [7.81, 8.10]"
    assert with_interval(123.4, (120.2, 127.9)) == "123 [120, 128]"
    assert with_interval(0.4123, (0.401, 0.433)) == "0.412 [0.401, 0.433]"
    assert with_interval(7.93, None) == "7.93 [n/a]" and with_interval(None, None) == "-"
    assert ratio_with_interval(1.04, 1.01, 1.07) == "1.04 [1.01, 1.07]"
    assert ratio_with_interval(1.004, 0.998, 1.010) == "1.004 [0.998, 1.010]"  # narrow: one more decimal
    assert ratio_with_interval(0.9, None, None) == "0.90 [n/a]" and ratio_with_interval(None, None, None) == "n/a"


def _cell_text(doc: dict) -> str:
    from benchbed.analysis.points import p50_interval
    from benchbed.report.uncertainty import with_interval

    return with_interval(doc["stats"]["p50_ms"], p50_interval(doc))


def test_markdown_shows_each_cells_p50_with_its_interval():
    from benchbed.report.markdown import render_markdown

    docs = [timed_doc("efficientnet_b0", 5.0, phi=0), timed_doc("efficientnet_b1", 7.0, phi=1, n=12)]
    md = render_markdown(RUN, docs)
    assert re.search(r"\| 1 \| \d\.\d\d \[\d\.\d\d, \d\.\d\d\] \| ", md)  # batch, then p50 [low, high]
    assert f"| {_cell_text(docs[0])} |" in md
    assert "| 1 | " + docs[1]["stats"]["p50_ms"].__format__(".2f") + " [n/a] |" in md  # 12 samples: n/a
    assert "p50 ms [95% CI]" in md and "Intervals: `7.93 [7.81, 8.10]`" in md
    assert "What differs" not in md  # one variant per network: nothing to compare, no section


def test_terminal_tables_and_live_line_show_the_interval():
    from rich.console import Console

    from benchbed.report.terminal import _summary, results_tables

    docs = [timed_doc("efficientnet_b3", 9.4), timed_doc("efficientnet_b3", 7.9, backend="openvino", seed=1)]
    console = Console(record=True, width=400)
    for table in results_tables(RUN, docs):
        console.print(table)
    text = console.export_text()
    assert text.lstrip().startswith("What differs (beyond noise)")  # the first lines
    assert _cell_text(docs[0]) in text and _cell_text(docs[1]) in text
    assert f"p50 {_cell_text(docs[0])} ms" in _summary(docs[0])


def _points(docs):
    from benchbed.analysis.points import to_points

    from benchbed.accuracy.lookup import AccuracyBook

    return to_points([(d, ENV) for d in docs], AccuracyBook())


def test_html_opens_with_what_differs_and_shows_intervals(tmp_path):
    from benchbed.report.html import render_html

    docs = [timed_doc("efficientnet_b3", 9.4), timed_doc("efficientnet_b3", 7.9, backend="openvino", seed=1)]
    page = render_html([RUN], {RUN["run_id"]: docs}, _points(docs), tmp_path, costs=[], paired_by_run={})
    assert page.index('id="differs"') < page.index('id="results"')
    assert "efficientnet_b3: onnxruntime / openvino p50 1.19 — differs (per-cell intervals" in page
    results = page[page.index('id="results"'):]
    assert f"<td>{_cell_text(docs[0])}</td>" in results and f"<td>{_cell_text(docs[1])}</td>" in results
    best = page[page.index("Best VALID cell"):]
    assert _cell_text(docs[1]) in best  # openvino is the fastest: shown with its interval there too


# --- the plots -----------------------------------------------------------------------------------------

def _bars(container):
    """(low, high) of each error bar of an ErrorbarContainer, in drawing order."""
    (segments,) = [c.get_segments() for c in container[2]]
    return [tuple(sorted((s[0][1], s[1][1]) if s[0][0] == s[1][0] else (s[0][0], s[1][0]))) for s in segments]


def test_latency_and_throughput_plots_draw_each_cells_interval():
    from matplotlib.container import ErrorbarContainer

    from benchbed.report import plots

    docs = [timed_doc("efficientnet_b0", 5.0, phi=0), timed_doc("efficientnet_b1", 7.0, phi=1, seed=1)]
    docs += [timed_doc("efficientnet_b0", 20.0, phi=0, scenario="offline", batch=b, seed=b) for b in (2, 4)]
    points = _points(docs)
    single = [p for p in points if p.scenario == "single-stream"]
    figure = plots.per_phi(points, "p50")
    (container,) = [c for c in figure.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert container.has_yerr
    np.testing.assert_allclose(_bars(container), [p.p50_interval for p in sorted(single, key=lambda p: p.phi)])
    scaling = plots.scaling(points)
    assert any(isinstance(c, ErrorbarContainer) and c.has_yerr for c in scaling.axes[0].containers)
    offline = sorted((p for p in points if p.scenario == "offline"), key=lambda p: p.batch)
    (bars,) = [c for c in plots.throughput_by_batch(points).axes[0].containers if isinstance(c, ErrorbarContainer)]
    np.testing.assert_allclose(_bars(bars), [p.throughput_interval for p in offline])
    memory = plots.per_phi(points, "memory")  # one reading per cell: no bars to draw
    assert not [c for c in memory.axes[0].containers if isinstance(c, ErrorbarContainer)]


def test_the_pareto_plot_shows_the_latency_interval_horizontally():
    from matplotlib.container import ErrorbarContainer

    from benchbed.analysis.pareto import COSTS
    from benchbed.report import plots

    points = _points([timed_doc("efficientnet_b0", 5.0, phi=0), timed_doc("efficientnet_b1", 7.0, phi=1, seed=1)])
    figure = plots.pareto(points, COSTS["p50"])
    containers = [c for c in figure.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert containers and all(c.has_xerr and not c.has_yerr for c in containers)
    np.testing.assert_allclose(sorted(b for c in containers for b in _bars(c)), sorted(p.p50_interval for p in points))


# --- what differs --------------------------------------------------------------------------------------

def test_what_differs_uses_the_paired_comparisons_first():
    from benchbed.report.markdown import render_markdown

    docs = [timed_doc("efficientnet_b3", 9.4), timed_doc("efficientnet_b3", 7.9, backend="openvino", seed=1),
            timed_doc("efficientnet_b0", 2.0, phi=0), timed_doc("efficientnet_b0", 2.0, phi=0, backend="openvino",
                                                                seed=2)]
    md = render_markdown(RUN, docs, paired=[PAIRED])
    section = md[md.index("## What differs (beyond noise)"):md.index("## single-stream")]
    assert md.index("## What differs") < md.index("## single-stream")  # the report opens with it
    assert ("- efficientnet_b3: openvino / onnxruntime p50 0.84 [0.81, 0.87] — faster (paired, 12 rounds, 20 s)"
            in section)
    assert "efficientnet_b3: onnxruntime / openvino" not in section  # b3 is answered by its paired comparison
    assert re.search(r"- efficientnet_b0: \w+ / \w+ p50 1\.00 — within noise \(per-cell intervals .* overlap; "
                     r"not measured paired\)", section)
    assert "| efficientnet_b3 | 3 | single-stream | 1 | p50_ms | openvino fp32 | onnxruntime fp32 | " \
           "0.84 [0.81, 0.87] | 95% | faster | 12 | 20.1 | 3.0% | 2.0% |" in section
    named = render_markdown(RUN, docs, paired=[dict(PAIRED, network="B3")])  # the sweep's short name: matched by φ
    assert "- B3: openvino / onnxruntime p50 0.84" in named and "efficientnet_b3: onnxruntime / openvino" not in named


def test_what_differs_falls_back_to_per_cell_intervals():
    from benchbed.analysis.differences import PER_CELL, what_differs
    from benchbed.report.differs import line
    from benchbed.report.markdown import scenario_rows

    docs = [timed_doc("efficientnet_b3", 9.4), timed_doc("efficientnet_b3", 7.9, backend="openvino", seed=1),
            timed_doc("efficientnet_b3", 9.4, backend="torch", seed=2),
            timed_doc("efficientnet_b3", 3.0, backend="openvino", precision="int8", validity="INVALID"),
            timed_doc("efficientnet_b0", 2.0, phi=0), timed_doc("efficientnet_b0", 1.9, phi=0, backend="openvino", n=12)]
    found = what_differs(scenario_rows(docs))
    assert {d.source for d in found} == {PER_CELL}
    lines = [line(d) for d in found]
    assert lines[0].startswith("efficientnet_b0: onnxruntime / openvino p50 1.05 — cannot tell (per-cell intervals")
    assert "no interval for openvino" in lines[0]  # 12 samples: no honest interval
    b3 = {(d.variant.name, d.reference.name): d.verdict for d in found if d.network == "efficientnet_b3"}
    assert b3 == {("onnxruntime", "openvino"): "differs", ("torch", "openvino"): "differs",
                  ("torch", "onnxruntime"): "within noise"}  # the INVALID int8 cell takes no part
    assert all(line.endswith("not measured paired)") for line in lines)


def test_offline_is_judged_on_throughput_at_each_variants_answer():
    from benchbed.analysis.differences import what_differs
    from benchbed.report.differs import line
    from benchbed.report.markdown import scenario_rows

    docs = [timed_doc("efficientnet_b0", 20.0, phi=0, scenario="offline", batch=8),
            timed_doc("efficientnet_b0", 30.0, phi=0, scenario="offline", batch=16, backend="openvino", seed=1)]
    (found,) = what_differs(scenario_rows(docs))
    assert found.metric == "img/s" and found.verdict == "differs"
    assert re.fullmatch(r"efficientnet_b0 \(offline\): onnxruntime / openvino img/s 0\.75 — differs \(per-cell "
                        r"intervals \d+ \[\d+, \d+\] at b8 vs \d+ \[\d+, \d+\] at b16 img/s do not overlap; "
                        r"not measured paired\)", line(found))


# --- reading results files -----------------------------------------------------------------------------

def _results_file(path, docs, paired=None):
    data = {"format": "benchbed-results/1", "run": RUN, "results": docs}
    if paired is not None:
        data["paired"] = paired
    path.write_text(json.dumps(data))
    return path


def test_a_results_file_carries_its_paired_list_into_the_report(tmp_path):
    from benchbed.accuracy.lookup import AccuracyBook
    from benchbed.report.bundle import load_inputs, render_bundle_markdown

    docs = [timed_doc("efficientnet_b3", 9.4), timed_doc("efficientnet_b3", 7.9, backend="openvino", seed=1)]
    inputs = load_inputs([str(_results_file(tmp_path / "results.json", docs, [PAIRED]))], None, AccuracyBook())
    assert inputs.paired == {RUN["run_id"]: [PAIRED]}
    md = render_bundle_markdown(inputs, [], AccuracyBook())
    assert md.index("— faster (paired, 12 rounds, 20 s)") < md.index("## single-stream")


def test_an_old_results_file_still_renders(tmp_path):
    """No ``paired`` list, one backend: the report is as before, with the interval columns."""
    from benchbed.accuracy.lookup import AccuracyBook
    from benchbed.report.bundle import load_inputs, render_bundle_markdown

    docs = [result_doc(f"efficientnet_b{i}", phi=i, p50=5.0 + i) for i in range(3)]  # samples' median != p50
    inputs = load_inputs([str(_results_file(tmp_path / "results.json", docs))], None, AccuracyBook())
    assert inputs.paired == {}
    md = render_bundle_markdown(inputs, [], AccuracyBook())
    assert "What differs" not in md and md.startswith(f"# benchbed run {RUN['run_id']}\n\nStatus: **complete**")
    assert "| efficientnet_b1 | preset |" in md and "| 6.00 [n/a] |" in md  # an interval only for its own p50


@pytest.mark.parametrize("paired,needle", [
    ({"x": 1}, "paired is not a list"),
    ([dict(PAIRED, verdict="worse")], "paired entry 1 verdict 'worse' is not one of 'slower', 'faster', 'same' or "
                                      "'unknown'"),
    ([PAIRED, dict(PAIRED, ci_low=float("nan"))], "paired entry 2 ci_low nan is not a finite number"),
    ([{k: v for k, v in PAIRED.items() if k != "variant"}], "paired entry 1 lacks variant"),
    (["B3 faster"], "paired entry 1 is not an object"),
])
def test_a_damaged_paired_list_is_a_one_line_error(tmp_path, paired, needle):
    from benchbed.analysis.sources import load_side

    path = tmp_path / "results.json"
    path.write_text(json.dumps({"format": "benchbed-results/1", "run": RUN, "results": [timed_doc("b", 1.0)],
                                "paired": paired}, allow_nan=True))
    with pytest.raises(BenchbedError) as error:
        load_side(str(path), None)
    assert needle in str(error.value) and "\n" not in str(error.value)


def test_a_comparison_without_rounds_reads_as_no_ratio():
    """decide() on zero rounds gives a NaN ratio: an undecided entry may carry it, a decided one may not."""
    from benchbed.core.result import check_paired
    from benchbed.report.differs import paired_rows

    undecided = dict(PAIRED, ratio=float("nan"), ci_low=None, ci_high=None, verdict="unknown", rounds=0)
    assert check_paired([undecided], "f") == [undecided]
    assert paired_rows([undecided])[0][7] == "n/a"
    with pytest.raises(BenchbedError, match="paired entry 1 ratio nan is not a finite number"):
        check_paired([dict(undecided, verdict="faster")], "f")


def test_a_stored_runs_paired_entries_reach_its_report(tmp_path, caplog):
    from benchbed.analysis.sources import load_side
    from benchbed.sweep.store import Store

    store = Store(tmp_path / "db.sqlite")
    run_id = store.create_run({"backend": "onnxruntime,openvino"}, "sha", ENV)
    for doc in (timed_doc("efficientnet_b3", 9.4), timed_doc("efficientnet_b3", 7.9, backend="openvino", seed=1)):
        store.add_result(run_id, doc)
    store.add_paired(run_id, "efficientnet_b3", [PAIRED, dict(PAIRED, verdict="worse")])
    store.close()
    side = load_side(run_id, tmp_path / "db.sqlite")
    assert side.paired == {run_id: [PAIRED]}  # the damaged entry is skipped and named, as a damaged row is
    assert "paired entry 2 verdict 'worse' is not one of" in caplog.text


def test_a_reduced_precision_cell_is_never_just_valid():
    """#22 (the label): int8/fp16 cells' VALID rests on synthetic parity; every table says so."""
    from benchbed.analysis.points import ACCURACY_UNVERIFIED, accuracy_evidence
    from benchbed.report.markdown import render_markdown, row_cells, scenario_rows
    from benchbed.report.terminal import results_summary

    docs = [result_doc("efficientnet_b0", precision=p) for p in ("fp32", "fp16", "int8")]
    assert [accuracy_evidence(d) for d in docs] == [None, ACCURACY_UNVERIFIED, ACCURACY_UNVERIFIED]
    rows = scenario_rows(docs)["single-stream"]
    shown = {r["precision"]: row_cells(r)[-1] for r in rows}
    assert shown["fp32"] == "VALID" and shown["int8"] == shown["fp16"] == "VALID, accuracy unverified"
    run = {"run_id": "20260101-000000-0000a1", "status": "complete", "config": {}, "environment": ENV}
    assert "accuracy unverified" in render_markdown(run, docs)
    summary = results_summary(run, docs)["scenarios"]["single-stream"]
    assert {r["precision"]: r["accuracy_evidence"] for r in summary} == {"fp32": None, "fp16": ACCURACY_UNVERIFIED,
                                                                        "int8": ACCURACY_UNVERIFIED}
