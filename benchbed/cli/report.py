"""``benchbed report``: stored runs rendered as report.md (printed) and, with --html, report.html."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from benchbed.cli.app import app, print_results, say
from benchbed.cli.options import (AccuracyOpt, AccuracySourceOpt, DbOpt, ReportsOpt, accuracy_book, choose_format,
                                  note_unjoined, require_store)


@app.command()
def report(
    run_ids: Annotated[Optional[list[str]], typer.Argument(
        help="Run ids (or 'latest'), results.json files or folders of them; several runs make one report.")] = None,
    db: DbOpt = Path("reports/benchbed.sqlite"),
    reports: ReportsOpt = Path("reports"),
    output_format: Annotated[str, typer.Option("--format", help="md, table or json.")] = "md",
    html: Annotated[bool, typer.Option("--html", help="Also write a self-contained report.html with plots.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for the report (default: under --reports).")] = None,
    accuracy: AccuracyOpt = None,
    accuracy_source: AccuracySourceOpt = "paper_v5",
    prices: Annotated[Optional[Path], typer.Option("--prices", help="Price file (YAML): adds $ per image.")] = None,
) -> None:
    """Render stored runs: report.md (printed) and, with --html, report.html with Pareto and scaling plots."""
    from benchbed.analysis.prices import load_prices
    from benchbed.report.bundle import load_inputs, output_folder, write_bundle

    choose_format(output_format, ("md", "table", "json"))
    refs = run_ids or ["latest"]
    if any(not Path(r).exists() for r in refs):
        require_store(db)
    book = accuracy_book(accuracy, accuracy_source)
    price_file = load_prices(prices) if prices else None
    inputs = load_inputs(refs, db, book)
    note_unjoined(book, [p.network for p in inputs.points])
    folder = out or output_folder(reports, inputs.runs)
    markdown, written = write_bundle(inputs, folder, book, price_file, html, db if db.exists() else None)
    if output_format == "md":
        print(markdown)
    else:
        for run in inputs.runs:
            print_results(run, inputs.results_by_run[run["run_id"]], output_format == "json", book,
                          inputs.paired.get(run["run_id"]))
    for path in written:
        say(f"report: {path}")
