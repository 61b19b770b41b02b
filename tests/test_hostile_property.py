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


BASELINE_YAML = """\
name: tiny-lite
stem: 16
head: 64
resolution: 32
num_classes: 10
stem_kernel: 3
stem_stride: 2
stochastic_depth: 0.2
activation: relu6
fix_stem_head: true
stages:
  - mb_r1_k3_s1_e1_c8
  - mb_r2_k3_s2_e4_c16_se0.25
presets:
  - {phi: 0, name: tiny-lite-s, width: 1.0, depth: 1.0, resolution: 32, dropout: 0.2, bn_eps: 0.00001}
"""
YAML_VALUES = st.sampled_from([".nan", ".inf", "-.inf", "-1", "0", "2.5", "1e308", "lots", "''", "~", "[]", "{}",
                               "true", "maybe", "../x", "'a\\nb'", "*alias", "&a 1", "!!python/object:os.system",
                               "'\\e[2J'", "[" * 200, "\"\\u03c6\""])


@st.composite
def baseline_files(draw):
    lines = BASELINE_YAML.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        if line.startswith("  - {"):
            field = draw(st.sampled_from(["phi", "name", "width", "depth", "resolution", "dropout", "bn_eps"]))
            head, rest = line.split(f"{field}: ", 1)
            lines[index] = head + f"{field}: " + draw(YAML_VALUES) + ("," + rest.split(",", 1)[1] if "," in rest else "}")
        elif ":" in line and not line.startswith("  "):
            lines[index] = line.split(":", 1)[0] + ": " + draw(YAML_VALUES)
    text = "\n".join(lines) + "\n"
    form = draw(st.sampled_from(["utf-8", "utf-16", "bom", "trailing-bytes", "duplicate"]))
    if form == "duplicate":
        text += lines[draw(st.integers(1, 4))] + "\n"
    raw = text.encode("utf-16") if form == "utf-16" else text.encode()
    return (b"\xef\xbb\xbf" + raw if form == "bom" else raw + b"\xff\xfe" if form == "trailing-bytes" else raw)


@SETTINGS
@given(raw=baseline_files())
def test_hostile_baseline_files(tmp_path_factory, raw):
    work = tmp_path_factory.mktemp("baseline")
    path = work / "net.yaml"
    path.write_bytes(raw)
    before = _files(work)
    for args in (["generate", "--baseline", str(path), "--phi", "0", "--format", "json"],
                 ["search", "--baseline", str(path), "--step", "0.1", "--format", "json"]):
        code, _, err = _cli(args, work)
        _check(code, err, args)
        COUNTS["baselines"] = COUNTS.get("baselines", 0) + 1
    assert _files(work) == before  # generate and search write nothing


def _special(kind: str, path: Path, tmp: Path) -> None:
    """A file that is not a regular one, or one that never ends, where a user file is expected."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind in ("zero", "urandom"):
        path.symlink_to(f"/dev/{kind}")
    elif kind == "folder":
        path.mkdir()
    elif kind == "loop":
        path.symlink_to(path)
    elif kind == "dangling":
        path.symlink_to(tmp / "nowhere")


SPECIAL = st.sampled_from(["fifo", "zero", "urandom", "folder", "loop", "dangling"])


@settings(max_examples=int(os.environ.get("BENCHBED_PROPERTY_EXAMPLES", "60")) // 2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=SPECIAL, reader=st.sampled_from(["baseline", "prices", "accuracy", "results", "class-map", "calib"]))
def test_special_files_where_a_user_file_is_read(tmp_path_factory, kind, reader):
    """FIFOs, endless devices, folders, link loops: one line and exit 2, never a hang (#27 items 17, 21, 24, 33-35)."""
    work = tmp_path_factory.mktemp("special")
    results = work / "results.json"
    results.write_text(json.dumps({"format": "benchbed-results/1", "run": RUN, "results": _docs()}))
    (work / "prices.yaml").write_text('hardware:\n  any: {hourly: 1.0, match: ["cores"]}\n')
    odd = work / f"odd.{ {'baseline': 'yaml', 'prices': 'yaml', 'results': 'json'}.get(reader, 'txt') }"
    _special(kind, odd, work)
    args = {"baseline": ["generate", "--baseline", str(odd), "--phi", "0"],
            "prices": ["procure", str(results), "--prices", str(odd)],
            "accuracy": ["report", str(results), "--accuracy", str(odd), "--reports", str(work / "r")],
            "results": ["compare", str(odd), str(results)],
            "class-map": ["accuracy", "--width", "0.25", "--depth", "0.34", "--resolution", "32", "--weights",
                          str(work / "none.pt"), "--val-dir", str(work), "--class-map", str(odd)],
            "calib": ["export", "--phi", "0", "--width", "0.25", "--depth", "0.34", "--resolution", "32",
                      "--precision", "int8", "--calib-data", str(odd), "--out", str(work / "m")]}[reader]
    code, _, err = _cli(args, work)
    _check(code, err, args)
    assert code == 2, (args, err)
    COUNTS["special files"] = COUNTS.get("special files", 0) + 1


ONNX_TEXT = st.one_of(st.text(max_size=40), st.sampled_from(
    ["..", ".", "a/b", "a\tb", "a\nb", "\x1b[2J", "x:1x0", "x:1x4,x:1x4", "x:1x99999999999999999999", "x:-1x4",
     "x:1x4x", ":1x4", "x:1x100000000", "images:1x4", "x:1x4 ", "x" * 300]))


@settings(max_examples=int(os.environ.get("BENCHBED_PROPERTY_EXAMPLES", "60")) // 2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(flag=st.sampled_from(["--shapes", "--name"]), value=ONNX_TEXT)
def test_hostile_onnx_shapes_and_names(tmp_path_factory, flag, value):
    """--shapes and --name on a user's ONNX file: refused in one line before a run exists, or measured."""
    import onnx
    from onnx import TensorProto, helper

    work = tmp_path_factory.mktemp("onnx")
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", "k"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "k"])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(work / "v.onnx"))
    shapes = [] if flag == "--shapes" else ["--shapes", "x:1x4"]
    args = ["sweep", "--onnx", str(work / "v.onnx"), "--backend", "null", "--scenario", "single-stream", "--quick",
            "--duration", "0.05", "--iterations", "2", "--paired-budget", "0", *shapes, flag, value,
            "--db", str(work / "r" / "db.sqlite"), "--models", str(work / "m"), "--reports", str(work / "r"),
            "--format", "json"]
    before = _files(work)
    code, _, err = _cli(args, work)
    _check(code, err, args)
    if code == 2:  # refused: decided before anything was created
        assert _files(work) == before, (args, err)
    assert "\x1b" not in err
    outside = {p for p in _files(work) - before if not str(p).startswith((str(work / "r"), str(work / "m")))}
    assert outside == set(), outside
    COUNTS["onnx flags"] = COUNTS.get("onnx flags", 0) + 1


def test_report_counts(capsys):
    """Runs last in this file: how many cases the guards above ran (quoted in the closing note)."""
    with capsys.disabled():
        print(f"\nproperty cases run: {json.dumps(COUNTS)} (total {sum(COUNTS.values())})")
    assert math.isfinite(sum(COUNTS.values()))
