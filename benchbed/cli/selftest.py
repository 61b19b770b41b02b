"""``benchbed selftest``: every usable backend built, run and checked on a small network (exit 1 on a FAIL)."""

from __future__ import annotations

from typing import Annotated

import typer

from benchbed.cli.app import app, console, print_json
from benchbed.cli.options import FormatOpt, OutputFormat


@app.command()
def selftest(
    resolution: Annotated[int, typer.Option("--resolution", help="Input size of the test network.")] = 64,
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """Build, run and check parity on every usable backend with a small network; exit 1 if one fails."""
    from benchbed.analysis.selftest import failed, selftest as run_selftest
    from benchbed.report.terminal import selftest_table

    rows = run_selftest(resolution)
    if output_format is OutputFormat.json:
        print_json(rows)
    else:
        console.print(selftest_table(rows, resolution))
    raise typer.Exit(1 if failed(rows) else 0)
