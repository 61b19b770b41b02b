"""int8-nncf: NNCF's post-training int8 (OpenVINO's quantizer) as a second int8 recipe beside onnxruntime's."""

import json
from pathlib import Path

import onnx
import pytest

from benchbed.core.errors import BenchbedError
from benchbed.artifacts.export import export_network
from benchbed.artifacts.precision import TransformOptions
from benchbed.sweep.run import check_precisions
from conftest import TINY_ARGS, run_cli


def _producers(graph: onnx.GraphProto) -> dict[str, str]:
    return {out: node.op_type for node in graph.node for out in node.output}


def test_cli_export_places_qdq_for_openvino_kernels_keeps_stdout_json_and_writes_nothing_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    result = run_cli("export", "--phi", "0", *TINY_ARGS, "--precision", "int8-nncf", "--out", str(tmp_path / "m"),
                     "--format", "json", env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)  # NNCF's log and progress bars went to stderr, not into the JSON
    assert row["precision"] == "int8-nncf"
    manifest = json.loads(Path(row["path"]).with_name("int8-nncf.manifest.json").read_text())
    assert manifest["details"]["calibration_images"] == 64 and manifest["details"]["quantizer"] == "nncf.quantize"
    assert manifest["key"]["options"]["tool"] == "nncf" and "nncf" in manifest["versions"]
    assert not (home / "intel").exists()  # no telemetry client id (openvino_telemetry was hidden from NNCF)

    graph = onnx.load(row["path"]).graph
    made_by = _producers(graph)
    convs = [n for n in graph.node if n.op_type == "Conv"]
    squeeze_excite = [n for n in convs if n.name.endswith(("/fc1/Conv", "/fc2/Conv"))]
    sigmoids = [n for n in graph.node if n.op_type == "Sigmoid"]
    assert squeeze_excite and len(convs) > len(squeeze_excite) and sigmoids
    # int8 where OpenVINO has int8 kernels (the feature-map convs: activation and weight dequantized) ...
    assert all(made_by.get(n.input[0]) == "DequantizeLinear" and made_by.get(n.input[1]) == "DequantizeLinear"
               for n in convs if n not in squeeze_excite)
    # ... and the squeeze-excite path left in float (onnxruntime's all-op recipe quantizes it too)
    assert not any(made_by.get(n.input[0]) == "DequantizeLinear" for n in squeeze_excite + sigmoids)


def test_int8_keeps_its_cache_key_and_int8_nncf_has_its_own():
    options = TransformOptions()
    assert options.key("int8") == {"calib_images": 8, "calib_data_sha256": None, "seed": 0, "method": "minmax",
                                   "format": "qdq", "symmetric": True, "per_channel": True}  # old caches stay valid
    nncf_key = options.key("int8-nncf")
    assert nncf_key["tool"] == "nncf" and nncf_key["calib_images"] == 64
    assert TransformOptions(calib_images=16).key("int8-nncf")["calib_images"] == 16


@pytest.mark.parametrize("backend", ["tensorrt", "onnxruntime-trt"])
def test_tensorrt_backends_refuse_int8_nncf_before_anything_runs(backend, tmp_path):
    with pytest.raises(BenchbedError, match="uint8 activations"):
        check_precisions(["fp32", "int8-nncf"], ["onnxruntime", backend])
    check_precisions(["int8"], [backend])  # onnxruntime's signed Q/DQ is what TensorRT takes
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--backend", backend, "--precision", "int8-nncf",
                     "--db", str(tmp_path / "x.sqlite"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "use --precision int8" in result.stderr


def test_int8_nncf_of_the_real_b0_passes_parity(tmp_path):
    from benchbed.networks import network_spec

    m = export_network(network_spec(0), "int8-nncf", tmp_path / "models").manifest
    assert m["parity"]["passed"] and m["parity"]["min_cosine"] > 0.8, m["parity"]


def test_a_missing_calibration_file_is_a_one_line_error(tmp_path):
    result = run_cli("export", "--phi", "0", *TINY_ARGS, "--precision", "int8-nncf", "--calib-data",
                     str(tmp_path / "absent.npy"), "--out", str(tmp_path / "m"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"benchbed: error: --calib-data {tmp_path / 'absent.npy'}: no such file"
