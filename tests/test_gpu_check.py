"""benchmarks/gpu_check.sh on this GPU-less machine (issue 13, item 5): it refuses in one line with exit 3, bad
arguments are one line with exit 2, and the Python it runs is importable, its checks' logic runs against the
GPU doubles (cuda-python and NVML), and its summary and exit status follow the checks."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpu_doubles import install

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("benchbed_gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _script(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=dict(os.environ, PYTHON=sys.executable))


def test_without_a_gpu_it_says_so_in_one_line_and_exits_3(tmp_path):
    out = tmp_path / "summary.json"
    done = _script("--out", str(out), cwd=tmp_path)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("gpu_check: no usable NVIDIA GPU: no CUDA device: torch ")
    assert not out.exists(), "nothing written on a machine the check cannot run on"


@pytest.mark.parametrize("args,needle", [(["--phi", "9"], "argument --phi: 9 is outside [0, 7]"),
                                         (["--nvml-seconds", "0"], "argument --nvml-seconds: 0 is outside [0.5, 60]"),
                                         (["--max-batch", "two"], "argument --max-batch: 'two' is not an integer"),
                                         (["--turbo"], "unrecognized arguments: --turbo")])
def test_bad_arguments_are_one_line_and_exit_2(tmp_path, args, needle):
    done = _script(*args, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == "", (done.stdout, done.stderr)
    assert done.stderr.strip().splitlines() == [f"gpu_check: error: {needle}"]


def test_an_output_path_that_is_a_folder_is_a_bad_argument(tmp_path):
    done = _script("--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2 and "is a folder, not a file" in done.stderr


def test_help_lists_the_options(tmp_path):
    done = _script("--help", cwd=tmp_path)
    assert done.returncode == 0 and all(o in done.stdout for o in ("--out", "--phi", "--skip-sweep", "--compile"))


def test_defaults(gpu_check):
    args = gpu_check.parse_args([])
    assert (args.out, args.phi, args.max_batch, args.nvml_seconds) == (Path("reports/gpu_check.json"), 0, 8, 3.0)
    assert not args.skip_sweep and not args.compile and args.work is None


def test_the_cuda_python_check_runs_benchbeds_helpers(monkeypatch, gpu_check):
    """Against the cuda-python double: buffers, pinned arrays, copies both ways, events, a replayed graph."""
    fake = install(monkeypatch, trt_version=None)
    result = gpu_check.check_cuda_bindings()
    assert result["status"] == "pass", result
    assert result["copies_equal"] and result["graph_replay_equal"] and result["graph_events_ms"] > 0
    assert fake.gpu.graph_launches == 1 and not fake.gpu.allocations, "every buffer was freed"


def test_the_cuda_python_check_fails_with_the_reason_without_a_driver(monkeypatch, gpu_check):
    from gpu_doubles import FakeGpu

    install(monkeypatch, trt_version=None, gpu=FakeGpu(driver=None))
    result = gpu_check.check_cuda_bindings()
    assert result["status"] == "fail" and "cudaGetDeviceCount" in result["error"]


def test_the_nvml_check_runs_benchbeds_tracker(monkeypatch, gpu_check):
    install(monkeypatch, trt_version=None, nvml={"power_mw": lambda t: 200_000})

    def load(seconds: float) -> int:
        time.sleep(min(seconds, 0.2))
        return 10

    result = gpu_check.check_nvml(0.5, load=load)
    assert result["status"] == "pass", result
    assert result["summary"]["power_w"]["mean"] == pytest.approx(200.0) and result["summary"]["energy_mj"] > 0


def test_the_nvml_check_fails_without_nvml(monkeypatch, gpu_check):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    result = gpu_check.check_nvml(0.5, load=lambda s: 1)
    assert result["status"] == "fail" and "NVML is not available" in result["error"]


def test_cell_summary_reads_result_and_failure_documents(gpu_check):
    ok = {"status": "ok", "cell": {"scenario": "offline", "batch": 4},
          "validity": {"status": "VALID", "reasons": [], "warnings": []},
          "backend": {"details": {"compute_precision": "tf32"}},
          "parity": {"max_rel_error": 3e-3, "tolerance": 5e-2, "passed": True, "tolerance_reason": "TF32 ..."},
          "stats": {"p50_ms": 1.5}, "timing": {"device_stats": {"p50_ms": 1.2}},
          "nvml": {"energy_per_image_mj": 40.0, "power_w": {"mean": 300.0}}}
    row = gpu_check.cell_summary(ok)
    assert row["passed"] and row["compute_precision"] == "tf32" and row["device_p50_ms"] == 1.2
    assert row["parity"]["tolerance"] == 5e-2 and row["energy_per_image_mj"] == 40.0
    assert not gpu_check.cell_summary({**ok, "nvml": None})["passed"], "a GPU cell without its NVML section"
    failed = gpu_check.cell_summary({"status": "failed", "cell": {"scenario": "offline", "batch": 4}, "error": "OOM"})
    assert failed == {"scenario": "offline", "batch": 4, "status": "failed", "error": "OOM", "passed": False}


@pytest.mark.parametrize("failing,code", [(None, 0), ("nvml", 1)])
def test_the_summary_and_exit_status_follow_the_checks(monkeypatch, tmp_path, gpu_check, failing, code):
    monkeypatch.setattr(gpu_check, "gpu_or_reason", lambda: (True, "1 GPU (test)"))
    for name in ("gpu", "cuda_bindings", "nvml", "torch_parity"):
        status = "fail" if name == failing else "pass"
        monkeypatch.setattr(gpu_check, f"check_{name}", lambda *a, _s=status, **k: {"status": _s})
    out = tmp_path / "out" / "summary.json"
    assert gpu_check.main(["--out", str(out), "--skip-sweep"]) == code
    summary = json.loads(out.read_text())
    assert summary["format"] == "benchbed-gpu-check/1" and summary["passed"] is (failing is None)
    assert summary["failed"] == ([failing] if failing else [])
    assert summary["checks"]["torch_cuda_cells"]["status"] == "skip" and summary["gpu"] == "1 GPU (test)"


def test_a_check_that_raises_is_a_failure_with_its_reason(gpu_check):
    def broken() -> dict:
        raise RuntimeError("CUDA error: out of memory")

    result = gpu_check._run(broken)
    assert result["status"] == "fail" and result["error"] == "RuntimeError: CUDA error: out of memory"


def test_the_parity_check_runs_benchbeds_network_on_cuda_and_judges_each_mode(monkeypatch, gpu_check):
    """Through the torch.cuda double (real CPU math, device contracts enforced): the network and input go to
    the device, outputs come back, and each mode is held to benchbed's bound for it."""
    from conftest import TINY
    from gpu_doubles.torch_cuda import install as install_torch_cuda

    fake = install_torch_cuda(monkeypatch)
    try:
        result = gpu_check.check_torch_parity(0, **TINY)
    finally:
        fake.close()
    assert result["status"] == "pass", result
    assert result["modes"]["fp32"]["bound"] == 1e-4 and result["modes"]["tf32"]["bound"] == 5e-2
    assert result["modes"]["fp32"]["max_rel_error"] <= 1e-4 and "float16" in str(fake.autocasts)


def test_the_sweep_check_reports_a_sweep_that_could_not_run(tmp_path, gpu_check):
    """Here torch-cuda is unusable, so each variant's sweep refuses before exporting: reported, not raised."""
    result = gpu_check.check_torch_cuda_cells(0, 2, tmp_path, {"fp32": [], "tf32": ["tf32=on"]})
    assert result["status"] == "fail" and set(result["variants"]) == {"fp32", "tf32"}
    for variant in result["variants"].values():
        assert not variant["passed"] and variant["exit"] == 2
        assert "backend 'torch-cuda' is not usable here: no CUDA device" in variant["error"]
