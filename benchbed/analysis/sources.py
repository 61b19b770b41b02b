"""Where a comparison side comes from: a run id in the store, a results.json, or a folder of them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from benchbed.core.errors import BenchbedError
from benchbed.core.user_files import load_user_json
from benchbed.core.result import check_documents, check_paired, paired_problem, read_run
from benchbed.sweep.store import RESULTS_FORMAT, Store

_log = logging.getLogger("benchbed.sources")


@dataclass
class Side:
    label: str
    runs: list[dict]
    #: (result document, environment of its run)
    results: list[tuple[dict, dict]]
    #: (run, its result documents), for reports that show each run
    per_run: list[tuple[dict, list[dict]]] = field(default_factory=list)
    #: run id -> the run's interleaved paired comparisons (a results file's optional ``paired`` list)
    paired: dict[str, list[dict]] = field(default_factory=dict)


@dataclass
class _Loaded:
    run: dict
    docs: list[dict]
    paired: list[dict] = field(default_factory=list)


def _from_results_json(path: Path) -> _Loaded:
    data = load_user_json(path, "results file")
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT or "run" not in data:
        raise BenchbedError(f"{path} is not a benchbed results file (expected format {RESULTS_FORMAT})")
    read_run(data["run"], str(path))
    return _Loaded(data["run"], check_documents(data.get("results") or [], str(path)),
                   check_paired(data.get("paired"), str(path)))


def stored_paired(store: Store, run_id: str) -> list[dict]:
    """A stored run's paired comparisons, each checked; a damaged entry is skipped with a warning naming it,
    as a damaged result row is, so one bad entry cannot break the run's report."""
    kept = []
    for index, entry in enumerate(store.paired(run_id)):
        problem = paired_problem(entry)
        if problem:
            _log.warning("benchbed: skipped --db %s: run %s paired entry %d %s (damaged)", store.path, run_id,
                         index + 1, problem)
            continue
        kept.append(entry)
    return kept


def doc_environment(doc: dict, run: dict) -> dict:
    """Multi-machine (Ray) results carry their node's environment; otherwise the run's applies."""
    return doc.get("environment") or run.get("environment") or {}


def _once_per_run(files: list[Path]) -> list[_Loaded]:
    """Each run once: a copied results.json would otherwise pool its samples twice and shrink every p-value."""
    kept: dict[str, tuple[Path, _Loaded]] = {}
    for file in files:
        one = _from_results_json(file)
        run_id = one.run.get("run_id")
        if run_id in kept:
            _log.warning("benchbed: skipped %s: run %s is already read from %s (a copy counts once)", file, run_id,
                         kept[run_id][0])
            continue
        kept[run_id] = (file, one)
    return [one for _, one in kept.values()]


def load_side(ref: str, db: Path | None) -> Side:
    """Resolve ``ref`` to results; every problem is a one-line :class:`BenchbedError`."""
    path = Path(ref)
    loaded: list[_Loaded] = []
    if path.is_file():
        loaded.append(_from_results_json(path))
    elif path.is_dir():
        files = sorted(path.rglob("results.json"))
        if not files:
            raise BenchbedError(f"{path}: no results.json files in this folder")
        loaded += _once_per_run(files)
    else:
        if db is None or not Path(db).exists():
            raise BenchbedError(f"{ref!r} is neither a file, a folder nor a run in a store (no store at {db})")
        store = Store(db)
        try:
            run, docs = store.load(ref)
            loaded.append(_Loaded(run, docs, stored_paired(store, run["run_id"])))
        finally:
            store.close()
    pairs = [(one.run, one.docs) for one in loaded]
    results = [(doc, doc_environment(doc, run)) for run, docs in pairs for doc in docs]
    if not results:
        raise BenchbedError(f"{ref}: no results to compare (empty run)")
    return Side(ref, [run for run, _ in pairs], results, pairs,
                {one.run["run_id"]: one.paired for one in loaded if one.paired})
