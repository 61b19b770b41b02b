"""What a measured cell produces: a :class:`Result` (it ran) or a :class:`Failure` (it could not).

Both cross process and machine boundaries as JSON documents (``to_json``), are stored as such, and
are read back only through :func:`read_result`, which checks every field the analyses use: a
document from a results.json copied from elsewhere is untrusted input, and a NaN sample or a string
batch must be refused with the file, the entry and the field named, never averaged.
Definitions the readers must agree on (what a cell's memory is, which hardware it ran on) live here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from benchbed.core.cell import CELL_FIELDS, Cell
from benchbed.core.errors import BenchbedError

STATUSES = ("ok", "failed")
#: Sections of an ok document beyond the fixed ones, carried as they are (LoadGen, NVML, a Ray node's
#: environment): the analyses that read them check them where they read them.
OPTIONAL_SECTIONS = ("loadgen", "nvml", "environment")


@dataclass(frozen=True)
class Failure:
    """A cell that produced no measurement, and why (export error, crash, timeout, OOM kill...)."""

    cell: Cell
    error: str
    network_info: dict | None = None
    stderr_tail: tuple[str, ...] = ()
    traceback: str | None = None

    status = "failed"

    def to_json(self) -> dict:
        doc = {"status": "failed", "cell": self.cell.to_dict(), "network_info": self.network_info, "error": self.error,
               "stderr_tail": list(self.stderr_tail)}
        if self.traceback:
            doc["traceback"] = self.traceback
        return doc


@dataclass(frozen=True)
class Result:
    """A measured cell: statistics built from the raw samples it keeps, with its verdict and context."""

    cell: Cell
    validity: dict
    stats: dict
    samples_ms: list
    timing: dict
    memory: dict
    host: dict
    backend: dict
    network_info: dict | None = None
    parity: dict | None = None
    first_inference_ms: float | None = None
    sections: dict = field(default_factory=dict)

    status = "ok"

    @property
    def valid(self) -> bool:
        return self.validity.get("status") == "VALID"

    @property
    def memory_bytes(self) -> int | None:
        return memory_bytes(self.to_json())

    def to_json(self) -> dict:
        doc = {"status": "ok", "cell": self.cell.to_dict(), "network_info": self.network_info,
               "validity": self.validity, "stats": self.stats, "first_inference_ms": self.first_inference_ms,
               "samples_ms": self.samples_ms, "timing": self.timing, "memory": self.memory, "parity": self.parity,
               "host": self.host, "backend": self.backend}
        doc.update(self.sections)
        return doc


def hardware_name(doc: dict, environment: dict) -> str:
    """The Ray hardware label, else the GPU a GPU cell ran on, else the CPU model and its physical cores."""
    cell = doc["cell"]
    if cell.get("hardware"):
        return str(cell["hardware"])
    gpus = environment.get("gpus") or []
    device = str((doc.get("timing") or {}).get("device") or "cpu")
    if gpus and device.startswith("cuda"):
        index = int(device.split(":")[1]) if ":" in device else 0
        return str(gpus[min(index, len(gpus) - 1)].get("name"))
    cores = environment.get("physical_cores")
    return f"{environment.get('cpu_model') or 'unknown CPU'}" + (f" ({cores} cores)" if cores else "")


def device_memory_bytes(doc: dict) -> int | None:
    """The device memory a GPU backend reported for the cell (None on the CPU)."""
    device = (doc.get("memory") or {}).get("device") or {}
    for key in ("peak_used_bytes", "used_by_activation_bytes", "activation_bytes"):
        if device.get(key):
            return int(device[key])
    return None


def memory_bytes(doc: dict) -> int | None:
    """A cell's memory, for every analysis: the device's where the backend reports it (GPUs), else the
    worker's peak RSS."""
    return device_memory_bytes(doc) or (doc.get("memory") or {}).get("peak_rss_bytes")


class _Open(BaseModel):
    """Fields benchbed does not read are carried as they are; the ones it reads are checked."""

    model_config = ConfigDict(extra="allow")


#: Finite, and bounded far above anything measured (1e15 ms is 30,000 years; B7 has 4e10 MACs), so no
#: arithmetic on a damaged value can overflow or fall back to Python's arbitrary-size integers.
LIMIT = 1e15
Number = Annotated[float, Field(strict=True, ge=-LIMIT, le=LIMIT, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(strict=True, ge=0, le=LIMIT, allow_inf_nan=False)]
Count = Annotated[int, Field(strict=True, ge=0, le=int(LIMIT))]
Name = Annotated[str, Field(strict=True, min_length=1)]
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
    status: Literal["VALID", "INVALID"] = "VALID"
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


class NetworkInfoModel(_Open):
    phi: Annotated[float, Field(strict=True, ge=0, le=64, allow_inf_nan=False)] | None = None
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


class OkModel(_Open):
    status: Literal["ok"]
    cell: CellModel
    stats: StatsModel
    samples_ms: list[NonNegative] = []
    validity: ValidityModel = ValidityModel()
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


def _explain(error: ValidationError) -> str:
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


def _problem(doc) -> str | None:
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
        return _explain(exc)
    return None


def read_run(run, where: str) -> dict:
    """A run record from a results file or a store, checked like its results; returned as it is."""
    if not isinstance(run, dict):
        raise BenchbedError(f"{where}: its run is not an object (damaged, or not written by benchbed)")
    try:
        RunModel.model_validate(run)
    except ValidationError as exc:
        raise BenchbedError(f"{where}: run {_explain(exc)} (damaged, or not written by benchbed)") from None
    return run


def read_result(doc, where: str) -> Result | Failure:
    """The one reader of result documents: a typed value, or a one-line error naming ``where`` and the field."""
    problem = _problem(doc)
    if problem:
        raise BenchbedError(f"{where} {problem} (damaged, or not written by benchbed)")
    cell = Cell.from_dict(doc["cell"], where)
    if doc["status"] == "failed":
        return Failure(cell, str(doc.get("error", "")), doc.get("network_info"), tuple(doc.get("stderr_tail") or ()),
                       doc.get("traceback"))
    return Result(cell, doc.get("validity") or {}, doc["stats"], doc.get("samples_ms", []), doc.get("timing") or {},
                  doc.get("memory") or {}, doc.get("host") or {}, doc.get("backend") or {}, doc.get("network_info"),
                  doc.get("parity"), doc.get("first_inference_ms"),
                  {k: doc[k] for k in OPTIONAL_SECTIONS if k in doc})


def check_documents(docs, where: str) -> list[dict]:
    """Every document of a file or store checked (and duplicates of one cell refused); returned as they are."""
    if not isinstance(docs, list):
        raise BenchbedError(f"{where}: results is not a list (damaged, or not written by benchbed)")
    seen: dict[str, int] = {}
    for index, doc in enumerate(docs):
        value = read_result(doc, f"{where}: result {index + 1}")
        key = value.cell.key()
        if key in seen:
            raise BenchbedError(f"{where}: results {seen[key]} and {index + 1} are the same cell {key} "
                                "(damaged, or not written by benchbed)")
        seen[key] = index + 1
    return docs
