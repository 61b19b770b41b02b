"""A resident worker: one variant loaded once, then timed in short bursts on request.

``python -m benchbed.launchers.resident`` speaks JSON lines: one request on stdin, one reply on the
protocol stream (the process's original stdout; everything libraries print goes to stderr instead).
Interleaved comparisons (``analysis.interleave``) keep one such process per variant alive, so each is
loaded once and the coordinator alternates bursts between them. ``abtest`` starts one with each side's
own Python, so BASE and CURRENT checkouts are measured at the same time on the same machine.

Requests (``op``): ``hello``; ``load`` (a :class:`Job`: its artifact is made here if it has none,
with this checkout's own export); ``load-plain`` (an ONNX file in a bare onnxruntime session, the
loop a user writes by hand); ``burst`` (time ``infer`` for ``seconds`` and at least ``iterations``
calls); ``quit``. A request that fails gets ``{"error": "..."}`` and the process stays usable.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

PROTOCOL = 1


@dataclass
class Loaded:
    """What a ``burst`` drives: the call to time and how to release it."""

    infer: Callable[[], None]
    close: Callable[[], None] = lambda: None
    info: dict = field(default_factory=dict)


def _hello(state: dict, request: dict) -> dict:
    from benchbed import __version__

    return {"protocol": PROTOCOL, "benchbed": __version__, "python": sys.version.split()[0], "pid": os.getpid()}


def _warm(loaded: Loaded, seconds: float) -> None:
    from benchbed.measure.timing import measure_loop

    measure_loop(loaded.infer, seconds, 2, max(seconds, 1.0) * 10)


def _load_job(state: dict, request: dict) -> dict:
    """A benchbed cell's runner, prepared exactly as the sweep's worker prepares it, parity checked."""
    from benchbed.artifacts.synthetic import job_sample, synthetic_batch
    from benchbed.backends import BackendOptions, get_backend
    from benchbed.core.files import sha256_file
    from benchbed.core.job import Job
    from benchbed.launchers.base import resolve_artifact
    from benchbed.launchers.worker import _with_profile_batch, check_parity

    job = Job.from_json(request["job"])
    if job.artifact is None:
        job = resolve_artifact(job)
    if job.export_error:
        return {"error": job.export_error}
    backend = get_backend(job.cell.backend)
    options = _with_profile_batch(backend, BackendOptions(**job.backend_options), job)
    runner = backend.prepare(Path(job.artifact), options)
    runner.activate()
    parity = check_parity(job, backend, runner)
    runner.set_input(synthetic_batch(job.cell.batch, job_sample(job), seed=7 + job.cell.batch))
    loaded = Loaded(runner.infer, runner.deactivate,
                    {"artifact": job.artifact, "artifact_sha256": sha256_file(Path(job.artifact)),
                     "signature": _signature(Path(job.artifact)), "parity": parity, "backend": backend.name,
                     "details": runner.details})
    return _keep(state, loaded, request)


def _signature(path: Path) -> dict | None:
    """An ONNX artifact's input and output names and dims (None for other artifact kinds)."""
    if path.suffix != ".onnx":
        return None
    import onnx

    from benchbed.artifacts.user_onnx import value_dims

    graph = onnx.load(str(path), load_external_data=False).graph
    return {"inputs": {v.name: value_dims(v) for v in graph.input},
            "outputs": {v.name: value_dims(v) for v in graph.output}}


def _load_plain(state: dict, request: dict) -> dict:
    """A bare ``InferenceSession.run`` loop on an ONNX file: onnxruntime's defaults, no benchbed runner."""
    import numpy as np
    import onnxruntime as ort

    from benchbed.core.files import sha256_file

    options = ort.SessionOptions()
    if request.get("threads"):
        options.intra_op_num_threads = int(request["threads"])
    session = ort.InferenceSession(request["path"], options, providers=["CPUExecutionProvider"])
    feed_input = session.get_inputs()[0]
    shape = request["input_shape"]
    feed = {feed_input.name: np.random.default_rng(7).standard_normal(shape).astype(np.float32)}
    loaded = Loaded(lambda: session.run(None, feed), info={"artifact": request["path"],
                                                          "artifact_sha256": sha256_file(Path(request["path"])),
                                                          "backend": "plain onnxruntime session"})
    return _keep(state, loaded, request)


def _keep(state: dict, loaded: Loaded, request: dict) -> dict:
    _release(state)
    _warm(loaded, float(request.get("warmup_seconds", 1.0)))
    state["loaded"] = loaded
    return {"loaded": loaded.info}


def _burst(state: dict, request: dict) -> dict:
    """Time the loaded variant (the coordinator reads foreign CPU use over the whole round, not here)."""
    from benchbed.measure.timing import measure_loop

    loaded: Loaded | None = state.get("loaded")
    if loaded is None:
        return {"error": "nothing loaded: send load first"}
    seconds = float(request["seconds"])
    samples_ns, wall, _, _ = measure_loop(loaded.infer, seconds, int(request.get("iterations", 1)), seconds * 20 + 5)
    return {"samples_ms": [s / 1e6 for s in samples_ns], "seconds": wall}


def _release(state: dict) -> None:
    loaded = state.pop("loaded", None)
    if loaded is not None:
        loaded.close()


HANDLERS: dict[str, Callable[[dict, dict], dict]] = {
    "hello": _hello, "load": _load_job, "load-plain": _load_plain, "burst": _burst,
}


def serve(requests: TextIO, replies: TextIO) -> None:
    state: dict[str, Any] = {}
    for line in requests:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if request.get("op") == "quit":
                break
            handler = HANDLERS.get(request.get("op"))
            reply = handler(state, request) if handler else {"error": f"unknown op {request.get('op')!r}"}
        except Exception as exc:  # one failed request is the coordinator's to report; the process stays up
            traceback.print_exc(file=sys.stderr)
            reply = {"error": f"{type(exc).__name__}: {exc}".strip()}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    _release(state)


def main() -> int:
    # the protocol gets the original stdout; anything a library prints (C or Python) goes to stderr
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    serve(sys.stdin, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
