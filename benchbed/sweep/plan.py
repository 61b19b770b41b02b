"""Which cells a sweep measures: groups (network × backend × precision × scenario × hardware), each
group's next batch as its scenario decides from the results so far, and the :class:`Job` for a cell."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from benchbed.core.cell import Cell
from benchbed.core.files import path_inside
from benchbed.core.job import ExportRecipe, Job, MlperfSettings
from benchbed.sweep.config import SweepConfig


@dataclass(frozen=True)
class Group:
    """A cell without its batch: its scenario decides which batches it is measured at."""

    spec: object  # networks.NetworkSpec
    backend: str
    precision: str
    scenario: str
    hardware: str | None

    def key(self) -> tuple:
        return (self.spec.name, self.backend, self.precision, self.scenario, self.hardware)

    def cell(self, batch: int) -> Cell:
        return Cell(self.spec.name, self.backend, self.precision, self.scenario, batch, self.hardware)


def groups(config: SweepConfig) -> list[Group]:
    from benchbed.networks import NetworkRecipe

    from benchbed.artifacts.user_onnx import OnnxModel

    specs: list = [NetworkRecipe(phi, config.mode, config.alpha, config.beta, config.gamma, dict(config.overrides),
                                 config.baseline, config.baseline_doc).spec() for phi in config.phis]
    specs += [OnnxModel.from_dict(doc) for doc in config.onnx]  # a user's ONNX files measured as networks
    return [Group(spec, backend, precision, scenario, hardware) for spec in specs
            for backend in config.backends for precision in config.precisions
            for scenario in config.scenarios for hardware in (config.hardware or [None])]


def next_cell(config: SweepConfig, group: Group, done: dict[str, dict]) -> Cell | None:
    """The group's next cell given every stored result of the run (None once its scenario is answered)."""
    from benchbed.scenarios import get_scenario

    by_batch = {int(doc["cell"]["batch"]): doc for doc in done.values()
                if Cell.from_dict(doc["cell"]).group() == group.key()}
    limits = config.limits()
    fixed = getattr(group.spec, "static_batch", None)  # a user's graph whose batch axis is fixed runs only that
    if fixed:
        limits = replace(limits, max_batch=min(limits.max_batch, fixed))
    batch = get_scenario(group.scenario).next_batch(by_batch, limits)
    return None if batch is None else group.cell(batch)


def make_job(config: SweepConfig, spec, precision: str, cell: Cell, run_id: str, order: int) -> Job:
    """Everything a node needs to measure one cell, including how to make its artifact."""
    from benchbed.artifacts.precision import get_precision
    from benchbed.measure.contention import Guard
    from benchbed.networks import NetworkRecipe

    from benchbed.artifacts.user_onnx import OnnxModel

    log_name = cell.key().replace("|", "__").replace("@", "_")
    user = isinstance(spec, OnnxModel)
    return Job(
        cell=cell, order=order, resolution=spec.resolution, profile=config.profile.to_dict(),
        input_shape=list(spec.sample_shape) if user else None,
        export=ExportRecipe(spec.to_dict() if user else NetworkRecipe.of(spec).to_dict(), precision,
                            config.models_dir),
        parity_tolerance=get_precision(precision).tolerance,
        backend_options={"threads": config.threads, "io_binding": config.io_binding,
                         "extra": dict(config.backend_extra.get(cell.backend, {}))},
        max_batch=config.max_batch,  # engine-building GPU backends size their optimization profile by it
        mlperf=MlperfSettings(duration_ms=int(max(config.profile.min_seconds, 1.0) * 1000),
                              strict=config.loadgen_strict, sla_ms=config.sla_ms,
                              percentile=config.sla_percentile / 100 if config.sla_percentile else None,
                              max_queue_delay_ms=config.max_queue_delay_ms, max_qps=config.max_qps,
                              log_dir=str(path_inside(Path(config.reports_dir), run_id, "loadgen", log_name))),
        network_info=spec.summary(),
        contention=Guard.with_limit(config.max_foreign_cpu).to_dict(),  # the cores other processes may use
    )
