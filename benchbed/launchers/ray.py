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

import os
from typing import Any

from benchbed.core.errors import BenchbedError

CPU_NODE_RESOURCE = "benchbed_cpu_node"
#: Ray's switch that, set to 0, makes it treat this machine as a single loopback-only node
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
GPU_BACKENDS = ("tensorrt", "onnxruntime-cuda", "onnxruntime-trt")


def _remote_cell(job: dict, timeout: float) -> dict:
    """Runs on a Ray node: export if needed, measure in a worker process, attach the node's environment."""
    from benchbed.launchers.process import run_cell
    from benchbed.core.environment import environment
    from benchbed.sweep.run import export_failure, resolve_artifact

    job = resolve_artifact(job)
    document = export_failure(job) if "export_error" in job else run_cell(job, timeout)
    document["environment"] = environment()
    return document


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
                    ray.init(num_cpus=local_cpus, resources={CPU_NODE_RESOURCE: 1}, include_dashboard=False,
                             _node_ip_address="127.0.0.1", log_to_driver=False)
            except Exception as exc:  # ConnectionError, RuntimeError ... from ray.init
                raise BenchbedError(f"cannot start or reach the Ray cluster {address or '(local)'}: "
                                    f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
            self._owns_ray = True
        else:
            self._owns_ray = False
        self._task = ray.remote(_remote_cell)
        self._pending: dict[Any, tuple[dict, str]] = {}
        self._check_hardware()

    def _check_hardware(self) -> None:
        resources = self.ray.cluster_resources()
        for hw in self.hardware:
            key = hw if hw.startswith("hw:") else f"accelerator_type:{hw}"
            if key not in resources:
                raise BenchbedError(f"--hardware {hw}: no node in the cluster offers {key!r} "
                                    f"(known: {', '.join(sorted(k for k in resources if ':' in k)) or 'none'})")

    def _resources(self, job: dict, hardware: str | None) -> dict:
        options: dict = {"max_retries": self.retries, "retry_exceptions": False}
        custom: dict = {}
        if job["cell"]["backend"] in GPU_BACKENDS:
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

    def submit(self, job: dict, label: str) -> None:
        options = self._resources(job, job["cell"].get("hardware"))
        self._pending[self._task.options(**options).remote(job, self.timeout)] = (job, label)

    def pending(self) -> int:
        return len(self._pending)

    def next_done(self) -> tuple[str, dict]:
        ready, _ = self.ray.wait(list(self._pending), num_returns=1)
        ref = ready[0]
        job, label = self._pending.pop(ref)
        try:
            document = self.ray.get(ref)
        except Exception as exc:  # the node or its worker died, retries exhausted
            reason = type(exc).__name__
            detail = str(exc).strip().splitlines()
            document = {"status": "failed", "cell": job["cell"], "network_info": job.get("network_info"),
                        "error": f"Ray task lost: {reason}" + (f" ({detail[0][:200]})" if detail else "")}
        return label, document

    def close(self) -> None:
        for ref in list(self._pending):
            self.ray.cancel(ref, force=True)
        self._pending.clear()
        if self._owns_ray:
            self.ray.shutdown()
