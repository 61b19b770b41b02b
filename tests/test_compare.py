import json
import os
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from benchbed.analysis.compare import Thresholds, compare_cells, compare_samples
from benchbed.report.compare import to_junit, to_markdown
from benchbed.analysis.history import Point, change_points, sparkline, trends
from benchbed.sweep.store import Store
from conftest import TINY_ARGS, run_cli

ENV = {"cpu_model": "X", "physical_cores": 2, "versions": {"onnxruntime": "1.31.1"}, "fingerprint": "f"}


def _samples(center: float, n: int = 200, seed: int = 0, spread: float = 0.02) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(center * (1 + spread * rng.standard_normal(n)))


def _doc(samples, batch=1, status="ok", validity="VALID", network="net", rss=100e6, profile="quick"):
    cell = {"network": network, "backend": "onnxruntime", "precision": "fp32", "scenario": "single-stream",
            "batch": batch}
    if status != "ok":
        return {"status": status, "cell": cell, "error": "worker killed by SIGKILL"}
    return {"status": "ok", "cell": cell, "samples_ms": samples, "validity": {"status": validity, "reasons": []},
            "memory": {"peak_rss_bytes": rss}, "timing": {"profile": {"name": profile}, "clock": "host",
                                                          "copies_included": False},
            "backend": {"options": {"threads": 2}}, "stats": {"p50_ms": float(np.median(samples)),
                                                              "p99_ms": float(np.percentile(samples, 99)),
                                                              "throughput_ips": 1e3 / float(np.median(samples))}}


def test_same_distribution_is_no_significant_change():
    change = compare_samples([_samples(10, seed=1)], [_samples(10, seed=2)], 0.05, Thresholds())
    assert change.verdict == "no significant change"
    assert change.ci_low < 1 < change.ci_high or abs(change.ratio - 1) < 0.05


def test_a_real_slowdown_is_slower_with_a_ci_above_one():
    change = compare_samples([_samples(10, seed=1)], [_samples(11, seed=2)], 0.05, Thresholds())
    assert change.verdict == "slower" and change.ci_low > 1.05 and change.p_value < 1e-3
    assert compare_samples([_samples(11, seed=1)], [_samples(10, seed=2)], 0.05, Thresholds()).verdict == "faster"


def test_significant_but_small_is_not_a_regression():
    change = compare_samples([_samples(10, spread=0.002, seed=1)], [_samples(10.2, spread=0.002, seed=2)], 0.05,
                             Thresholds())
    assert change.p_value < 1e-3 and change.ci_low > 1.0  # surely different ...
    assert change.verdict == "no significant change"  # ... but 2 % is below the 5 % minimum effect


def test_blocks_follow_time_order():
    from benchbed.measure.stats import block_medians

    samples = [1.0] * 50 + [2.0] * 50
    blocks = block_medians(samples)
    assert len(blocks) == 10 and blocks[:5] == [1.0] * 5 and blocks[5:] == [2.0] * 5
    assert len(block_medians([1.0, 2.0, 3.0, 4.0])) == 1  # too few samples for several blocks


def test_run_to_run_variation_widens_the_interval():
    base = [_samples(10, seed=1), _samples(12, seed=2), _samples(9, seed=3)]
    current = [_samples(10.5, seed=4), _samples(11.5, seed=5), _samples(9.5, seed=6)]
    change = compare_samples(base, current, 0.05, Thresholds())
    assert change.ci_low < 1 < change.ci_high and change.verdict == "no significant change"


def test_cell_verdicts():
    base = [(_doc(_samples(10), network="a"), ENV), (_doc(_samples(10), network="b"), ENV),
            (_doc(_samples(10), network="c"), ENV), (_doc(_samples(10), network="d"), ENV),
            (_doc(_samples(10), network="e"), ENV), (_doc(_samples(10), network="f", rss=100e6), ENV)]
    other_env = dict(ENV, versions={"onnxruntime": "1.30.0"})
    current = [(_doc(_samples(12, seed=3), network="a"), ENV), (_doc(None, status="failed", network="b"), ENV),
               (_doc(_samples(10, seed=4), network="c"), other_env),
               (_doc(_samples(10, seed=5), network="d", validity="INVALID"), ENV),
               (_doc(_samples(10, seed=6), network="g"), ENV), (_doc(_samples(10, seed=7), network="f", rss=150e6), ENV)]
    rows = {r.cell["network"]: r for r in compare_cells(base, current)}
    assert rows["a"].verdict == "slower"
    assert rows["b"].verdict == "new failure"
    assert rows["c"].verdict == "incomparable" and "onnxruntime 1.31.1 -> 1.30.0" in rows["c"].reasons[0]
    assert rows["d"].verdict == "incomparable" and "INVALID" in rows["d"].reasons[0]
    assert rows["e"].verdict == "missing" and rows["g"].verdict == "new"
    assert rows["f"].verdict == "more memory"
    forced = {r.cell["network"]: r for r in compare_cells(base, current, allow_env_mismatch=True)}
    assert forced["c"].verdict == "no significant change" and "compared anyway" in forced["c"].reasons[-1]


def test_junit_and_markdown_outputs():
    base = [(_doc(_samples(10), network="a"), ENV), (_doc(_samples(10), network="b"), ENV)]
    current = [(_doc(_samples(13, seed=9), network="a"), ENV), (_doc(_samples(10, seed=8), network="b"), ENV)]
    rows = compare_cells(base, current)
    failed = [r for r in rows if r.verdict == "slower"]
    root = ET.fromstring(to_junit(rows, "A", "B", failed))
    suite = root.find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert len(suite.findall("testcase/failure")) == 1
    md = to_markdown(rows, "A", "B", failed)
    assert "1 regression" in md and "| a | onnxruntime" in md
    latency = next(m for m in rows[0].metrics if m.metric == "latency")  # 13 against 10: a ratio near 1.3
    shown = re.search(r"\| (1\.\d{2,3}) \[(1\.\d{2,3}), (1\.\d{2,3})\] \|", md)  # ratio [low, high]
    assert shown, md
    assert [float(v) for v in shown.groups()] == pytest.approx([latency.ratio, latency.ci_low, latency.ci_high],
                                                               abs=0.005)


def test_change_points_find_steps_not_spikes():
    def points(values):
        return [Point(f"r{i}", i, v, _samples(v, n=50, seed=i)) for i, v in enumerate(values)]

    assert change_points(points([10, 10, 10, 10, 12, 12, 12, 12])) == [4]
    assert change_points(points([10, 10, 10, 15, 10, 10, 10])) == []  # one spike
    assert change_points(points([10, 10, 10, 10, 10, 10, 16])) == []  # a last spike is not yet a step
    assert change_points(points([10, 10, 10, 12, 12, 12, 9, 9, 9])) == [3, 6]
    assert sparkline([1, 2, 3], [1]) == "▁|▅█"


def _store_with_runs(path, values):
    store = Store(path)
    for i, value in enumerate(values):
        run_id = store.create_run({"phi": [0]}, "sha", ENV)
        store.add_result(run_id, _doc(_samples(value, n=50, seed=i)))
    return store


def test_history_from_the_store(tmp_path):
    store = _store_with_runs(tmp_path / "h.sqlite", [10, 10, 10, 10, 13, 13, 13])
    found = trends(store)
    store.close()
    assert len(found) == 1 and found[0].change_points == [4]
    result = run_cli("history", "--db", str(tmp_path / "h.sqlite"), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["change_points"][0]["index"] == 4
    table = run_cli("history", "--db", str(tmp_path / "h.sqlite"))
    assert table.returncode == 0 and "|" in table.stdout
    plotted = run_cli("history", "--db", str(tmp_path / "h.sqlite"), "--plot", str(tmp_path / "trend.png"))
    assert plotted.returncode == 0 and (tmp_path / "trend.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run_cli("history", "--db", str(tmp_path / "h.sqlite"), "--plot", str(tmp_path / "t.gif")).returncode == 2
    assert run_cli("history", "--db", str(tmp_path / "h.sqlite"), "--network", "zzz").returncode == 2
    assert run_cli("history", "--db", str(tmp_path / "h.sqlite"), "--metric", "joules").returncode == 2


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cmp")
    paths = []
    for label in ("a", "b"):
        result = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--quick", "--duration", "0.3", "--iterations", "20",
                         "--scenario", "single-stream", "--db", str(tmp / "db.sqlite"), "--models", str(tmp / "m"),
                         "--reports", str(tmp / label), "--format", "json")
        assert result.returncode == 0, result.stderr
        paths.append(next((tmp / label).glob("*/results.json")))
    return tmp, paths


def test_compare_cli_exit_codes_and_formats(two_runs, tmp_path):
    tmp, (a, b) = two_runs
    same = run_cli("compare", str(a), str(a), "--format", "json")
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["cells"][0]["verdict"] == "no significant change"
    # a sweep reads the machine speed index before each cell, and compare uses it where both sides have it
    assert all(doc["speed_index"]["index_ms"] > 0 for doc in json.loads(a.read_text())["results"])
    assert json.loads(same.stdout)["normalization"].startswith("latency normalized by the machine speed index")

    slowed = json.loads(a.read_text())  # the same run, 50 % slower: a known answer on a noisy machine
    for doc in slowed["results"]:
        doc["samples_ms"] = [s * 1.5 for s in doc["samples_ms"]]
    slow_path = tmp_path / "slow.json"
    slow_path.write_text(json.dumps(slowed))
    worse = run_cli("compare", str(a), str(slow_path), "--format", "md", "--output", str(tmp_path / "junit.xml"))
    assert worse.returncode == 1 and "slower" in worse.stdout
    assert ET.parse(tmp_path / "junit.xml").getroot().get("failures") == "1"
    tolerant = run_cli("compare", str(a), str(slow_path), "--fail-on", "new failure")
    assert tolerant.returncode == 0

    run_id = json.loads(a.read_text())["run"]["run_id"]
    by_id = run_cli("compare", run_id, str(a.parent.parent), "--db", str(tmp / "db.sqlite"), "--format", "junit")
    assert by_id.returncode in (0, 1) and "<testsuites" in by_id.stdout


@pytest.mark.parametrize("case,needle", [
    ("corrupt", "not valid JSON"), ("foreign", "not a benchbed results file"), ("unknown", "neither a file"),
    ("empty", "no results"), ("disjoint", "share no cell"), ("badflag", "--min-effect"), ("badverdict", "--fail-on"),
])
def test_compare_bad_input_exit_2(two_runs, tmp_path, case, needle):
    _, (a, _) = two_runs
    other = tmp_path / "other.json"
    data = json.loads(a.read_text())
    extra = []
    if case == "corrupt":
        other.write_text(a.read_text()[:200])
    elif case == "foreign":
        other.write_text(json.dumps({"hello": 1}))
    elif case == "empty":
        data["results"] = []
        other.write_text(json.dumps(data))
    elif case == "disjoint":
        for doc in data["results"]:
            doc["cell"]["network"] = "something_else"
        other.write_text(json.dumps(data))
    else:
        other = a
        extra = {"badflag": ["--min-effect", "-1"], "badverdict": ["--fail-on", "worse"],
                 "unknown": []}[case]
    target = "no_such_run_or_file" if case == "unknown" else str(other)
    result = run_cli("compare", str(a), target, *extra)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_copied_results_file_counts_once_per_side(two_runs, tmp_path):
    """#27 item 8: two copies of one run in a folder are one run, not twice the samples."""
    from benchbed.analysis.sources import load_side

    _, (a, _) = two_runs
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(a.read_text())
    alone, doubled = load_side(str(a), None), load_side(str(tmp_path), None)
    assert len(doubled.runs) == 1 and len(doubled.results) == len(alone.results)


@pytest.mark.parametrize("make,needle", [
    (lambda p: p.write_text("[" * 100_000), "nested"),
    (lambda p: p.write_text('{"a":' * 200 + "1" + "}" * 200), "nested"),
    (lambda p: p.write_bytes(b'{"format": "\xff"}'), "not UTF-8"),
    (lambda p: os.mkfifo(p), "neither a file"),
])
def test_hostile_results_files_are_one_line(tmp_path, make, needle):
    """#27 items 23, 24 and 35: deep nesting, bytes that are not text, a FIFO: one line, exit 2, no hang."""
    path = tmp_path / "results.json"
    make(path)
    done = run_cli("compare", str(path), str(path), timeout=60)
    assert done.returncode == 2 and needle in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
