"""``benchbed search``: grid search of the compound coefficients under α·β²·γ² ≈ target."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from benchbed.cli.app import app, console, print_json
from benchbed.cli.options import BaselineOpt, FormatOpt, OutputFormat, ResOpt, WidthOpt
from benchbed.core.errors import BenchbedError


@app.command()
def search(
    objective: Annotated[str, typer.Option("--objective", help="flops or latency (measured).")] = "flops",
    target: Annotated[float, typer.Option("--target", help="α·β²·γ² target.")] = 2.0,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Allowed |α·β²·γ² - target|.")] = 0.05,
    step: Annotated[float, typer.Option("--step", help="Grid step for α, β, γ.")] = 0.05,
    high: Annotated[float, typer.Option("--max", help="Largest coefficient tried.")] = 2.0,
    top: Annotated[int, typer.Option("--top", help="Rows to show.")] = 10,
    backend: Annotated[str, typer.Option("--backend", help="latency: backend to measure on.")] = "auto",
    models: Annotated[Path, typer.Option("--models", help="latency: artifact folder.")] = Path("models"),
    resolution: ResOpt = None,
    width: WidthOpt = None,
    baseline: BaselineOpt = "efficientnet-b0",
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """Grid-search (α, β, γ) under α·β²·γ² ≈ target, scored by an objective at φ = 1."""
    from benchbed.networks.search import grid_search
    from benchbed.report.terminal import search_table

    if top < 1:
        raise BenchbedError(f"--top must be >= 1, got {top}")
    options = {"backend": backend, "models_dir": str(models)} if objective == "latency" else {}
    overrides = {k: v for k, v in (("resolution", resolution), ("width", width)) if v is not None}
    found = grid_search(objective, target, tolerance=tolerance, step=step, high=high, overrides=overrides,
                        objective_options=options, baseline=baseline)
    rows = [{"alpha": c.alpha, "beta": c.beta, "gamma": c.gamma, "product": c.product, "score": c.score}
            for c in found[:top]]
    if output_format is OutputFormat.json:
        return print_json(rows)
    console.print(search_table(rows, len(found), target, tolerance, objective))
