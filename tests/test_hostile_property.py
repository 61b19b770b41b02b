"""A guard that lasts: hostile and careless inputs, generated (hypothesis), through the real commands.

Valid results files, price files, accuracy CSVs and command-line numbers are mutated (NaN, inf, negative,
huge, wrong type, wrong encoding); every command must end with exit 0, 1 or 2, say at most one line on
stderr when it refuses (never a traceback: an unexpected exception fails the example), and write nothing
outside the folder it was given. Commands run in-process through ``benchbed.cli.main`` (what the console
script runs) so a few hundred cases fit in the suite's time.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from analysis_docs import ENV, result_doc  # noqa: E402

RUN = {"run_id": "20260101-000000-0000a1", "config": {}, "environment": ENV, "status": "complete", "created": 0}
HOSTILE = st.sampled_from([float("nan"), float("inf"), -float("inf"), -1, 0, 1e308, -1e308, 2**70, "one", "",
                           None, [], {}, True, "../../x", "\u03c6", "=cmd|' /C calc'!A0", 1.5])
SETTINGS = settings(max_examples=int(os.environ.get("BENCHBED_PROPERTY_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
#: every case run, by guard, for the closing note
COUNTS: dict[str, int] = {}


def _cli(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run one command in-process in ``cwd``: (exit code, stdout, stderr)."""
    from benchbed.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
    finally:
        os.chdir(previous)
    return code, out.getvalue(), err.getvalue()


def _check(code: int, stderr: str, args: list[str]) -> None:
    assert code in (0, 1, 2), (args, code, stderr)
    assert "Traceback" not in stderr, (args, stderr)
    if code == 2:
        errors = [line for line in stderr.splitlines() if line.startswith("benchbed: error:")]
        assert len(errors) == 1, (args, stderr)


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def _docs() -> list[dict]:
    return [result_doc(f"efficientnet_b{i}", p50=5.0 + i) for i in range(3)]


def _paths(value, prefix=()):
    """Every (path) in a JSON value, so a mutation can land anywhere."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            yield from _paths(item, prefix + (index,))


def _set(tree, path, value):
    if not path:
        return value
    target = tree
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return tree


@st.composite
def damaged_results(draw):
    data = {"format": "benchbed-results/1", "run": copy.deepcopy(RUN), "results": _docs()}
    paths = list(_paths(data))
    for _ in range(draw(st.integers(1, 3))):
        data = _set(data, draw(st.sampled_from(paths)), draw(HOSTILE))
        paths = list(_paths(data)) if isinstance(data, (dict, list)) else [()]
    return data


@SETTINGS
@given(data=damaged_results())
def test_damaged_results_files(tmp_path_factory, data):
    work = tmp_path_factory.mktemp("results")
    (work / "inside").mkdir()
    path = work / "inside" / "results.json"
    path.write_text(json.dumps(data, allow_nan=True))
    prices = work / "inside" / "prices.yaml"
    prices.write_text('hardware:\n  any: {hourly: 1.0, match: ["cores"]}\n')
    before = _files(work)
    for args in (["compare", str(path), str(path)], ["report", str(path), "--reports", str(work / "inside" / "r")],
                 ["procure", str(path), "--prices", str(prices)]):
        code, _, err = _cli(args, work / "inside")
        _check(code, err, args)
        COUNTS["results"] = COUNTS.get("results", 0) + 1
    assert {p for p in _files(work) - before if not str(p).startswith(str(work / "inside"))} == set()


@st.composite
def price_files(draw):
    key = draw(st.sampled_from(["hourly", "power_w", "usd_per_kwh", "purchase", "amortization_months"]))
    value = draw(HOSTILE)
    entry = {"hourly": 1.0, "power_w": 50}
    top = {"usd_per_kwh": 0.2}
    (top if key == "usd_per_kwh" else entry)[key] = value
    text = json.dumps({**top, "hardware": {"any": {**entry, "match": ["cores"]}}}, allow_nan=True)
    text = text.replace("NaN", ".nan").replace("-Infinity", "-.inf").replace("Infinity", ".inf")
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1-garbage"]))
    raw = text.encode("utf-16") if encoding == "utf-16" else text.encode()
    return raw + (b"\xff\xfe\x80" if encoding == "latin-1-garbage" else b"")


@SETTINGS
@given(raw=price_files())
def test_hostile_price_files(tmp_path_factory, raw):
    work = tmp_path_factory.mktemp("prices")
    results = work / "results.json"
    results.write_text(json.dumps({"format": "benchbed-results/1", "run": RUN, "results": _docs()}))
    prices = work / "prices.yaml"
    prices.write_bytes(raw)
    args = ["procure", str(results), "--prices", str(prices)]
    code, out, err = _cli(args, work)
    _check(code, err, args)
    assert "nan" not in out.lower() and "inf " not in out.lower(), out  # never ranked at nan/inf
    COUNTS["prices"] = COUNTS.get("prices", 0) + 1


@st.composite
def accuracy_csvs(draw):
    row = ["efficientnet_b0", "fp32", "w", "77.1", "93.3"]
    row[draw(st.integers(0, 4))] = str(draw(HOSTILE))
    text = "network,precision,weights,top1,top5\n" + ",".join(row) + "\n"
    return text.encode(draw(st.sampled_from(["utf-8", "utf-16"])))


@SETTINGS
@given(raw=accuracy_csvs())
def test_hostile_accuracy_csvs(tmp_path_factory, raw):
    work = tmp_path_factory.mktemp("accuracy")
    results = work / "results.json"
    results.write_text(json.dumps({"format": "benchbed-results/1", "run": RUN, "results": _docs()}))
    csv = work / "acc.csv"
    csv.write_bytes(raw)
    args = ["report", str(results), "--accuracy", str(csv), "--reports", str(work / "r")]
    code, _, err = _cli(args, work)
    _check(code, err, args)
    COUNTS["accuracy"] = COUNTS.get("accuracy", 0) + 1


NUMBER = st.one_of(HOSTILE.map(str), st.sampled_from(["nan", "inf", "-inf", "1e309", "-0", "1e-320", "0x10"]))


@SETTINGS
@given(flag=st.sampled_from([("generate", "--phi"), ("generate", "--width"), ("generate", "--depth"),
                             ("generate", "--resolution"), ("generate", "--alpha"), ("procure", "--target-qps"),
                             ("procure", "--sla"), ("procure", "--min-top1"), ("history", "--min-effect"),
                             ("search", "--target")]),
       value=NUMBER)
def test_hostile_numbers_on_the_command_line(tmp_path_factory, flag, value):
    work = tmp_path_factory.mktemp("numbers")
    command, option = flag
    args = {"generate": ["generate", "--mode", "compound", "--phi", "0", "--width", "0.25", "--depth", "0.34",
                         "--resolution", "32"],
            "procure": ["procure", str(work / "results.json"), "--prices", str(work / "prices.yaml")],
            "history": ["history", "--db", str(work / "none.sqlite")],
            "search": ["search", "--format", "json"]}[command]
    (work / "results.json").write_text(json.dumps({"format": "benchbed-results/1", "run": RUN, "results": _docs()}))
    (work / "prices.yaml").write_text('hardware:\n  any: {hourly: 1.0, match: ["cores"]}\n')
    full = args + [option, value]
    code, out, err = _cli(full, work)
    _check(code, err, full)
    if code == 0 and value.lower() in ("nan", "inf", "-inf", "1e309"):
        pytest.fail(f"{full}: a non-finite number was accepted: {out[:300]}")
    COUNTS["numbers"] = COUNTS.get("numbers", 0) + 1


def test_report_counts(capsys):
    """Runs last in this file: how many cases the guards above ran (quoted in the closing note)."""
    with capsys.disabled():
        print(f"\nproperty cases run: {json.dumps(COUNTS)} (total {sum(COUNTS.values())})")
    assert math.isfinite(sum(COUNTS.values()))
