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
