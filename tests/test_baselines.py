"""Baselines other than B0: EfficientNet-lite0 as data (its published parameter count rebuilt), a user's
YAML baseline through generate / sweep / search, the recipe that carries it to workers, and bad files."""

from __future__ import annotations

import json
import os

import pytest

from conftest import TINY_ARGS, run_cli

#: timm ``efficientnet_lite0`` (and tensorflow/tpu lite0): 4,652,008 parameters; lite1-4 from timm too.
LITE_PARAMS = {0: 4_652_008, 1: 5_416_680, 2: 6_092_072, 3: 8_197_096, 4: 13_006_568}

USER_YAML = """\
name: tiny-lite
stem: 16
head: 64
resolution: 32
activation: relu6
fix_stem_head: true
stages:
  - mb_r1_k3_s1_e1_c8
  - mb_r2_k3_s2_e4_c16_se0.25
presets:
  - {phi: 0, name: tiny-lite-s, width: 1.0, depth: 1.0, resolution: 32}
  - {phi: 1, name: tiny-lite-m, width: 1.25, depth: 1.5, resolution: 40}
"""

FAST = ["--quick", "--duration", "0.2", "--iterations", "5", "--max-batch", "2"]


@pytest.fixture
def user_yaml(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(USER_YAML)
    return path


@pytest.mark.parametrize("phi", sorted(LITE_PARAMS))
def test_lite_spec_counts_the_published_parameters(phi):
    from benchbed.networks import network_spec

    spec = network_spec(phi, baseline="efficientnet-lite0")
    assert spec.params == LITE_PARAMS[phi]
    assert spec.name == f"efficientnet_lite{phi}"
    assert spec.stem_channels == 32 and spec.head_channels == 1280  # fixed when scaling


def test_lite0_torch_module_has_the_published_parameters_relu6_and_no_se():
    from torch import nn

    from benchbed.networks import build_network, network_spec
    from benchbed.networks.network import SqueezeExcitation

    model = build_network(network_spec(0, baseline="efficientnet-lite0"), calibrate=False)
    assert sum(p.numel() for p in model.parameters()) == LITE_PARAMS[0]
    assert not any(isinstance(m, SqueezeExcitation) for m in model.modules())
    assert not any(isinstance(m, nn.SiLU) for m in model.modules())
    assert any(isinstance(m, nn.ReLU6) for m in model.modules())


def test_b0_is_unchanged_by_the_baseline_fields():
    from benchbed.networks import NetworkRecipe, network_spec

    spec = network_spec(0)
    assert spec.name == "efficientnet_b0" and spec.params == 5_288_548 and spec.custom_baseline is None
    assert "baseline_doc" not in NetworkRecipe.of(spec).to_dict()  # the same JSON as before


def test_lite_first_and_last_stage_depth_fixed_in_compound_mode():
    from benchbed.networks import network_spec

    spec = network_spec(2, "compound", baseline="efficientnet-lite0")
    assert [len(s) for s in spec.stages][0] == 1 and [len(s) for s in spec.stages][-1] == 1
    assert spec.name.startswith("efficientnet-lite0_compound_phi2")


def test_yaml_baseline_every_mode_and_the_recipe_round_trip(user_yaml):
    from benchbed.networks import NetworkRecipe, network_spec, network_specs

    preset = network_specs("0-1", baseline=str(user_yaml))
    assert [s.name for s in preset] == ["tiny-lite-s", "tiny-lite-m"]
    assert preset[1].resolution == 40 and preset[0].activation == "relu6"
    for mode in ("compound", "width", "depth", "resolution"):
        spec = network_spec(1, mode, baseline=str(user_yaml))
        assert spec.name.startswith(f"tiny-lite_{mode}"), spec.name
        assert spec.resolution >= 32  # scaled from the baseline's own 32 px, not B0's 224
        recipe = json.loads(json.dumps(NetworkRecipe.of(spec).to_dict()))  # what a worker receives
        user_yaml.write_text("this file is gone")  # the worker does not need the file
        again = NetworkRecipe.from_dict(recipe).spec()
        assert again == spec and again.params == spec.params
        user_yaml.write_text(USER_YAML)


def test_yaml_baseline_builds_and_counts_like_torch(user_yaml):
    from benchbed.networks import build_network, network_spec

    spec = network_spec(1, baseline=str(user_yaml))
    model = build_network(spec, calibrate=False)
    assert sum(p.numel() for p in model.parameters()) == spec.params


def test_yaml_baseline_changes_the_artifact_cache_key(user_yaml):
    from benchbed.artifacts.export import _cache_key
    from benchbed.artifacts.precision import TransformOptions
    from benchbed.networks import network_spec

    first = _cache_key(network_spec(0, baseline=str(user_yaml)), "fp32", TransformOptions(), 0, None)
    user_yaml.write_text(USER_YAML.replace("head: 64", "head: 72"))
    second = _cache_key(network_spec(0, baseline=str(user_yaml)), "fp32", TransformOptions(), 0, None)
    assert first["baseline_sha256"] != second["baseline_sha256"]
    assert "baseline_sha256" not in _cache_key(network_spec(0), "fp32", TransformOptions(), 0, None)


@pytest.mark.parametrize("text,line,words", [
    (USER_YAML.replace("mb_r2_k3_s2_e4_c16_se0.25", "mb_r2_k3_s2_e4_c16_q7"), 9, ["'q7'"]),
    (USER_YAML.replace("mb_r1_k3_s1_e1_c8", "fused_r1_k3_s1_e1_c8"), 8, ["'fused'"]),
    (USER_YAML.replace("activation: relu6", "activation: gelu"), 5, ["'gelu'"]),
    (USER_YAML.replace("name: tiny-lite", "name: efficientnet-b0"), 1, ["built-in"]),
    (USER_YAML.replace("fix_stem_head", "fix_stem_heads"), 6, ["fix_stem_heads"]),
])
def test_bad_baseline_file_is_one_line_with_its_line_number(tmp_path, text, line, words):
    from benchbed.core.errors import BenchbedError
    from benchbed.networks.baseline_file import load_baseline

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(BenchbedError) as caught:
        load_baseline(path)
    message = str(caught.value)
    assert "\n" not in message and f"bad.yaml line {line}:" in message, message
    assert all(w in message for w in words), message


def test_cli_generate_and_search_on_a_yaml_baseline(user_yaml):
    result = run_cli("generate", "--phi", "0,1", "--baseline", str(user_yaml), "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["tiny-lite-s", "tiny-lite-m"] and rows[0]["baseline"] == "tiny-lite"
    assert rows[0]["actual_flops_multiple"] == pytest.approx(1.0)
    result = run_cli("search", "--baseline", str(user_yaml), "--step", "0.1", "--top", "2", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 2


def test_cli_bad_baseline_token_exits_2_with_one_line_and_runs_nothing(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(USER_YAML.replace("mb_r2_k3_s2_e4_c16_se0.25", "mb_r2_k3_s2_e4_c16_zz3"))
    result = run_cli("sweep", "--phi", "0", "--baseline", str(path), "--backend", "null", *FAST,
                     "--db", str(tmp_path / "r" / "db.sqlite"), "--models", str(tmp_path / "m"),
                     "--reports", str(tmp_path / "r"))
    assert result.returncode == 2
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "line 9" in lines[0] and "'zz3'" in lines[0], result.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "m").exists()


def test_cli_sweep_on_a_yaml_baseline_in_compound_mode(user_yaml, tmp_path):
    result = run_cli("sweep", "--phi", "0", "--mode", "compound", "--baseline", str(user_yaml), "--backend",
                     "onnxruntime", "--scenario", "single-stream", *FAST, "--db", str(tmp_path / "r" / "db.sqlite"),
                     "--models", str(tmp_path / "m"), "--reports", str(tmp_path / "r"), "--format", "json")
    assert result.returncode == 0, result.stderr
    results = json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())["results"]
    assert results and all(r["status"] == "ok" for r in results), results
    assert {r["cell"]["network"] for r in results} == {"tiny-lite_compound_phi0_a1.2_b1.1_g1.15"}


def test_cli_sweep_preset_lite0_tiny(tmp_path):
    result = run_cli("sweep", "--phi", "0", "--baseline", "efficientnet-lite0", *TINY_ARGS, "--backend", "null",
                     "--scenario", "single-stream", *FAST, "--db", str(tmp_path / "r" / "db.sqlite"),
                     "--models", str(tmp_path / "m"), "--reports", str(tmp_path / "r"), "--format", "json")
    assert result.returncode == 0, result.stderr
    results = json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())["results"]
    assert results and all(r["status"] == "ok" for r in results), results
    assert all(r["cell"]["network"].startswith("efficientnet_lite0@") for r in results)


def test_cli_accuracy_on_a_yaml_baseline_gives_rows_that_join_its_sweep(user_yaml, tmp_path):
    """accuracy --baseline FILE.yaml evaluates the user's scaled network, and its row carries the name the
    sweep of that baseline gives the network, so reports join the two."""
    import numpy as np
    import torch
    from PIL import Image

    from benchbed.accuracy.lookup import AccuracyBook
    from benchbed.accuracy.transform import default_transform
    from benchbed.accuracy.user_csv import load_user_csv
    from benchbed.networks import build_network, network_spec

    spec = network_spec(0, baseline=str(user_yaml))
    model = build_network(spec)
    torch.save(model.state_dict(), tmp_path / "tiny.pt")
    (tmp_path / "classes.txt").write_text("".join(f"n{i:08d}\n" for i in range(spec.num_classes)))
    rng = np.random.default_rng(3)
    images = [Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)) for _ in range(16)]
    with torch.no_grad():
        logits = model(torch.from_numpy(np.stack([default_transform(spec)(im) for im in images]))).numpy()
    top = -np.sort(-logits, axis=1)
    clear = [i for i in range(len(images)) if top[i, 0] - top[i, 1] > 1e-3 and top[i, 4] - top[i, 5] > 1e-3][:4]
    assert len(clear) == 4
    for n, i in enumerate(clear):  # three at their top-1 class, one at its 100th: 75 % top-1 and top-5
        label = np.argsort(-logits[i])[0 if n < 3 else 100]
        (tmp_path / "val" / f"n{label:08d}").mkdir(parents=True, exist_ok=True)
        images[i].save(tmp_path / "val" / f"n{label:08d}" / f"img{n}.png")
    out = tmp_path / "acc.csv"
    result = run_cli("accuracy", "--baseline", str(user_yaml), "--phi", "0", "--weights", str(tmp_path / "tiny.pt"),
                     "--val-dir", str(tmp_path / "val"), "--class-map", str(tmp_path / "classes.txt"),
                     "--out", str(out), "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["network"], doc["top1"], doc["top5"], doc["images"]) == ("tiny-lite-s", 75.0, 75.0, 4)
    match = AccuracyBook(load_user_csv(out)).match(spec.name, "fp32")
    assert match is not None and match.top1 == 75.0 and match.row.measured


_PRESET_LINE = "  - {phi: 1, name: tiny-lite-m, width: 1.25, depth: 1.5, resolution: 40}"


@pytest.mark.parametrize("old,new,words", [
    ("head: 64", "head: 64\nnum_classes: lots", ["num_classes", "'lots'"]),
    ("head: 64", "head: 64\nnum_classes: -5", ["num_classes", "-5"]),
    ("head: 64", "head: 64\nnum_classes: 2.5", ["num_classes", "2.5"]),
    ("head: 64", "head: 64\nstem_stride: 0", ["stem_stride", "0"]),
    ("head: 64", "head: 64\nstem_kernel: 4", ["stem_kernel", "odd"]),
    ("head: 64", "head: 64\nstem_kernel: -3", ["stem_kernel"]),
    ("head: 64", "head: 64\nstochastic_depth: .nan", ["stochastic_depth", "finite"]),
    ("head: 64", "head: 64\nstochastic_depth: lots", ["stochastic_depth", "'lots'"]),
    ("head: 64", "head: 64\nstochastic_depth: 5", ["stochastic_depth", "5"]),
    ("fix_stem_head: true", "fix_stem_head: maybe", ["fix_stem_head", "'maybe'"]),
    ("head: 64", "head: 64\nhead: 72", ["'head' appears twice"]),
    (_PRESET_LINE, _PRESET_LINE.replace("width: 1.25", "width: lots"), ["presets.1.width", "'lots'"]),
    (_PRESET_LINE, _PRESET_LINE.replace("width: 1.25", "width: .inf"), ["presets.1.width"]),
    (_PRESET_LINE, _PRESET_LINE.replace("width: 1.25", "width: -1"), ["presets.1.width"]),
    (_PRESET_LINE, _PRESET_LINE.replace("resolution: 40", "resolution: 40, dropout: 7"), ["presets.1.dropout"]),
    (_PRESET_LINE, _PRESET_LINE.replace("resolution: 40", "resolution: 40, bn_eps: -1"), ["presets.1.bn_eps"]),
    (_PRESET_LINE, _PRESET_LINE.replace("phi: 1", "phi: 0"), ["two presets have phi 0"]),
    (_PRESET_LINE, _PRESET_LINE.replace("tiny-lite-m", "../evil"), ["presets.1.name"]),
    (_PRESET_LINE, _PRESET_LINE.replace("tiny-lite-m", "'a\\nb'"), ["presets.1.name"]),
    ("stem: 16", "stem: &s 16\nx: *s", ["aliases"]),
])
def test_baseline_values_that_would_fail_every_cell_are_refused_up_front(tmp_path, old, new, words):
    """#27 items 16 and 37: each is one line naming the field, before any cell runs."""
    from benchbed.core.errors import BenchbedError
    from benchbed.networks.baseline_file import load_baseline

    assert old in USER_YAML
    path = tmp_path / "bad.yaml"
    path.write_text(USER_YAML.replace(old, new))
    with pytest.raises(BenchbedError) as caught:
        load_baseline(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path)), message
    assert all(w in message for w in words), message


def _billion_laughs(levels: int) -> str:
    lines = ['a0: &a0 "lol"'] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + f"\nactivation: *a{levels - 1}\n"


@pytest.mark.parametrize("make,words", [
    (lambda p: p.write_bytes("name: x\n".encode("utf-16")), ["not UTF-8"]),
    (lambda p: p.write_bytes(b"name: \xff\xfe\n"), ["line 1", "not UTF-8"]),
    (lambda p: p.write_text("[" * 100_000), ["nested"]),
    (lambda p: p.write_text(_billion_laughs(9)), ["aliases"]),
    (lambda p: p.symlink_to("/dev/zero"), ["a device"]),
    (lambda p: p.symlink_to("/dev/urandom"), ["a device"]),
    (lambda p: os.mkfifo(p), ["FIFO"]),
    (lambda p: p.mkdir(), ["a folder"]),
    (lambda p: p.write_bytes(b"#" * (2 << 20)), ["larger than"]),
])
def test_hostile_baseline_files_are_one_line_and_never_hang(tmp_path, make, words):
    """#27 items 14-18 and 33: non-UTF-8, deep nesting, alias bombs, devices, FIFOs, huge files."""
    from benchbed.core.errors import BenchbedError
    from benchbed.networks.baseline_file import load_baseline

    path = tmp_path / "bad.yaml"
    make(path)
    with pytest.raises(BenchbedError) as caught:
        load_baseline(path)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400, message
    assert all(w in message for w in words), message


def test_a_utf8_comment_in_a_baseline_reads_under_the_c_locale(tmp_path):
    """#27 item 26: the file is UTF-8 whatever the locale; the sweep's generate step reads it."""
    path = tmp_path / "ok.yaml"
    path.write_text("# Größe: klein\n" + USER_YAML, encoding="utf-8")
    done = run_cli("generate", "--phi", "0", "--baseline", str(path), "--format", "json",
                   env={"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""})
    assert done.returncode == 0, done.stderr
    assert "tiny-lite" in done.stdout
