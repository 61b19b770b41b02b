"""Plan and run a sweep: export each network, then measure every cell in a fresh worker, storing as we go.

One cell = (network, backend, precision, scenario, batch). Results are committed one cell at a time,
so an interrupted sweep keeps every finished cell and ``--resume`` measures only what is missing.
The parent process exports (torch, CPU) and never touches an accelerator; workers do the measuring.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from benchbed.core.files import path_inside, sha256_json
from benchbed.core.errors import BenchbedError, UnwritableFolderError
from benchbed.launchers.process import run_cell
from benchbed.measure.timing import TimingProfile
from benchbed.artifacts.precision import get_precision
from benchbed.scenarios import Limits, get_scenario
from benchbed.sweep.store import Store, cell_key, write_results_json


@dataclass(frozen=True)
class SweepConfig:
    """Everything that defines which cells a sweep measures and how (the resume key hashes it)."""

    phis: list[float]
    mode: str
    alpha: float
    beta: float
    gamma: float
    overrides: dict
    backend: str  # comma-joined when several backends are measured in one sweep
    precisions: list[str]
    scenarios: list[str]
    profile: TimingProfile
    max_batch: int
    threads: int | None = None
    io_binding: bool = True
    cell_timeout: float | None = None
    backend_extra: dict = field(default_factory=dict)  # {backend: {KEY: VALUE}}: each backend's own options
    sla_ms: float | None = None  # MLPerf server / multistream latency bound
    sla_percentile: float | None = None
    max_queue_delay_ms: float = 2.0
    loadgen_strict: bool = False
    hardware: list = field(default_factory=list)  # Ray: node types to measure on (each cell once per type)
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

    @property
    def backends(self) -> list[str]:
        return self.backend.split(",")

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


def check_precisions(precisions: list[str], backends: list[str]) -> None:
    """Unknown precisions, and a precision a named backend cannot run, are refused before anything starts."""
    for name in precisions:
        rule = get_precision(name)
        refused = [b for b in backends if b in rule.refused_by]
        if refused:
            raise BenchbedError(f"--precision {name} cannot run on {', '.join(refused)}: {rule.why_refused}")


def validate_config(config: SweepConfig) -> None:
    check_precisions(config.precisions, config.backends)
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
    from benchbed.networks import network_spec

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


def make_job(config: SweepConfig, spec, precision: str, cell: dict, run_id: str, order: int) -> dict:
    """Everything a node needs to measure one cell, including how to make its artifact (JSON only)."""
    reports = Path(config.reports_dir)
    return {
        "cell": cell, "order": order,
        "export": {"phi": spec.scaling.phi, "mode": spec.scaling.mode, "alpha": spec.scaling.alpha,
                   "beta": spec.scaling.beta, "gamma": spec.scaling.gamma, "overrides": dict(config.overrides),
                   "precision": precision, "models_dir": config.models_dir},
        "parity_tolerance": get_precision(precision).tolerance, "resolution": spec.resolution,
        "profile": config.profile.to_dict(),
        "backend_options": {"threads": config.threads, "io_binding": config.io_binding,
                            "extra": dict(config.backend_extra.get(cell["backend"], {}))},
        "max_batch": config.max_batch,  # engine-building GPU backends size their optimization profile by it
        "mlperf": {"duration_ms": int(max(config.profile.min_seconds, 1.0) * 1000), "strict": config.loadgen_strict,
                   "sla_ms": config.sla_ms,
                   "percentile": config.sla_percentile / 100 if config.sla_percentile else None,
                   "max_queue_delay_ms": config.max_queue_delay_ms,
                   "log_dir": str(path_inside(reports, run_id, "loadgen",
                                                  cell_key(cell).replace("|", "__").replace("@", "_")))},
        "network_info": spec.summary(),
    }


def resolve_artifact(job: dict, progress: Callable[[str], None] = lambda m: None) -> dict:
    """Export (or reuse from the cache) the job's artifact here, on the machine that will measure it.

    Returns the job with ``artifact``/``reference`` set, or raises :class:`BenchbedError` for a bad
    ``--models`` folder; any other export failure is returned as ``{"export_error": ...}``.
    """
    from benchbed.networks import network_spec
    from benchbed.artifacts.export import PARITY_SEED, export_network

    e = job["export"]
    spec = network_spec(e["phi"], e["mode"], alpha=e["alpha"], beta=e["beta"], gamma=e["gamma"], **e["overrides"])
    try:
        artifact = export_network(spec, e["precision"], e["models_dir"], progress=progress)
    except UnwritableFolderError:
        raise  # a bad --models folder is the user's to fix, not a failed cell
    except BenchbedError as exc:
        return dict(job, export_error=f"export failed: {exc}")
    except Exception as exc:  # an export crash fails this network's cells, not the sweep
        return dict(job, export_error=f"export failed: {type(exc).__name__}: {exc}")
    return dict(job, artifact=str(artifact.path), reference=str(artifact.path.parent / "reference_outputs.npy"),
                parity_seed=PARITY_SEED, network_info=job["network_info"] | {
                    "artifact_sha256": artifact.sha256, "export_parity": artifact.manifest["parity"]})


def export_failure(job: dict) -> dict:
    return {"status": "failed", "cell": job["cell"], "network_info": job.get("network_info"),
            "error": job["export_error"]}


class Executor(Protocol):
    """Runs submitted jobs; ``next_done`` blocks until one finishes and returns its result document."""

    def submit(self, job: dict, label: str) -> None: ...

    def pending(self) -> int: ...

    def next_done(self) -> tuple[str, dict]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """One cell at a time on this machine, each in a fresh worker process (the default).

    Jobs run in sweep order (a network's offline batches finish before the next network starts);
    artifacts are exported here, just before their first cell.
    """

    def __init__(self, timeout: float, ui: "SweepUI",
                 cell_runner: Callable[[dict, float, Callable[[str], None]], dict] = run_cell) -> None:
        self.timeout, self.ui, self.cell_runner = timeout, ui, cell_runner
        self._queue: list[tuple[int, int, dict, str]] = []
        self._count = 0

    def submit(self, job: dict, label: str) -> None:
        import heapq

        heapq.heappush(self._queue, (job["order"], self._count, job, label))
        self._count += 1

    def pending(self) -> int:
        return len(self._queue)

    def next_done(self) -> tuple[str, dict]:
        import heapq

        _, _, job, label = heapq.heappop(self._queue)
        self.ui.start_cell(label)
        job = resolve_artifact(job, lambda m: self.ui.phase(label, f"export: {m.split(': ', 1)[-1]}"))
        if "export_error" in job:
            return label, export_failure(job)
        return label, self.cell_runner(job, self.timeout, lambda p: self.ui.phase(label, p))

    def close(self) -> None:
        pass


def run_sweep(config: SweepConfig, store: Store, run_id: str, ui: SweepUI = SilentUI(),
              cell_runner: Callable[[dict, float, Callable[[str], None]], dict] = run_cell,
              executor: Executor | None = None) -> list[dict]:
    """Measure every missing cell of ``run_id``; returns the run's result documents.

    Cells are submitted to the executor as soon as they are known: each group's first batch at
    once, an offline group's next batch when its previous one has finished.
    """
    validate_config(config)
    reports = Path(config.reports_dir)
    executor = executor or LocalExecutor(config.timeout(), ui, cell_runner)
    done = {cell_key(d["cell"]): d for d in store.results(run_id)}
    groups = [(spec, backend, precision, scenario_name, hardware) for spec in _network_specs(config)
              for backend in config.backends for precision in config.precisions
              for scenario_name in config.scenarios for hardware in (config.hardware or [None])]

    def submit_next(index: int) -> bool:
        spec, backend, precision, scenario_name, hardware = groups[index]
        cell = {"network": spec.name, "backend": backend, "precision": precision, "scenario": scenario_name}
        if hardware:
            cell["hardware"] = hardware
        batch = get_scenario(scenario_name).next_batch(_by_batch(done, cell), config.limits())
        if batch is None:
            return False
        cell["batch"] = batch
        executor.submit(make_job(config, spec, precision, cell, run_id, index),
                        f"{spec.name} {backend} {precision} {scenario_name} b{batch}"
                        + (f" [{hardware}]" if hardware else ""))
        return True

    status = "interrupted"
    try:
        ui.add_planned(sum(submit_next(i) for i in range(len(groups))))
        while executor.pending():
            label, document = executor.next_done()
            store.add_result(run_id, document)  # one transaction: this cell is safe now
            done[cell_key(document["cell"])] = document
            write_results_json(store, run_id, reports)
            ui.finish_cell(label, document)
            c = document["cell"]
            index = next(i for i, (spec, backend, precision, scenario_name, hardware) in enumerate(groups)
                         if (spec.name, backend, precision, scenario_name, hardware) ==
                         (c["network"], c["backend"], c["precision"], c["scenario"], c.get("hardware")))
            if submit_next(index):
                ui.add_planned(1)
        status = "complete"
    finally:
        executor.close()
        store.set_run_status(run_id, status)
        write_results_json(store, run_id, reports)
    return store.results(run_id)


def _by_batch(done: dict[str, dict], group: dict) -> dict[int, dict]:
    """The stored results of one group (a cell without its batch), by batch."""
    fields = ("network", "backend", "precision", "scenario")
    return {int(doc["cell"]["batch"]): doc for doc in done.values()
            if all(doc["cell"][f] == group[f] for f in fields) and doc["cell"].get("hardware") == group.get("hardware")}
