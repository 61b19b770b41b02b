"""The environment fingerprint stored with every run, and small host facts the harness needs."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from benchbed import __version__
from benchbed.core.files import sha256_json
from benchbed.core.versions import library_versions

#: CPU flags that change inference speed; the full list is kept too.
SPEED_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni",
               "amx_bf16", "amx_int8", "amx_tile", "neon", "asimd", "sve")


def physical_cores() -> int:
    try:
        import psutil

        return psutil.cpu_count(logical=False) or os.cpu_count() or 1
    except ImportError:  # pragma: no cover - psutil is a dependency
        return os.cpu_count() or 1


@lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "flags", "Features", "vendor_id") and key not in info:
                info[key] = value.strip()
    except OSError:
        pass
    return info


def git_commit() -> str | None:
    """The commit benchbed runs from, when it runs from a git checkout."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists() or not shutil.which("git"):
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def gpus() -> list[dict]:
    """NVIDIA GPUs and driver through NVML when it is installed and a driver is present, else []."""
    from benchbed.measure.trackers.nvml import nvml_session  # the one way benchbed starts NVML

    try:
        with nvml_session() as nvml:
            driver = nvml.nvmlSystemGetDriverVersion()
            found = []
            for index in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
                found.append({"index": index, "name": nvml.nvmlDeviceGetName(handle), "driver": driver,
                              "memory_bytes": int(memory.total)})
            return found
    except Exception:  # not installed, NVMLError_LibraryNotFound / DriverNotLoaded on GPU-less machines
        return []


def environment() -> dict:
    """Everything about this machine and software that could change a measurement."""
    import psutil

    info = _cpuinfo()
    flags = (info.get("flags") or info.get("Features") or "").split()
    freq = psutil.cpu_freq()
    env = {
        "cpu_model": info.get("model name") or platform.processor() or platform.machine(),
        "cpu_vendor": info.get("vendor_id"),
        "cpu_speed_flags": [f for f in SPEED_FLAGS if f in flags],
        "cpu_flags": flags,
        "cpu_max_mhz": round(freq.max, 1) if freq and freq.max else None,
        "physical_cores": physical_cores(),
        "logical_cores": os.cpu_count(),
        "affinity_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "machine": platform.machine(),
        "hostname": platform.node(),
        "python": sys.version.split()[0],
        "versions": library_versions(),
        "benchbed_version": __version__,
        "git_commit": git_commit(),
        "gpus": gpus(),
    }
    env["fingerprint"] = fingerprint(env)
    return env


#: The environment fields whose difference makes two results incomparable (not the hostname or the commit).
COMPARABLE_FIELDS = ("cpu_model", "cpu_speed_flags", "physical_cores", "logical_cores", "affinity_cores",
                     "memory_bytes", "machine", "python", "versions", "gpus")


def fingerprint(env: dict) -> str:
    """A short hash of the comparable fields: runs with equal fingerprints may be compared."""
    return sha256_json({k: env.get(k) for k in COMPARABLE_FIELDS})[:16]
