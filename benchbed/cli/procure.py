"""``benchbed procure``: which hardware, network, backend, precision and batch serve the load cheapest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from benchbed.cli.app import app
from benchbed.cli.options import (AccuracyOpt, AccuracySourceOpt, DbOpt, accuracy_book, choose_format, csv_list,
                                  milliseconds, note_unjoined)
from benchbed.core.errors import BenchbedError


@app.command()
def procure(
    run_ids: Annotated[list[str], typer.Argument(help="Run ids, results.json files or folders: every machine's results.")],
    prices: Annotated[Path, typer.Option("--prices", help="Price file (YAML); see examples/prices.example.yaml.")],
    db: DbOpt = Path("reports/benchbed.sqlite"),
    min_top1: Annotated[Optional[float], typer.Option("--min-top1", help="Accuracy floor, top-1 %.")] = None,
    sla: Annotated[Optional[str], typer.Option("--sla", help="Latency SLA, e.g. 50ms.")] = None,
    percentile: Annotated[float, typer.Option("--percentile", help="SLA percentile.")] = 99.0,
    target_qps: Annotated[Optional[float], typer.Option("--target-qps", help="Images per second to serve.")] = None,
    precision: Annotated[Optional[str], typer.Option("--precision", help="Allowed precisions, comma list.")] = None,
    allow_reference_accuracy: Annotated[bool, typer.Option(
        "--allow-reference-accuracy", help="Let fp16/int8 cells pass on the fp32 reference accuracy.")] = False,
    accuracy: AccuracyOpt = None,
    accuracy_source: AccuracySourceOpt = "paper_v5",
    show_excluded: Annotated[bool, typer.Option("--show-excluded", help="List every excluded option and why.")] = False,
    top: Annotated[int, typer.Option("--top", help="Ranked rows to show.")] = 20,
    output_format: Annotated[str, typer.Option("--format", help="table, md or json.")] = "table",
) -> None:
    """Rank hardware × network × backend × precision × batch by cost for an accuracy floor and a latency SLA."""
    from benchbed.analysis.prices import load_prices
    from benchbed.analysis.procure import Constraints, check_priced, load_points, procure as rank
    from benchbed.report.procure import render

    choose_format(output_format, ("table", "md", "json"))
    constraints = Constraints(min_top1=min_top1, sla_ms=milliseconds(sla, "--sla") if sla else None,
                              percentile=percentile, target_qps=target_qps,
                              precisions=tuple(csv_list(precision, "--precision")) if precision else None,
                              allow_reference_accuracy=allow_reference_accuracy)
    book = accuracy_book(accuracy, accuracy_source)
    price_file = load_prices(prices)
    if top < 1:
        raise BenchbedError(f"--top must be >= 1, got {top}")
    points = load_points(run_ids, db, book)
    note_unjoined(book, [p.network for p in points])
    answer = rank(points, price_file, constraints)
    check_priced(answer, price_file)
    print(render(answer, output_format, show_excluded, top))
    raise typer.Exit(0 if answer.ranked else 1)
