"""End-to-end sweeps on tiny networks through the real CLI, resume after SIGKILL, and bad input."""

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, TINY_ARGS, run_cli

FAST = ["--quick", "--duration", "0.2", "--iterations", "5", "--max-batch", "4"]


def _paths(tmp_path):
    return ["--db", str(tmp_path / "r" / "bb.sqlite"), "--models", str(tmp_path / "models"),
            "--reports", str(tmp_path / "r")]


def _rows(db):
    with sqlite3.connect(db) as con:
        return con.execute("SELECT run_id, cell_key, status, validity, created FROM results ORDER BY created").fetchall()


def _rows_so_far(db):
    """Rows of a store another process is writing: the file exists a moment before its tables do."""
    if not db.exists():
        return []
    try:
        return _rows(db)
    except sqlite3.OperationalError:
        return []


def test_sweep_measures_stores_and_reports(tmp_path):
    result = run_cli("sweep", "--phi", "0,1", *TINY_ARGS, *FAST, *_paths(tmp_path), "--format", "json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "complete"
    single = out["scenarios"]["single-stream"]
    assert [r["phi"] for r in single] == [0, 1] and all(r["validity"] == "VALID" for r in single), single
    assert all(r["p50_ms"] > 0 and r["throughput_ips"] > 0 and r["peak_rss_bytes"] > 0 for r in single)
    offline = out["scenarios"]["offline"]
    assert all(r["batch"] in (1, 2, 4) for r in offline)

    run_dir = tmp_path / "r" / out["run_id"]
    doc = json.loads((run_dir / "results.json").read_text())
    assert doc["format"] == "benchbed-results/1" and doc["run"]["environment"]["fingerprint"]
    cells = doc["results"]
    assert len(cells) == len(_rows(tmp_path / "r" / "bb.sqlite")) >= 4
    first = cells[0]
    assert len(first["samples_ms"]) == first["stats"]["count"] >= 5
    assert first["first_inference_ms"] > 0 and first["parity"]["passed"]
    assert first["backend"]["details"]["provider"] == "CPUExecutionProvider"
    report = (run_dir / "report.md").read_text()
    assert "## single-stream" in report and "## Environment" in report and "efficientnet_b0@" in report

    rerender = run_cli("report", out["run_id"], "--db", str(tmp_path / "r" / "bb.sqlite"), "--reports",
                       str(tmp_path / "r"))
    assert rerender.returncode == 0 and "## offline" in rerender.stdout


def test_auto_backend_says_what_it_picked_and_why(tmp_path):
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, "--scenario", "single-stream", *_paths(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "backend auto -> onnxruntime" in result.stderr and "skipped tensorrt" in result.stderr
    assert "single-stream" in result.stdout and "VALID" in result.stdout


def test_null_backend_sweep(tmp_path):
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, "--backend", "null", *_paths(tmp_path),
                     "--format", "json")
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)["scenarios"]["single-stream"][0]
    assert row["validity"] == "VALID" and row["p50_ms"] < 1.0


def test_sigkill_mid_sweep_keeps_cells_and_resume_measures_only_the_rest(tmp_path):
    args = ["sweep", "--phi", "0-3", *TINY_ARGS, "--quick", "--duration", "3.0", "--iterations", "5",
            "--scenario", "single-stream", *_paths(tmp_path)]
    db = tmp_path / "r" / "bb.sqlite"
    private_tmp = tmp_path / "tmp"  # the workers' job files land here, so only this sweep's workers match
    private_tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "benchbed.cli", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(os.environ, TMPDIR=str(private_tmp)))

    def workers() -> list[str]:
        return subprocess.run(["pgrep", "-f", f"benchbed.launchers.worker {private_tmp}"], capture_output=True,
                              text=True).stdout.split()

    deadline = time.time() + 240
    while time.time() < deadline:  # kill with one cell stored and the next one in flight
        if len(_rows_so_far(db)) >= 1 and workers():
            break
        time.sleep(0.1)
    assert workers(), "a worker was running when the sweep was killed"
    time.sleep(1.0)  # into its 3 s measuring phase, where it writes nothing a closed pipe could stop
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _rows(db)
    assert 1 <= len(before) < 4, "killed mid-sweep with some but not all cells finished"
    time.sleep(0.5)  # a worker measures for 3 s: an orphan would still be running now
    assert not workers(), "the worker died with the sweep"

    resumed = run_cli(*args, "--resume", "--format", "json")
    assert resumed.returncode == 0, resumed.stderr
    after = _rows(db)
    assert len(after) == 4 and len({r[0] for r in after}) == 1
    assert after[: len(before)] == before  # finished cells untouched, not re-measured
    assert json.loads(resumed.stdout)["status"] == "complete"


@pytest.mark.parametrize("args,needle", [
    (["--backend", "tpu"], "unknown backend"),
    (["--scenario", "server"], "unknown scenario"),
    (["--phi", "9"], "0-7"),
    (["--duration", "-1"], "must be >= 0"),
    (["--warmup", "-2"], "must be >= 0"),
    (["--duration", "inf"], "must be a finite number"),
    (["--warmup", "inf"], "must be a finite number"),
    (["--max-seconds", "inf"], "must be a finite number"),
    (["--warmup", "50", "--max-seconds", "10"], "must not exceed --max-seconds"),
    (["--cell-timeout", "nan"], "--cell-timeout must be > 0"),
    (["--max-qps", "nan"], "--max-qps must be a finite number > 0"),
    (["--max-foreign-cpu", "-1"], "--max-foreign-cpu must be a finite number of cores >= 0"),
    (["--max-foreign-cpu", "nan"], "--max-foreign-cpu must be a finite number of cores >= 0"),
    (["--quick", "--strict"], "exclude each other"),
    (["--max-batch", "0"], "--max-batch"),
    (["--precision", "fp8"], "unknown precision"),
    (["--run-id", "nope"], "unknown run"),
    (["--resume"], "no earlier run"),
])
def test_sweep_bad_input(tmp_path, args, needle):
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, *_paths(tmp_path), *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(("backend", "  skipped"))]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_corrupt_or_unwritable_database(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    before = bad.read_bytes()
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, "--db", str(bad), "--models", str(tmp_path / "m"),
                     "--reports", str(tmp_path / "r"))
    assert result.returncode == 2 and "not a usable benchbed database" in result.stderr
    assert bad.read_bytes() == before  # nothing already there was touched
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, "--db", str(blocker / "db.sqlite"),
                     "--models", str(tmp_path / "m"), "--reports", str(tmp_path / "r"))
    assert result.returncode == 2 and "--db" in result.stderr and "Traceback" not in result.stderr
    missing = run_cli("report", "latest", "--db", str(tmp_path / "none.sqlite"))
    assert missing.returncode == 2 and "no results store" in missing.stderr


@pytest.mark.parametrize("signum,code,word", [(signal.SIGINT, 130, "interrupted"),
                                             (signal.SIGTERM, 143, "terminated (SIGTERM)")], ids=["sigint", "sigterm"])
def test_ctrl_c_or_sigterm_keeps_finished_cells_and_marks_the_run_interrupted(tmp_path, signum, code, word):
    """SIGTERM is what ``timeout`` and a CI cancel send: handled as Ctrl-C is (#27 item 45)."""
    import tempfile

    args = ["sweep", "--phi", "0-3", *TINY_ARGS, "--quick", "--duration", "1.0", "--iterations", "5",
            "--scenario", "single-stream", *_paths(tmp_path)]
    db = tmp_path / "r" / "bb.sqlite"
    # a shell that started this test in the background may have set SIGINT to ignored, which the child
    # would inherit (and Python then installs no KeyboardInterrupt handler): give it the default back
    proc = subprocess.Popen([sys.executable, "-m", "benchbed.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 240
    while time.time() < deadline and not _rows_so_far(db):
        time.sleep(0.2)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert word in err and "--resume" in err and "Traceback" not in err
    kept = _rows(db)
    assert 1 <= len(kept) < 4
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT status FROM runs").fetchone()[0] == "interrupted"
    results_json = json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())
    assert len(results_json["results"]) == len(kept)
    assert not list(Path(tempfile.gettempdir()).glob(f"benchbed-cell-{proc.pid}-*"))  # its cell folder is gone


def test_a_cell_folder_left_by_a_killed_sweep_is_removed_by_the_next(tmp_path):
    from benchbed.launchers.process import remove_stale_cell_folders

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale, live = tmp_path / f"benchbed-cell-{dead.stdout.strip()}-abc", tmp_path / f"benchbed-cell-{os.getpid()}-x"
    for folder in (stale, live):
        folder.mkdir()
        (folder / "job.json").write_text("{}")
    assert remove_stale_cell_folders(str(tmp_path)) == [stale]
    assert not stale.exists() and live.exists()


def test_one_process_owns_a_run_at_a_time(tmp_path):
    """Two --resume of one run at once measured cells twice; the second now refuses in one line, exit 2."""
    from benchbed.sweep.store import Store

    first = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, *_paths(tmp_path), "--scenario", "single-stream",
                    "--format", "json")
    assert first.returncode == 0, first.stderr
    run_id = json.loads(first.stdout)["run_id"]
    store = Store(tmp_path / "r" / "bb.sqlite")
    try:
        with store.claim(run_id):  # as a running sweep holds it
            second = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, *_paths(tmp_path), "--scenario",
                             "single-stream", "--run-id", run_id)
        assert second.returncode == 2, second.stderr
        assert f"run {run_id} is being measured by benchbed pid" in second.stderr
        assert "Traceback" not in second.stderr
        third = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, *_paths(tmp_path), "--scenario", "single-stream",
                        "--run-id", run_id)  # released: resuming a complete run measures nothing and succeeds
        assert third.returncode == 0, third.stderr
    finally:
        store.close()


def test_a_damaged_store_row_is_skipped_and_named(tmp_path):
    """One hand-edited row must not break report/compare/history/--resume for the whole store."""
    import sqlite3

    done = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, *_paths(tmp_path), "--format", "json")
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    with sqlite3.connect(tmp_path / "r" / "bb.sqlite") as db:
        db.execute("UPDATE results SET document='{broken' WHERE run_id=? AND scenario='single-stream'", (run_id,))
    report = run_cli("report", run_id, "--db", str(tmp_path / "r" / "bb.sqlite"), "--reports", str(tmp_path / "r"))
    assert report.returncode == 0, report.stderr
    assert "skipped" in report.stderr and "not valid JSON" in report.stderr and "Traceback" not in report.stderr
    assert "single-stream" in report.stderr  # the damaged row is named
    resumed = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, *_paths(tmp_path), "--run-id", run_id,
                      "--format", "json")
    assert resumed.returncode == 0, resumed.stderr  # the skipped cell is measured again
    scenarios = json.loads(resumed.stdout)["scenarios"]  # {scenario: rows}
    assert "single-stream" in scenarios


def test_a_full_disk_mid_sweep_keeps_finished_cells_and_says_how_to_resume(tmp_path, monkeypatch):
    import errno

    from benchbed.core.errors import BenchbedError
    from benchbed.core.result import Result
    from benchbed.measure.timing import get_profile
    from benchbed.sweep import run as sweep_run
    from benchbed.sweep.config import SweepConfig
    from benchbed.sweep.store import Store

    config = SweepConfig(phis=[0, 1], mode="preset", alpha=1.2, beta=1.1, gamma=1.15,
                         overrides={"width": 0.25, "depth": 0.34, "resolution": 32}, backend="null",
                         precisions=["fp32"], scenarios=["single-stream"], profile=get_profile("quick"), max_batch=1,
                         models_dir=str(tmp_path / "models"), reports_dir=str(tmp_path / "r"))

    def fake_cell(job, timeout, on_phase):
        stats = {"p50_ms": 1.0, "p99_ms": 1.0, "throughput_ips": 1000.0}
        return Result(job.cell, {"status": "VALID", "reasons": [], "warnings": []}, stats, [1.0], {},
                      {"peak_rss_bytes": 1}, {}, {}).to_json()

    written = []

    def results_json(store, run_id, reports):
        written.append(run_id)
        if len(written) >= 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "r" / "results.json"))

    monkeypatch.setattr(sweep_run, "write_results_json", results_json)
    store = Store(tmp_path / "bb.sqlite")
    run_id = store.create_run({}, config.sha(), {})
    with pytest.raises(BenchbedError, match="disk full writing .*results.json; every finished cell is kept .*--resume"):
        sweep_run.run_sweep(config, store, run_id, cell_runner=fake_cell)
    assert len(store.results(run_id)) >= 1  # committed before the disk filled
    store.close()


@pytest.mark.parametrize("fault", [OSError(errno.ENOSPC, "No space left on device", "/m/x.onnx"),
                                   RuntimeError("torch.onnx: write failed: No space left on device")],
                         ids=["oserror", "wrapped"])
def test_a_full_disk_during_export_stops_the_sweep_and_stays_resumable(tmp_path, monkeypatch, fault):
    """#27 item 3: the cells were stored FAILED with exit 0, and --resume never measured them again."""
    from benchbed.artifacts import export as export_module
    from benchbed.core.errors import BenchbedError
    from benchbed.measure.timing import get_profile
    from benchbed.sweep import run as sweep_run
    from benchbed.sweep.config import SweepConfig
    from benchbed.sweep.store import Store

    config = SweepConfig(phis=[0], mode="preset", alpha=1.2, beta=1.1, gamma=1.15,
                         overrides={"width": 0.25, "depth": 0.34, "resolution": 32}, backend="null",
                         precisions=["fp32"], scenarios=["single-stream"], profile=get_profile("quick"), max_batch=1,
                         models_dir=str(tmp_path / "models"), reports_dir=str(tmp_path / "r"))

    def full_disk(*args, **kwargs):
        raise fault

    monkeypatch.setattr(export_module, "export_network", full_disk)
    store = Store(tmp_path / "bb.sqlite")
    run_id = store.create_run({}, config.sha(), {})
    with pytest.raises(BenchbedError, match="disk full writing .*free space, then run the same command with --resume"):
        sweep_run.run_sweep(config, store, run_id, cell_runner=lambda *a, **k: pytest.fail("no cell may run"))
    assert store.results(run_id) == []  # nothing stored as FAILED: --resume measures the cell
    store.close()
