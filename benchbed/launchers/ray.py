"""Run sweep cells as Ray tasks across a cluster (``benchbed sweep --executor ray``).

Each cell is one task that asks for the resources it needs *exclusively*: a GPU cell ``num_gpus=1``;
a CPU cell the custom resource ``benchbed_cpu_node`` (start each node with
``--resources '{"benchbed_cpu_node": 1}'``) or, where no node offers it, all the CPUs of the smallest
node, so two CPU benchmarks never share cores. ``--hardware`` pins cells to node types: a Ray
accelerator type (``A100``, ``H100`` ...) or a custom node label resource (``hw:xeon-8480``); the sweep
then measures every cell once per hardware type. On the node, the task exports (or reuses) the ONNX
artifact in that node's ``models/``, measures in a fresh worker process as the local executor does,
and returns the result with that node's environment fingerprint. A node lost mid-cell costs only
that cell: Ray retries it (``--ray-retries``), and a cell that still fails is recorded with the reason.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from typing import Any

from benchbed.backends import backend_device
from benchbed.core.errors import BenchbedError
from benchbed.core.job import Job
from benchbed.core.result import Failure

CPU_NODE_RESOURCE = "benchbed_cpu_node"
#: Ray's switch that, set to 0, makes it treat this machine as a single loopback-only node
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
#: A cluster benchbed starts on this machine sends HTTP nowhere. Ray's dashboard process (started even with
#: include_dashboard=False, to host its usage-stats module) asks the cloud metadata services
#: (169.254.169.254, metadata.google.internal) which cloud it runs on, whether or not usage stats are
#: enabled (ray/_common/usage/usage_lib.py, get_cluster_config_to_report; seen with Ray 2.60). Every HTTP
#: client in the cluster's processes is pointed at a closed loopback port instead, except for loopback
#: addresses, which is all a local cluster talks to. Not for clusters on other machines: their nodes talk
#: over real addresses.
LOCAL_CLUSTER_ENV = {name: "http://127.0.0.1:9" for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")} | {
    name: "127.0.0.1,localhost,::1" for name in ("no_proxy", "NO_PROXY", "no_grpc_proxy")}


def private_session_dir() -> str:
    """Ray's session folder for benchbed's own local cluster, and the token that cluster authenticates with.

    Ray makes its folder world-writable under the system temp dir and, for a new local cluster, writes a
    fresh token to ``~/.ray/auth_token``, and both outlive the sweep. Here the folder is a private one
    (0700, short enough for Ray's Unix socket paths) removed by :meth:`RayExecutor.close`, and the token a
    random one given in ``RAY_AUTH_TOKEN`` (read by Ray's token loader before it would write one): token
    authentication stays on, and nothing is left in the user's home.
    """
    if not os.environ.get("RAY_AUTH_TOKEN") and not os.environ.get("RAY_AUTH_TOKEN_PATH"):
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    return tempfile.mkdtemp(prefix="benchbed-ray-")


def _remote_cell(job_json: dict, timeout: float) -> dict:
    """Runs on a Ray node: export if needed, measure in a worker process, attach the node's environment.
    The job travels as JSON (never pickle), as it does to a local worker."""
    from benchbed.core.environment import environment
    from benchbed.launchers.base import export_failure, resolve_artifact
    from benchbed.launchers.process import run_cell

    job = resolve_artifact(Job.from_json(job_json))
    document = export_failure(job) if job.export_error else run_cell(job, timeout)
    document["environment"] = environment()
    return document


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a wrong --address: ray.init itself retries for minutes before giving up."""
    import socket

    target = address.split("://")[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms are Ray's to resolve
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise BenchbedError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


class RayExecutor:
    """Submits each job as a Ray task and hands back documents as tasks finish (any order)."""

    def __init__(self, address: str | None, timeout: float, hardware: list[str] | None = None, retries: int = 1,
                 local_cpus: int | None = None) -> None:
        host = address.split("://")[-1].rsplit(":", 1)[0] if address else None
        if address is None or host in ("127.0.0.1", "localhost"):
            # A cluster on this machine stays on the loopback interface. Without this Ray binds its
            # servers to every interface and rewrites 127.0.0.1 to the machine's network address, even
            # with _node_ip_address="127.0.0.1" (seen with Ray 2.60). Read by Ray at import time.
            os.environ.setdefault(LOOPBACK_ENV, "0")
        try:
            import ray
        except ImportError:
            raise BenchbedError("--executor ray needs Ray: pip install 'benchbed[ray]'") from None
        self.ray = ray
        self._session_dir: str | None = None
        self.timeout = timeout
        self.hardware = hardware or []
        self.retries = retries
        if address:
            _check_reachable(address)
        if not ray.is_initialized():
            try:
                if address:
                    loopback = {"_node_ip_address": "127.0.0.1"} if host in ("127.0.0.1", "localhost") else {}
                    ray.init(address=address, log_to_driver=False, **loopback)
                else:  # a private local cluster, bound to the loopback address only
                    self._session_dir = private_session_dir()
                    with _environment(LOCAL_CLUSTER_ENV):  # inherited by the cluster's processes only
                        ray.init(num_cpus=local_cpus, resources={CPU_NODE_RESOURCE: 1}, include_dashboard=False,
                                 _node_ip_address="127.0.0.1", log_to_driver=False, _temp_dir=self._session_dir)
            except Exception as exc:  # ConnectionError, RuntimeError ... from ray.init
                raise BenchbedError(f"cannot start or reach the Ray cluster {address or '(local)'}: "
                                    f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
            self._owns_ray = True
        else:
            self._owns_ray = False
        self._task = ray.remote(_remote_cell)
        self._pending: dict[Any, Job] = {}
        self._check_hardware()

    def _check_hardware(self) -> None:
        resources = self.ray.cluster_resources()
        for hw in self.hardware:
            key = hw if hw.startswith("hw:") else f"accelerator_type:{hw}"
            if key not in resources:
                raise BenchbedError(f"--hardware {hw}: no node in the cluster offers {key!r} "
                                    f"(known: {', '.join(sorted(k for k in resources if ':' in k)) or 'none'})")

    def _resources(self, job: Job) -> dict:
        options: dict = {"max_retries": self.retries, "retry_exceptions": False}
        custom: dict = {}
        hardware = job.cell.hardware
        if backend_device(job.cell.backend) == "cuda":
            options["num_gpus"] = 1
            options["num_cpus"] = 1
        elif CPU_NODE_RESOURCE in self.ray.cluster_resources():
            options["num_cpus"] = 0
            custom[CPU_NODE_RESOURCE] = 1
        else:  # the whole of the smallest node
            cpus = [n["Resources"].get("CPU", 1) for n in self.ray.nodes() if n.get("Alive")]
            options["num_cpus"] = min(cpus) if cpus else 1
        if hardware:
            custom[hardware if hardware.startswith("hw:") else f"accelerator_type:{hardware}"] = 0.001
        if custom:
            options["resources"] = custom
        return options

    def submit(self, job: Job) -> None:
        self._pending[self._task.options(**self._resources(job)).remote(job.to_json(), self.timeout)] = job

    def pending(self) -> int:
        return len(self._pending)

    def next_done(self) -> tuple[Job, dict]:
        ready, _ = self.ray.wait(list(self._pending), num_returns=1)
        ref = ready[0]
        job = self._pending.pop(ref)
        try:
            document = self.ray.get(ref)
        except Exception as exc:  # the node or its worker died, retries exhausted
            reason = type(exc).__name__
            detail = str(exc).strip().splitlines()
            document = Failure(job.cell, f"Ray task lost: {reason}" + (f" ({detail[0][:200]})" if detail else ""),
                               job.network_info).to_json()
        return job, document

    def close(self) -> None:
        for ref in list(self._pending):
            self.ray.cancel(ref, force=True)
        self._pending.clear()
        if self._owns_ray:
            self.ray.shutdown()
        if self._session_dir:
            shutil.rmtree(self._session_dir, ignore_errors=True)
            self._session_dir = None
