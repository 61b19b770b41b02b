"""Shared fixtures: tiny φ-scaled networks keep the suite fast on 2 cores."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"

#: width 0.25, depth 0.34, 32 px: every stage and block type of B0, at ~0.2 M params.
TINY = dict(width=0.25, depth=0.34, resolution=32)
TINY_ARGS = ["--width", "0.25", "--depth", "0.34", "--resolution", "32"]


#: The suite shares a small machine with other work, so other processes' load is the rule here, not a fault: cells
#: measured by tests that are not about contention would wait for quiet and turn INVALID. Their default limit is
#: lifted (measure.contention); tests of the guard give their limit explicitly.
os.environ.setdefault("BENCHBED_MAX_FOREIGN_CPU", "1000")

#: The network guard (tests/netguard/sitecustomize.py): this process and every process it starts
#: (workers, Ray, abtest's sweeps) refuse and log any connection off the loopback range.
NETGUARD_DIR = Path(__file__).parent / "netguard"
NETGUARD_LOG = Path(tempfile.mkdtemp(prefix="benchbed-netguard-")) / "attempts.log"
NETGUARD_LOG.touch()
os.environ["BENCHBED_NETGUARD_LOG"] = str(NETGUARD_LOG)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NETGUARD_DIR), os.environ.get("PYTHONPATH")]))
sys.path.insert(0, str(NETGUARD_DIR))
import sitecustomize as _netguard  # noqa: E402  (this file, not an installed one: NETGUARD_DIR comes first)

assert Path(_netguard.__file__).parent == NETGUARD_DIR, f"another sitecustomize shadows the guard: {_netguard.__file__}"
_netguard.install()
from native import Violation, strace_path, strace_prefix, violations  # noqa: E402  (tests/netguard/native.py)

import benchbed  # noqa: E402,F401  (first, as a user's program would: its telemetry switches precede any library)

#: The user's home, empty: every process the tests start sees it, so a library that writes a cache, a device
#: id or a token into ``~`` (onnxruntime's telemetry queue, Ray's auth token) is seen by ``home_stays_empty``.
HOME = Path(tempfile.mkdtemp(prefix="benchbed-tests-home-"))
os.environ["HOME"] = str(HOME)
#: matplotlib's font cache is a cache of the user's fonts that every matplotlib program writes; it goes to
#: its own folder here, so that a write into the home is always a finding.
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="benchbed-tests-mpl-"))

#: Native traffic and files: every ``run_cli`` runs under strace (tests/netguard/native.py) where strace is
#: installed; CI sets BENCHBED_REQUIRE_STRACE=1 so a machine without it fails instead of skipping the guard.
STRACE = strace_path()
if os.environ.get("BENCHBED_REQUIRE_STRACE") == "1" and STRACE is None:
    raise RuntimeError("BENCHBED_REQUIRE_STRACE=1 but strace is not installed (apt-get install strace)")
#: /var/tmp: SQLite's own temporary files (``etilqs_*``, opened and unlinked at once) go to the first of
#: SQLITE_TMPDIR, TMPDIR, /var/tmp, /usr/tmp, /tmp.
WRITABLE_ROOTS = (str(ROOT), tempfile.gettempdir(), "/var/tmp", "/dev", "/proc")


def record_native_violations(found: list[Violation]) -> None:
    """Native findings go to the same log as the audit hook's, so the same autouse check fails the test."""
    if found:
        with NETGUARD_LOG.open("a") as log:
            log.write("".join(f"{violation}\n" for violation in found) + "\n")


def _home_entries() -> set[str]:
    return {str(path.relative_to(HOME)) for path in HOME.rglob("*")}


@pytest.fixture(autouse=True)
def home_stays_empty():
    """Fail any test during which any process (native code included) wrote into the user's home."""
    before = _home_entries()
    yield
    added = sorted(_home_entries() - before)
    if added:
        pytest.fail("files written into the user's home: " + ", ".join(added[:20]), pytrace=False)


@pytest.fixture(autouse=True)
def no_network_traffic():
    """Fail any test during which any process tried to reach an address off the loopback range."""
    before = NETGUARD_LOG.stat().st_size
    yield
    with NETGUARD_LOG.open() as log:
        log.seek(before)
        attempts = log.read()
    if attempts:
        pytest.fail("network traffic attempted off the loopback range, or files written outside the allowed "
                    "folders:\n" + attempts[:4000], pytrace=False)


#: The folder commands run in: empty, so the defaults (reports/benchbed.sqlite, models/) never see a
#: checkout's own results (a user who ran the README's sweep before the tests has a store there).
CLI_CWD = Path(tempfile.mkdtemp(prefix="benchbed-tests-cwd-"))


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300, env: dict | None = None):
    """Run the real console entry point in a subprocess (what a user types), under the native guard."""
    full_env = dict(os.environ, **(env or {}))
    command = [sys.executable, "-m", "benchbed.cli", *args]
    run_in = Path(cwd or CLI_CWD)
    if STRACE is None:
        return subprocess.run(command, capture_output=True, text=True, cwd=run_in, timeout=timeout, env=full_env)
    handle, name = tempfile.mkstemp(prefix="benchbed-strace-", suffix=".log")
    os.close(handle)
    log = Path(name)
    try:
        done = subprocess.run(strace_prefix(log) + command, capture_output=True, text=True, cwd=run_in,
                              timeout=timeout, env=full_env)
        record_native_violations(violations(log, WRITABLE_ROOTS, str(run_in), forbidden_roots=(str(HOME),)))
    finally:
        log.unlink(missing_ok=True)
    return done


@pytest.fixture
def tiny_spec():
    from benchbed.networks import network_spec

    return network_spec(0, **TINY)
