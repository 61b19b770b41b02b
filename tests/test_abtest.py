"""``benchbed abtest``: both sides loaded at once in resident workers, interleaved, one paired verdict per cell."""

from __future__ import annotations

import json
import sys

import pytest

from benchbed.analysis.abtest import check_same_interface
from benchbed.core.errors import ConfigError
from conftest import TINY_ARGS, run_cli

FAST = ["--budget", "3", "--burst", "0.05", "--min-rounds", "3", "--confidence", "0.9"]


def test_abtest_interleaves_two_resident_workers(tmp_path):
    result = run_cli("abtest", "--base-python", sys.executable, "--work", str(tmp_path / "ab"), *FAST,
                     "--max-foreign-cpu", "99",  # the suite's own processes must not stall this test
                     "--sweep-args", f"--phi 0 {' '.join(TINY_ARGS)} --scenario single-stream "
                                     f"--models {tmp_path / 'm'}", "--fail-on", "new failure", "--format", "json")
    assert result.returncode == 0, result.stderr
    cell = json.loads(result.stdout)["cells"][0]
    assert cell["verdict"] in ("slower", "faster", "no significant change", "unknown")
    assert cell["reasons"][0].startswith("paired: ") and "rounds in" in cell["reasons"][0]
    assert "% interval (sequential looks)" in cell["reasons"][0]  # its level, not the table header's 95 %
    assert "same artifact" in cell["reasons"]  # both checkouts (here one) exported the same bytes
    latency = cell["metrics"][0]
    assert latency["metric"] == "latency" and latency["base"] > 0 and latency["current"] > 0
    assert latency["ci_low"] <= latency["ratio"] <= latency["ci_high"]
    # each side exported with its own code into its own folder
    assert list((tmp_path / "ab" / "base" / "models").rglob("*.onnx"))
    assert list((tmp_path / "ab" / "current" / "models").rglob("*.onnx"))


def test_base_without_benchbed_is_one_line(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho \"/usr/bin/python3: No module named benchbed\" >&2\nexit 1\n")
    fake.chmod(0o755)
    result = run_cli("abtest", "--base-python", str(fake), "--sweep-args", f"--phi 0 {' '.join(TINY_ARGS)}")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--base-python" in lines[0] and "No module named benchbed" in lines[0], lines


@pytest.mark.parametrize("args,needle", [
    (["--budget", "0"], "--budget must be a finite number of seconds > 0 and at most 3600 per comparison, got 0"),
    (["--budget", "inf"], "--budget must be a finite number of seconds > 0"),
    (["--min-effect", "0"], "--min-effect must be a fraction in (0, 1)"),
    (["--sweep-args", "--scenario mlperf-singlestream"], "abtest interleaves single-stream and offline cells"),
    (["--sweep-args", "--phi 0 --bogus"], "--sweep-args: No such option: --bogus"),
])
def test_bad_abtest_input_is_one_line(args, needle):
    result = run_cli("abtest", "--base-python", sys.executable, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr, lines


def test_artifacts_with_different_tensors_are_refused():
    class Cell:
        def label(self):
            return "b0"

    class Job:
        cell = Cell()

    same = {"inputs": {"input": ["n", 3, 32, 32]}, "outputs": {"logits": ["n", 1000]}}
    check_same_interface(Job(), {"base": {"signature": same}, "current": {"signature": same}})
    other = {"inputs": {"input": ["n", 3, 40, 40]}, "outputs": {"logits": ["n", 1000]}}
    with pytest.raises(ConfigError, match="different inputs or outputs"):
        check_same_interface(Job(), {"base": {"signature": same}, "current": {"signature": other}})
    check_same_interface(Job(), {"base": {}, "current": {"signature": other}})  # an older BASE says nothing


def _fake_base(tmp_path, script: str):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\n" + script + "\n")
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize("script,needle", [
    ("yes", "did not answer benchbed's protocol (got 'y')"),
    ("head -c 70000000 /dev/zero | tr '\\\\0' a; sleep 60", "a reply line longer than"),
    ("read line; echo '{\"protocol\": 999}'; sleep 60", "expected protocol 1 with a version"),
], ids=["yes", "endless-line", "wrong-protocol"])
def test_a_base_that_does_not_speak_the_protocol_is_one_line(tmp_path, script, needle):
    """#27 items 25 and 40: refused at hello, in one line, without waiting for the load timeout."""
    fake = _fake_base(tmp_path, script)
    result = run_cli("abtest", "--base-python", str(fake), "--sweep-args", f"--phi 0 {' '.join(TINY_ARGS)}",
                     "--work", str(tmp_path / "ab"), timeout=240)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and needle in lines[0], result.stderr[-2000:]


@pytest.mark.parametrize("flag", ["--executor ray", "--db x.sqlite", "--reports r", "--resume", "--run-id x"])
def test_sweep_args_abtest_would_ignore_are_refused(flag):
    result = run_cli("abtest", "--base-python", sys.executable, "--sweep-args", f"--phi 0 {flag}")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "does not apply to abtest" in lines[0], lines


def test_an_unwritable_output_is_refused_before_measuring(tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o500)
    target = tmp_path / "folder"
    target.mkdir()
    for output in (target, tmp_path / "file" / "x.json"):
        (tmp_path / "file").write_text("a file, not a folder")
        result = run_cli("abtest", "--base-python", "/nonexistent/python", "--output", str(output))
        assert result.returncode == 2 and "--output" in result.stderr and "cannot start" not in result.stderr, \
            result.stderr
