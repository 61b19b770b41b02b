"""``benchbed sweep``: generate, export, measure and report every φ (the library's ``sweep.session``)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from benchbed.cli.app import app, err_console, print_results, say
from benchbed.cli.options import (AlphaOpt, BaselineOpt, BetaOpt, DbOpt, DepthOpt, FormatOpt, GammaOpt, ModeOpt, OutputFormat,
                                  PhiOpt, ReportsOpt, ResOpt, WidthOpt, csv_list, key_value_pairs, milliseconds,
                                  refuse_network_options, specs)
from benchbed.core.errors import BenchbedError
from benchbed.networks.scaling import PAPER_ALPHA, PAPER_BETA, PAPER_GAMMA

if TYPE_CHECKING:
    from benchbed.sweep import SweepConfig
    from benchbed.sweep.session import RunOptions

SCENARIO_HELP = ("Comma list: single-stream, offline, mlperf-singlestream, mlperf-multistream, mlperf-server, "
                 "mlperf-offline.")
MAX_FOREIGN_CPU_HELP = ("Other processes may use at most this many CPU cores during a measurement: above it the cell "
                        "waits for a quiet moment and is measured again, and is INVALID if still crowded. A large "
                        "value (e.g. 1000) effectively turns the guard off. Default 0.25, or $BENCHBED_MAX_FOREIGN_CPU.")
BACKEND_OPTION_HELP = ("KEY=VALUE for every selected backend that takes KEY, or BACKEND.KEY=VALUE for that backend "
                       "only (e.g. openvino.hint=throughput); repeatable. An option no selected backend takes is an "
                       "error.")


def _measure(config: SweepConfig, options: RunOptions, quiet: bool) -> tuple[dict, list[dict]]:
    """Open the run, say which it is, measure with the live view; Ctrl-C: say how to resume, exit 130."""
    from benchbed.report.terminal import RichSweepUI
    from benchbed.sweep.session import SweepInterrupted, SweepSession

    try:
        with SweepSession(config, options) as session:
            if not quiet:
                say(f"run {session.run_id}" + (" (resumed: measuring only missing cells)" if session.resumed else "")
                    + f", store {options.db}")
            with nullcontext(None) if quiet else RichSweepUI(err_console) as ui:
                return session.run(ui)
    except SweepInterrupted as stop:
        how = "terminated (SIGTERM)" if stop.exit_code == 143 else "interrupted"
        say(f"benchbed: {how}; {stop.kept} finished cells kept in {stop.db}. Resume with the same command "
            "plus --resume")
        raise typer.Exit(stop.exit_code) from None


def _paired(db, run_id: str) -> list[dict]:
    """The run's interleaved comparisons as stored (sweep.paired), for the report's opening section."""
    from benchbed.analysis.sources import stored_paired
    from benchbed.sweep.store import Store

    store = Store(db)
    try:
        return stored_paired(store, run_id)
    finally:
        store.close()


@app.command()
def sweep(
    ctx: typer.Context,
    phi: PhiOpt = "0-7",
    mode: ModeOpt = "preset",
    alpha: AlphaOpt = PAPER_ALPHA,
    beta: BetaOpt = PAPER_BETA,
    gamma: GammaOpt = PAPER_GAMMA,
    width: WidthOpt = None,
    depth: DepthOpt = None,
    resolution: ResOpt = None,
    baseline: BaselineOpt = "efficientnet-b0",
    backend: Annotated[str, typer.Option("--backend", help="auto, or backends `benchbed info` lists (comma list).")] =
        "auto",
    precision: Annotated[str, typer.Option("--precision", help="Comma list of fp32, fp16, int8, int8-nncf.")] = "fp32",
    scenario: Annotated[str, typer.Option("--scenario", help=SCENARIO_HELP)] = "single-stream,offline",
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
    max_qps: Annotated[float, typer.Option("--max-qps", help="mlperf-server: the QPS search's ceiling.")] = 20000.0,
    max_foreign_cpu: Annotated[Optional[float], typer.Option("--max-foreign-cpu", metavar="CORES",
                                                             help=MAX_FOREIGN_CPU_HELP)] = None,
    backend_option: Annotated[Optional[list[str]], typer.Option("--backend-option", help=BACKEND_OPTION_HELP)] = None,
    executor: Annotated[str, typer.Option("--executor", help="local (worker processes) or ray.")] = "local",
    address: Annotated[Optional[str], typer.Option("--address", help="Ray cluster address (default: a local one).")] = None,
    hardware: Annotated[Optional[str], typer.Option("--hardware", help="Ray: node types, comma list (A100, hw:LABEL).")] = None,
    ray_retries: Annotated[int, typer.Option("--ray-retries", help="Ray: retries of a cell whose node died.")] = 1,
    onnx: Annotated[Optional[Path], typer.Option(
        "--onnx", help="Measure your own ONNX file, or every .onnx in a folder, instead of generated networks.")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="--onnx: the network's name (default: file stem).")] =
        None,
    shapes: Annotated[Optional[str], typer.Option(
        "--shapes", help="--onnx: input dims for dynamic axes other than batch, trtexec style: input:1x3x224x224.")] =
        None,
    paired_budget: Annotated[float, typer.Option(
        "--paired-budget", help="Seconds per network to interleave its backends/precisions after the cells "
                                "(ratios with intervals); 0: off.")] = 20.0,
    paired_min_effect: Annotated[float, typer.Option(
        "--paired-min-effect", help="Ratio change the paired comparison resolves (0.03 = 3 %).")] = 0.03,
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """Generate, export, measure and report every φ (or your --onnx files): the main job. Resumable with --resume."""
    config, backends, skipped = build_config(locals())
    from benchbed.core.files import ensure_writable_dir
    from benchbed.core.user_files import check_encodable_path
    from benchbed.report.markdown import write_report
    from benchbed.sweep.session import RunOptions

    options = RunOptions(db=db, resume=resume, run_id=run_id, executor=executor, address=address,
                         ray_retries=ray_retries)
    options.check(config)
    ensure_writable_dir(check_encodable_path(models, "--models"), "--models")
    ensure_writable_dir(check_encodable_path(reports, "--reports"), "--reports")
    quiet = output_format is OutputFormat.json
    if "auto" in backends and not quiet:
        say(f"backend auto -> {config.backend}" + "".join(f"\n  skipped {line}" for line in skipped))
    run, results = _measure(config, options, quiet)
    paired = _paired(options.db, run["run_id"])
    report = write_report(run, results, reports, paired=paired)
    print_results(run, results, quiet, paired=paired)
    if not quiet:
        say(f"report: {report}\nresults: {report.parent / 'results.json'}")


def build_config(params: dict) -> tuple[SweepConfig, list[str], list[str]]:
    """The sweep's options (the command's parameters by name, and ``ctx``: which of them the user typed) as a
    checked :class:`SweepConfig`, plus the backends asked for and the skipped-backend lines; ``abtest`` plans
    its cells from the same options."""
    from types import SimpleNamespace

    from benchbed.backends import route_options
    from benchbed.sweep import SweepConfig, check_precisions, validate_config
    from benchbed.sweep.session import resolve_backends, timing_profile

    p = SimpleNamespace(**params)
    if p.quick and p.strict:
        raise BenchbedError("--quick and --strict exclude each other")
    profile = timing_profile("quick" if p.quick else "strict" if p.strict else "default",
                             warmup_seconds=p.warmup_seconds, min_seconds=p.min_seconds,
                             min_iterations=p.min_iterations, max_seconds=p.max_seconds)
    backends, precisions = csv_list(p.backend, "--backend"), csv_list(p.precision, "--precision")
    if (p.name is not None or p.shapes is not None) and p.onnx is None:
        raise BenchbedError("--name and --shapes go with --onnx")
    if p.onnx is not None:
        from benchbed.artifacts.user_onnx import load_onnx_models
        from benchbed.sweep.config import check_user_onnx

        refuse_network_options(p.ctx)
        check_user_onnx(precisions, [b for b in backends if b != "auto"])
        user_models = [m.to_dict() for m in load_onnx_models(p.onnx, p.name, p.shapes)]
        check_user_onnx(precisions, [], user_models)
        networks = []  # the files are the networks
    else:
        user_models = []
        networks = specs(p.phi, p.mode, p.alpha, p.beta, p.gamma, p.width, p.depth, p.resolution, p.baseline)
    check_precisions(precisions, backends)
    chosen, skipped = resolve_backends(backends)
    overrides = {k: v for k, v in (("width", p.width), ("depth", p.depth), ("resolution", p.resolution))
                 if v is not None}
    custom = networks[0].custom_baseline if networks else None
    config = SweepConfig(phis=[s.scaling.phi for s in networks], mode=p.mode, alpha=p.alpha, beta=p.beta,
                         gamma=p.gamma, baseline=networks[0].baseline if networks else "efficientnet-b0",
                         baseline_doc=custom.to_dict() if custom is not None else None, onnx=user_models,
                         overrides=overrides, backend=chosen, precisions=precisions,
                         scenarios=csv_list(p.scenario, "--scenario"), profile=profile, max_batch=p.max_batch,
                         threads=p.threads, io_binding=p.io_binding, cell_timeout=p.cell_timeout,
                         models_dir=str(p.models), reports_dir=str(p.reports),
                         backend_extra=route_options(key_value_pairs(p.backend_option or []), chosen.split(",")),
                         sla_ms=milliseconds(p.sla_p99, "--sla-p99") if p.sla_p99 is not None else None,
                         sla_percentile=p.sla_percentile, max_queue_delay_ms=p.max_queue_delay,
                         loadgen_strict=p.strict, max_qps=p.max_qps, paired_seconds=p.paired_budget,
                         paired_min_effect=p.paired_min_effect,
                         **({} if p.max_foreign_cpu is None else {"max_foreign_cpu": p.max_foreign_cpu}),
                         hardware=csv_list(p.hardware, "--hardware") if p.hardware else [])
    validate_config(config)
    return config, backends, skipped


def parse_sweep_args(words: list[str]) -> SweepConfig:
    """``benchbed sweep``'s arguments, parsed by the command's own options, as a :class:`SweepConfig`."""
    command = typer.main.get_command(app).commands["sweep"]
    from typer import _click as click  # typer >= 0.24 vendors click (as cli/app.py)

    try:
        context = command.make_context("sweep", list(words), resilient_parsing=False)
    except click.ClickException as exc:
        raise BenchbedError(f"--sweep-args: {exc.format_message()}") from None
    except typer.Exit:  # --help: the help went to stdout, and there is nothing to compare
        raise BenchbedError("--sweep-args: give sweep options, not --help") from None
    return build_config(context.params | {"ctx": context})[0]
