"""Where a comparison side comes from: a run id in the store, a results.json, or a folder of them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from benchbed.core.errors import BenchbedError
from benchbed.core.result import check_documents, read_run
from benchbed.sweep.store import RESULTS_FORMAT, Store


@dataclass
class Side:
    label: str
    runs: list[dict]
    #: (result document, environment of its run)
    results: list[tuple[dict, dict]]
    #: (run, its result documents), for reports that show each run
    per_run: list[tuple[dict, list[dict]]] = field(default_factory=list)


def _from_results_json(path: Path) -> tuple[dict, list[dict]]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise BenchbedError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise BenchbedError(f"{path} is not valid JSON (corrupt or truncated results file)") from None
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT or "run" not in data:
        raise BenchbedError(f"{path} is not a benchbed results file (expected format {RESULTS_FORMAT})")
    read_run(data["run"], str(path))
    return data["run"], check_documents(data.get("results") or [], str(path))


def doc_environment(doc: dict, run: dict) -> dict:
    """Multi-machine (Ray) results carry their node's environment; otherwise the run's applies."""
    return doc.get("environment") or run.get("environment") or {}


def load_side(ref: str, db: Path | None) -> Side:
    """Resolve ``ref`` to results; every problem is a one-line :class:`BenchbedError`."""
    path = Path(ref)
    pairs: list[tuple[dict, list[dict]]] = []
    if path.is_file():
        pairs.append(_from_results_json(path))
    elif path.is_dir():
        files = sorted(path.rglob("results.json"))
        if not files:
            raise BenchbedError(f"{path}: no results.json files in this folder")
        pairs += [_from_results_json(f) for f in files]
    else:
        if db is None or not Path(db).exists():
            raise BenchbedError(f"{ref!r} is neither a file, a folder nor a run in a store (no store at {db})")
        store = Store(db)
        try:
            pairs.append(store.load(ref))
        finally:
            store.close()
    results = [(doc, doc_environment(doc, run)) for run, docs in pairs for doc in docs]
    if not results:
        raise BenchbedError(f"{ref}: no results to compare (empty run)")
    return Side(ref, [run for run, _ in pairs], results, pairs)
