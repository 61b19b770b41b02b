"""A machine speed index: a fixed reference workload, timed on the machine that measures, just before each cell.

Why: on shared or throttled machines whole runs shift by tens of percent (docs/ci-regression.md), and
a stored baseline compared with a run made at another time sees that shift as a regression. This
workload depends on nothing benchbed tests (no backend, no network, no option): numpy's float32 matmul
(compute) and a copy of a buffer far larger than any cache (memory bandwidth). How fast it ran says
how fast the machine was at that moment; ``compare`` and ``history`` divide a cell's latency by it
where both sides carry a reading of the same workload (:func:`comparable_key`).

The launcher (launchers.process) reads it just before it starts the cell's worker and again just after
the worker ends, and the cell carries their geometric mean (``bracket``): a machine that changes speed
while the cell runs (this project's VM has moved 1.5x within seconds) is caught from both sides, not
only as it was before. Neither reading competes with anything of benchbed's: not with the worker, nor
with a runtime's spinning thread pool.
"""

from __future__ import annotations

import ctypes
import functools
import math
import time
from pathlib import Path

import numpy as np

MATMUL_SIZE = 512
MATMUL_REPEATS = 9
COPY_BYTES = 64 * 2**20
COPY_REPEATS = 5
#: Names the workload: readings of different workloads are never compared (a bigger matmul is not a slower machine).
WORKLOAD = (f"numpy float32 matmul {MATMUL_SIZE}x{MATMUL_SIZE} (median of {MATMUL_REPEATS}) + "
            f"copyto {COPY_BYTES >> 20} MiB (median of {COPY_REPEATS})")
#: When the readings were taken relative to the cell: both sides of a comparison must agree.
BRACKET = "geometric mean of readings just before and just after the cell"
#: The fields two readings must share to be compared: the workload, what runs the matmul, and when.
KEY_FIELDS = ("workload", "blas", "blas_threads", "when")


def _median_ms(step, repeats: int) -> float:
    step()  # warm-up: first touch of the pages, BLAS thread pool woken up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append((time.perf_counter() - started) * 1e3)
    return float(np.median(times))


def matmul_ms() -> float:
    """Median time of one fixed-size float32 matmul (BLAS time does not depend on the values, short of
    denormals and NaNs, which these inputs are not)."""
    a = np.full((MATMUL_SIZE, MATMUL_SIZE), 0.5, dtype=np.float32)
    b = np.full((MATMUL_SIZE, MATMUL_SIZE), 0.25, dtype=np.float32)
    out = np.empty_like(a)
    return _median_ms(lambda: np.matmul(a, b, out=out), MATMUL_REPEATS)


def copy_ms() -> float:
    """Median time of copying a buffer far larger than the caches: memory bandwidth. Freed afterwards."""
    source = np.ones(COPY_BYTES // 4, dtype=np.float32)
    target = np.empty_like(source)
    return _median_ms(lambda: np.copyto(target, source), COPY_REPEATS)


def reading() -> dict:
    """One reading (about 0.1 s). ``index_ms`` is the geometric mean of the two times, so a change of either
    kernel by a factor moves the index by the same root of it whatever the kernels' absolute times on this
    machine are, and the ratio of two indices is the geometric mean of the two kernels' ratios."""
    matmul, copy = matmul_ms(), copy_ms()
    return {"matmul_ms": matmul, "copy_ms": copy, "index_ms": math.sqrt(matmul * copy), "workload": WORKLOAD,
            "blas": blas_name(), "blas_threads": blas_threads()}


def bracket(before: dict, after: dict) -> dict:
    """The cell's reading from one taken just before it and one just after: each time their geometric mean."""
    both = {name: math.sqrt(before[name] * after[name]) for name in ("matmul_ms", "copy_ms", "index_ms")}
    return before | both | {"before_index_ms": before["index_ms"], "after_index_ms": after["index_ms"],
                            "when": BRACKET}


def comparable_key(reading_doc: dict) -> tuple:
    """What two readings must share for their ratio to mean the machine's speed, not a changed workload."""
    return tuple(reading_doc.get(name) for name in KEY_FIELDS)


@functools.cache
def blas_name() -> str:
    """numpy's BLAS as numpy reports its build (e.g. ``scipy-openblas 0.3.31``)."""
    blas = (np.show_config(mode="dicts") or {}).get("Build Dependencies", {}).get("blas", {})
    return f"{blas.get('name', 'unknown')} {blas.get('version', '')}".strip()


@functools.cache
def blas_threads() -> int | None:
    """The threads numpy's OpenBLAS runs the matmul on, asked of the loaded library itself (OpenBLAS fixes
    it at load time from OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, else the CPUs it may use). None where it
    cannot be asked (not Linux, not OpenBLAS)."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return None
    paths = {line.split()[-1] for line in maps.read_text().splitlines() if "openblas" in line.split()[-1].lower()}
    for path in sorted(paths):
        library = ctypes.CDLL(path)
        for symbol in ("openblas_get_num_threads", "scipy_openblas_get_num_threads64_",
                       "openblas_get_num_threads64_"):
            function = getattr(library, symbol, None)
            if function is not None:
                function.restype = ctypes.c_int
                return int(function())
    return None
