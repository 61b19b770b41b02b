"""trtexec's summary parsed from captured lines, and run through a stand-in trtexec on PATH."""

from __future__ import annotations

import os
import stat

import pytest

from gpu_doubles.models import tiny_onnx

SAMPLE = """\
[11/22/2026-09:00:01] [I] === Performance summary ===
[11/22/2026-09:00:01] [I] Throughput: 1794.67 qps
[11/22/2026-09:00:01] [I] Latency: min = 0.592285 ms, max = 1.30054 ms, mean = 0.614697 ms, median = 0.60791 ms, percentile(90%) = 0.625977 ms, percentile(95%) = 0.637451 ms, percentile(99%) = 0.764404 ms
[11/22/2026-09:00:01] [I] Enqueue Time: min = 0.00415 ms, max = 0.0293 ms, mean = 0.0049 ms, median = 0.0046 ms, percentile(90%) = 0.0052 ms, percentile(95%) = 0.0057 ms, percentile(99%) = 0.0085 ms
[11/22/2026-09:00:01] [I] H2D Latency: min = 0.0301 ms, max = 0.061 ms, mean = 0.0326 ms, median = 0.0318 ms, percentile(90%) = 0.0344 ms, percentile(95%) = 0.036 ms, percentile(99%) = 0.0452 ms
[11/22/2026-09:00:01] [I] GPU Compute Time: min = 0.537842 ms, max = 1.24146 ms, mean = 0.556 ms, median = 0.551025 ms, percentile(90%) = 0.567 ms, percentile(95%) = 0.578 ms, percentile(99%) = 0.701 ms
[11/22/2026-09:00:01] [I] D2H Latency: min = 0.0196 ms, max = 0.04 ms, mean = 0.026 ms, median = 0.0256 ms, percentile(90%) = 0.0286 ms, percentile(95%) = 0.0297 ms, percentile(99%) = 0.0337 ms
"""


def test_parse_summary_takes_the_plain_latency_line_not_h2d():
    from benchbed.backends.tensorrt.trtexec import parse_summary

    found = parse_summary(SAMPLE)
    assert found["latency"]["median"] == pytest.approx(0.60791)
    assert found["latency"]["min"] == pytest.approx(0.592285) and found["latency"]["p99"] == pytest.approx(0.764404)
    assert found["gpu_compute"]["median"] == pytest.approx(0.551025)
    assert parse_summary("[I] H2D Latency: min = 1 ms, max = 2 ms, mean = 1 ms, median = 1 ms") == {}


def test_selftest_sets_trtexec_beside_tensorrt(monkeypatch, tmp_path):
    from benchbed.analysis.selftest import trtexec_beside as _trtexec_beside

    tiny_onnx(tmp_path / "models" / "b0" / "fp32.onnx")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "trtexec"
    (bin_dir / "sample.txt").write_text(SAMPLE)
    script.write_text(f'#!/bin/sh\necho "$@" > {bin_dir}/args\ncat {bin_dir}/sample.txt\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    row = _trtexec_beside(tmp_path / "models")
    assert row["trtexec_median_ms"] == pytest.approx(0.60791)
    assert row["trtexec_gpu_compute_median_ms"] == pytest.approx(0.551025)
    assert (bin_dir / "args").read_text().split() == [f"--onnx={tmp_path}/models/b0/fp32.onnx", "--shapes=images:1x3x8x8"]


def test_no_trtexec_is_a_note(monkeypatch, tmp_path):
    from benchbed.analysis.selftest import trtexec_beside as _trtexec_beside

    monkeypatch.setenv("PATH", str(tmp_path))
    assert _trtexec_beside(tmp_path) == {"trtexec": "not on PATH"}


HELP = {10: "  --noDataTransfers           Disable DMA transfers to and from device (default = enabled).\n"
            "  --useCudaGraph              Use CUDA graph to capture engine execution (default = disabled).\n",
        11: "  --includeDataTransfers      Enable DMA transfers to and from device (default = disabled).\n"
            "  --noDataTransfers           [Deprecated] DMA transfers are now disabled by default. No-op.\n"
            "  --noCudaGraph               Disable CUDA graph capture and launch (default = CUDA graph enabled).\n"}
VERSIONS = {10: "10.16.1", 11: "11.4.0"}


def _stand_in(monkeypatch, tmp_path, major):
    """A trtexec on PATH that answers --help in ``major``'s dialect and otherwise prints SAMPLE."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "help.txt").write_text(HELP[major] if major else "usage: trtexec [options]\n")
    (bin_dir / "sample.txt").write_text(f"[I] TensorRT version: {VERSIONS.get(major, '0.0.0')}\n" + SAMPLE)
    script = bin_dir / "trtexec"
    script.write_text(f'#!/bin/sh\nif [ "$1" = "--help" ]; then cat {bin_dir}/help.txt; exit 0; fi\n'
                      f'echo "$@" > {bin_dir}/args\ncat {bin_dir}/sample.txt\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


@pytest.mark.parametrize("major,expected", [
    (10, ["--stronglyTyped", "--noTF32", "--noDataTransfers"]),
    (11, ["--noTF32", "--noCudaGraph"])])
def test_trtexec_is_told_the_cells_options_in_its_versions_dialect(monkeypatch, tmp_path, major, expected):
    """benchbed's defaults (no CUDA graph, copies out, TF32 off) are trtexec 10's transfers-on and 11's
    graphs-on defaults turned off; the figure returned is GPU compute time, what benchbed's events measure."""
    from benchbed.backends.tensorrt.options import TrtOptions
    from benchbed.backends.tensorrt.trtexec import COMPARE_WITH, run_trtexec

    bin_dir = _stand_in(monkeypatch, tmp_path, major)
    path = tiny_onnx(tmp_path / "fp32.onnx")
    result = run_trtexec(path, "images", [1, 3, 8, 8], options=TrtOptions(max_batch=4, opt_batch=1))
    shapes = ["--minShapes=images:1x3x8x8", "--optShapes=images:1x3x8x8", "--maxShapes=images:4x3x8x8"]
    assert result["flags"] == [*expected, "--memPoolSize=workspace:2048M", "--builderOptimizationLevel=3", *shapes]
    assert (bin_dir / "args").read_text().split() == [f"--onnx={path}", "--shapes=images:1x3x8x8", *result["flags"]]
    assert result["compare_ms"] == pytest.approx(0.551025) and result["compare_with"] == COMPARE_WITH
    assert result["median_ms"] == pytest.approx(0.60791), "trtexec's Latency is still reported, as before"
    assert (result["dialect"], result["trtexec_version"], result["matched"]) == (major, VERSIONS[major], True)


@pytest.mark.parametrize("major,graph,copies", [(10, "--useCudaGraph", None), (11, None, "--includeDataTransfers")])
def test_cuda_graph_and_copies_in_are_passed_where_they_are_not_the_default(monkeypatch, tmp_path, major, graph,
                                                                            copies):
    from benchbed.backends.tensorrt.options import TrtOptions
    from benchbed.backends.tensorrt.trtexec import run_trtexec

    _stand_in(monkeypatch, tmp_path, major)
    options = TrtOptions(cuda_graph=True, copies_included=True, tf32=True, workspace_mib=512, opt_level=5)
    flags = run_trtexec(tiny_onnx(tmp_path / "fp32.onnx"), "images", [2, 3, 8, 8], options=options)["flags"]
    assert "--noTF32" not in flags and "--noCudaGraph" not in flags and "--noDataTransfers" not in flags
    assert (graph in flags if graph else True) and (copies in flags if copies else True)
    assert "--memPoolSize=workspace:512M" in flags and "--builderOptimizationLevel=5" in flags
    assert "--maxShapes=images:2x3x8x8" in flags, "the profile covers the run's batch"


def test_weak_typing_on_tensorrt_10_passes_the_legacy_precision_flag(monkeypatch, tmp_path):
    from benchbed.backends.tensorrt.options import TrtOptions
    from benchbed.backends.tensorrt.trtexec import DIALECTS, trtexec_flags

    weak = TrtOptions(strongly_typed=False)
    assert "--fp16" in trtexec_flags(DIALECTS[10], weak, "images", [1, 3, 8, 8], "fp16")
    assert "--stronglyTyped" not in trtexec_flags(DIALECTS[10], weak, "images", [1, 3, 8, 8], "fp16")
    assert not any(f in ("--fp16", "--stronglyTyped") for f in trtexec_flags(DIALECTS[11], weak, "images",
                                                                              [1, 3, 8, 8], "fp16"))


def test_a_trtexec_of_unknown_dialect_is_an_error_not_a_mismatched_figure(monkeypatch, tmp_path):
    from benchbed.backends.tensorrt.options import TrtOptions
    from benchbed.backends.tensorrt.trtexec import run_trtexec

    bin_dir = _stand_in(monkeypatch, tmp_path, None)
    result = run_trtexec(tiny_onnx(tmp_path / "fp32.onnx"), "images", [1, 3, 8, 8], options=TrtOptions())
    assert "cannot tell which flags match the cell" in result["error"] and "compare_ms" not in result
    assert not (bin_dir / "args").exists(), "trtexec was not run with flags that may not match"


def test_without_options_trtexec_runs_with_its_own_defaults_and_says_so(monkeypatch, tmp_path):
    from benchbed.backends.tensorrt.trtexec import run_trtexec

    _stand_in(monkeypatch, tmp_path, 11)
    result = run_trtexec(tiny_onnx(tmp_path / "fp32.onnx"), "images", [1, 3, 8, 8])
    assert result["matched"] is False and result["flags"] == [] and result["dialect"] is None
    assert result["compare_ms"] == pytest.approx(0.551025)


@pytest.mark.parametrize("major", [10, 11])
def test_selftest_compares_trtexec_on_the_cells_options_and_gpu_time(monkeypatch, tmp_path, major):
    """trtexec's "Latency" differs by version; the selftest passes the cell's options in that version's flags
    and sets trtexec's GPU compute median beside the cell's CUDA-event median."""
    from benchbed.analysis.selftest import trtexec_beside

    tiny_onnx(tmp_path / "models" / "b0" / "fp32.onnx")
    bin_dir = _stand_in(monkeypatch, tmp_path, major)
    document = {"backend": {"options": {"extra": {"cuda_graph": "on"}}, "details": {"tensorrt": VERSIONS[major]}}}
    row = trtexec_beside(tmp_path / "models", document)
    assert row["trtexec_compare_ms"] == pytest.approx(0.551025)  # GPU compute time, not "Latency"
    assert row["trtexec_flags"] and row["trtexec_version"] == VERSIONS[major]
    args = (bin_dir / "args").read_text().split()
    assert ("--useCudaGraph" in args) if major == 10 else ("--noCudaGraph" not in args)
    other = dict(document, backend={**document["backend"], "details": {"tensorrt": "9.0.0"}})
    assert trtexec_beside(tmp_path / "models", other)["trtexec_compare_ms"] is None  # another major: not compared
