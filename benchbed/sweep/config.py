"""What defines a sweep: :class:`SweepConfig`, built from typed parts and checked before anything runs."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field

from benchbed.core.errors import ConfigError
from benchbed.core.files import sha256_json
from benchbed.measure.contention import MAX_FOREIGN_CPU, default_limit
from benchbed.measure.timing import MAX_CELL_SECONDS, TimingProfile


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
    max_qps: float = 20000.0  # MLPerf server: the QPS search's ceiling
    # cores other processes may use during a measurement (measure.contention); default 0.25 or the environment's
    max_foreign_cpu: float = field(default_factory=default_limit)
    hardware: list = field(default_factory=list)  # Ray: node types to measure on (each cell once per type)
    models_dir: str = "models"
    reports_dir: str = "reports"
    baseline: str = "efficientnet-b0"  # a registered baseline's name, or a user baseline's own name
    baseline_doc: dict | None = None  # a user's baseline (YAML) as content: workers rebuild it from this
    onnx: list = field(default_factory=list)  # a user's ONNX files (artifacts.user_onnx.OnnxModel.to_dict())
    paired_seconds: float = 20.0  # per network: its variants interleaved after the cells (sweep.paired); 0: off
    paired_min_effect: float = 0.03  # the ratio change the paired verdict is to resolve

    def identity(self) -> dict:
        """The fields that make two sweeps the same sweep (paths and timeouts excluded)."""
        data = asdict(self)
        for key in ("models_dir", "reports_dir", "cell_timeout", "paired_seconds", "paired_min_effect"):
            data.pop(key)
        for key, default in (("baseline", "efficientnet-b0"), ("baseline_doc", None), ("onnx", [])):
            if data[key] == default:
                data.pop(key)  # B0 sweeps hash as they did before these fields, so older runs resume
        data["extra"] = {}  # a field that was never set, since removed: kept in the hash so older runs resume
        for key, default in (("max_qps", SweepConfig.max_qps), ("max_foreign_cpu", MAX_FOREIGN_CPU)):
            if data[key] == default:
                data.pop(key)  # added later: a default value leaves the hash (and so --resume) as it was
        return data

    def sha(self) -> str:
        return sha256_json(self.identity())[:16]

    @property
    def backends(self) -> list[str]:
        return self.backend.split(",")

    def limits(self):
        from benchbed.scenarios import Limits

        return Limits(self.max_batch, self.profile.max_seconds, self.profile.min_iterations)

    def timeout(self) -> float:
        """Seconds a cell may run before its worker is killed: ``cell_timeout``, else its slowest scenario's."""
        from benchbed.scenarios import get_scenario

        if self.cell_timeout:
            return self.cell_timeout
        return max(get_scenario(name).timeout(self.profile, self.loadgen_strict) for name in self.scenarios)


def check_precisions(precisions: list[str], backends: list[str]) -> None:
    """Unknown precisions, and a precision a named backend cannot run, are refused before anything starts."""
    from benchbed.artifacts.precision import get_precision

    for name in precisions:
        rule = get_precision(name)
        refused = [b for b in backends if b in rule.refused_by]
        if refused:
            raise ConfigError("precisions", f"{name} cannot run on {', '.join(refused)}: {rule.why_refused}")


def check_user_onnx(precisions: list[str], backends: list[str], models: list[dict] = ()) -> None:
    """User ONNX files run on backends that read ONNX files, at precisions whose transform fits the file."""
    from benchbed.artifacts.precision import get_precision
    from benchbed.artifacts.user_onnx import OnnxModel, check_precision
    from benchbed.backends import get_backend

    for name in backends:
        if not get_backend(name).capabilities.reads_onnx:
            raise ConfigError("backend", f"{name} cannot run an ONNX file (it runs benchbed's torch module); "
                              "choose onnxruntime, openvino or null for {onnx}", ("onnx",))
    for precision in precisions:
        get_precision(precision)
        for doc in models:
            check_precision(OnnxModel.from_dict(doc), precision)


#: Offline batches double up to this: B7 at 4096 images is 4.4 GB of input alone.
MAX_BATCH = 4096


def max_threads() -> int:
    """Intra-op threads accepted: 4 per logical core (100,000 on 2 cores crashed onnxruntime)."""
    return 4 * (os.cpu_count() or 1)


def validate_config(config: SweepConfig) -> None:
    """Every check a sweep needs before its first cell; each failure names the config field (ConfigError)."""
    from benchbed.scenarios import get_scenario

    check_precisions(config.precisions, config.backends)
    if config.onnx:
        check_user_onnx(config.precisions, config.backends, config.onnx)
    scenarios = [get_scenario(name) for name in config.scenarios]
    if not 1 <= config.max_batch <= MAX_BATCH:
        raise ConfigError("max_batch", f"must be 1 to {MAX_BATCH}, got {config.max_batch}")
    if config.threads is not None and not 1 <= config.threads <= max_threads():
        raise ConfigError("threads", f"must be 1 to {max_threads()} (4 per core of this machine), got {config.threads}")
    if config.cell_timeout is not None and not (math.isfinite(config.cell_timeout) and config.cell_timeout > 0):
        raise ConfigError("cell_timeout", f"must be > 0 seconds, got {config.cell_timeout}")
    if config.sla_ms is not None and not (math.isfinite(config.sla_ms) and config.sla_ms > 0):
        raise ConfigError("sla_ms", f"must be > 0, got {config.sla_ms:g} ms")
    if config.sla_percentile is not None and not 50 <= config.sla_percentile < 100:
        raise ConfigError("sla_percentile", f"must be in [50, 100), got {config.sla_percentile:g}")
    if not (math.isfinite(config.max_qps) and config.max_qps > 0):
        raise ConfigError("max_qps", f"must be a finite number > 0, got {config.max_qps:g}")
    if not (math.isfinite(config.paired_seconds) and 0 <= config.paired_seconds <= MAX_CELL_SECONDS):
        raise ConfigError("paired_seconds", f"must be a finite number of seconds >= 0 (0: off), got "
                                            f"{config.paired_seconds:g}")
    if not 0 < config.paired_min_effect < 1:
        raise ConfigError("paired_min_effect", f"must be a fraction in (0, 1), got {config.paired_min_effect:g}")
    if not (math.isfinite(config.max_foreign_cpu) and config.max_foreign_cpu >= 0):
        raise ConfigError("max_foreign_cpu", f"must be a finite number of cores >= 0, got {config.max_foreign_cpu:g}")
    if not (math.isfinite(config.max_queue_delay_ms) and config.max_queue_delay_ms >= 0):
        raise ConfigError("max_queue_delay_ms", f"must be >= 0 ms, got {config.max_queue_delay_ms:g}")
    for scenario in scenarios:
        scenario.check(config)
    config.profile.validate()
