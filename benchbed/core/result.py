"""What a measured cell produces: a :class:`Result` (it ran) or a :class:`Failure` (it could not).

Both cross process and machine boundaries as JSON documents (``to_json``), are stored as such, and
are read back only through :func:`read_result`, which checks every field the analyses use: a
document from a results.json copied from elsewhere is untrusted input, and a NaN sample or a string
batch must be refused with the file, the entry and the field named, never averaged.
Definitions the readers must agree on (what a cell's memory is, which hardware it ran on) live here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from benchbed.core.cell import Cell
from benchbed.core.errors import BenchbedError
from benchbed.core.schema import PairedModel, RunModel, explain, problem_of

#: Sections of an ok document beyond the fixed ones, carried as they are (LoadGen, NVML, a Ray node's
#: environment, the machine speed index read before the cell): the schema checks the fields analyses read.
OPTIONAL_SECTIONS = ("loadgen", "nvml", "environment", "speed_index")


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


#: What a store makes for a new run (UTC time and 6 hex digits). A run id names a folder under reports/,
#: so an id read from a file or a store must be exactly this shape.
RUN_ID_PATTERN = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")


def check_run_id(value, where: str) -> str:
    """``value`` if it is a run id benchbed makes, else a one-line error naming where it came from."""
    if not isinstance(value, str) or not RUN_ID_PATTERN.fullmatch(value):
        raise BenchbedError(f"{where}: run id {value!r} is not one benchbed makes (YYYYMMDD-HHMMSS-xxxxxx)")
    return value


def read_run(run, where: str) -> dict:
    """A run record from a results file or a store, checked like its results; returned as it is."""
    if not isinstance(run, dict):
        raise BenchbedError(f"{where}: its run is not an object (damaged, or not written by benchbed)")
    check_run_id(run.get("run_id"), where)
    try:
        RunModel.model_validate(run)
    except ValidationError as exc:
        raise BenchbedError(f"{where}: run {explain(exc)} (damaged, or not written by benchbed)") from None
    return run


def read_result(doc, where: str) -> Result | Failure:
    """The one reader of result documents: a typed value, or a one-line error naming ``where`` and the field."""
    problem = problem_of(doc)
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


def paired_problem(entry) -> str | None:
    """What makes one ``paired`` entry unusable, or None (:class:`benchbed.core.schema.PairedModel`)."""
    if not isinstance(entry, dict):
        return "is not an object"
    try:
        PairedModel.model_validate(entry)
    except ValidationError as exc:
        return explain(exc)
    return None


def check_paired(entries, where: str) -> list[dict]:
    """A results file's optional top-level ``paired`` list (interleaved comparisons of variants), each entry
    checked like a result; [] where the file has none (files written before it existed)."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise BenchbedError(f"{where}: paired is not a list (damaged, or not written by benchbed)")
    for index, entry in enumerate(entries):
        problem = paired_problem(entry)
        if problem:
            raise BenchbedError(f"{where}: paired entry {index + 1} {problem} (damaged, or not written by benchbed)")
    return entries
