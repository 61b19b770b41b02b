import json

import pytest

from conftest import TINY_ARGS, run_cli


def test_generate_json_has_the_documented_keys():
    result = run_cli("generate", "--phi", "0-7", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["phi"] for r in rows] == list(range(8))
    for key in ("phi", "name", "mode", "width", "depth", "resolution", "params", "macs"):
        assert key in rows[0]
    assert rows[7]["params"] == 66347960 and rows[1]["resolution"] == 240


def test_generate_table_names_the_mode():
    result = run_cli("generate", "--phi", "1", "--mode", "compound")
    assert result.returncode == 0 and "compound" in result.stdout and "258" in result.stdout


@pytest.mark.parametrize("args,needle", [
    (["generate", "--phi", "8"], "0-7"),
    (["generate", "--phi", "-1"], "--phi"),
    (["generate", "--phi", "3-1"], "below the start"),
    (["generate", "--phi", "x"], "--phi"),
    (["generate", "--mode", "compound", "--alpha", "0.9"], "--alpha must be >= 1"),
    (["generate", "--mode", "compound", "--gamma", "0.5"], "--gamma must be >= 1"),
    (["generate", "--mode", "diagonal"], "unknown --mode"),
    (["generate", "--resolution", "abc"], "resolution"),
    (["export", "--phi", "0", "--precision", "int4"], "unknown precision"),
    (["export", "--phi", "0", "--weights", "/nonexistent.pt"], "no such file"),
    (["generate", "--no-such-flag"], "no-such-flag"),
    # unbounded work is refused before it starts (these grew past 1.5 GB, or were killed for memory)
    (["generate", "--mode", "compound", "--phi", "0-99999999999"], "more than 64 values"),
    (["generate", "--mode", "compound", "--phi", "100"], "over benchbed's limit of 1,000"),
    (["generate", "--phi", "0", "--depth", "1e9"], "--depth must be a positive number up to 1000"),
    (["generate", "--phi", "0", "--width", "1e5"], "--width must be a positive number up to 1000"),
    (["generate", "--phi", "0", "--depth", "500"], "over benchbed's limit of 1,000"),
    (["generate", "--phi", "0", "--width", "500"], "parameters is over the limit"),
    (["generate", "--phi", "0", "--resolution", "1000000"], "MACs per image is over the limit"),
])
def test_bad_input_is_one_line_exit_2(args, needle):
    result = run_cli(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_out_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("export", "--phi", "0", *TINY_ARGS, "--out", str(blocker / "sub"))
    assert result.returncode == 2 and "cannot write to --out" in result.stderr and "Traceback" not in result.stderr


def test_export_cli_then_cache_and_corrupt_rebuild(tmp_path):
    out = tmp_path / "models"
    first = run_cli("export", "--phi", "0", *TINY_ARGS, "--out", str(out), "--format", "json")
    assert first.returncode == 0, first.stderr
    row = json.loads(first.stdout)[0]
    assert row["max_rel_error"] <= 1e-4 and row["name"] == "efficientnet_b0@w0.25,d0.34,r32"
    path = out / row["name"] / "fp32.onnx"
    path.write_bytes(path.read_bytes()[:100])  # corrupt the cached file
    second = run_cli("export", "--phi", "0", *TINY_ARGS, "--out", str(out))
    assert second.returncode == 0 and "corrupt, rebuilding" in second.stderr
    assert json.loads(run_cli("export", "--phi", "0", *TINY_ARGS, "--out", str(out), "--format",
                              "json").stdout)[0]["sha256"] == row["sha256"]
