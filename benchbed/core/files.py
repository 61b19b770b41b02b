"""Files that must survive crashes and be trusted later: atomic writes, content hashes, manifests."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from benchbed.core.errors import BenchbedError, UnwritableFolderError


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_json(data: Any) -> str:
    """Hash of a JSON-able value in canonical form (sorted keys, no whitespace)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write via a temp file in the same folder, fsync, then rename: readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; reports and results are meant to be shared
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | os.PathLike, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: str | os.PathLike) -> Any | None:
    """The parsed file, or None when it is missing or not valid JSON (a cache miss, not an error)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def ensure_writable_dir(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Create ``path`` if needed and prove it is writable, or raise a one-line error naming ``flag``."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".benchbed-probe-", delete=True)
        probe.close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UnwritableFolderError(f"cannot write to {flag} {path}: {reason.lower()}; choose a writable folder") from None
    return path


def path_inside(folder: str | os.PathLike, *parts: str) -> Path:
    """``folder / parts…``, refused unless it stays inside ``folder``.

    Parts may come from files benchbed did not write (a results.json copied from another machine): a
    ``..`` or an absolute part must never turn into a write elsewhere.
    """
    base = Path(folder)
    path = base.joinpath(*parts)
    if not path.resolve().is_relative_to(base.resolve()):
        raise BenchbedError(f"refusing to write {path}: it is outside {base}")
    return path


def check_writable_file(path: str | os.PathLike, flag: str) -> Path:
    """``path`` can be written (its folder exists or can be made and takes files; it is not a folder), checked
    before any work whose answer it is to hold: one line naming ``flag`` otherwise."""
    path = Path(path)
    if path.is_dir():
        raise UnwritableFolderError(f"cannot write to {flag} {path}: it is a folder; name a file")
    ensure_writable_dir(path.parent if str(path.parent) else Path("."), flag)
    if path.exists() and not os.access(path, os.W_OK):
        raise UnwritableFolderError(f"cannot write to {flag} {path}: permission denied")
    return path
