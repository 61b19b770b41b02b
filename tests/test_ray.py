"""Sweeps through a real Ray cluster on this machine (loopback only): local, via `ray start --head`,
and with a worker killed mid-cell."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import ROOT, TINY_ARGS, run_cli

pytest.importorskip("ray")
#: Ray 2.60 turns on token authentication for `ray start`; this loopback-only test cluster opts out
NO_TOKEN = {"RAY_AUTH_MODE": "disabled"}
#: keep every Ray server of these tests on 127.0.0.1 (Ray otherwise also listens on the machine's address)
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
FAST = ["--quick", "--duration", "0.3", "--iterations", "5", "--scenario", "single-stream"]


def _paths(tmp_path):
    return ["--db", str(tmp_path / "db.sqlite"), "--models", str(tmp_path / "models"), "--reports", str(tmp_path / "r")]


def _docs(tmp_path):
    return json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())["results"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _is_loopback(ip: str) -> bool:
    import ipaddress

    address = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _listening_beyond_loopback() -> list[str]:
    """Ray listeners on addresses other than 127.0.0.1 (none allowed)."""
    found = []
    for conn in psutil.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and not _is_loopback(conn.laddr.ip) and conn.pid:
            try:
                name = " ".join(psutil.Process(conn.pid).cmdline())
            except psutil.Error:
                continue
            if "ray" in name or "gcs_server" in name or "raylet" in name:
                found.append(f"{conn.laddr.ip}:{conn.laddr.port} {name[:60]}")
    return found


def _ray_session_folders() -> set[str]:
    import tempfile

    temp = Path(tempfile.gettempdir())
    return {str(p) for p in [*temp.glob("benchbed-ray-*"), *temp.glob("ray/session_*")]}


def test_local_ray_cluster_sweep(tmp_path):
    """Loopback only; Ray's session folder is private and removed, and no token is left in the home (#27 46)."""
    folders_before = _ray_session_folders()
    proc = subprocess.Popen([sys.executable, "-m", "benchbed.cli", "sweep", "--executor", "ray", "--phi", "0,1",
                             *TINY_ARGS, "--quick", "--duration", "2", "--iterations", "5", "--scenario",
                             "single-stream", *_paths(tmp_path), "--format", "json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen_cells, wide = False, []
    deadline = time.time() + 300
    while proc.poll() is None and time.time() < deadline:  # look while the cluster is up
        if any("benchbed.launchers.worker" in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])):
            seen_cells = True
            wide += _listening_beyond_loopback()
        time.sleep(0.5)
    out, err = proc.communicate(timeout=60)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert seen_cells and not wide, wide
    assert result.returncode == 0, result.stderr
    docs = _docs(tmp_path)
    assert len(docs) == 2 and all(d["status"] == "ok" and d["validity"]["status"] == "VALID" for d in docs)
    assert all(d["environment"]["fingerprint"] for d in docs)  # each node's fingerprint is kept
    assert json.loads(result.stdout)["status"] == "complete"
    assert _ray_session_folders() <= folders_before  # nothing of the cluster's is left in the temp dir
    assert not (Path(os.environ["HOME"]) / ".ray").exists()  # the token was given, never written


@pytest.fixture
def head_node(tmp_path):
    ray = shutil.which("ray", path=str(Path(sys.executable).parent))
    port = _free_port()
    from benchbed.launchers.ray import LOCAL_CLUSTER_ENV  # its dashboard would query cloud metadata services

    env = dict(os.environ, RAY_ADDRESS="", **NO_TOKEN, **LOOPBACK, **LOCAL_CLUSTER_ENV)
    started = subprocess.run(
        [ray, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
         "--resources", json.dumps({"benchbed_cpu_node": 1, "hw:testbox": 1}), "--include-dashboard=false",
         "--disable-usage-stats"], capture_output=True, text=True, timeout=180, env=env)
    assert started.returncode == 0, started.stderr[-2000:]
    yield f"127.0.0.1:{port}"
    subprocess.run([ray, "stop", "--force"], capture_output=True, timeout=120, env=env)


def test_ray_head_node_with_hardware_and_a_worker_killed_mid_cell(tmp_path, head_node):
    args = ["sweep", "--executor", "ray", "--address", head_node, "--hardware", "hw:testbox", "--phi", "0,1",
            *TINY_ARGS, "--quick", "--duration", "3", "--iterations", "5", "--scenario", "single-stream",
            *_paths(tmp_path), "--format", "json"]
    proc = subprocess.Popen([sys.executable, "-m", "benchbed.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, **NO_TOKEN, **LOOPBACK))
    killed = None
    deadline = time.time() + 240
    while time.time() < deadline and killed is None:  # the first cell's measuring worker and its Ray worker
        for p in psutil.process_iter(["cmdline"]):
            cmd = " ".join(p.info["cmdline"] or [])
            if "benchbed.launchers.worker" in cmd and p.create_time() < time.time() - 1.0:
                ray_worker = p.parent()
                killed = ray_worker.pid
                os.kill(ray_worker.pid, signal.SIGKILL)  # the node loses the task mid-cell
                break
        time.sleep(0.2)
    assert killed, "found a Ray worker measuring a cell"
    out, err = proc.communicate(timeout=400)
    assert proc.returncode == 0, err
    docs = _docs(tmp_path)
    assert {d["cell"]["network"].split("@")[0] for d in docs} == {"efficientnet_b0", "efficientnet_b1"}
    assert all(d["cell"]["hardware"] == "hw:testbox" for d in docs)
    assert all(d["status"] == "ok" for d in docs), [d.get("error") for d in docs]  # retried on the node

    # procure and report take the cluster's results directly: the node's hardware label names the option
    prices = tmp_path / "prices.yaml"
    prices.write_text("hardware:\n  hw:testbox: {hourly: 1.5}\n")
    run_id = next((tmp_path / "r").glob("*/results.json")).parent.name
    db = ["--db", _paths(tmp_path)[1]]
    answer = run_cli("procure", run_id, *db, "--prices", str(prices), "--format", "json")
    assert answer.returncode == 0, answer.stderr
    ranked = json.loads(answer.stdout)["ranked"]
    assert {r["hardware"] for r in ranked} == {"hw:testbox"} and len(ranked) == 2
    report = run_cli("report", run_id, *db, "--out", str(tmp_path / "rep"))
    assert report.returncode == 0 and "[hw:testbox]" in report.stdout

    unknown = run_cli("sweep", "--executor", "ray", "--address", head_node, "--hardware", "hw:nope", "--phi", "0",
                      *TINY_ARGS, *FAST, *_paths(tmp_path / "x"), timeout=200, env=NO_TOKEN | LOOPBACK)
    assert unknown.returncode == 2 and "hw:nope" in unknown.stderr


def test_ray_bad_input(tmp_path):
    for args, needle in ((["--executor", "spark"], "unknown --executor"), (["--hardware", "A100"], "need --executor ray"),
                         (["--executor", "ray", "--ray-retries", "-1"], "--ray-retries")):
        result = run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, *_paths(tmp_path), *args)
        assert result.returncode == 2 and needle in result.stderr, result.stderr
    unreachable = run_cli("sweep", "--executor", "ray", "--address", f"127.0.0.1:{_free_port()}", "--phi", "0",
                          *TINY_ARGS, *FAST, *_paths(tmp_path), timeout=200)
    assert unreachable.returncode == 2 and "Ray cluster" in unreachable.stderr, unreachable.stderr


@pytest.mark.parametrize("backend,gpus", [("torch-cuda", 1), ("tensorrt", 1), ("onnxruntime-cuda", 1),
                                          ("onnxruntime", None), ("openvino", None)])
def test_every_gpu_backend_asks_ray_for_a_gpu(backend, gpus):
    """The GPU backend list once lacked torch-cuda, so its cells never reserved a GPU: the device a backend
    declares decides, for every backend."""
    from benchbed.core.cell import Cell
    from benchbed.core.job import Job
    from benchbed.launchers.ray import CPU_NODE_RESOURCE, RayExecutor

    class FakeRay:
        def cluster_resources(self):
            return {"CPU": 4.0, CPU_NODE_RESOURCE: 1.0}

    executor = object.__new__(RayExecutor)  # no cluster: only the resource request is under test
    executor.ray, executor.retries = FakeRay(), 1
    options = executor._resources(Job(Cell("n", backend, "fp32", "single-stream", 1), 32, {}, {}))
    assert options.get("num_gpus") == gpus
