"""The schema of stored result documents and runs: every field an analysis reads, with its type and bounds.

Checked (pydantic) at the one place documents are read (:func:`benchbed.core.result.read_result`); a
broken rule becomes one line that names the field, its value and the rule.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from benchbed.core.cell import CELL_FIELDS


class _Open(BaseModel):
    """Fields benchbed does not read are carried as they are; the ones it reads are checked."""

    model_config = ConfigDict(extra="allow")


#: Finite, and bounded far above anything measured (1e15 ms is 30,000 years; B7 has 4e10 MACs), so no
#: arithmetic on a damaged value can overflow or fall back to Python's arbitrary-size integers.
LIMIT = 1e15
Number = Annotated[float, Field(strict=True, ge=-LIMIT, le=LIMIT, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(strict=True, ge=0, le=LIMIT, allow_inf_nan=False)]
Count = Annotated[int, Field(strict=True, ge=0, le=int(LIMIT))]
#: Names reach terminals, markdown and HTML: control characters (an ESC sequence that rewrites the screen, a
#: newline that breaks a table row) are refused here, so no renderer has to remember to escape them.
Name = Annotated[str, Field(strict=True, min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")]
Text = Annotated[str, Field(strict=True)]


class CellModel(_Open):
    network: Name
    backend: Name
    precision: Name
    scenario: Name
    batch: Annotated[int, Field(strict=True, ge=1)]
    hardware: Name | None = None


class StatsModel(_Open):
    p50_ms: NonNegative
    p99_ms: NonNegative
    throughput_ips: NonNegative
    p90_ms: NonNegative | None = None
    p95_ms: NonNegative | None = None
    mean_ms: NonNegative | None = None
    std_ms: NonNegative | None = None
    cov: NonNegative | None = None
    min_ms: NonNegative | None = None
    max_ms: NonNegative | None = None
    count: Count | None = None
    batch: Count | None = None


class ValidityModel(_Open):
    status: Literal["VALID", "INVALID"]
    reasons: list[Text] = []
    warnings: list[Text] = []


class TimingModel(_Open):
    device: Text | None = None
    clock: Text | None = None
    profile: dict | None = None
    device_samples_ms: list[NonNegative] = []


class MemoryModel(_Open):
    peak_rss_bytes: NonNegative
    idle_rss_bytes: NonNegative | None = None
    device: dict | None = None


Phi = Annotated[float, Field(strict=True, ge=0, le=64, allow_inf_nan=False)]


class NetworkInfoModel(_Open):
    phi: Phi | None = None
    mode: Text | None = None
    macs: NonNegative | None = None
    params: NonNegative | None = None
    resolution: Count | None = None


class SearchModel(_Open):
    best_qps: NonNegative | None = None
    met_sla: bool | None = None
    note: Text | None = None


class LoadgenModel(_Open):
    search: SearchModel | None = None


class NvmlModel(_Open):
    energy_per_image_mj: NonNegative | None = None


class EnvironmentModel(_Open):
    cpu_model: Text | None = None
    physical_cores: Count | None = None
    gpus: list[dict | Text] = []
    fingerprint: Text | None = None
    python: Text | None = None
    os: Text | None = None
    versions: dict | None = None


class SpeedIndexModel(_Open):
    """A machine speed index reading (measure.speed_index): ``index_ms`` divides latencies, so it must be > 0."""

    matmul_ms: NonNegative
    copy_ms: NonNegative
    index_ms: Annotated[float, Field(strict=True, gt=0, le=LIMIT, allow_inf_nan=False)]
    workload: Text | None = None
    blas: Text | None = None
    blas_threads: Count | None = None
    when: Text | None = None  # absent: read before the cell only (results stored before the bracket)
    before_index_ms: NonNegative | None = None
    after_index_ms: NonNegative | None = None


class OkModel(_Open):
    status: Literal["ok"]
    cell: CellModel
    stats: StatsModel
    samples_ms: list[NonNegative] = []
    validity: ValidityModel
    timing: TimingModel = TimingModel()
    memory: MemoryModel
    host: dict = {}
    backend: dict = {}
    network_info: NetworkInfoModel | None = None
    parity: dict | None = None
    first_inference_ms: NonNegative | None = None
    loadgen: LoadgenModel | None = None
    nvml: NvmlModel | None = None
    environment: EnvironmentModel | None = None
    speed_index: SpeedIndexModel | None = None  # absent from results stored before it existed


class FailedModel(_Open):
    status: Literal["failed"]
    cell: CellModel
    error: Text = ""
    network_info: NetworkInfoModel | None = None
    environment: EnvironmentModel | None = None


class RunModel(_Open):
    run_id: Annotated[str, Field(strict=True, pattern=r"^\d{8}-\d{6}-[0-9a-f]{6}$")]
    config: dict = {}
    environment: EnvironmentModel = EnvironmentModel()
    status: Text = "complete"
    created: Number = 0.0
    finished: Number | None = None


Positive = Annotated[float, Field(strict=True, gt=0, le=LIMIT, allow_inf_nan=False)]
Fraction = Annotated[float, Field(strict=True, gt=0, lt=1, allow_inf_nan=False)]


class VariantModel(_Open):
    backend: Name
    precision: Name


class PairedModel(_Open):
    """One interleaved paired comparison of two variants of a network (a results file's ``paired`` list).

    The ratio is variant / reference of ``metric``; its interval is None when too few rounds were run.
    """

    network: Name
    scenario: Name
    reference: VariantModel
    variant: VariantModel
    verdict: Literal["slower", "faster", "same", "unknown"]
    ratio: Positive | None = None
    ci_low: Positive | None = None
    ci_high: Positive | None = None
    phi: Phi | None = None
    batch: Annotated[int, Field(strict=True, ge=1)] | None = None
    metric: Name = "p50_ms"
    confidence: Fraction | None = None
    rounds: Count | None = None
    seconds: NonNegative | None = None
    min_effect: NonNegative | None = None
    smallest_detectable: NonNegative | None = None

    @field_validator("ratio", "ci_low", "ci_high", mode="before")
    @classmethod
    def _undecided(cls, value, info: ValidationInfo):
        """A comparison that got no round has no ratio (NaN where it was computed): fine while unknown."""
        if isinstance(value, float) and math.isnan(value) and info.data.get("verdict") == "unknown":
            return None
        return value


_MODELS = {"ok": OkModel, "failed": FailedModel}
_PHRASES = {"finite_number": "is not a finite number", "float_type": "is not a number",
            "greater_than_equal": "is below its minimum", "int_type": "is not a whole number",
            "string_type": "is not text", "dict_type": "is not an object", "model_type": "is not an object",
            "list_type": "is not a list", "bool_type": "is not true or false", "literal_error": "is not one of",
            "string_too_short": "is empty", "string_pattern_mismatch": "is not one benchbed makes"}


def _path(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def explain(error: ValidationError) -> str:
    """A pydantic error as one line naming the field, its value and the rule it breaks."""
    errors = error.errors(include_url=False)
    missing_cell = [str(e["loc"][1]) for e in errors if e["type"] == "missing" and e["loc"][:1] == ("cell",)]
    if missing_cell:
        return f"has a cell without {', '.join(missing_cell)}"
    first = errors[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.endswith("]")))
    if first["type"] == "missing":
        return "is ok but lacks its statistics" if loc[:1] == ("stats",) or loc == ("stats",) else \
            f"lacks {_path(loc)}"
    phrase = _PHRASES.get(first["type"], first["msg"].lower())
    if first["type"] == "greater_than_equal":
        phrase = f"is not a finite number >= {first['ctx']['ge']}"
    if first["type"] == "greater_than":
        phrase = f"is not a finite number > {first['ctx']['gt']}"
    if first["type"] == "literal_error":
        phrase = f"is not one of {first['ctx']['expected']}"
    if first["type"] == "less_than_equal":
        phrase = f"is above the limit {first['ctx']['le']:g}"
    if first["type"] in ("finite_number", "float_type", "greater_than_equal") and loc and \
            loc[0] in ("stats", "samples_ms"):
        phrase = "is not a finite number >= 0"
    if loc == ("cell", "batch"):
        phrase = "is not a whole number >= 1"
    path = _path(loc)
    if loc[:1] == ("cell",):
        path = "cell " + _path(loc[1:])
    return f"{path} {first['input']!r} {phrase}"


def problem_of(doc) -> str | None:
    """What makes ``doc`` unusable, or None: the schema above, checked where documents are read."""
    if not isinstance(doc, dict) or not isinstance(doc.get("cell"), dict):
        return "has no cell"
    missing = [f for f in CELL_FIELDS if f not in doc["cell"]]
    if missing:
        return f"has a cell without {', '.join(missing)}"
    if "status" not in doc:
        return "has no status"
    model = _MODELS.get(doc["status"]) if isinstance(doc["status"], str) else None
    if model is None:
        return f"has an unknown status {doc['status']!r}"
    try:
        model.model_validate(doc)
    except ValidationError as exc:
        return explain(exc)
    return None
