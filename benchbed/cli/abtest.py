"""``benchbed abtest``: BASE and CURRENT checkouts loaded at once and interleaved, cell by cell (``analysis.abtest``)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from benchbed.cli.app import app, say
from benchbed.cli.compare import COMPARE_FORMATS, FailOnOpt, emit_comparison, fail_on_verdicts
from benchbed.cli.options import CompareFormat, choose_format
from benchbed.core.errors import ConfigError
from benchbed.core.files import check_writable_file


#: Sweep options abtest does not apply (each side's workers run locally, nothing is stored): refused, not ignored.
SWEEP_ARGS_NOT_APPLIED = {
    "--executor": "does not apply to abtest: both sides run in resident workers on this machine",
    "--db": "does not apply to abtest: nothing is stored (use --output for the verdicts)",
    "--reports": "does not apply to abtest: it writes no report folder (use --output)",
    "--resume": "does not apply to abtest: each abtest measures both sides afresh",
    "--run-id": "does not apply to abtest: nothing is stored, so there is no run to name",
}


@app.command()
def abtest(
    base_python: Annotated[Path, typer.Option("--base-python", help="Python of the BASE checkout's environment.")],
    sweep_args: Annotated[str, typer.Option("--sweep-args", help="Sweep options naming the cells, quoted.")] =
        "--phi 0 --scenario single-stream",
    current_python: Annotated[Optional[Path], typer.Option("--current-python", help="Default: this Python.")] = None,
    min_effect: Annotated[float, typer.Option("--min-effect", help="Smallest change worth detecting (0.05 = 5 %).")] =
        0.05,
    budget: Annotated[float, typer.Option("--budget", help="Seconds of measuring per cell before 'unknown'.")] = 60.0,
    burst: Annotated[float, typer.Option("--burst", help="Seconds per timed burst (each side twice a round).")] = 0.25,
    min_rounds: Annotated[int, typer.Option("--min-rounds", help="Rounds at the first look (then x1.5 each look).")] = 10,
    confidence: Annotated[float, typer.Option("--confidence", help="Over all looks together.")] = 0.99,
    statistic: Annotated[str, typer.Option(
        "--statistic", help="Each burst's figure: min (least moved by neighbours), p10 or median.")] = "min",
    replicas: Annotated[int, typer.Option(
        "--replicas", help="Processes per side (their memory layouts average out).")] = 4,
    max_foreign_cpu: Annotated[float, typer.Option(
        "--max-foreign-cpu", help="Rounds where other processes used more cores than this are redone.")] = 0.25,
    work: Annotated[Path, typer.Option("--work", help="Folder for each side's artifacts.")] = Path("reports/abtest"),
    fail_on: FailOnOpt = "slower,new failure",
    output_format: CompareFormat = "table",
    output: Annotated[Optional[Path], typer.Option("--output")] = None,
) -> None:
    """Interleave BASE and CURRENT, both loaded at once, until each cell is slower, faster, same or out of budget."""
    from benchbed.analysis.abtest import ABTest, as_comparisons, run_abtest
    from benchbed.analysis.interleave import InterleaveSettings
    from benchbed.cli.sweep import parse_sweep_args

    choose_format(output_format, COMPARE_FORMATS)
    verdicts = fail_on_verdicts(fail_on)
    settings = InterleaveSettings(min_effect=min_effect, budget_seconds=budget, burst_seconds=burst,
                                  min_rounds=min_rounds, confidence=confidence, max_foreign_cpu=max_foreign_cpu,
                                  statistic=statistic, replicas=replicas)
    try:
        words = shlex.split(sweep_args)
    except ValueError as exc:  # shlex: "No closing quotation", "No escaped character"
        raise ConfigError("sweep_args", f"{sweep_args!r} cannot be split into arguments: {exc}") from None
    ignored = sorted({word.split("=", 1)[0] for word in words} & set(SWEEP_ARGS_NOT_APPLIED))
    if ignored:
        raise ConfigError("sweep_args", f"{ignored[0]} {SWEEP_ARGS_NOT_APPLIED[ignored[0]]}")
    if output is not None:  # checked now, not after the whole measurement
        check_writable_file(output, "--output")
    test = ABTest(base_python, current_python or Path(sys.executable), settings, work)
    config = parse_sweep_args(words)
    quiet = output_format == "json"
    cells = run_abtest(test, config, (lambda message: None) if quiet else say)
    raise typer.Exit(emit_comparison(as_comparisons(cells), str(base_python), str(test.current_python), verdicts,
                                     output_format, output))
