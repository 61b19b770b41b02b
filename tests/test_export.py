import json

import numpy as np
import onnx
import pytest

from benchbed.core.errors import BenchbedError
from benchbed.artifacts.export import artifact_paths, export_network
from benchbed.artifacts.parity import onnx_outputs
from benchbed.artifacts.synthetic import synthetic_images


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


def test_fp32_export_is_checked_dynamic_and_exact(tiny_spec, models_dir):
    artifact = export_network(tiny_spec, "fp32", models_dir)
    m = artifact.manifest
    model = onnx.load(str(artifact.path))
    assert model.opset_import[0].version >= 17
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert m["parity"]["passed"] and m["parity"]["max_rel_error"] <= 1e-4
    assert m["parity"]["reference_std"] > 0.01  # the check compared real numbers, not zeros
    assert m["spec"]["mode"] == "preset" and m["spec"]["overrides"] == ["width", "depth", "resolution"]
    for key in ("sha256", "params", "macs", "opset", "versions", "export_seconds", "key_sha256"):
        assert key in m
    assert m["params"] == tiny_spec.params and "onnxruntime" in m["versions"]
    # dynamic batch really works: 5 images in, 5 rows out
    out = onnx_outputs(artifact.path, synthetic_images(5, 32, seed=3))
    assert out.shape == (5, 1000)


@pytest.mark.parametrize("precision,limit", [("fp16", 5e-2), ("int8", 0.5)])
def test_reduced_precision_transforms_record_their_error(tiny_spec, models_dir, precision, limit):
    artifact = export_network(tiny_spec, precision, models_dir)
    m = artifact.manifest
    assert m["parity"]["tolerance"] == limit and np.isfinite(m["parity"]["max_rel_error"])
    assert m["parity"]["passed"] == (m["parity"]["max_rel_error"] <= limit)
    if precision == "fp16":
        assert m["parity"]["passed"]  # fp16 failures are refused, so a kept fp16 file passed
    assert m["parent"]["sha256"] == export_network(tiny_spec, "fp32", models_dir).sha256
    ops = {node.op_type for node in onnx.load(str(artifact.path)).graph.node}
    if precision == "int8":
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    else:
        elem = onnx.load(str(artifact.path)).graph.initializer[0].data_type
        assert elem == onnx.TensorProto.FLOAT16
        assert m["details"]["keep_io_types"] is True


def test_int8_of_a_full_width_network_stays_close(models_dir):
    from benchbed.networks import network_spec

    spec = network_spec(0)  # the real B0: PTQ error grows on smaller, toy inputs
    m = export_network(spec, "int8", models_dir).manifest
    assert m["parity"]["passed"] and m["parity"]["min_cosine"] > 0.8, m["parity"]


def test_cache_hit_stale_and_corrupt(tiny_spec, models_dir):
    messages = []
    first = export_network(tiny_spec, "fp32", models_dir)
    again = export_network(tiny_spec, "fp32", models_dir, progress=messages.append)
    assert again.sha256 == first.sha256 and any("cached" in m for m in messages)

    onnx_path, manifest_path = artifact_paths(models_dir, tiny_spec, "fp32")
    manifest = json.loads(manifest_path.read_text())
    manifest["key"]["opset"] = 16
    manifest["key_sha256"] = "stale"
    manifest_path.write_text(json.dumps(manifest))
    messages.clear()
    export_network(tiny_spec, "fp32", models_dir, progress=messages.append)
    assert any("stale" in m for m in messages)

    onnx_path.write_bytes(b"not an onnx file")
    messages.clear()
    rebuilt = export_network(tiny_spec, "fp32", models_dir, progress=messages.append)
    assert any("corrupt" in m for m in messages)
    assert rebuilt.sha256 == first.sha256  # deterministic export: the same bytes again
    onnx.checker.check_model(str(rebuilt.path))

    manifest_path.write_text("{ truncated")
    messages.clear()
    export_network(tiny_spec, "fp32", models_dir, progress=messages.append)
    assert any("corrupt" in m for m in messages)


def test_unwritable_out_is_a_one_line_error(tiny_spec, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(BenchbedError, match="cannot write to --out"):
        export_network(tiny_spec, "fp32", blocker / "models")


def test_user_calibration_data_is_validated(tiny_spec, tmp_path):
    from benchbed.artifacts.precision import TransformOptions

    wrong = tmp_path / "calib.npy"
    np.save(wrong, np.zeros((2, 3, 16, 16), dtype=np.float32))
    with pytest.raises(BenchbedError, match="N x 3 x 32 x 32"):
        export_network(tiny_spec, "int8", tmp_path / "m", options=TransformOptions(calib_data=str(wrong)))
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((0, 3, 32, 32), dtype=np.float32))
    with pytest.raises(BenchbedError, match="holds no images"):
        export_network(tiny_spec, "int8", tmp_path / "m", options=TransformOptions(calib_data=str(empty)))
    poisoned = tmp_path / "nan.npy"
    images = synthetic_images(4, 32, seed=9)
    images[1, 0, 0, 0] = np.nan
    np.save(poisoned, images)
    with pytest.raises(BenchbedError, match="NaN, infinite or non-numeric"):
        export_network(tiny_spec, "int8", tmp_path / "m", options=TransformOptions(calib_data=str(poisoned)))
    right = tmp_path / "ok.npy"
    np.save(right, synthetic_images(4, 32, seed=9))
    artifact = export_network(tiny_spec, "int8", tmp_path / "m", options=TransformOptions(calib_data=str(right)))
    assert artifact.manifest["details"]["calibration_images"] == 4


def test_a_replaced_reference_is_detected_and_rebuilt_for_every_precision(tiny_spec, models_dir):
    """reference_outputs.npy is what every parity check compares against: replaced by zeros, it would make
    every later cell INVALID while export said "cached". Its hash is in each manifest; a change rebuilds."""
    import numpy as np

    fp32 = export_network(tiny_spec, "fp32", models_dir)
    fp16 = export_network(tiny_spec, "fp16", models_dir)
    good = np.load(fp32.reference_path)
    assert fp32.manifest["reference"]["sha256"] == fp16.manifest["reference"]["sha256"]
    np.save(fp32.reference_path, np.zeros_like(good))
    messages = []
    again = export_network(tiny_spec, "fp16", models_dir, progress=messages.append)
    assert any("reference outputs changed" in m for m in messages), messages
    np.testing.assert_array_equal(np.load(again.reference_path), good)  # rebuilt from PyTorch, not trusted
    assert again.manifest["parity"]["passed"]
    hit = []
    export_network(tiny_spec, "fp16", models_dir, progress=hit.append)
    assert any("cached" in m for m in hit)
