"""Plan and run a sweep: export each network, then measure every cell in a fresh worker, storing as we go.

One cell = (network, backend, precision, scenario, batch). Results are committed one cell at a time,
so an interrupted sweep keeps every finished cell and ``--resume`` measures only what is missing.
The parent process exports (torch, CPU) and never touches an accelerator; workers do the measuring.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from benchbed.artifacts import sha256_json
from benchbed.errors import BenchbedError
from benchbed.executor import run_cell
from benchbed.measure.timing import TimingProfile
from benchbed.precision import get_precision
from benchbed.scenarios import Limits, get_scenario
from benchbed.store import Store, cell_key, write_results_json


@dataclass(frozen=True)
class SweepConfig:
    """Everything that defines which cells a sweep measures and how (the resume key hashes it)."""

    phis: list[float]
    mode: str
    alpha: float
    beta: float
    gamma: float
    overrides: dict
    backend: str
    precisions: list[str]
    scenarios: list[str]
    profile: TimingProfile
    max_batch: int
    threads: int | None = None
    io_binding: bool = True
    cell_timeout: float | None = None
    backend_extra: dict = field(default_factory=dict)
    sla_ms: float | None = None  # MLPerf server / multistream latency bound
    sla_percentile: float | None = None
    max_queue_delay_ms: float = 2.0
    loadgen_strict: bool = False
    models_dir: str = "models"
    reports_dir: str = "reports"
    extra: dict = field(default_factory=dict)

    def identity(self) -> dict:
        """The fields that make two sweeps the same sweep (paths and timeouts excluded)."""
        data = asdict(self)
        for key in ("models_dir", "reports_dir", "cell_timeout"):
            data.pop(key)
        return data

    def sha(self) -> str:
        return sha256_json(self.identity())[:16]

    def limits(self) -> Limits:
        return Limits(self.max_batch, self.profile.max_seconds, self.profile.min_iterations)

    def timeout(self) -> float:
        if self.cell_timeout:
            return self.cell_timeout
        if any(s.startswith("mlperf-") for s in self.scenarios):
            return 3600.0 if not self.loadgen_strict else 14 * 700.0
        p = self.profile
        return 300.0 + 2.0 * (p.max_seconds + max(p.warmup_seconds, 1.0) * 2)


class SweepUI(Protocol):
    def message(self, text: str) -> None: ...

    def start_cell(self, label: str) -> None: ...

    def phase(self, label: str, phase: str) -> None: ...

    def finish_cell(self, label: str, document: dict) -> None: ...

    def add_planned(self, count: int) -> None: ...


class SilentUI:
    def message(self, text: str) -> None: ...

    def start_cell(self, label: str) -> None: ...

    def phase(self, label: str, phase: str) -> None: ...

    def finish_cell(self, label: str, document: dict) -> None: ...

    def add_planned(self, count: int) -> None: ...


def validate_config(config: SweepConfig) -> None:
    for name in config.precisions:
        get_precision(name)
    for name in config.scenarios:
        get_scenario(name)
    if config.max_batch < 1:
        raise BenchbedError(f"--max-batch must be >= 1, got {config.max_batch}")
    if config.threads is not None and config.threads < 1:
        raise BenchbedError(f"--threads must be >= 1, got {config.threads}")
    if config.cell_timeout is not None and config.cell_timeout <= 0:
        raise BenchbedError(f"--cell-timeout must be > 0 seconds, got {config.cell_timeout}")
    if config.sla_ms is not None and not config.sla_ms > 0:
        raise BenchbedError(f"--sla-p99 must be > 0, got {config.sla_ms:g} ms")
    if config.sla_percentile is not None and not 50 <= config.sla_percentile < 100:
        raise BenchbedError(f"--sla-percentile must be in [50, 100), got {config.sla_percentile:g}")
    if "mlperf-server" in config.scenarios and config.sla_ms is None:
        raise BenchbedError("--scenario mlperf-server needs a latency SLA: add --sla-p99 20ms")
    if config.max_queue_delay_ms < 0:
        raise BenchbedError(f"--max-queue-delay must be >= 0 ms, got {config.max_queue_delay_ms:g}")
    if any(s.startswith("mlperf-") for s in config.scenarios):
        try:
            import mlperf_loadgen  # noqa: F401
        except ImportError:
            raise BenchbedError("MLPerf scenarios need LoadGen: pip install 'benchbed[mlperf]'") from None
    config.profile.validate()


def _network_specs(config: SweepConfig) -> list:
    from benchbed.arch import network_spec

    return [network_spec(phi, config.mode, alpha=config.alpha, beta=config.beta, gamma=config.gamma,
                         **config.overrides) for phi in config.phis]


def open_run(store: Store, config: SweepConfig, environment: dict, resume: bool, run_id: str | None) -> tuple[str, bool]:
    """(run id, resumed?): a new run, or the one to resume (by id, or the latest with this config)."""
    if run_id:
        run = store.run(run_id)  # raises a one-line error for an unknown id
        if run["config_sha"] != config.sha():
            raise BenchbedError(f"run {run_id} was a different sweep (config {run['config_sha']}); "
                                "resume it with the same options it was started with")
        return run_id, True
    if resume:
        latest = store.latest_run(config.sha())
        if latest is None:
            raise BenchbedError("--resume: no earlier run of this sweep in the store; run it without --resume")
        return latest, True
    return store.create_run(config.identity() | {"backend": config.backend, "profile": config.profile.name},
                            config.sha(), environment), False


def run_sweep(config: SweepConfig, store: Store, run_id: str, ui: SweepUI = SilentUI(),
              cell_runner: Callable[[dict, float, Callable[[str], None]], dict] = run_cell) -> list[dict]:
    """Measure every missing cell of ``run_id``; returns the run's result documents."""
    from benchbed.export import PARITY_SEED, export_network

    validate_config(config)
    reports = Path(config.reports_dir)
    done = {cell_key(d["cell"]): d for d in store.results(run_id)}
    specs = _network_specs(config)
    ui.add_planned(sum(1 for spec in specs for precision in config.precisions for s in config.scenarios
                       if get_scenario(s).next_batch(_by_batch(done, spec.name, config.backend, precision, s),
                                                     config.limits()) is not None))
    status = "interrupted"
    try:
        for spec in specs:
            info = spec.summary()
            for precision in config.precisions:
                label = f"{spec.name} {precision}"
                artifact, export_error = None, None
                needs_export = any(
                    get_scenario(s).next_batch(_by_batch(done, spec.name, config.backend, precision, s),
                                               config.limits()) is not None for s in config.scenarios)
                if needs_export:
                    ui.phase(label, "export")
                    try:
                        artifact = export_network(spec, precision, config.models_dir,
                                                  progress=lambda m: ui.phase(label, f"export: {m.split(': ', 1)[-1]}"))
                    except BenchbedError as exc:
                        if "cannot write to" in str(exc):
                            raise  # a bad --models-dir is the user's to fix, not a failed cell
                        export_error = f"export failed: {exc}"
                    except Exception as exc:  # an export crash fails this network's cells, not the sweep
                        export_error = f"export failed: {type(exc).__name__}: {exc}"
                for scenario_name in config.scenarios:
                    scenario = get_scenario(scenario_name)
                    while True:
                        by_batch = _by_batch(done, spec.name, config.backend, precision, scenario_name)
                        batch = scenario.next_batch(by_batch, config.limits())
                        if batch is None:
                            break
                        cell = {"network": spec.name, "backend": config.backend, "precision": precision,
                                "scenario": scenario_name, "batch": batch}
                        cell_label = f"{spec.name} {config.backend} {precision} {scenario_name} b{batch}"
                        ui.start_cell(cell_label)
                        if artifact is None:
                            document = {"status": "failed", "cell": cell, "network_info": info,
                                        "error": export_error or "no artifact"}
                        else:
                            job = {"cell": cell, "artifact": str(artifact.path),
                                   "reference": str(artifact.path.parent / "reference_outputs.npy"),
                                   "parity_seed": PARITY_SEED, "parity_tolerance": get_precision(precision).tolerance,
                                   "resolution": spec.resolution, "profile": config.profile.to_dict(),
                                   "backend_options": {"threads": config.threads, "io_binding": config.io_binding,
                                                       "extra": dict(config.backend_extra)},
                                   "mlperf": {"duration_ms": int(max(config.profile.min_seconds, 1.0) * 1000),
                                              "strict": config.loadgen_strict, "sla_ms": config.sla_ms,
                                              "percentile": config.sla_percentile / 100
                                              if config.sla_percentile else None,
                                              "max_queue_delay_ms": config.max_queue_delay_ms,
                                              "log_dir": str(reports / run_id / "loadgen" /
                                                             cell_key(cell).replace("|", "__").replace("@", "_"))},
                                   "network_info": info | {"artifact_sha256": artifact.sha256,
                                                           "export_parity": artifact.manifest["parity"]}}
                            document = cell_runner(job, config.timeout(), lambda p, lab=cell_label: ui.phase(lab, p))
                        store.add_result(run_id, document)  # one transaction: this cell is safe now
                        done[cell_key(cell)] = document
                        write_results_json(store, run_id, reports)
                        ui.finish_cell(cell_label, document)
                        following = _by_batch(done, spec.name, config.backend, precision, scenario_name)
                        if scenario.next_batch(following, config.limits()) is not None:
                            ui.add_planned(1)
        status = "complete"
    finally:
        store.set_run_status(run_id, status)
        write_results_json(store, run_id, reports)
    return store.results(run_id)


def _by_batch(done: dict[str, dict], network: str, backend: str, precision: str, scenario: str) -> dict[int, dict]:
    prefix = f"{network}|{backend}|{precision}|{scenario}|"
    return {int(key.rsplit("|", 1)[1]): doc for key, doc in done.items() if key.startswith(prefix)}
