"""``benchbed export``: verified ONNX artifacts (and their precision transforms) in the models folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from benchbed.cli.app import app, console, print_json, say
from benchbed.cli.options import (AlphaOpt, BaselineOpt, BetaOpt, DepthOpt, FormatOpt, GammaOpt, ModeOpt, OutputFormat, PhiOpt,
                                  ResOpt, WidthOpt, specs)
from benchbed.core.errors import BenchbedError
from benchbed.networks.scaling import PAPER_ALPHA, PAPER_BETA, PAPER_GAMMA


def _row(artifact) -> dict:
    """What ``export`` reports of an artifact, from its manifest."""
    m = artifact.manifest
    return {"name": m["name"], "mode": m["spec"]["mode"], "precision": m["precision"], "path": str(artifact.path),
            "size_bytes": m["size_bytes"], "sha256": m["sha256"], "max_rel_error": m["parity"]["max_rel_error"],
            "tolerance": m["parity"]["tolerance"], "export_seconds": m["export_seconds"], "params": m["params"],
            "macs": m["macs"]}


@app.command()
def export(
    phi: PhiOpt = "0-7",
    mode: ModeOpt = "preset",
    alpha: AlphaOpt = PAPER_ALPHA,
    beta: BetaOpt = PAPER_BETA,
    gamma: GammaOpt = PAPER_GAMMA,
    width: WidthOpt = None,
    depth: DepthOpt = None,
    resolution: ResOpt = None,
    baseline: BaselineOpt = "efficientnet-b0",
    out: Annotated[Path, typer.Option("--out", help="Artifact folder.")] = Path("models"),
    precision: Annotated[str, typer.Option("--precision", help="fp32, fp16, int8 or int8-nncf.")] = "fp32",
    weights: Annotated[Optional[Path], typer.Option("--weights", help="torchvision-compatible state dict.")] = None,
    fp16_io: Annotated[bool, typer.Option("--fp16-io", help="fp16: make inputs/outputs fp16 too.")] = False,
    calib_images: Annotated[Optional[int], typer.Option(
        "--calib-images", help="int8: synthetic calibration images (default 8 for int8, 64 for int8-nncf).")] = None,
    calib_data: Annotated[Optional[Path], typer.Option("--calib-data", help="int8: .npy of NCHW images.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when the cache is current.")] = False,
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """Export to ONNX (opset 17, dynamic batch), check it, and verify parity with PyTorch."""
    from benchbed.artifacts.export import export_network
    from benchbed.artifacts.precision import TransformOptions, get_precision
    from benchbed.report.terminal import exports_table

    get_precision(precision)
    for flag, path in (("--weights", weights), ("--calib-data", calib_data)):
        if path is not None and not path.is_file():
            raise BenchbedError(f"{flag} {path}: no such file")
    if calib_images is not None and calib_images < 1:
        raise BenchbedError(f"--calib-images must be >= 1, got {calib_images}")
    networks = specs(phi, mode, alpha, beta, gamma, width, depth, resolution, baseline)
    if weights is not None and len(networks) != 1:
        raise BenchbedError("--weights loads one network's weights: give a single --phi")
    options = TransformOptions(keep_io_types=not fp16_io, calib_images=calib_images,
                               calib_data=str(calib_data) if calib_data else None)
    quiet = output_format is OutputFormat.json
    rows = [_row(export_network(spec, precision, out, options=options, weights=str(weights) if weights else None,
                                force=force, progress=(lambda m: None) if quiet else say)) for spec in networks]
    if quiet:
        return print_json(rows)
    console.print(exports_table(rows, precision))
