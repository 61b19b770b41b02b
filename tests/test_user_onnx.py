"""A network benchbed did not generate: a small ResNet-style module written here, exported with plain
``torch.onnx.export``, swept with ``benchbed sweep --onnx`` on onnxruntime and openvino; and every bad file
refused in one line with exit 2 before anything runs."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from conftest import run_cli

FAST = ["--quick", "--duration", "0.2", "--iterations", "5", "--max-batch", "2"]


def _resnet(width: int = 8, classes: int = 10):
    """Two residual blocks and a classifier: nothing like an EfficientNet, names of torch's choosing."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
            self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

        def forward(self, x):
            return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))

    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, width, 3, stride=2, padding=1), nn.ReLU(), Block(width), Block(width),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes)).eval()


def _export(path, dynamic_hw: bool = False, size: int = 16, batch: int | None = 2):
    """``batch`` None: the exporter's default, every axis fixed at the example's (batch 1)."""
    import torch

    model = _resnet()
    axes = {0: "n", 2: "h", 3: "w"} if dynamic_hw else {0: "n"}
    dynamic = {"dynamic_axes": {"x": axes, "y": {0: "n"}}} if batch else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(batch or 1, 3, size, size),), str(path), input_names=["x"],
                          output_names=["y"], opset_version=17, dynamo=False, **dynamic)
    return model


def _sweep(tmp_path, *args):
    return run_cli("sweep", *args, *FAST, "--db", str(tmp_path / "r" / "db.sqlite"), "--models", str(tmp_path / "m"),
                   "--reports", str(tmp_path / "r"), "--format", "json")


def test_graph_cost_counts_initializers_and_conv_gemm_macs(tmp_path):
    from benchbed.artifacts.user_onnx import inspect_onnx

    model = _export(tmp_path / "net.onnx")
    found = inspect_onnx(tmp_path / "net.onnx")
    # BatchNorm is folded into the convs by the exporter: count the module's convs and linear by hand
    convs = [(3, 8, 3, 8), (8, 8, 3, 8), (8, 8, 3, 8), (8, 8, 3, 8), (8, 8, 3, 8)]  # cin, cout, k, out hw
    macs = sum(cin * cout * k * k * hw * hw for cin, cout, k, hw in convs) + 8 * 10
    assert found.macs == macs
    import onnx

    stored = onnx.load(str(tmp_path / "net.onnx"))
    assert found.params == sum(int(np.prod(t.dims)) for t in stored.graph.initializer)
    # BN folded into conv biases, and the exporter shares equal initializers (the zero biases): the graph's
    # count is what the file stores, at most the module's weights-plus-bias count
    weights = sum(cin * cout * k * k + cout for cin, cout, k, _ in convs) + 8 * 10 + 10
    assert sum(cin * cout * k * k for cin, cout, k, _ in convs) + 8 * 10 < found.params <= weights
    assert sum(p.numel() for p in model.parameters()) > found.params  # torch's count still has BN's own
    assert (found.name, found.input_name, found.output_name, found.sample_shape) == ("net", "x", "y", (3, 16, 16))


def test_cpu_predictor_uses_the_graphs_own_names(tmp_path):
    import torch

    from benchbed.artifacts.parity import cpu_predictor

    model = _export(tmp_path / "net.onnx")
    images = np.random.default_rng(0).standard_normal((2, 3, 16, 16), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(images)).numpy()
    assert np.allclose(cpu_predictor(tmp_path / "net.onnx")(images), expected, atol=1e-4)


def test_sweep_a_resnet_written_here_on_onnxruntime_and_openvino(tmp_path):
    pytest.importorskip("openvino")
    _export(tmp_path / "tiny_resnet.onnx", dynamic_hw=True)
    result = _sweep(tmp_path, "--onnx", str(tmp_path / "tiny_resnet.onnx"), "--shapes", "x:1x3x24x24",
                    "--backend", "onnxruntime,openvino", "--scenario", "single-stream,offline")
    assert result.returncode == 0, result.stderr
    results = json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())["results"]
    assert {r["cell"]["backend"] for r in results} == {"onnxruntime", "openvino"}
    assert {r["cell"]["network"] for r in results} == {"tiny_resnet"}
    assert all(r["status"] == "ok" for r in results), [r.get("error") for r in results]
    for r in results:
        assert r["parity"]["passed"] and r["parity"]["max_rel_error"] < 1e-4, r["parity"]
        assert r["network_info"]["input_shape"] == [3, 24, 24] and r["network_info"]["macs"] > 0
    assert {r["cell"]["batch"] for r in results} >= {1, 2}
    assert (tmp_path / "m" / "onnx" / "tiny_resnet" / "onnx_reference.npy").exists()


def test_a_fixed_batch_1_graph_is_measured_at_batch_1_only(tmp_path):
    _export(tmp_path / "fixed.onnx", batch=None)
    result = _sweep(tmp_path, "--onnx", str(tmp_path / "fixed.onnx"), "--backend", "onnxruntime",
                    "--scenario", "offline")
    assert result.returncode == 0, result.stderr
    results = json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())["results"]
    assert [(r["status"], r["cell"]["batch"]) for r in results] == [("ok", 1)]


def test_fp16_and_int8_transforms_of_a_users_file(tmp_path):
    _export(tmp_path / "net.onnx")
    result = _sweep(tmp_path, "--onnx", str(tmp_path / "net.onnx"), "--backend", "onnxruntime", "--precision",
                    "fp16,int8", "--scenario", "single-stream")
    assert result.returncode == 0, result.stderr
    results = json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())["results"]
    assert {r["cell"]["precision"] for r in results} == {"fp16", "int8"}
    assert all(r["status"] == "ok" for r in results), [r.get("error") for r in results]
    fp16 = next(r for r in results if r["cell"]["precision"] == "fp16")
    assert fp16["parity"]["passed"], fp16["parity"]  # against onnxruntime fp32 on the user's file
    assert (tmp_path / "m" / "onnx" / "net" / "fp16.onnx").exists()


def test_a_non_image_input_gets_seeded_normal_inputs(tmp_path):
    _vector_model(tmp_path / "vec.onnx")
    result = _sweep(tmp_path, "--onnx", str(tmp_path / "vec.onnx"), "--backend", "onnxruntime,openvino",
                    "--scenario", "single-stream")
    assert result.returncode == 0, result.stderr
    results = json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())["results"]
    assert all(r["status"] == "ok" and r["parity"]["passed"] for r in results), results
    assert results[0]["network_info"]["input_shape"] == [4] and results[0]["network_info"]["params"] == 0


def test_a_folder_of_models_and_a_name(tmp_path):
    from benchbed.artifacts.user_onnx import load_onnx_models

    _export(tmp_path / "a.onnx")
    _export(tmp_path / "b.onnx")
    assert [m.name for m in load_onnx_models(tmp_path)] == ["a", "b"]
    assert [m.name for m in load_onnx_models(tmp_path / "a.onnx", name="mine")] == ["mine"]


def _no_inputs(path):
    import onnx
    from onnx import TensorProto, helper

    const = helper.make_node("Constant", [], ["y"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]))
    graph = helper.make_graph([const], "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


def _checker_fails(path):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    model.graph.node[0].input[0] = "undefined_tensor"  # an input no node or initializer makes
    onnx.save(model, str(path))


def _vector_model(path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


def _outside_data(path):
    import onnx
    from onnx import TensorProto, helper

    weight = helper.make_tensor("w", TensorProto.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../secret.bin"), ("offset", "0"), ("length", "16")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    node = helper.make_node("Add", ["x", "w"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


def _unknown_op(path):
    """Passes onnx.checker (it does not know the domain, so cannot judge the op); onnxruntime has no kernel."""
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)],
                              ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _future_opset(path):
    """A Relu stamped with opset 99: onnx.checker passes it, onnxruntime refuses the opset."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 99)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _random_bytes(path):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())


def _empty(path):
    path.write_bytes(b"")


@pytest.mark.parametrize("make,extra,words", [
    (_checker_fails, [], "onnx.checker rejects it"),
    (_unknown_op, [], "onnxruntime cannot run it on the CPU: Fatal error: com.example:Frobnicate"),
    (_future_opset, [], "onnxruntime cannot run it on the CPU: ONNX Runtime only *guarantees* support"),
    (_random_bytes, [], "not an ONNX model"),
    (_empty, [], "does not have an ir_version"),
    (_no_inputs, [], "no inputs"),
    (lambda p: _export(p, dynamic_hw=True), [], "dynamic axes other than batch"),
    (_outside_data, [], "outside the model's folder"),
    (lambda p: _export(p), ["--backend", "torch"], "cannot run an ONNX file"),
    (_vector_model, ["--precision", "int8"], "int8 calibrates on 3xHxH images"),
    (lambda p: _export(p), ["--shapes", "images:1x3x8x8"], "not an input"),
], ids=["checker", "ort-unknown-op", "ort-future-opset", "random-bytes", "empty", "no-inputs", "dynamic-hw",
        "external-outside", "torch", "int8-not-image", "shapes-name"])
def test_bad_onnx_is_one_line_exit_2_and_nothing_runs(tmp_path, make, extra, words):
    folder = tmp_path / "in"
    folder.mkdir()
    make(folder / "net.onnx")
    result = _sweep(tmp_path, "--onnx", str(folder / "net.onnx"), *(extra or ["--backend", "onnxruntime"]))
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "m").exists()


def test_onnxruntime_refusal_names_the_file_and_the_onnx_flag(tmp_path):
    from benchbed.artifacts.user_onnx import inspect_onnx
    from benchbed.cli.flags import describe
    from benchbed.core.errors import ConfigError

    _unknown_op(tmp_path / "custom.onnx")
    with pytest.raises(ConfigError) as caught:
        inspect_onnx(tmp_path / "custom.onnx")
    assert caught.value.field == "onnx"
    assert describe(caught.value).startswith(f"--onnx {tmp_path / 'custom.onnx'}: onnxruntime cannot run it")


@pytest.mark.parametrize("args,line", [
    (["--phi", "3"], "--phi does not apply to --onnx (the network comes from the file)"),
    (["--phi", "0-7"], "--phi does not apply to --onnx (the network comes from the file)"),  # typed, even = default
    (["--mode", "compound", "--width", "0.5", "--baseline", "efficientnet-lite0"],
     "--mode (and --width, --baseline) do not apply to --onnx (the network comes from the file)"),
    (["--resolution", "32"], "--resolution does not apply to --onnx (the network comes from the file)"),
    (["--alpha", "1.3"], "--alpha does not apply to --onnx (the network comes from the file)"),
], ids=["phi", "phi-equal-to-default", "several", "resolution", "alpha"])
def test_network_options_with_onnx_are_refused_not_ignored(tmp_path, args, line):
    _vector_model(tmp_path / "vec.onnx")
    result = _sweep(tmp_path, "--onnx", str(tmp_path / "vec.onnx"), "--backend", "null", *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert [x for x in result.stderr.splitlines() if x.strip()] == [f"benchbed: error: {line}"]
    assert not (tmp_path / "r").exists() and not (tmp_path / "m").exists()


def _reshape_model(path):
    """A Reshape to 5 elements of a 4-element sample: the checker and the session's load pass, the run fails."""
    import onnx
    from onnx import TensorProto, helper

    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [1, 5])
    graph = helper.make_graph([helper.make_node("Reshape", ["x", "shape"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], [shape])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


def test_a_graph_onnxruntime_loads_but_cannot_run_is_refused_up_front(tmp_path):
    """A Reshape to 5 elements of a 4-element sample: the checker and the session's load pass, the run fails."""
    from benchbed.artifacts.user_onnx import inspect_onnx
    from benchbed.core.errors import ConfigError

    _reshape_model(tmp_path / "reshape.onnx")
    with pytest.raises(ConfigError, match="onnxruntime cannot run it on the CPU: .*Reshape") as caught:
        inspect_onnx(tmp_path / "reshape.onnx")
    assert "\n" not in str(caught.value)


# --- careless and hostile input (#27 items 4, 11, 13, 28, 29, 36, 38, 43) ----------------------------------
def _expand_model(path, side: int = 30_000):
    """177 bytes that expand one sample to 1 x 3 x side x side (3.4 GB at 30,000)."""
    import onnx
    from onnx import TensorProto, helper

    shape = helper.make_tensor("shape", TensorProto.INT64, [4], [1, 3, side, side])
    graph = helper.make_graph([helper.make_node("Expand", ["x", "shape"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 1, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3, "h", "w"])], [shape])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


def _rank1_input(path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


def _scalar_output(path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("ReduceSum", ["x"], ["y"], keepdims=0)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


@pytest.mark.parametrize("make,extra,words", [
    (_expand_model, [], "MiB tensor, above 1,024 MiB"),
    (_vector_model, ["--shapes", "x:1x0"], "every dimension must be 1 to 1,048,576"),
    (_vector_model, ["--shapes", "x:1x99999999999999999999999"], "every dimension must be 1 to 1,048,576"),
    (lambda p: _export(p, dynamic_hw=True), ["--shapes", "x:1x3x100000x100000"], "MiB, above 256 MiB"),
    (_vector_model, ["--shapes", "x:1x4,x:1x4"], "names input 'x' twice"),
    (_rank1_input, [], "only a batch axis"),
    (_scalar_output, [], "an output is a scalar"),
    (_vector_model, ["--name", ".."], "not a plain name"),
    (_vector_model, ["--name", "a/b"], "not a plain name"),
    (_vector_model, ["--name", "a\tb"], "not a plain name"),
    (_vector_model, ["--name", "a\x1b[2Jb"], "not a plain name"),
    (_vector_model, ["--name", "../efficientnet_b0"], "not a plain name"),
], ids=["expand-bomb", "zero-dim", "beyond-int64", "huge-input", "shapes-twice", "rank1", "scalar-out",
        "name-dotdot", "name-slash", "name-tab", "name-esc", "name-traversal"])
def test_careless_onnx_input_is_one_line_before_any_run_exists(tmp_path, make, extra, words):
    folder = tmp_path / "in"
    folder.mkdir()
    make(folder / "net.onnx")
    result = _sweep(tmp_path, "--onnx", str(folder / "net.onnx"), "--backend", "onnxruntime", *extra)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and words in lines[0] and "\x1b" not in lines[0], result.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "m").exists()  # no store, so no empty run in it


def test_a_folder_of_too_many_onnx_files_is_refused(tmp_path, monkeypatch):
    from benchbed.artifacts import user_onnx
    from benchbed.core.errors import BenchbedError

    monkeypatch.setattr(user_onnx, "MAX_ONNX_FILES", 2)
    for index in range(3):
        _vector_model(tmp_path / f"v{index}.onnx")
    with pytest.raises(BenchbedError, match="holds 3 .onnx files, more than 2"):
        user_onnx.load_onnx_models(tmp_path)


def test_onnxruntime_logs_nothing_of_its_own_before_benchbeds_one_line(tmp_path):
    """#27 item 44: onnxruntime's own ANSI-coloured kernel error line came before benchbed's."""
    _reshape_model(tmp_path / "reshape.onnx")
    result = _sweep(tmp_path, "--onnx", str(tmp_path / "reshape.onnx"), "--backend", "onnxruntime")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [line for line in result.stderr.strip().splitlines()
                                                   if line.startswith("benchbed: error:")] != []
    assert "\x1b" not in result.stderr



def test_a_non_ascii_file_name_under_the_c_locale_is_named_not_blamed_on_the_checker(tmp_path):
    """#27 items 12 and 26: LC_ALL=C without UTF-8 mode keeps non-ASCII names as undecodable bytes."""
    _vector_model(tmp_path / "größe.onnx")
    env = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": ""}
    done = run_cli("sweep", "--onnx", str(tmp_path / "größe.onnx"), "--backend", "null", *FAST,
                   "--db", str(tmp_path / "r" / "db.sqlite"), "--models", str(tmp_path / "m"),
                   "--reports", str(tmp_path / "r"), env=env)
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-3000:]
    assert "not text in this locale's encoding" in lines[0] and "PYTHONUTF8=1" in lines[0], lines
    models = tmp_path / "mödels"
    done = run_cli("sweep", "--phi", "0", "--width", "0.25", "--depth", "0.34", "--resolution", "32", "--backend",
                   "null", *FAST, "--db", str(tmp_path / "r2" / "db.sqlite"), "--models", str(models),
                   "--reports", str(tmp_path / "r2"), env=env)
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "--models" in lines[0], done.stderr[-3000:]
