"""``benchbed abtest``: BASE and CURRENT sweeps interleaved on this machine (``analysis.abtest``), compared."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from benchbed.core.errors import ConfigError
from benchbed.cli.app import app, say
from benchbed.cli.compare import COMPARE_FORMATS, FailOnOpt, emit_comparison, fail_on_verdicts
from benchbed.cli.options import CompareFormat, choose_format


@app.command()
def abtest(
    base_python: Annotated[Path, typer.Option("--base-python", help="Python of the BASE checkout's environment.")],
    sweep_args: Annotated[str, typer.Option("--sweep-args", help="Arguments for both sweeps, quoted.")] = "--phi 0 --quick",
    current_python: Annotated[Optional[Path], typer.Option("--current-python", help="Default: this Python.")] = None,
    rounds: Annotated[int, typer.Option("--rounds", help="A B rounds (order alternates).")] = 3,
    work: Annotated[Path, typer.Option("--work", help="Folder for both sides' stores and results.")] = Path("reports/abtest"),
    min_effect: Annotated[float, typer.Option("--min-effect")] = 0.05,
    alpha: Annotated[float, typer.Option("--alpha")] = 0.01,
    fail_on: FailOnOpt = "slower,more memory,new failure",
    output_format: CompareFormat = "table",
    output: Annotated[Optional[Path], typer.Option("--output")] = None,
) -> None:
    """Run BASE and CURRENT sweeps interleaved (A B, B A, ...) on this machine, then compare them."""
    from benchbed.analysis.abtest import ABTest, run_abtest
    from benchbed.analysis.compare import Thresholds

    choose_format(output_format, COMPARE_FORMATS)
    try:
        words = tuple(shlex.split(sweep_args))
    except ValueError as exc:  # shlex: "No closing quotation", "No escaped character"
        raise ConfigError("sweep_args", f"{sweep_args!r} cannot be split into arguments: {exc}") from None
    test = ABTest(base_python, current_python or Path(sys.executable), words, rounds, work)
    # raw: interleaving already cancels the machine's drift; dividing by the speed index would add its noise
    thresholds = Thresholds(latency=min_effect, throughput=min_effect, memory=0.10, alpha=alpha, normalize="off")
    verdicts = fail_on_verdicts(fail_on)
    rows = run_abtest(test, thresholds, lambda index, side: say(f"round {index + 1}/{rounds}: {side}"))
    raise typer.Exit(emit_comparison(rows, f"{base_python} x{rounds}", f"{test.current_python} x{rounds}", verdicts,
                                     output_format, output))
