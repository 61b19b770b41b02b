"""Damaged results files are refused where they are read (one line naming the file, the entry and the field,
exit 2), never averaged: a NaN sample once turned compare's "5 slower", exit 1, into "no change", exit 0."""

from __future__ import annotations

import copy
import json

import pytest

from analysis_docs import ENV, result_doc
from conftest import run_cli

RUN = {"run_id": "20260101-000000-0000a1", "config": {}, "environment": ENV, "status": "complete", "created": 0}


def _write(path, docs, run=RUN):
    path.write_text(json.dumps({"format": "benchbed-results/1", "run": run, "results": docs}, allow_nan=True))
    return path


def _docs(slower: float = 1.0):
    docs = [result_doc(f"efficientnet_b{i}", p50=10.0 * slower) for i in range(3)]
    for doc in docs:
        doc["samples_ms"] = [s * slower for s in doc["samples_ms"]]
    return docs


def test_a_nan_sample_cannot_hide_a_regression(tmp_path):
    base = _write(tmp_path / "base.json", _docs())
    slower = _docs(1.5)
    real = run_cli("compare", str(base), str(_write(tmp_path / "cur.json", slower)))
    assert real.returncode == 1, real.stdout + real.stderr  # the regression is found
    poisoned = copy.deepcopy(slower)
    for doc in poisoned:
        doc["samples_ms"][3] = float("nan")
    out = run_cli("compare", str(base), str(_write(tmp_path / "nan.json", poisoned)))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "result 1 samples_ms[3] nan is not a finite number" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def _mutate(docs, index: int, path: str, value):
    doc = docs[index]
    *parents, leaf = path.split(".")
    for key in parents:
        doc = doc[key]
    doc[leaf] = value
    return docs


@pytest.mark.parametrize("mutation,needle", [
    (lambda d: _mutate(d, 0, "cell.batch", "one"), "result 1 cell batch 'one' is not a whole number"),
    (lambda d: _mutate(d, 1, "stats.p50_ms", None), "result 2 stats.p50_ms None is not a finite number"),
    (lambda d: _mutate(d, 0, "samples_ms", ["1.0", "2.0"]), "result 1 samples_ms[0] '1.0' is not a finite number"),
    (lambda d: _mutate(d, 2, "samples_ms", [1.0, -3.0]), "result 3 samples_ms[1] -3.0 is not a finite number"),
    (lambda d: _mutate(d, 0, "stats.throughput_ips", float("inf")), "stats.throughput_ips inf is not a finite"),
    (lambda d: _mutate(d, 0, "status", "great"), "result 1 has an unknown status 'great'"),
    (lambda d: d + [copy.deepcopy(d[0])], "results 1 and 4 are the same cell"),
    (lambda d: _mutate(d, 0, "validity", "VALID"), "result 1 validity 'VALID' is not an object"),
])
def test_damaged_entries_are_one_line_errors_for_every_reader(tmp_path, mutation, needle):
    damaged = _write(tmp_path / "damaged.json", mutation(_docs()))
    prices = tmp_path / "prices.yaml"
    prices.write_text('hardware:\n  any: {hourly: 1.0, match: ["cores"]}\n')
    for command in (["compare", str(damaged), str(damaged)], ["report", str(damaged), "--reports", str(tmp_path)],
                    ["procure", str(damaged), "--prices", str(prices)]):
        out = run_cli(*command)
        assert out.returncode == 2, (command, out.stdout, out.stderr)
        assert needle in out.stderr and "Traceback" not in out.stderr, (command, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr


@pytest.mark.parametrize("run", [None, {"run_id": 7}, {"run_id": None}, "20260101-000000-0000a1"])
def test_a_damaged_run_is_a_one_line_error(tmp_path, run):
    out = run_cli("compare", str(_write(tmp_path / "r.json", _docs(), run=run)), str(tmp_path / "r.json"))
    assert out.returncode == 2 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_a_damaged_paired_list_is_a_one_line_error_for_report(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"format": "benchbed-results/1", "run": RUN, "results": _docs(),
                                "paired": [{"network": "B0", "verdict": "faster"}]}))
    out = run_cli("report", str(path), "--reports", str(tmp_path))
    assert out.returncode == 2 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert "paired entry 1 lacks scenario" in out.stderr


@pytest.mark.parametrize("name", ["b0\x1b[2J\x1b[31mowned", "b0\nfake | row", "b0\x07"], ids=["esc", "newline", "bel"])
def test_control_characters_in_a_name_are_refused_by_the_schema(tmp_path, name):
    """#27 item 2: an ESC sequence from a copied results.json never reaches the terminal or report.md."""
    damaged = _write(tmp_path / "esc.json", _mutate(_docs(), 0, "cell.network", name))
    for command in (["compare", str(damaged), str(damaged)], ["report", str(damaged), "--reports", str(tmp_path)]):
        out = run_cli(*command)
        assert out.returncode == 2 and "result 1 cell network" in out.stderr, out.stderr
        assert "\x1b" not in out.stdout + out.stderr and "\x07" not in out.stdout + out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.rglob("report.md"))


def test_another_programs_sqlite_database_is_left_as_it_is(tmp_path):
    """#27 item 41: benchbed once added its tables and WAL mode to any SQLite file named by --db."""
    import sqlite3

    from conftest import TINY_ARGS

    foreign = tmp_path / "app.sqlite"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    before = foreign.read_bytes()
    out = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--quick", "--db", str(foreign), "--models", str(tmp_path / "m"),
                  "--reports", str(tmp_path / "r"))
    assert out.returncode == 2 and "another program's SQLite database (tables: customers)" in out.stderr, out.stderr
    assert foreign.read_bytes() == before and not (tmp_path / "app.sqlite-wal").exists()


def test_a_store_that_cannot_be_written_is_read_read_only(tmp_path, monkeypatch):
    """#27 item 10: on a read-only filesystem the store is read, never called unusable."""
    from benchbed.core.errors import BenchbedError
    from benchbed.sweep import store as store_module

    db = tmp_path / "bb.sqlite"
    writable = store_module.Store(db)
    run_id = writable.create_run({"phi": [0]}, "sha", ENV)
    writable.close()
    monkeypatch.setattr(store_module, "_writable", lambda path: False)
    read_only = store_module.Store(db)
    try:
        assert read_only.read_only and read_only.run(run_id)["run_id"] == run_id
        with pytest.raises(BenchbedError, match="is read-only here .* reading it works"):
            read_only.create_run({"phi": [1]}, "sha", ENV)
    finally:
        read_only.close()
