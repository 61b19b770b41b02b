"""The command line as users see it: messages name flags that exist, text printed as text (not rich markup)."""

from __future__ import annotations

import io

import pytest
import typer
from rich.console import Console

from conftest import TINY_ARGS, run_cli


def _group():
    from benchbed.cli import app

    return typer.main.get_command(app)


def _options(command: str) -> set[str]:
    """Every flag spelling of ``benchbed COMMAND``."""
    group = _group()
    return {name for param in group.commands[command].params for name in param.opts + param.secondary_opts}


def test_messages_name_flags_that_exist():
    """Bug: messages named --max-qps and min-seconds, which no command has (the flag is --duration)."""
    from benchbed.core.errors import BenchbedError
    from benchbed.measure.timing import TimingProfile
    from benchbed.scenarios.mlperf.server_search import search_max_qps

    sweep = _options("sweep")
    with pytest.raises(BenchbedError) as caught:
        TimingProfile("custom", 0.1, 1, 5.0, 5, 1.0).validate()
    assert "--duration" in str(caught.value) and "min-seconds" not in str(caught.value)
    with pytest.raises(BenchbedError) as caught:
        TimingProfile("custom", 0.1, 1, -1.0, 5, 1.0).validate()
    assert str(caught.value).split()[0] in sweep
    ceiling = search_max_qps(lambda qps: {"valid": True, "throughput_sps": qps, "reasons": []}, 10, 1, 40)
    assert ceiling.met_sla and "--max-qps" not in ceiling.note and "40 QPS" in ceiling.note


def test_sweep_duration_above_the_cap_names_both_flags(tmp_path):
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--backend", "null", "--duration", "5", "--max-seconds", "1",
                     "--db", str(tmp_path / "db.sqlite"), "--models", str(tmp_path / "m"), "--reports",
                     str(tmp_path / "r"))
    assert result.returncode == 2 and "--max-seconds (1) must be >= --duration" in result.stderr, result.stderr


def test_sweep_prints_skipped_backends_install_hints_whole(tmp_path):
    """Bug: "skipped tensorrt: ... (pip install 'benchbed'; ...)": rich markup ate "[tensorrt]"."""
    from benchbed.backends import AUTO_ORDER, probe_all

    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--quick", "--db", str(tmp_path / "db.sqlite"),
                     "--models", str(tmp_path / "m"), "--reports", str(tmp_path / "r"), "--resume")
    assert result.returncode == 2 and "no earlier run" in result.stderr, result.stderr  # stops before measuring
    skipped = []
    for name, usable, reason in probe_all():
        if usable and name in AUTO_ORDER:
            break
        if name in AUTO_ORDER:
            skipped.append(f"  skipped {name}: {reason}")
    assert skipped and all(line in result.stderr.splitlines() for line in skipped), result.stderr
    assert "pip install 'benchbed[" in result.stderr


def test_sweep_lines_show_brackets_as_text():
    from benchbed.report.terminal import RichSweepUI

    out = io.StringIO()
    console = Console(file=out, width=200)
    with RichSweepUI(console) as ui:
        ui.message("note: pip install 'benchbed[gpu]'")
        ui.finish_cell("b0 [hw:a]", {"status": "failed", "error": "needs pip install 'benchbed[mlperf]'"})
    text = out.getvalue()
    for needle in ("'benchbed[gpu]'", "b0 [hw:a]: FAILED", "'benchbed[mlperf]'"):
        assert needle in text, text
