"""Run one job in a fresh worker process with a timeout, after a machine speed index reading.

A crash, a hang past the timeout or an out-of-memory kill becomes one :class:`Failure` with its reason.
The worker dies with its parent (PR_SET_PDEATHSIG on Linux), so a killed sweep leaves no orphans.
The speed index (measure.speed_index) is read here, on the machine that measures (a Ray node runs this
too), just before the worker starts and just after it ends: interleaved with the cells, and competing
with no worker of ours.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable, Sequence

from benchbed.core.files import read_json
from benchbed.core.job import Job
from benchbed.core.result import Failure
from benchbed.measure.speed_index import bracket, reading

#: ``WORKER_COMMAND JOB.json RESULT.json``
WORKER_COMMAND = (sys.executable, "-m", "benchbed.launchers.worker")


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


#: A cell's job and result files live in ``<tmp>/benchbed-cell-<sweep pid>-<random>``: removed when the cell
#: ends (Ctrl-C and SIGTERM included); one left by a sweep killed with SIGKILL is removed by the next cell
#: of any sweep, once its pid no longer runs.
CELL_FOLDER_PREFIX = "benchbed-cell-"


def remove_stale_cell_folders(folder: str | None = None) -> list[Path]:
    """Remove cell folders whose sweep process is gone; the ones removed."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{CELL_FOLDER_PREFIX}*-*"):
        pid = path.name[len(CELL_FOLDER_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)) or not path.is_dir() or path.is_symlink():
            continue
        try:
            if path.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_cell(job: Job, timeout: float, on_phase: Callable[[str], None] = lambda p: None,
             worker: Sequence[str] = WORKER_COMMAND) -> dict:
    """Measure ``job`` in a spawned worker and return its result document (a failure document on any fault);
    a measured cell's document carries the speed index read around it (``speed_index.bracket``)."""
    on_phase("speed index")
    speed = reading()
    remove_stale_cell_folders()
    with tempfile.TemporaryDirectory(prefix=f"{CELL_FOLDER_PREFIX}{os.getpid()}-") as tmp:
        job_path, result_path = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job_path.write_text(json.dumps(job.to_json()))
        proc = subprocess.Popen([*worker, str(job_path), str(result_path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                start_new_session=True,  # Ctrl-C reaches the sweep only; it stops the worker
                                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        stderr_tail: list[str] = []

        def pump_stdout() -> None:
            for line in proc.stdout:
                if line.startswith("@phase "):
                    on_phase(line.split(" ", 1)[1].strip())

        def pump_stderr() -> None:
            for line in proc.stderr:
                stderr_tail.append(line.rstrip())
                del stderr_tail[:-20]

        readers = [threading.Thread(target=f, daemon=True) for f in (pump_stdout, pump_stderr)]
        for reader in readers:
            reader.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return _failed(job, f"timed out after {timeout:g}s (hung or too slow for --cell-timeout)")
        except BaseException:  # Ctrl-C: stop the worker too, then let the sweep record the interruption
            proc.kill()
            proc.wait()
            raise
        for reader in readers:
            reader.join(timeout=5)
        result = read_json(result_path)
        if result is not None:
            if result.get("status") == "ok":
                on_phase("speed index")
                result["speed_index"] = bracket(speed, reading())
            return result
        if code < 0:
            name = signal.Signals(-code).name
            hint = " (out of memory?)" if -code == signal.SIGKILL else ""
            return _failed(job, f"worker killed by {name}{hint}", stderr_tail)
        return _failed(job, f"worker exited with code {code} and no result", stderr_tail)


def _failed(job: Job, reason: str, stderr_tail: list[str] | None = None) -> dict:
    return Failure(job.cell, reason, job.network_info, tuple(stderr_tail or ())).to_json()


__all__ = ["WORKER_COMMAND", "run_cell"]
