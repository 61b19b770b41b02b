"""``benchbed selftest``: every usable backend built, run and checked on a small network (exit 1 on a FAIL)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from benchbed.cli.app import app, console, print_json
from benchbed.cli.options import FormatOpt, OutputFormat


@app.command()
def selftest(
    resolution: Annotated[int, typer.Option("--resolution", help="Input size of the test network.")] = 64,
    output_format: FormatOpt = OutputFormat.table,
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write one JSON file to send back: every "
                                                "row plus versions, GPUs and driver.")] = None,
) -> None:
    """Build, run and check parity on every usable backend with a small network; exit 1 if one fails."""
    from benchbed.analysis.selftest import failed, report_document, selftest as run_selftest
    from benchbed.core.files import atomic_write_json, ensure_writable_dir
    from benchbed.report.terminal import selftest_table

    if out is not None:
        ensure_writable_dir(out.parent, "--out")  # before minutes of building and measuring
    rows = run_selftest(resolution)
    if out is not None:
        atomic_write_json(out, report_document(rows, resolution))
    if output_format is OutputFormat.json:
        print_json(rows)
    else:
        console.print(selftest_table(rows, resolution))
    raise typer.Exit(1 if failed(rows) else 0)
