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
from rich.markup import escape
from rich.table import Table

from benchbed import __version__
from benchbed.core.errors import BenchbedError
from benchbed.networks.scaling import MODES, PAPER_ALPHA, PAPER_BETA, PAPER_GAMMA

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


def _say(text: str) -> None:
    """A line for people on stderr, printed as text: rich markup would eat "[tensorrt]" in an install hint."""
    err_console.print(text, markup=False, highlight=False)


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
    from benchbed.networks import network_spec
    from benchbed.networks.scaling import parse_phi_list

    if mode not in MODES:
        raise BenchbedError(f"unknown --mode {mode!r}; choose one of {', '.join(MODES)}")
    for label, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        if not value >= 1.0:
            raise BenchbedError(f"--{label} must be >= 1 (the paper's constraint α, β, γ >= 1), got {value:g}")
    return [network_spec(p, mode, alpha=alpha, beta=beta, gamma=gamma, width=width, depth=depth,
                         resolution=resolution) for p in parse_phi_list(phi, mode)]


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
    from benchbed.accuracy.tables import paper_row
    from benchbed.report.markdown import human_count

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
        paper = paper_row(row["name"]).gflops if paper_row(row["name"]) else None
        table.add_row(f"{row['phi']:g}", row["name"], row["mode"], f"{row['width']:.3f}", f"{row['depth']:.3f}",
                      str(row["resolution"]), str(row["blocks"]), human_count(row["params"]),
                      human_count(row["macs"]),
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

    get_precision(precision)
    if weights is not None and not weights.is_file():
        raise BenchbedError(f"--weights {weights}: no such file")
    if calib_data is not None and not calib_data.is_file():
        raise BenchbedError(f"--calib-data {calib_data}: no such file")
    if calib_images is not None and calib_images < 1:
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
                                  force=force, progress=(lambda m: None) if quiet else _say)
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
        table.add_row(escape(row["name"]), row["mode"], escape(row["path"]), f"{row['size_bytes'] / 1e6:.1f} MB",
                      f"{row['max_rel_error']:.2e}", f"{row['tolerance']:g}", f"{row['export_seconds']:.1f}")
    console.print(table)


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

    specs = _specs(phi, mode, alpha, beta, gamma, width, depth, resolution)
    if len(specs) != 1:
        raise BenchbedError("--weights loads one network's weights: give a single --phi")
    transform = choose_transform(specs[0], crop, resize, interpolation)
    quiet = output_format is OutputFormat.json

    def say(message: str) -> None:
        if not quiet:
            err_console.print(message, markup=False, highlight=False)

    result = evaluate(specs[0], weights, val_dir, precision=precision, engine=engine, transform=transform,
                      batch_size=batch_size, limit=limit, class_map=read_class_map(class_map) if class_map else None,
                      weights_tag=weights_tag, models_dir=models, messages=say)
    row = result.row()
    if out is not None:
        append_csv(out, row)
    if quiet:
        print(json.dumps(dict(row, top1=round(result.top1, 3), top5=round(result.top5, 3), engine=result.engine,
                              transform_origin=result.transform.origin, notes=list(result.notes)), indent=2))
        return
    table = Table(title=f"benchbed accuracy ({result.engine}, transform {transform.describe()}: {transform.origin})")
    for column in ("network", "precision", "weights", "top-1 %", "top-5 %", "images"):
        table.add_column(column, justify="right" if column in ("top-1 %", "top-5 %", "images") else "left")
    table.add_row(row["network"], row["precision"], row["weights"], row["top1"], row["top5"], str(row["images"]))
    console.print(table)
    for note in result.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    if out is not None:
        console.print(f"row appended to {out}", markup=False, highlight=False)


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
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """Grid-search (α, β, γ) under α·β²·γ² ≈ target, scored by an objective at φ = 1."""
    from benchbed.networks.search import OBJECTIVES, grid_search

    if objective not in OBJECTIVES:
        raise BenchbedError(f"unknown --objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    if top < 1:
        raise BenchbedError(f"--top must be >= 1, got {top}")
    options = {"backend": backend, "models_dir": str(models)} if objective == "latency" else {}
    overrides = {k: v for k, v in (("resolution", resolution), ("width", width)) if v is not None}
    found = grid_search(objective, target, tolerance=tolerance, step=step, high=high, overrides=overrides,
                        objective_options=options)
    rows = [{"alpha": c.alpha, "beta": c.beta, "gamma": c.gamma, "product": c.product, "score": c.score}
            for c in found[:top]]
    if output_format is OutputFormat.json:
        print(json.dumps(rows, indent=2))
        return
    unit = "p50 ms" if objective == "latency" else "|FLOPS x - target|"
    table = Table(title=f"grid search: {len(found)} candidates with |α·β²·γ² - {target:g}| <= {tolerance:g}")
    for column in ("α", "β", "γ", "α·β²·γ²", unit):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(f"{row['alpha']:g}", f"{row['beta']:g}", f"{row['gamma']:g}", f"{row['product']:.3f}",
                      f"{row['score']:.4g}")
    console.print(table)


DbOpt = Annotated[Path, typer.Option("--db", help="SQLite results store.")]
ReportsOpt = Annotated[Path, typer.Option("--reports", help="Folder for results.json and report.md per run.")]


def _csv(value: str, label: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise BenchbedError(f"--{label} needs at least one value")
    return list(dict.fromkeys(items))


@app.command()
def sweep(
    phi: PhiOpt = "0-7",
    mode: ModeOpt = "preset",
    alpha: AlphaOpt = PAPER_ALPHA,
    beta: BetaOpt = PAPER_BETA,
    gamma: GammaOpt = PAPER_GAMMA,
    width: WidthOpt = None,
    depth: DepthOpt = None,
    resolution: ResOpt = None,
    backend: Annotated[str, typer.Option("--backend", help="auto, or backends `benchbed info` lists (comma list).")] =
        "auto",
    precision: Annotated[str, typer.Option("--precision", help="Comma list of fp32, fp16, int8, int8-nncf.")] = "fp32",
    scenario: Annotated[str, typer.Option("--scenario", help="Comma list: single-stream, offline, mlperf-singlestream, "
                                                             "mlperf-multistream, mlperf-server, mlperf-offline.")] =
        "single-stream,offline",
    quick: Annotated[bool, typer.Option("--quick", help="Short timing profile (0.5 s / 5 iterations).")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Long timing profile (10 s / 100 iterations).")] = False,
    warmup_seconds: Annotated[Optional[float], typer.Option("--warmup", help="Warm-up seconds.")] = None,
    min_seconds: Annotated[Optional[float], typer.Option("--duration", help="Minimum measuring seconds.")] = None,
    min_iterations: Annotated[Optional[int], typer.Option("--iterations", help="Minimum iterations.")] = None,
    max_seconds: Annotated[Optional[float], typer.Option("--max-seconds", help="Hard cap per cell.")] = None,
    max_batch: Annotated[int, typer.Option("--max-batch", help="Largest offline batch.")] = 16,
    threads: Annotated[Optional[int], typer.Option("--threads", help="CPU threads (default: physical cores).")] = None,
    io_binding: Annotated[bool, typer.Option("--io-binding/--no-io-binding", help="onnxruntime IO binding.")] = True,
    cell_timeout: Annotated[Optional[float], typer.Option("--cell-timeout", help="Seconds before a cell is killed.")] = None,
    db: DbOpt = Path("reports/benchbed.sqlite"),
    models: Annotated[Path, typer.Option("--models", help="Artifact folder.")] = Path("models"),
    reports: ReportsOpt = Path("reports"),
    resume: Annotated[bool, typer.Option("--resume", help="Continue the latest run of this same sweep.")] = False,
    run_id: Annotated[Optional[str], typer.Option("--run-id", help="Resume this run.")] = None,
    sla_p99: Annotated[Optional[str], typer.Option("--sla-p99", help="mlperf-server latency SLA, e.g. 20ms.")] = None,
    sla_percentile: Annotated[Optional[float], typer.Option("--sla-percentile", help="SLA percentile (99).")] = None,
    max_queue_delay: Annotated[float, typer.Option("--max-queue-delay", help="MLPerf batcher wait, ms.")] = 2.0,
    backend_option: Annotated[Optional[list[str]], typer.Option("--backend-option", help=(
        "KEY=VALUE for every selected backend that takes KEY, or BACKEND.KEY=VALUE for that backend only "
        "(e.g. openvino.hint=throughput); repeatable. An option no selected backend takes is an error."))] = None,
    executor: Annotated[str, typer.Option("--executor", help="local (worker processes) or ray.")] = "local",
    address: Annotated[Optional[str], typer.Option("--address", help="Ray cluster address (default: a local one).")] = None,
    hardware: Annotated[Optional[str], typer.Option("--hardware", help="Ray: node types, comma list (A100, hw:LABEL).")] = None,
    ray_retries: Annotated[int, typer.Option("--ray-retries", help="Ray: retries of a cell whose node died.")] = 1,
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """Generate, export, measure and report every φ: the main job. Resumable with --resume."""
    from dataclasses import replace

    from benchbed.core.files import ensure_writable_dir
    from benchbed.backends import resolve_backend, route_options
    from benchbed.measure.timing import get_profile
    from benchbed.core.environment import environment
    from benchbed.report.markdown import write_report
    from benchbed.sweep.store import Store
    from benchbed.sweep.run import SweepConfig, check_precisions, open_run, run_sweep, validate_config
    from benchbed.report.terminal import RichSweepUI

    if quick and strict:
        raise BenchbedError("--quick and --strict exclude each other")
    profile = get_profile("quick" if quick else "strict" if strict else "default")
    custom = {k: v for k, v in (("warmup_seconds", warmup_seconds), ("min_seconds", min_seconds),
                                ("min_iterations", min_iterations), ("max_seconds", max_seconds)) if v is not None}
    if custom:
        profile = replace(profile, name=profile.name + "+custom", **custom)
        if "max_seconds" not in custom and profile.max_seconds < profile.min_seconds:
            profile = replace(profile, max_seconds=profile.min_seconds * 4)
    specs = _specs(phi, mode, alpha, beta, gamma, width, depth, resolution)
    check_precisions(_csv(precision, "precision"), _csv(backend, "backend"))
    resolved = [resolve_backend(name) for name in _csv(backend, "backend")]
    chosen = ",".join(dict.fromkeys(name for name, _ in resolved))
    skipped = [line for _, lines in resolved for line in lines]
    overrides = {k: v for k, v in (("width", width), ("depth", depth), ("resolution", resolution)) if v is not None}
    config = SweepConfig(phis=[s.scaling.phi for s in specs], mode=mode, alpha=alpha, beta=beta, gamma=gamma,
                         overrides=overrides, backend=chosen, precisions=_csv(precision, "precision"),
                         scenarios=_csv(scenario, "scenario"), profile=profile, max_batch=max_batch, threads=threads,
                         io_binding=io_binding, cell_timeout=cell_timeout, models_dir=str(models),
                         reports_dir=str(reports),
                         backend_extra=route_options(_key_value_pairs(backend_option or []), chosen.split(",")),
                         sla_ms=_milliseconds(sla_p99, "--sla-p99") if sla_p99 is not None else None,
                         sla_percentile=sla_percentile, max_queue_delay_ms=max_queue_delay, loadgen_strict=strict,
                         hardware=_csv(hardware, "hardware") if hardware else [])
    validate_config(config)
    if executor not in ("local", "ray"):
        raise BenchbedError(f"unknown --executor {executor!r}; choose local or ray")
    if executor == "local" and (address or hardware):
        raise BenchbedError("--address and --hardware need --executor ray")
    if ray_retries < 0:
        raise BenchbedError(f"--ray-retries must be >= 0, got {ray_retries}")
    ensure_writable_dir(models, "--models")
    ensure_writable_dir(reports, "--reports")
    quiet = output_format is OutputFormat.json
    say = (lambda m: None) if quiet else _say
    if "auto" in _csv(backend, "backend"):
        say(f"backend auto -> {chosen}" + ("".join(f"\n  skipped {line}" for line in skipped)))
    store = Store(db)
    try:
        env = environment()
        rid, resumed = open_run(store, config, env, resume, run_id)
        say(f"run {rid}" + (" (resumed: measuring only missing cells)" if resumed else "") + f", store {db}")
        try:
            def make_executor(ui):
                if executor != "ray":
                    return None
                from benchbed.launchers.ray import RayExecutor

                return RayExecutor(address, config.timeout(), config.hardware, retries=ray_retries)

            if quiet:
                results = run_sweep(config, store, rid, executor=make_executor(None))
            else:
                with RichSweepUI(err_console) as ui:
                    results = run_sweep(config, store, rid, ui, executor=make_executor(ui))
        except KeyboardInterrupt:
            kept = len(store.results(rid))
            err_console.print(f"benchbed: interrupted; {kept} finished cells kept in {db}. Resume with the same "
                              "command plus --resume", markup=False)
            raise typer.Exit(130)
        run = store.run(rid)
        report = write_report(run, results, reports)
    finally:
        store.close()
    _print_results(run, results, quiet)
    say(f"report: {report}\nresults: {report.parent / 'results.json'}")


def _milliseconds(text: str, flag: str) -> float:
    """'20ms', '0.02s', '20' (ms) -> milliseconds."""
    import re

    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(ms|s|us)?\s*", text)
    if not match:
        raise BenchbedError(f"{flag}: expected a duration like 20ms or 0.02s, got {text!r}")
    value = float(match.group(1)) * {"ms": 1.0, "s": 1e3, "us": 1e-3, None: 1.0}[match.group(2)]
    if value <= 0:
        raise BenchbedError(f"{flag} must be > 0, got {text}")
    return value


def _key_value_pairs(items: list[str]) -> list[tuple[str, object]]:
    """``KEY=VALUE`` / ``BACKEND.KEY=VALUE`` items in order; VALUE is JSON when it parses (4, true), else text."""
    out: list[tuple[str, object]] = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BenchbedError(f"--backend-option expects KEY=VALUE or BACKEND.KEY=VALUE, got {item!r}")
        try:
            out.append((key, json.loads(value)))
        except ValueError:
            out.append((key, value))
    return out


def _print_results(run: dict, results: list[dict], as_json: bool, book=None) -> None:
    from benchbed.report.markdown import COLUMNS, row_cells, scenario_rows

    rows = scenario_rows(results, book)
    if as_json:
        print(json.dumps({"run_id": run["run_id"], "status": run["status"], "scenarios": rows}, indent=2))
        return
    for scenario_name, scenario_rows_ in rows.items():
        table = Table(title=escape(f"{scenario_name} ({run['config'].get('backend')}, run {run['run_id']})"))
        for column in COLUMNS:
            table.add_column(column, justify="left" if column in ("network", "mode", "validity") else "right")
        for row in scenario_rows_:
            table.add_row(*map(escape, row_cells(row)))  # "[hw:LABEL]" after a network is text
        console.print(table)


AccuracyOpt = Annotated[Optional[Path], typer.Option(
    "--accuracy", help="CSV of your measured accuracy: network,precision,weights,top1,top5.")]
AccuracySourceOpt = Annotated[str, typer.Option(
    "--accuracy-source", help="Published table used where no measured row exists: paper_v5, torchvision, timm.")]


def _accuracy_book(accuracy: Path | None, source: str):
    from benchbed.accuracy.lookup import SOURCE_ORDER, AccuracyBook
    from benchbed.accuracy.user_csv import load_user_csv

    if source not in SOURCE_ORDER:
        raise BenchbedError(f"unknown --accuracy-source {source!r}; choose {', '.join(SOURCE_ORDER)}")
    return AccuracyBook(load_user_csv(accuracy) if accuracy else (), source)


def _note_unjoined(book, points) -> None:
    """Measured accuracy rows that name no network in the results (a typo, or another run's networks)."""
    unjoined = sorted({r.network for r in book.measured} - {p.network for p in points})
    if unjoined:
        err_console.print(f"note: accuracy rows for networks not in these results: {', '.join(unjoined)}",
                          markup=False, highlight=False)


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

    if output_format not in ("md", "table", "json"):
        raise BenchbedError(f"unknown --format {output_format!r}; choose md, table or json")
    refs = run_ids or ["latest"]
    if any(not Path(r).exists() for r in refs) and not db.exists():
        raise BenchbedError(f"no results store at {db}; run `benchbed sweep` first or pass --db")
    book = _accuracy_book(accuracy, accuracy_source)
    price_file = load_prices(prices) if prices else None
    inputs = load_inputs(refs, db, book)
    _note_unjoined(book, inputs.points)
    folder = out or output_folder(reports, inputs.runs)
    markdown, written = write_bundle(inputs, folder, book, price_file, html, db if db.exists() else None)
    if output_format == "md":
        print(markdown)
    else:
        for run in inputs.runs:
            _print_results(run, inputs.results_by_run[run["run_id"]], output_format == "json", book)
    for path in written:
        _say(f"report: {path}")


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
    from benchbed.analysis.points import to_points
    from benchbed.analysis.sources import load_side
    from benchbed.analysis.prices import load_prices
    from benchbed.analysis.procure import Constraints, latest_per_cell, procure as rank
    from benchbed.report.procure import render

    if output_format not in ("table", "md", "json"):
        raise BenchbedError(f"unknown --format {output_format!r}; choose table, md or json")
    if not 0 < percentile <= 100:
        raise BenchbedError(f"--percentile must be in (0, 100], got {percentile:g}")
    if target_qps is not None and target_qps <= 0:
        raise BenchbedError(f"--target-qps must be > 0, got {target_qps:g}")
    if min_top1 is not None and not 0 <= min_top1 <= 100:
        raise BenchbedError(f"--min-top1 is a percentage in [0, 100], got {min_top1:g}")
    from benchbed.accuracy.rows import PRECISIONS

    allowed = tuple(_csv(precision, "precision")) if precision else None
    for p in allowed or ():
        if p not in PRECISIONS:
            raise BenchbedError(f"unknown precision {p!r} in --precision; choose from {', '.join(PRECISIONS)}")
    constraints = Constraints(min_top1=min_top1, sla_ms=_milliseconds(sla, "--sla") if sla else None,
                              percentile=percentile, target_qps=target_qps, precisions=allowed,
                              allow_reference_accuracy=allow_reference_accuracy)
    book = _accuracy_book(accuracy, accuracy_source)
    price_file = load_prices(prices)
    if top < 1:
        raise BenchbedError(f"--top must be >= 1, got {top}")
    pairs = latest_per_cell([run for ref in run_ids for run in load_side(ref, db).per_run])
    points = to_points(pairs, book)
    _note_unjoined(book, points)
    answer = rank(points, price_file, constraints)
    if not any(price_file.price_for(h) for h in {p.point.hardware for p in answer.ranked + answer.excluded}):
        raise BenchbedError(f"{prices}: no priced hardware matches the results; results have "
                            f"{', '.join(repr(h) for h in answer.unpriced_hardware)}; the file names "
                            f"{', '.join(repr(h) for h in answer.unused_prices)}")
    print(render(answer, output_format, show_excluded, top))
    raise typer.Exit(0 if answer.ranked else 1)


def _thresholds(latency: float, throughput: float, memory: float, alpha: float):
    from benchbed.analysis.compare import Thresholds

    for label, value in (("--min-effect", latency), ("--throughput-effect", throughput),
                         ("--memory-effect", memory)):
        if not 0 <= value < 1:
            raise BenchbedError(f"{label} must be a fraction in [0, 1), got {value:g}")
    if not 0 < alpha < 1:
        raise BenchbedError(f"--alpha must be in (0, 1), got {alpha:g}")
    return Thresholds(latency=latency, throughput=throughput, memory=memory, alpha=alpha)


def _fail_on(value: str) -> tuple[str, ...]:
    from benchbed.analysis.compare import VERDICTS

    chosen = tuple(_csv(value, "fail-on"))
    unknown = [v for v in chosen if v not in VERDICTS]
    if unknown:
        raise BenchbedError(f"--fail-on: unknown verdict {unknown[0]!r}; choose from {', '.join(VERDICTS)}")
    return chosen


def _emit_comparison(rows, base: str, current: str, fail_on: tuple[str, ...], fmt: str, output: Path | None) -> int:
    from benchbed.analysis.compare import failing
    from benchbed.report.compare import HEADER, RENDERERS, table_rows

    failed = failing(rows, fail_on)
    if output is not None:
        kind = {".xml": "junit", ".json": "json"}.get(output.suffix, "md")
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(RENDERERS[kind](rows, base, current, failed))
        except OSError as exc:
            raise BenchbedError(f"cannot write --output {output}: {exc.strerror or exc}") from None
    if fmt == "table":
        table = Table(title=escape(f"benchbed compare {base} -> {current}: "
                                   f"{len(failed)} regression(s) ({', '.join(fail_on)})"))
        for column in HEADER:
            table.add_column(column)
        for row in table_rows(rows):
            table.add_row(*map(escape, row))
        console.print(table)
    else:
        print(RENDERERS[fmt](rows, base, current, failed), end="")
    return 1 if failed else 0


CompareFormat = Annotated[str, typer.Option("--format", help="table, md, json or junit.")]


@app.command()
def compare(
    base: Annotated[str, typer.Argument(help="BASE: run id in the store, results.json, or a folder of them.")],
    current: Annotated[str, typer.Argument(help="CURRENT: same forms as BASE.")],
    db: DbOpt = Path("reports/benchbed.sqlite"),
    min_effect: Annotated[float, typer.Option("--min-effect", help="Latency change that counts (0.05 = 5 %).")] = 0.05,
    throughput_effect: Annotated[float, typer.Option("--throughput-effect", help="Throughput change that counts.")] = 0.05,
    memory_effect: Annotated[float, typer.Option("--memory-effect", help="Peak-memory change that counts.")] = 0.10,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.01,
    fail_on: Annotated[str, typer.Option("--fail-on", help="Verdicts that fail (exit 1).")] = "slower,more memory,new failure",
    allow_env_mismatch: Annotated[bool, typer.Option("--allow-env-mismatch", help="Compare across environments.")] = False,
    output_format: CompareFormat = "table",
    output: Annotated[Optional[Path], typer.Option("--output", help="Also write .md, .json or .xml (JUnit).")] = None,
) -> None:
    """Compare two runs cell by cell: exit 0 no regression, 1 regression, 2 unusable input."""
    from benchbed.analysis.compare import compare_cells
    from benchbed.analysis.sources import load_side

    if output_format not in ("table", "md", "json", "junit"):
        raise BenchbedError(f"unknown --format {output_format!r}; choose table, md, json or junit")
    thresholds = _thresholds(min_effect, throughput_effect, memory_effect, alpha)
    verdicts = _fail_on(fail_on)
    base_side, current_side = load_side(base, db), load_side(current, db)
    rows = compare_cells(base_side.results, current_side.results, thresholds, allow_env_mismatch)
    if not any(r.verdict not in ("missing", "new") for r in rows):
        raise BenchbedError("BASE and CURRENT share no cell (network, backend, precision, scenario, batch)")
    raise typer.Exit(_emit_comparison(rows, base, current, verdicts, output_format, output))


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
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also draw the trends to a .png or .svg.")] = None,
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """A cell's trend across the stored runs, with step changes (change points), not single spikes."""
    from benchbed.analysis.history import METRICS, sparkline, trends
    from benchbed.sweep.store import Store

    if metric not in METRICS:
        raise BenchbedError(f"unknown --metric {metric!r}; choose one of {', '.join(METRICS)}")
    if not db.exists():
        raise BenchbedError(f"no results store at {db}; run `benchbed sweep` first or pass --db")
    filters = {k: v for k, v in (("network", network), ("backend", backend), ("precision", precision),
                                 ("scenario", scenario), ("batch", batch)) if v is not None}
    store = Store(db)
    try:
        found = trends(store, metric, filters, min_effect=min_effect)
    finally:
        store.close()
    if not found:
        raise BenchbedError("no stored results match these filters")
    if plot is not None:
        from benchbed.analysis.history import plot_trends

        if plot.suffix not in (".png", ".svg"):
            raise BenchbedError(f"--plot {plot}: use a .png or .svg file name")
        try:
            plot_trends(found, str(plot), metric)
        except OSError as exc:
            raise BenchbedError(f"cannot write --plot {plot}: {exc.strerror or exc}") from None
        _say(f"plot: {plot}")
    if output_format is OutputFormat.json:
        print(json.dumps([t.to_dict() for t in found], indent=2))
        return
    table = Table(title=f"history of {metric} ({len(found)} cells); | marks a step change")
    for column in ("cell", "runs", "trend", "first", "last", "step changes"):
        table.add_column(column)
    for trend in found:
        values = [p.value for p in trend.points]
        steps = "; ".join(f"{c['run_id']}: {c['before']:.4g} -> {c['after']:.4g}" for c in trend.to_dict()["change_points"])
        table.add_row(escape(trend.key), str(len(values)), sparkline(values, trend.change_points), f"{values[0]:.4g}",
                      f"{values[-1]:.4g}", steps or "-")
    console.print(table)


@app.command()
def abtest(
    base_python: Annotated[Path, typer.Option("--base-python", help="Python of the BASE checkout's environment.")],
    sweep_args: Annotated[str, typer.Option("--sweep-args", help="Arguments for both sweeps, quoted.")] = "--phi 0 --quick",
    current_python: Annotated[Optional[Path], typer.Option("--current-python", help="Default: this Python.")] = None,
    rounds: Annotated[int, typer.Option("--rounds", help="A B rounds (order alternates).")] = 3,
    work: Annotated[Path, typer.Option("--work", help="Folder for both sides' stores and results.")] = Path("reports/abtest"),
    min_effect: Annotated[float, typer.Option("--min-effect")] = 0.05,
    alpha: Annotated[float, typer.Option("--alpha")] = 0.01,
    fail_on: Annotated[str, typer.Option("--fail-on")] = "slower,more memory,new failure",
    output_format: CompareFormat = "table",
    output: Annotated[Optional[Path], typer.Option("--output")] = None,
) -> None:
    """Run BASE and CURRENT sweeps interleaved (A B, B A, ...) on this machine, then compare them."""
    import shlex
    import subprocess

    from benchbed.analysis.compare import compare_cells
    from benchbed.analysis.sources import load_side

    if rounds < 1:
        raise BenchbedError(f"--rounds must be >= 1, got {rounds}")
    current_python = current_python or Path(sys.executable)
    for label, python in (("--base-python", base_python), ("--current-python", current_python)):
        if not python.exists():
            raise BenchbedError(f"{label} {python}: no such interpreter")
    thresholds = _thresholds(min_effect, min_effect, 0.10, alpha)
    verdicts = _fail_on(fail_on)
    args = shlex.split(sweep_args)
    if any(a in ("--db", "--reports", "--resume", "--run-id", "--format") for a in args):
        raise BenchbedError("--sweep-args must not set --db, --reports, --resume, --run-id or --format")
    sides = {"base": base_python, "current": current_python}
    for index in range(rounds):
        order = ["base", "current"] if index % 2 == 0 else ["current", "base"]
        for side in order:
            folder = work / side
            _say(f"round {index + 1}/{rounds}: {side}")
            done = subprocess.run([str(sides[side]), "-m", "benchbed.cli", "sweep", *args, "--db",
                                   str(folder / "store.sqlite"), "--reports", str(folder), "--format", "json"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise BenchbedError(f"{side} sweep failed (exit {done.returncode}): {last}")
    base_side, current_side = load_side(str(work / "base"), None), load_side(str(work / "current"), None)
    rows = compare_cells(base_side.results, current_side.results, thresholds, allow_env_mismatch=True)
    raise typer.Exit(_emit_comparison(rows, f"{base_python} x{rounds}", f"{current_python} x{rounds}", verdicts,
                                      output_format, output))


@app.command()
def info(output_format: FormatOpt = OutputFormat.table) -> None:
    """The environment fingerprint and which backends are usable here, and why not."""
    from benchbed.backends import probe_all
    from benchbed.core.environment import environment

    env = environment()
    backends = [{"backend": n, "usable": ok, "reason": why} for n, ok, why in probe_all()]
    ort_package = _onnxruntime_package()
    if output_format is OutputFormat.json:
        env.pop("cpu_flags", None)
        print(json.dumps({"environment": env, "onnxruntime_package": ort_package, "backends": backends}, indent=2))
        return
    table = Table(title="environment")
    table.add_column("field")
    table.add_column("value")
    for key in ("cpu_model", "physical_cores", "logical_cores", "memory_bytes", "os", "python", "benchbed_version",
                "git_commit", "fingerprint"):
        table.add_row(key, str(env.get(key)))
    table.add_row("cpu_speed_flags", " ".join(env["cpu_speed_flags"]))
    table.add_row("gpus", ", ".join(f"{g['name']} (driver {g['driver']})" for g in env["gpus"]) or "none found")
    table.add_row("libraries", ", ".join(f"{k} {v}" for k, v in sorted(env["versions"].items())))
    table.add_row("onnxruntime package", ort_package)
    console.print(table)
    btable = Table(title="backends")
    for column in ("backend", "usable", "why"):
        btable.add_column(column)
    for row in backends:
        btable.add_row(row["backend"], "yes" if row["usable"] else "no", escape(row["reason"]))  # "[gpu]" is text
    console.print(btable)


def _onnxruntime_package() -> str:
    """Which onnxruntime distribution is installed: they must never both be (they overwrite each other)."""
    from benchbed.core.versions import package_version

    cpu, gpu = package_version("onnxruntime"), package_version("onnxruntime-gpu")
    if cpu and gpu:
        return f"CONFLICT: onnxruntime {cpu} and onnxruntime-gpu {gpu} both installed; uninstall both, install one"
    return f"onnxruntime-gpu {gpu}" if gpu else f"onnxruntime {cpu} (CPU)" if cpu else "none"


@app.command()
def selftest(
    resolution: Annotated[int, typer.Option("--resolution", help="Input size of the test network.")] = 64,
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """Build, run and check parity on every usable backend with a small network; exit 1 if one fails."""
    import tempfile
    from dataclasses import replace

    from benchbed.backends import probe_all
    from benchbed.measure.timing import get_profile
    from benchbed.sweep.store import Store
    from benchbed.sweep.run import SweepConfig, open_run, run_sweep

    probes = probe_all()
    usable = [name for name, ok, _ in probes if ok]
    rows: dict[str, dict] = {name: {"backend": name, "usable": ok, "why": why, "status": "skipped" if not ok else "?"}
                             for name, ok, why in probes}
    with tempfile.TemporaryDirectory(prefix="benchbed-selftest-") as tmp:
        config = SweepConfig(phis=[0.0], mode="preset", alpha=PAPER_ALPHA, beta=PAPER_BETA, gamma=PAPER_GAMMA,
                             overrides={"width": 0.5, "resolution": resolution}, backend=",".join(usable),
                             precisions=["fp32"], scenarios=["single-stream"],
                             profile=replace(get_profile("quick"), min_seconds=0.2), max_batch=1,
                             models_dir=f"{tmp}/models", reports_dir=f"{tmp}/reports")
        store = Store(f"{tmp}/store.sqlite")
        try:
            from benchbed.core.environment import environment

            run_id, _ = open_run(store, config, environment(), False, None)
            for doc in run_sweep(config, store, run_id):
                row = rows[doc["cell"]["backend"]]
                if doc["status"] != "ok":
                    row.update(status="FAIL", why=doc.get("error", "failed"))
                    continue
                parity = doc.get("parity")
                passed = doc["validity"]["status"] == "VALID" and (parity is None or parity["passed"])
                row.update(status="PASS" if passed else "FAIL", p50_ms=doc["stats"]["p50_ms"],
                           parity=None if parity is None else parity["max_rel_error"],
                           device_p50_ms=doc["timing"].get("device_stats", {}).get("p50_ms"),
                           why="; ".join(doc["validity"]["reasons"]) or row["why"])
            if rows.get("tensorrt", {}).get("status") == "PASS":
                rows["tensorrt"].update(_trtexec_beside(Path(tmp) / "models"))
        finally:
            store.close()
    failed = [r for r in rows.values() if r["status"] == "FAIL"]
    if output_format is OutputFormat.json:
        print(json.dumps(list(rows.values()), indent=2))
    else:
        table = Table(title=f"benchbed selftest (EfficientNet-B0 at width 0.5, {resolution} px, fp32)")
        for column in ("backend", "result", "parity rel err", "p50 ms", "GPU p50 ms", "trtexec median ms", "notes"):
            table.add_column(column)
        ms = lambda value: "-" if value is None else f"{value:.3g}"  # noqa: E731
        for r in rows.values():
            table.add_row(r["backend"], r["status"], "-" if r.get("parity") is None else f"{r['parity']:.1e}",
                          ms(r.get("p50_ms")), ms(r.get("device_p50_ms")), ms(r.get("trtexec_median_ms")),
                          escape(r["why"] + (f"; trtexec: {r['trtexec']}" if r.get("trtexec") else "")))
        console.print(table)
    raise typer.Exit(1 if failed else 0)


def _trtexec_beside(models: Path) -> dict:
    """trtexec's median latency (and GPU compute time) on the selftest's ONNX, for the tensorrt row."""
    import shutil

    if shutil.which("trtexec") is None:
        return {"trtexec": "not on PATH"}
    from benchbed.backends.tensorrt.build import profile_shapes
    from benchbed.backends.tensorrt.trtexec import run_trtexec

    onnx_path = next(models.glob("*/fp32.onnx"), None)
    if onnx_path is None:
        return {"trtexec": "no fp32 ONNX found"}
    name, (shape, _, _) = next(iter(profile_shapes(onnx_path, 1).items()))
    result = run_trtexec(onnx_path, name, shape)
    return {"trtexec_median_ms": result.get("median_ms"),
            "trtexec_gpu_compute_median_ms": result.get("gpu_compute_median_ms"),
            "trtexec": result.get("error") or result["command"]}


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
    except typer.Exit as exc:
        return exc.exit_code
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


def run() -> None:  # console script
    sys.exit(main())


if __name__ == "__main__":
    run()
