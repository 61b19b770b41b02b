"""What every launcher does: take jobs, make each job's artifact on the machine that measures it, run the
job in a worker, and hand back result documents as they finish."""

from __future__ import annotations

import errno
from typing import Callable, Protocol

from benchbed.core.errors import BenchbedError, UnwritableFolderError
from benchbed.core.job import Job
from benchbed.core.result import Failure


class Executor(Protocol):
    """Runs submitted jobs; ``next_done`` blocks until one finishes and returns its result document."""

    def submit(self, job: Job) -> None: ...

    def pending(self) -> int: ...

    def next_done(self) -> tuple[Job, dict]: ...

    def close(self) -> None: ...


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def raise_if_disk_full(exc: BaseException, models_dir: str) -> None:
    """A full disk is no property of the network: re-raised as ``OSError(ENOSPC)`` so the sweep stops with
    "free space, then --resume" and the cell is measured again, instead of being stored as FAILED.

    torch's exporter and onnx report it inside their own exceptions, so the chain and the text are read too.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if (isinstance(seen, OSError) and seen.errno in _DISK_FULL) or "No space left on device" in str(seen) \
                or "Disk quota exceeded" in str(seen):
            raise OSError(errno.ENOSPC, "No space left on device",
                          getattr(seen, "filename", None) or models_dir) from exc
        seen = seen.__cause__ or seen.__context__


def _export_failed(job: Job, what: str, exc: Exception) -> Job:
    """The job with its export error (a full disk raises instead: see :func:`raise_if_disk_full`)."""
    raise_if_disk_full(exc, job.export.models_dir)
    detail = str(exc) if isinstance(exc, BenchbedError) else f"{type(exc).__name__}: {exc}"
    return job.with_export_error(f"{what}: {detail}")


def resolve_artifact(job: Job, progress: Callable[[str], None] = lambda m: None) -> Job:
    """Export (or reuse from the cache) the job's artifact here, on the machine that will measure it.

    Returns the job with its artifact set, or with ``export_error`` set when the export failed (that
    network's cells fail, not the sweep); raises :class:`UnwritableFolderError` for a bad models folder.
    """
    from benchbed.artifacts.export import PARITY_SEED, export_network
    from benchbed.networks import NetworkRecipe

    recipe = job.export
    if "onnx" in recipe.network:
        return _resolve_user_onnx(job)
    try:
        artifact = export_network(NetworkRecipe.from_dict(recipe.network).spec(), recipe.precision, recipe.models_dir,
                                  progress=progress)
    except UnwritableFolderError:
        raise  # a bad --models folder is the user's to fix, not a failed cell
    except Exception as exc:  # an export crash fails this network's cells, not the sweep (a full disk stops it)
        return _export_failed(job, "export failed", exc)
    return job.with_artifact(str(artifact.path), str(artifact.reference_path), PARITY_SEED,
                             job.network_info | {"artifact_sha256": artifact.sha256,
                                                 "export_parity": artifact.manifest["parity"]})


def _resolve_user_onnx(job: Job) -> Job:
    """A user's ONNX file: the file itself is the artifact, its reference is onnxruntime CPU fp32 on it."""
    from benchbed.artifacts.export import PARITY_SEED
    from benchbed.artifacts.user_onnx import OnnxModel, user_artifact

    recipe = job.export
    model = OnnxModel.from_dict(recipe.network)
    try:
        path, reference = user_artifact(model, recipe.precision, recipe.models_dir, PARITY_SEED)
    except UnwritableFolderError:
        raise
    except Exception as exc:  # onnxruntime cannot run it: this model's cells fail, not the sweep
        return _export_failed(job, "onnx file", exc)
    return job.with_artifact(str(path), str(reference), PARITY_SEED,
                             job.network_info | {"artifact_sha256": model.sha256,
                                                 "export_parity": {"reference": "onnxruntime CPU fp32, same file"}})


def export_failure(job: Job) -> dict:
    return Failure(job.cell, job.export_error or "export failed", job.network_info).to_json()
