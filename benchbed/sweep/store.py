"""Results store: SQLite (one transaction per cell) plus a versioned ``reports/<run-id>/results.json``.

Every finished cell is committed before the next one starts, so a Ctrl-C or SIGKILL loses at most the
cell in flight, and ``--resume`` measures only the cells a run is missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import logging
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Iterator

from benchbed.core.files import atomic_write_json, path_inside
from benchbed.core.cell import cell_key
from benchbed.core.errors import BenchbedError
from benchbed.core.result import check_run_id, read_result

_log = logging.getLogger("benchbed.store")

SCHEMA_VERSION = 1
RESULTS_FORMAT = "benchbed-results/1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, created REAL NOT NULL, config_sha TEXT NOT NULL, config TEXT NOT NULL,
    environment TEXT NOT NULL, status TEXT NOT NULL, finished REAL
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL REFERENCES runs(run_id), cell_key TEXT NOT NULL, network TEXT NOT NULL,
    backend TEXT NOT NULL, precision TEXT NOT NULL, scenario TEXT NOT NULL, batch INTEGER NOT NULL,
    status TEXT NOT NULL, validity TEXT, document TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (run_id, cell_key)
);
CREATE TABLE IF NOT EXISTS paired (
    run_id TEXT NOT NULL REFERENCES runs(run_id), network TEXT NOT NULL, entries TEXT NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (run_id, network)
);
"""


def _writable(path: Path) -> bool:
    """The store and its folder can be written (SQLite's WAL needs files beside it) on a filesystem that
    takes writes (``os.access`` says no on a read-only mount, even to root)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


class Store:
    """A benchbed SQLite database; opening checks it really is one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.read_only = False
        if self.path.parent.exists() and not self.path.parent.is_dir():
            raise BenchbedError(f"cannot create --db {self.path}: {self.path.parent} is a file, not a folder")
        if self.path.exists() and not _writable(self.path):
            self._open_read_only()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=30)
            self._refuse_foreign()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._db:
                self._db.executescript(_SCHEMA)
                row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                if row is None:
                    self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                elif int(row[0]) != SCHEMA_VERSION:
                    raise BenchbedError(f"--db {self.path}: schema {row[0]}, this benchbed reads {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise BenchbedError(f"--db {self.path} is not a usable benchbed database ({exc}); "
                                "move it away or choose another --db") from None
        except OSError as exc:
            raise BenchbedError(f"cannot open --db {self.path}: {exc.strerror or exc}") from None

    def _refuse_foreign(self) -> None:
        """A database with tables but no benchbed meta row is another program's: never add tables to it."""
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        ours = "meta" in tables and self._db.execute("SELECT 1 FROM meta WHERE key='schema'").fetchone() is not None
        if tables and not ours:
            self._db.close()
            raise BenchbedError(f"--db {self.path} is another program's SQLite database (tables: "
                                f"{', '.join(sorted(tables)[:5])}); benchbed leaves it as it is: choose another --db")

    def _open_read_only(self) -> None:
        """A store on a read-only filesystem (or a file this user cannot write) is read as it is: reports and
        compare work; a sweep stops at its first write with one line saying why."""
        from urllib.parse import quote

        self.read_only = True
        try:
            self._db = sqlite3.connect(f"file:{quote(str(self.path.resolve()))}?mode=ro&immutable=1", uri=True)
            self._refuse_foreign()
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BenchbedError(f"--db {self.path} is not a benchbed database ({exc}); it is read-only, so "
                                "nothing was changed") from None
        if row is None or int(row[0]) != SCHEMA_VERSION:
            raise BenchbedError(f"--db {self.path}: schema {row[0] if row else 'none'}, this benchbed reads "
                                f"{SCHEMA_VERSION}")

    def _read_only_error(self) -> BenchbedError:
        return BenchbedError(f"--db {self.path} is read-only here (a read-only filesystem or no write permission): "
                             "reading it works; to measure, copy it somewhere writable or choose another --db")

    def close(self) -> None:
        self._db.close()

    def _write(self, sql: str, args: tuple) -> None:
        """One transaction. SQLite waits up to 30 s for another writer; past that, or on a full disk, the
        sweep stops with one line (every cell committed before is kept)."""
        if self.read_only:
            raise self._read_only_error()
        try:
            with self._db:
                self._db.execute(sql, args)
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise BenchbedError(f"--db {self.path} is locked by another benchbed process for over 30 s; "
                                    "wait for it or use another --db") from None
            if "full" in text:
                raise BenchbedError(f"disk full writing --db {self.path}; free space, then resume with "
                                    "--resume (finished cells are kept)") from None
            raise BenchbedError(f"cannot write --db {self.path}: {text}") from None

    @contextlib.contextmanager
    def claim(self, run_id: str) -> Iterator[None]:
        """Hold ``run_id`` for this process: two ``--resume`` of one run at once would measure cells twice.

        An advisory lock on a file beside the store (released by the kernel when the process dies, so a
        killed sweep never leaves a run locked)."""
        if self.read_only:
            raise self._read_only_error()
        lock_path = self.path.with_name(f".{self.path.name}.locks") / f"{check_run_id(run_id, 'run')}.lock"
        try:
            lock_path.parent.mkdir(exist_ok=True)
            handle = open(lock_path, "a+")
        except OSError as exc:
            raise BenchbedError(f"cannot lock run {run_id} beside --db {self.path}: {exc.strerror or exc}") from None
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise BenchbedError(f"run {run_id} is being measured by {holder}; wait for it to finish, "
                                    "then --resume if cells are missing") from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"benchbed pid {os.getpid()}")
            handle.flush()
            yield
        finally:
            handle.close()

    # --- runs -----------------------------------------------------------------------------------------
    def create_run(self, config: dict, config_sha: str, environment: dict) -> str:
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
        self._write("INSERT INTO runs VALUES (?, ?, ?, ?, ?, 'running', NULL)",
                    (run_id, time.time(), config_sha, json.dumps(config), json.dumps(environment)))
        return run_id

    def set_run_status(self, run_id: str, status: str) -> None:
        self._write("UPDATE runs SET status=?, finished=? WHERE run_id=?", (status, time.time(), run_id))

    def run(self, run_id: str) -> dict:
        row = self._db.execute("SELECT run_id, created, config_sha, config, environment, status, finished FROM runs "
                               "WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            known = [r[0] for r in self._db.execute("SELECT run_id FROM runs ORDER BY created DESC LIMIT 5")]
            hint = f" (latest: {', '.join(known)})" if known else " (the store has no runs)"
            raise BenchbedError(f"unknown run {run_id!r} in {self.path}{hint}")
        check_run_id(row[0], f"--db {self.path}")
        return {"run_id": row[0], "created": row[1], "config_sha": row[2], "config": json.loads(row[3]),
                "environment": json.loads(row[4]), "status": row[5], "finished": row[6]}

    def load(self, ref: str) -> tuple[dict, list[dict]]:
        """A run and its results by id, or the newest run for ``latest``."""
        run_id = self.latest_run() if ref == "latest" else ref
        if run_id is None:
            raise BenchbedError(f"the store {self.path} has no runs yet")
        return self.run(run_id), self.results(run_id)

    def latest_run(self, config_sha: str | None = None) -> str | None:
        query, args = "SELECT run_id FROM runs", ()
        if config_sha:
            query, args = query + " WHERE config_sha=?", (config_sha,)
        row = self._db.execute(query + " ORDER BY created DESC LIMIT 1", args).fetchone()
        return row[0] if row else None

    # --- results --------------------------------------------------------------------------------------
    def add_result(self, run_id: str, document: dict) -> None:
        """Commit one cell's result (one transaction)."""
        cell = document["cell"]
        validity = (document.get("validity") or {}).get("status")
        self._write("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, cell_key(cell), cell["network"], cell["backend"], cell["precision"], cell["scenario"],
                     int(cell["batch"]), document["status"], validity, json.dumps(document), time.time()))

    def results(self, run_id: str) -> list[dict]:
        """The run's result documents, each checked by the one reader (:func:`read_result`).

        A damaged row (edited by hand, a disk fault) is skipped with a one-line warning naming it, so
        one bad row cannot break report, compare, history, procure or ``--resume`` for the whole store;
        ``--resume`` then measures that cell again.
        """
        rows = self._db.execute("SELECT cell_key, document FROM results WHERE run_id=? ORDER BY created", (run_id,))
        documents = []
        for key, text in rows:
            where = f"--db {self.path}: run {run_id} cell {key}"
            try:
                document = json.loads(text)
                read_result(document, where)
            except ValueError:
                _log.warning("benchbed: skipped %s: its document is not valid JSON (damaged row)", where)
                continue
            except BenchbedError as exc:
                _log.warning("benchbed: skipped a damaged row: %s", exc)
                continue
            documents.append(document)
        return documents

    # --- paired comparisons (sweep.paired) ----------------------------------------------------------
    def add_paired(self, run_id: str, network: str, entries: list[dict]) -> None:
        """Commit one network's interleaved ratios (one transaction, like a cell)."""
        self._write("INSERT OR REPLACE INTO paired VALUES (?, ?, ?, ?)",
                    (run_id, network, json.dumps(entries), time.time()))

    def paired_networks(self, run_id: str) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT network FROM paired WHERE run_id=?", (run_id,))}

    def paired(self, run_id: str) -> list[dict]:
        """The run's paired entries; a damaged row is skipped with a warning, as a damaged result is."""
        found = []
        for network, text in self._db.execute("SELECT network, entries FROM paired WHERE run_id=? ORDER BY created",
                                              (run_id,)):
            try:
                entries = json.loads(text)
                if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                    raise ValueError("not a list of objects")
            except ValueError:
                _log.warning("benchbed: skipped --db %s: run %s paired row %s (damaged)", self.path, run_id, network)
                continue
            found += entries
        return found

    def iter_runs(self) -> Iterator[dict]:
        for row in self._db.execute("SELECT run_id FROM runs ORDER BY created"):
            yield self.run(row[0])


def write_results_json(store: Store, run_id: str, reports_dir: Path) -> Path:
    """Rewrite ``<reports>/<run-id>/results.json`` atomically from the store."""
    run = store.run(run_id)
    folder = path_inside(reports_dir, check_run_id(run_id, "the store"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    document = {"format": RESULTS_FORMAT, "run": run, "results": store.results(run_id)}
    paired = store.paired(run_id)
    if paired:
        document["paired"] = paired
    atomic_write_json(path, document)
    return path
