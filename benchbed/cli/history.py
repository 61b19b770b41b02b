"""``benchbed history``: a cell's trend across the stored runs, with its step changes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from benchbed.cli.app import app, console, print_json, say
from benchbed.cli.compare import NormalizeOpt
from benchbed.cli.options import DbOpt, FormatOpt, OutputFormat, require_store
from benchbed.core.errors import BenchbedError


@app.command()
def history(
    db: DbOpt = Path("reports/benchbed.sqlite"),
    network: Annotated[Optional[str], typer.Option("--network")] = None,
    backend: Annotated[Optional[str], typer.Option("--backend")] = None,
    precision: Annotated[Optional[str], typer.Option("--precision")] = None,
    scenario: Annotated[Optional[str], typer.Option("--scenario")] = None,
    batch: Annotated[Optional[int], typer.Option("--batch")] = None,
    metric: Annotated[str, typer.Option("--metric", help="p50, p99, throughput or memory.")] = "p50",
    min_effect: Annotated[float, typer.Option("--min-effect", help="Smallest step that counts.")] = 0.05,
    normalize: NormalizeOpt = "auto",
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also draw the trends to a .png or .svg.")] = None,
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """A cell's trend across the stored runs, with step changes (change points), not single spikes."""
    from benchbed.analysis.history import check_trend_options, plot_trends, trends
    from benchbed.report.terminal import history_table
    from benchbed.sweep import Store

    filters = {k: v for k, v in (("network", network), ("backend", backend), ("precision", precision),
                                 ("scenario", scenario), ("batch", batch)) if v is not None}
    check_trend_options(metric, min_effect, normalize)  # before the store: a bad value is the user's first problem
    store = Store(require_store(db))
    try:
        found = trends(store, metric, filters, min_effect=min_effect, normalize=normalize)
    finally:
        store.close()
    if not found:
        raise BenchbedError("no stored results match these filters")
    if plot is not None:
        if plot.suffix not in (".png", ".svg"):
            raise BenchbedError(f"--plot {plot}: use a .png or .svg file name")
        try:
            plot_trends(found, str(plot), metric)
        except OSError as exc:
            raise BenchbedError(f"cannot write --plot {plot}: {exc.strerror or exc}") from None
        say(f"plot: {plot}")
    if output_format is OutputFormat.json:
        return print_json([t.to_dict() for t in found])
    console.print(history_table(found, metric))
