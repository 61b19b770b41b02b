"""``benchbed generate``: the scaled networks' coefficients and cost, without torch."""

from __future__ import annotations

from benchbed.cli.app import app, console, print_json
from benchbed.cli.options import (AlphaOpt, BaselineOpt, BetaOpt, DepthOpt, FormatOpt, GammaOpt, ModeOpt, OutputFormat, PhiOpt,
                                  ResOpt, WidthOpt, specs)
from benchbed.networks.scaling import PAPER_ALPHA, PAPER_BETA, PAPER_GAMMA


@app.command()
def generate(
    phi: PhiOpt = "0-7",
    mode: ModeOpt = "preset",
    alpha: AlphaOpt = PAPER_ALPHA,
    beta: BetaOpt = PAPER_BETA,
    gamma: GammaOpt = PAPER_GAMMA,
    width: WidthOpt = None,
    depth: DepthOpt = None,
    resolution: ResOpt = None,
    baseline: BaselineOpt = "efficientnet-b0",
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """Show the scaled networks: coefficients, blocks, params, MACs, FLOPS multiple (no torch needed)."""
    from benchbed.report.terminal import networks_table

    rows = [spec.summary() for spec in specs(phi, mode, alpha, beta, gamma, width, depth, resolution, baseline)]
    if output_format is OutputFormat.json:
        return print_json(rows)
    console.print(networks_table(rows, mode))
    console.print("pred × = (α·β²·γ²)^φ, actual × = MACs / MACs(B0 at 224 px); presets are the published "
                  "B0-B7 coefficients, not the formula.")
