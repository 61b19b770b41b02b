"""A :class:`Job`: everything a worker (a local process or a Ray task) needs to measure one cell, as JSON.

The parent plans jobs (sweep/plan.py); a launcher hands each to a worker, which returns a
``Result``/``Failure`` document. Nothing but this value crosses that boundary, so the local and
the Ray launchers cannot disagree about what a job holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from benchbed.core.cell import Cell


@dataclass(frozen=True)
class ExportRecipe:
    """The network to make (``NetworkRecipe`` as a dict: φ, mode, coefficients, overrides, baseline), its
    precision and where artifacts are cached; exported on the machine that measures the job."""

    network: dict
    precision: str
    models_dir: str


@dataclass(frozen=True)
class MlperfSettings:
    """What the MLPerf LoadGen scenarios need (ignored by the others)."""

    duration_ms: int
    strict: bool = False
    sla_ms: float | None = None
    percentile: float | None = None
    max_queue_delay_ms: float = 2.0
    log_dir: str = ""
    search_precision: float = 0.05
    max_trials: int = 12
    max_qps: float = 20000.0  # the server search's ceiling (LoadGen's query schedule grows with the rate)


@dataclass(frozen=True)
class Job:
    cell: Cell
    resolution: int
    profile: dict  # measure.timing.TimingProfile.to_dict()
    backend_options: dict  # backends.BackendOptions.to_dict(): threads, io_binding, this backend's extra
    parity_tolerance: float = 1e-4  # the artifact precision's bound (artifacts.precision)
    max_batch: int = 1  # the sweep's largest batch: engine-building backends size their profiles by it
    mlperf: MlperfSettings = field(default_factory=lambda: MlperfSettings(duration_ms=1000))
    network_info: dict = field(default_factory=dict)
    order: int = 0  # position in the sweep: a local launcher runs jobs in this order
    input_shape: list | None = None  # one sample's input dims for a user's ONNX file (None: 3 x resolution²)
    contention: dict = field(default_factory=dict)  # measure.contention.Guard.to_dict() ({}: the guard's defaults)
    export: ExportRecipe | None = None  # how to make the artifact, when it is not given
    # set once the artifact exists (launchers resolve it on the measuring machine)
    artifact: str | None = None
    reference: str | None = None
    parity_seed: int | None = None
    export_error: str | None = None

    def with_artifact(self, artifact: str, reference: str, parity_seed: int, network_info: dict) -> "Job":
        return replace(self, artifact=artifact, reference=reference, parity_seed=parity_seed,
                       network_info=network_info)

    def with_export_error(self, error: str) -> "Job":
        return replace(self, export_error=error)

    def to_json(self) -> dict:
        data = asdict(self)
        data["cell"] = self.cell.to_dict()
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Job":
        data = dict(data)
        data["cell"] = Cell.from_dict(data["cell"], "job")
        if data.get("export") is not None:
            data["export"] = ExportRecipe(**data["export"])
        if data.get("mlperf") is not None:
            data["mlperf"] = MlperfSettings(**data["mlperf"])
        else:
            data.pop("mlperf", None)
        return cls(**data)
