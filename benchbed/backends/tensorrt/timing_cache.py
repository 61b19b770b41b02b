"""TensorRT's timing cache on disk, shared by concurrent builds under an ``fcntl.flock`` lock.

Loading and saving each hold the lock briefly (not the whole build, so builds still run in parallel);
saving merges what another process wrote meanwhile (``ITimingCache.combine``) before replacing the file
atomically, so no build's measurements are lost and no reader ever sees a half-written cache.

Both calls pass ``ignore_mismatch=False``. TensorRT's docstring (10.16 and 11.4): for ``set_timing_cache``
True "skips strict verification and allows loading cache created from a different device"; for ``combine``
True is what lets entries "from a different device" in, and a cache from another TensorRT version is never
combined ("combine will be skipped and return false"). Timings measured on another GPU must not steer this
GPU's tactic choice, so a file written elsewhere is neither loaded nor merged: it is replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path
from typing import Any, Iterator

from benchbed.core.files import atomic_write_bytes


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Exclusive lock on ``<path>.lock`` for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def attach(config: Any, path: Path) -> tuple[Any, int]:
    """Create the builder config's timing cache from ``path`` (empty when absent) and set it.

    Returns (cache, bytes loaded). A cache the builder rejects is replaced by an empty one.
    """
    with locked(path):
        data = _read(path)
    cache = config.create_timing_cache(data)
    if cache is None and data:  # unreadable (another TensorRT version wrote it): start afresh
        cache, data = config.create_timing_cache(b""), b""
    if not config.set_timing_cache(cache, False):  # written for another GPU or version: start afresh
        cache, data = config.create_timing_cache(b""), b""
        if not config.set_timing_cache(cache, False):
            raise RuntimeError(f"TensorRT refused an empty timing cache for {path}")
    return cache, len(data)


def cache_path(folder: Path, trt_version: str, compute_capability: str) -> Path:
    """One timing cache per TensorRT version and GPU architecture (TensorRT rejects others' caches)."""
    return folder / f"timing-trt{trt_version}-sm{compute_capability.replace('.', '')}.cache"


def save(config: Any, path: Path) -> tuple[int, bool | None]:
    """Merge the file's current contents into the config's (build-updated) timing cache and write it back
    atomically; returns (bytes written, merged): merged is None when the file was empty or absent, False when
    TensorRT refused to combine it (another device or version wrote it: it is replaced, not merged)."""
    cache = config.get_timing_cache()
    merged = None
    with locked(path):
        on_disk = _read(path)
        if on_disk:
            other = config.create_timing_cache(on_disk)
            # ignore_mismatch=False: a cache from another device is refused (False), not merged
            merged = bool(other is not None and cache.combine(other, False))
        data = bytes(cache.serialize())
        atomic_write_bytes(path, data)
    return len(data), merged
