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


#: The folder commands run in: empty, so the defaults (reports/benchbed.sqlite, models/) never see a
#: checkout's own results (a user who ran the README's sweep before the tests has a store there).
CLI_CWD = Path(tempfile.mkdtemp(prefix="benchbed-tests-cwd-"))


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300, env: dict | None = None):
    """Run the real console entry point in a subprocess (what a user types)."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "benchbed.cli", *args], capture_output=True, text=True,
                          cwd=cwd or CLI_CWD, timeout=timeout, env=full_env)


@pytest.fixture
def tiny_spec():
    from benchbed.arch import network_spec

    return network_spec(0, **TINY)
