"""``benchbed accuracy``: top-1/top-5 of given weights on an image folder, optionally appended to a CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from benchbed.cli.app import app, console, print_json, say
from benchbed.cli.options import (AlphaOpt, BaselineOpt, BetaOpt, DepthOpt, FormatOpt, GammaOpt, ModeOpt,
                                  OutputFormat, PhiOpt, ResOpt, WidthOpt, specs)
from benchbed.core.errors import BenchbedError
from benchbed.networks.scaling import PAPER_ALPHA, PAPER_BETA, PAPER_GAMMA


@app.command()
def accuracy(
    weights: Annotated[Path, typer.Option("--weights", help="State dict of the network (.pt/.pth/.safetensors).")],
    val_dir: Annotated[Path, typer.Option("--val-dir", help="ImageNet-style folder: DIR/<class>/<image>.")],
    phi: PhiOpt = "0",
    mode: ModeOpt = "preset",
    alpha: AlphaOpt = PAPER_ALPHA,
    beta: BetaOpt = PAPER_BETA,
    gamma: GammaOpt = PAPER_GAMMA,
    width: WidthOpt = None,
    depth: DepthOpt = None,
    resolution: ResOpt = None,
    baseline: BaselineOpt = "efficientnet-b0",
    precision: Annotated[str, typer.Option("--precision", help="fp32 (PyTorch), fp16, int8 or int8-nncf (ONNX).")] = "fp32",
    engine: Annotated[str, typer.Option("--engine", help="auto, torch or onnx (auto: torch for fp32).")] = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per forward pass.")] = 32,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Evaluate N images spread over the folder.")] = None,
    class_map: Annotated[Optional[Path], typer.Option("--class-map", help="wnid per line = class index.")] = None,
    crop: Annotated[Optional[int], typer.Option("--crop", help="Override the eval center crop.")] = None,
    resize: Annotated[Optional[int], typer.Option("--resize", help="Override the shorter-side resize.")] = None,
    interpolation: Annotated[Optional[str], typer.Option("--interpolation", help="bicubic/bilinear/nearest.")] = None,
    weights_tag: Annotated[Optional[str], typer.Option("--weights-tag", help="Default: file stem.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="CSV to append the result row to.")] = None,
    models: Annotated[Path, typer.Option("--models", help="Artifact folder for the ONNX engine.")] = Path("models"),
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """Measure top-1/top-5 of a network with given weights on an image folder (reference eval transform)."""
    from benchbed.accuracy.evaluate import append_csv, evaluate
    from benchbed.accuracy.folder import read_class_map
    from benchbed.accuracy.transform import choose_transform
    from benchbed.report.terminal import accuracy_table

    networks = specs(phi, mode, alpha, beta, gamma, width, depth, resolution, baseline)
    if len(networks) != 1:
        raise BenchbedError("--weights loads one network's weights: give a single --phi")
    transform = choose_transform(networks[0], crop, resize, interpolation)
    quiet = output_format is OutputFormat.json
    result = evaluate(networks[0], weights, val_dir, precision=precision, engine=engine, transform=transform,
                      batch_size=batch_size, limit=limit, class_map=read_class_map(class_map) if class_map else None,
                      weights_tag=weights_tag, models_dir=models, messages=(lambda m: None) if quiet else say)
    row = result.row()
    if out is not None:
        append_csv(out, row)
    if quiet:
        return print_json(dict(row, top1=round(result.top1, 3), top5=round(result.top5, 3), engine=result.engine,
                               transform_origin=result.transform.origin, notes=list(result.notes)))
    console.print(accuracy_table(row, result.engine, transform.describe(), transform.origin))
    for note in result.notes:
        say(f"note: {note}")
    if out is not None:
        console.print(f"row appended to {out}", markup=False, highlight=False)
