"""The ``benchbed`` command line: parses, calls the library, prints. No logic of its own.

Errors the user can fix (:class:`BenchbedError`, bad options) print as one line on stderr with exit
code 2; Ctrl-C exits 130. Nothing here prints a traceback unless ``BENCHBED_DEBUG=1``.
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer import _click as click  # typer >= 0.24 vendors click; its exceptions live here
from rich.console import Console
from rich.table import Table

from benchbed import __version__
from benchbed.errors import BenchbedError
from benchbed.scaling import MODES, PAPER_ALPHA, PAPER_BETA, PAPER_GAMMA

app = typer.Typer(
    name="benchbed",
    help="Generate compound-scaled EfficientNets, export them to ONNX, measure them, compare cost with accuracy.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# Piped output keeps full-width tables instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


# --- options shared by every command that names networks ---------------------------------------------
PhiOpt = Annotated[str, typer.Option("--phi", help="φ values: 3, 0-7 or 0,2,5 (fractional φ outside preset mode).")]
ModeOpt = Annotated[str, typer.Option("--mode", help=f"Scaling mode: {', '.join(MODES)}.")]
AlphaOpt = Annotated[float, typer.Option("--alpha", help="Depth coefficient α (>= 1).")]
BetaOpt = Annotated[float, typer.Option("--beta", help="Width coefficient β (>= 1).")]
GammaOpt = Annotated[float, typer.Option("--gamma", help="Resolution coefficient γ (>= 1).")]
WidthOpt = Annotated[Optional[float], typer.Option("--width", help="Override the width multiplier (e.g. tiny test nets).")]
DepthOpt = Annotated[Optional[float], typer.Option("--depth", help="Override the depth multiplier.")]
ResOpt = Annotated[Optional[int], typer.Option("--resolution", help="Override the input resolution in pixels.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table or json.")]


def _specs(phi: str, mode: str, alpha: float, beta: float, gamma: float, width: float | None,
           depth: float | None, resolution: int | None) -> list:
    from benchbed.arch import network_spec
    from benchbed.scaling import parse_phi_list

    if mode not in MODES:
        raise BenchbedError(f"unknown --mode {mode!r}; choose one of {', '.join(MODES)}")
    for label, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        if not value >= 1.0:
            raise BenchbedError(f"--{label} must be >= 1 (the paper's constraint α, β, γ >= 1), got {value:g}")
    return [network_spec(p, mode, alpha=alpha, beta=beta, gamma=gamma, width=width, depth=depth,
                         resolution=resolution) for p in parse_phi_list(phi, mode)]


def _fmt_count(value: float) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= size:
            return f"{value / size:.2f}{unit}"
    return f"{value:g}"


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
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """Show the scaled networks: coefficients, blocks, params, MACs, FLOPS multiple (no torch needed)."""
    from benchbed.published import paper_gflops

    specs = _specs(phi, mode, alpha, beta, gamma, width, depth, resolution)
    rows = [spec.summary() for spec in specs]
    if output_format is OutputFormat.json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"benchbed generate ({mode} mode, α·β²·γ² = {rows[0]['flops_ratio']:.3f})")
    for column in ("φ", "name", "mode", "w", "d", "res", "blocks", "params", "MACs", "paper FLOPS",
                   "pred ×", "actual ×"):
        table.add_column(column, justify="left" if column in ("name", "mode") else "right")
    for row in rows:
        paper = paper_gflops(row["name"]) if row["mode"] == "preset" and not row["overrides"] else None
        table.add_row(f"{row['phi']:g}", row["name"], row["mode"], f"{row['width']:.3f}", f"{row['depth']:.3f}",
                      str(row["resolution"]), str(row["blocks"]), _fmt_count(row["params"]), _fmt_count(row["macs"]),
                      f"{paper:g}B" if paper else "-", f"{row['predicted_flops_multiple']:.2f}",
                      f"{row['actual_flops_multiple']:.2f}")
    console.print(table)
    console.print("pred × = (α·β²·γ²)^φ, actual × = MACs / MACs(B0 at 224 px); presets are the published "
                  "B0-B7 coefficients, not the formula.")


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
    out: Annotated[Path, typer.Option("--out", help="Artifact folder.")] = Path("models"),
    precision: Annotated[str, typer.Option("--precision", help="fp32, fp16 or int8.")] = "fp32",
    weights: Annotated[Optional[Path], typer.Option("--weights", help="torchvision-compatible state dict.")] = None,
    fp16_io: Annotated[bool, typer.Option("--fp16-io", help="fp16: make inputs/outputs fp16 too.")] = False,
    calib_images: Annotated[int, typer.Option("--calib-images", help="int8: synthetic calibration images.")] = 8,
    calib_data: Annotated[Optional[Path], typer.Option("--calib-data", help="int8: .npy of NCHW images.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when the cache is current.")] = False,
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """Export to ONNX (opset 17, dynamic batch), check it, and verify parity with PyTorch."""
    from benchbed.export import export_network
    from benchbed.precision import TransformOptions, get_precision

    get_precision(precision)
    if weights is not None and not weights.is_file():
        raise BenchbedError(f"--weights {weights}: no such file")
    if calib_images < 1:
        raise BenchbedError(f"--calib-images must be >= 1, got {calib_images}")
    if weights is not None and len(_specs(phi, mode, alpha, beta, gamma, width, depth, resolution)) != 1:
        raise BenchbedError("--weights loads one network's weights: give a single --phi")
    options = TransformOptions(keep_io_types=not fp16_io, calib_images=calib_images,
                               calib_data=str(calib_data) if calib_data else None)
    specs = _specs(phi, mode, alpha, beta, gamma, width, depth, resolution)
    quiet = output_format is OutputFormat.json
    rows = []
    for spec in specs:
        artifact = export_network(spec, precision, out, options=options, weights=str(weights) if weights else None,
                                  force=force, progress=(lambda m: None) if quiet else (lambda m: err_console.print(m)))
        m = artifact.manifest
        rows.append({"name": m["name"], "mode": m["spec"]["mode"], "precision": m["precision"],
                     "path": str(artifact.path), "size_bytes": m["size_bytes"], "sha256": m["sha256"],
                     "max_rel_error": m["parity"]["max_rel_error"], "tolerance": m["parity"]["tolerance"],
                     "export_seconds": m["export_seconds"], "params": m["params"], "macs": m["macs"]})
    if quiet:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"benchbed export ({precision})")
    for column in ("name", "mode", "file", "size", "parity rel err", "tolerance", "export s"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], row["mode"], row["path"], f"{row['size_bytes'] / 1e6:.1f} MB",
                      f"{row['max_rel_error']:.2e}", f"{row['tolerance']:g}", f"{row['export_seconds']:.1f}")
    console.print(table)


@app.command()
def version() -> None:
    """Print benchbed's version."""
    print(__version__)


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors with exit 2, Ctrl-C exit 130, never a traceback."""
    command = typer.main.get_command(app)
    debug = os.environ.get("BENCHBED_DEBUG") == "1"
    try:
        result = command.main(args=argv if argv is not None else sys.argv[1:], prog_name="benchbed",
                              standalone_mode=False)
        return int(result or 0)
    except BenchbedError as exc:
        if debug:
            raise
        err_console.print(f"benchbed: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "", file=sys.stderr)
        return 2
    except click.ClickException as exc:
        err_console.print(f"benchbed: error: {exc.format_message()}", markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code if exc.exit_code else 2
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("benchbed: interrupted", markup=False)
        return 130
    except typer.Exit as exc:
        return exc.exit_code


def run() -> None:  # console script
    sys.exit(main())


if __name__ == "__main__":
    run()
