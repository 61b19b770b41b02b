"""benchbed procure: ranking, devices and cost arithmetic, every exclusion reason, and bad input."""

import json
import math

import pytest

from analysis_docs import ENV, result_doc
from benchbed.accuracy.lookup import AccuracyBook
from benchbed.analysis.points import to_points
from benchbed.core.errors import BenchbedError
from benchbed.analysis.prices import HOURS_PER_MONTH, load_prices
from benchbed.analysis.procure import Constraints, procure
from conftest import ROOT, run_cli

PRICES = """
currency: USD
usd_per_kwh: 0.20
hardware:
  fast-gpu: {hourly: 2.0, power_w: 300}
  "Test CPU (8 cores)": {purchase: 8760, amortization_months: 12, power_w: 100}
"""


@pytest.fixture
def prices(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text(PRICES)
    return load_prices(path)


def _answer(docs, prices, **constraints):
    return procure(to_points([(d, ENV) for d in docs], AccuracyBook()), prices, Constraints(**constraints))


def test_owned_hardware_costs_amortization_plus_electricity(prices):
    cpu = prices.price_for("Test CPU (8 cores)")
    assert cpu.per_hour == pytest.approx(8760 / (12 * HOURS_PER_MONTH) + 0.1 * 0.20)
    assert prices.price_for("fast-gpu").per_hour == 2.0 and prices.price_for("other") is None


def test_ranking_devices_and_costs(prices):
    docs = [result_doc("efficientnet_b0", p50=4, throughput=250, hardware="fast-gpu"),
            result_doc("efficientnet_b3", p50=20, throughput=50),  # on Test CPU
            result_doc("efficientnet_b4", p50=60, throughput=40, hardware="fast-gpu")]
    answer = _answer(docs, prices, min_top1=80, sla_ms=50, percentile=99, target_qps=1000)
    (best,) = answer.ranked  # b0 is under the floor, b4 misses the SLA
    assert best.point.network == "efficientnet_b3" and best.devices == 20
    cpu_hour = 8760 / (12 * HOURS_PER_MONTH) + 0.02
    assert best.monthly == pytest.approx(20 * cpu_hour * HOURS_PER_MONTH)
    assert best.per_million == pytest.approx(cpu_hour / 3600 / 50 * 1e6)
    assert best.images_per_joule == pytest.approx(50 / 100) and best.joule_basis == "rated power"
    assert best.headroom == pytest.approx(1 - best.latency_ms / 50)
    reasons = {o.point.network: o.reasons for o in answer.excluded}
    assert reasons["efficientnet_b0"] == ["top-1 77.1 % < 80 %"]
    assert reasons["efficientnet_b4"][0].startswith("p99 ") and "> SLA 50 ms" in reasons["efficientnet_b4"][0]


def test_every_exclusion_reason(prices):
    docs = [result_doc("efficientnet_b1", precision="int8", hardware="fast-gpu"),
            result_doc("efficientnet_b1", precision="fp16", hardware="fast-gpu"),
            result_doc("efficientnet_b1", hardware="unpriced-box"),
            result_doc("efficientnet_b2", validity="INVALID", hardware="fast-gpu"),
            result_doc("efficientnet_b5", status="failed", hardware="fast-gpu"),
            result_doc("compound_phi1", mode="compound", hardware="fast-gpu")]
    answer = _answer(docs, prices, min_top1=70, precisions=("fp32", "int8"))
    why = {(o.point.network, o.point.precision, o.point.hardware): " | ".join(o.reasons) for o in answer.excluded}
    assert "top-1 at int8 unmeasured (fp32 reference 79.1 %" in why[("efficientnet_b1", "int8", "fast-gpu")]
    assert "precision fp16 not allowed" in why[("efficientnet_b1", "fp16", "fast-gpu")]
    assert "no price for hardware 'unpriced-box'" in why[("efficientnet_b1", "fp32", "unpriced-box")]
    assert "result INVALID: parity failed" in why[("efficientnet_b2", "fp32", "fast-gpu")]
    assert "cell failed: worker died" in why[("efficientnet_b5", "fp32", "fast-gpu")]
    assert "no accuracy for this network" in why[("compound_phi1", "fp32", "fast-gpu")]
    assert answer.ranked == [] and answer.unpriced_hardware == ["unpriced-box"]
    allowed = _answer(docs[:1], prices, min_top1=70, allow_reference_accuracy=True)
    assert [o.point.precision for o in allowed.ranked] == ["int8"]
    assert allowed.ranked[0].point.accuracy.label() == "79.1*"


def test_no_option_meets_names_the_closest(prices):
    docs = [result_doc("efficientnet_b7", p50=500, hardware="fast-gpu"),
            result_doc("efficientnet_b6", p50=300, hardware="fast-gpu"),
            result_doc("efficientnet_b0", p50=5, hardware="fast-gpu")]
    answer = _answer(docs, prices, min_top1=84.2, sla_ms=100)
    assert answer.ranked == []
    # relative shortfalls: b0 misses the floor by 8 %, b6 the SLA by 260 %, b7 the SLA by 500 %
    assert [o.point.network for o in answer.closest] == ["efficientnet_b0", "efficientnet_b6", "efficientnet_b7"]


def test_measured_energy_beats_rated_power(prices):
    (option,) = _answer([result_doc("efficientnet_b0", hardware="fast-gpu", energy=0.05)], prices).ranked
    assert option.images_per_joule == pytest.approx(20.0) and option.joule_basis == "measured"


@pytest.mark.parametrize("text,needle", [
    ("hardware:\n  a: {power_w: 10}\n", "has no price: give hourly"),
    ("hardware:\n  a: {hourly: -1}\n", "hourly must be > 0, got -1"),
    ("hardware:\n  a: {hourly: cheap}\n", "hourly must be a number"),
    ("hardware:\n  a: {purchase: 100}\n", "needs amortization_months"),
    ("hardware:\n  a: {hourly: 1, watts: 3}\n", "unknown key(s) watts"),
    ("hardware:\n  a: {purchase: 100, amortization_months: 12, power_w: 5}\n", "has no usd_per_kwh"),
    ("prices: {}\n", "needs a 'hardware:' mapping"),
    ("hardware: [1, 2\n", "line 2: not valid YAML"),
])
def test_bad_price_files(tmp_path, text, needle):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(BenchbedError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        load_prices(path)


def _results_json(tmp_path, docs):
    path = tmp_path / "results.json"
    run = {"run_id": "20260101-000000-0000a1", "config": {}, "environment": ENV, "status": "complete", "created": 0}
    path.write_text(json.dumps({"format": "benchbed-results/1", "run": run, "results": docs}))
    return path


def test_cli_ranks_explains_and_fails_cleanly(tmp_path):
    prices = tmp_path / "prices.yaml"
    prices.write_text(PRICES)
    results = _results_json(tmp_path, [result_doc("efficientnet_b0", p50=5), result_doc("efficientnet_b4", p50=80)])
    ok = run_cli("procure", str(results), "--prices", str(prices), "--min-top1", "77", "--sla", "50ms",
                 "--target-qps", "400", "--show-excluded")
    assert ok.returncode == 0, ok.stderr
    assert "| 1 | Test CPU (8 cores) | efficientnet_b0 |" in ok.stdout and "p99 96 ms > SLA 50 ms" in ok.stdout
    js = run_cli("procure", str(results), "--prices", str(prices), "--sla", "50", "--format", "json")
    data = json.loads(js.stdout)
    assert data["ranked"][0]["devices"] is None and math.isclose(data["ranked"][0]["throughput_ips"], 200.0)
    none = run_cli("procure", str(results), "--prices", str(prices), "--min-top1", "90")
    assert none.returncode == 1 and "no option meets top-1 >= 90 %" in none.stdout
    for args, needle in [
        (["--prices", str(tmp_path / "none.yaml")], "cannot read price file"),
        (["--prices", str(prices), "--percentile", "120"], "--percentile must be in (0, 100]"),
        (["--prices", str(prices), "--precision", "fp64"], "unknown precision 'fp64'"),
        (["--prices", str(prices), "--sla", "fast"], "expected a duration"),
        (["--prices", str(prices), "--accuracy", str(prices)], "missing column(s)"),
    ]:
        bad = run_cli("procure", str(results), *args)
        assert bad.returncode == 2 and needle in bad.stderr and "Traceback" not in bad.stderr, (args, bad.stderr)
    other = tmp_path / "other.yaml"
    other.write_text("hardware:\n  H100: {hourly: 3}\n")
    unmatched = run_cli("procure", str(results), "--prices", str(other))
    assert unmatched.returncode == 2 and "no priced hardware matches" in unmatched.stderr
    assert "'Test CPU (8 cores)'" in unmatched.stderr and "'H100'" in unmatched.stderr
    missing_run = run_cli("procure", "nope-123", "--prices", str(prices), "--db", str(tmp_path / "none.sqlite"))
    assert missing_run.returncode == 2 and "neither a file, a folder nor a run" in missing_run.stderr


def test_example_price_file_is_valid_and_marked_as_an_example():
    path = ROOT / "examples" / "prices.example.yaml"
    assert "EXAMPLE" in path.read_text() and "NOT quotes" in path.read_text()
    assert load_prices(path).price_for("Intel(R) Xeon(R) Processor (2 cores)") is not None


def test_unmet_server_search_missing_percentile_and_closest_only_numeric(prices):
    unmet = result_doc("efficientnet_b1", scenario="mlperf-server", hardware="fast-gpu")
    unmet["loadgen"] = {"search": {"best_qps": None}}
    no_samples = result_doc("efficientnet_b2", hardware="fast-gpu")
    del no_samples["samples_ms"]
    wrong_precision = result_doc("efficientnet_b3", precision="fp16", p50=500, hardware="fast-gpu")
    slow = result_doc("efficientnet_b4", p50=500, hardware="fast-gpu")
    answer = _answer([unmet, no_samples, wrong_precision, slow], prices, sla_ms=100, percentile=99.9,
                     precisions=("fp32",))
    why = {o.point.network: " | ".join(o.reasons) for o in answer.excluded}
    assert "MLPerf Server found no load that met its SLA" in why["efficientnet_b1"]
    assert "p99.9 latency unavailable" in why["efficientnet_b2"]
    assert "precision fp16 not allowed" in why["efficientnet_b3"] and "> SLA 100 ms" in why["efficientnet_b3"]
    assert [o.point.network for o in answer.closest] == ["efficientnet_b4"]  # b3 also misses a hard rule


def test_price_file_ambiguities_are_errors(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("hardware:\n  a: {hourly: 1, purchase: 100, amortization_months: 12}\n")
    with pytest.raises(BenchbedError, match="both hourly and purchase"):
        load_prices(path)
    path.write_text("hardware:\n  a: {hourly: 1, amortization_months: 12}\n")
    with pytest.raises(BenchbedError, match="amortization_months without a purchase"):
        load_prices(path)
    path.write_text('hardware:\n  a: {hourly: 1, match: ["H100"]}\n  b: {hourly: 2, match: ["80GB"]}\n')
    prices = load_prices(path)
    with pytest.raises(BenchbedError, match="matches several entries"):
        prices.price_for("NVIDIA H100 80GB HBM3")
    assert prices.price_for("a").hourly == 1  # an exact name wins


def test_latest_run_of_a_repeated_cell_is_the_one_ranked():
    from benchbed.analysis.procure import latest_per_cell

    old = ({"run_id": "old", "created": 1.0, "environment": ENV}, [result_doc("efficientnet_b0", p50=1)])
    new = ({"run_id": "new", "created": 2.0, "environment": ENV}, [result_doc("efficientnet_b0", p50=9)])
    for runs in ([old, new], [new, old]):
        ((doc, env),) = latest_per_cell(runs)
        assert doc["stats"]["p50_ms"] == 9 and env == ENV


def test_accuracy_rows_for_unknown_networks_are_named(tmp_path):
    prices = tmp_path / "prices.yaml"
    prices.write_text(PRICES)
    results = _results_json(tmp_path, [result_doc("efficientnet_b0")])
    acc = tmp_path / "acc.csv"
    acc.write_text("network,precision,weights,top1,top5\nefficientnet_b9,fp32,x,90,99\n")
    out = run_cli("procure", str(results), "--prices", str(prices), "--accuracy", str(acc))
    assert out.returncode == 0 and "accuracy rows for networks not in these results: efficientnet_b9" in out.stderr


@pytest.mark.parametrize("doc,needle", [
    ({"cell": {"network": "a"}}, "result 1 has a cell without backend, precision, scenario, batch"),
    ({"status": "ok"}, "result 1 has no cell"),
    (dict(result_doc("efficientnet_b0"), stats={"p50_ms": 1}), "result 1 is ok but lacks its statistics"),
])
def test_damaged_results_files_are_one_line_errors(tmp_path, doc, needle):
    prices = tmp_path / "prices.yaml"
    prices.write_text(PRICES)
    results = _results_json(tmp_path, [doc])
    for command in (["procure", str(results), "--prices", str(prices)], ["report", str(results)],
                    ["compare", str(results), str(results)]):
        out = run_cli(*command, "--db", str(tmp_path / "none.sqlite"))
        assert out.returncode == 2 and needle in out.stderr and "Traceback" not in out.stderr, (command, out.stderr)


@pytest.mark.parametrize("hardware", [
    "AMD EPYC (2 cores)", "AMD EPYC 7763 64-Core Processor (64 cores)", "AMD EPYC 9654 96-Core Processor (96 cores)",
    "Intel(R) Xeon(R) Processor (2 cores)", "Intel(R) Xeon(R) Processor (8 cores)",
    "Intel(R) Xeon(R) Platinum 8480+ (56 cores)", "Intel(R) Xeon(R) CPU @ 2.20GHz (4 cores)",
    "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz (32 cores)", "Intel(R) Core(TM) i7-12700K (12 cores)",
    "AMD Ryzen 9 7950X 16-Core Processor (16 cores)",
])
def test_example_price_file_prices_common_cpus(hardware):
    """Bug: the example priced only the CI VM's Xeon, so the README's procure exited 2 on any other CPU."""
    prices = load_prices(ROOT / "examples" / "prices.example.yaml")
    assert prices.price_for(hardware) is not None
    assert prices.price_for("NVIDIA H100 80GB HBM3").name == "NVIDIA H100 80GB HBM3"  # GPUs keep their own


def test_procure_with_the_example_prices_on_an_epyc(tmp_path):
    docs = [result_doc("efficientnet_b0", p50=5)]
    path = tmp_path / "results.json"
    run = {"run_id": "20260101-000000-0000a2", "config": {}, "status": "complete", "created": 0,
           "environment": dict(ENV, cpu_model="AMD EPYC", physical_cores=2)}
    path.write_text(json.dumps({"format": "benchbed-results/1", "run": run, "results": docs}))
    out = run_cli("procure", str(path), "--prices", str(ROOT / "examples" / "prices.example.yaml"), "--sla", "50ms")
    assert out.returncode == 0 and "AMD EPYC (2 cores)" in out.stdout, out.stderr
