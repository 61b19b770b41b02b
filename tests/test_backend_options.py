"""--backend-option routing: BACKEND.KEY=VALUE to one backend, KEY=VALUE to every selected backend that takes KEY."""

import json

import pytest

from conftest import TINY_ARGS, run_cli

FAST = ["--quick", "--duration", "0.2", "--iterations", "5", "--scenario", "single-stream"]


def test_every_registered_backend_states_its_option_keys():
    from benchbed.backends import backend_names, get_backend, option_keys

    for name in backend_names():
        assert callable(getattr(get_backend(name), "option_keys", None)), name
    assert option_keys("openvino") == {"hint", "inference_precision", "streams"}
    assert option_keys("onnxruntime") == frozenset()
    assert "copies" in option_keys("tensorrt") and "copies" in option_keys("onnxruntime-cuda")
    assert option_keys("null") == {"service_ms", "per_sample_ms"}


def test_keys_match_what_each_runner_accepts(tmp_path):
    """option_keys() is what check_extra enforces: a key outside it is refused by the runner itself."""
    from benchbed.backends import BackendOptions, get_backend

    with pytest.raises(ValueError, match="unknown option"):
        get_backend("onnxruntime").prepare(tmp_path / "x.onnx", BackendOptions(extra={"hint": "latency"}))
    with pytest.raises(ValueError, match="unknown option"):
        get_backend("null").prepare(tmp_path / "x.onnx", BackendOptions(extra={"hint": "latency"}))
    get_backend("null").prepare(tmp_path / "x.onnx", BackendOptions(extra=dict.fromkeys(
        get_backend("null").option_keys(), 1.0)))


@pytest.mark.parametrize("items,backends,expected", [
    ([("openvino.hint", "throughput")], ["onnxruntime", "openvino"], {"openvino": {"hint": "throughput"}}),
    ([("hint", "throughput")], ["onnxruntime", "openvino"], {"openvino": {"hint": "throughput"}}),
    ([("copies", "in")], ["tensorrt", "onnxruntime-cuda", "onnxruntime"],
     {"tensorrt": {"copies": "in"}, "onnxruntime-cuda": {"copies": "in"}}),
    # scoped wins over unscoped whatever the order; other backends keep the unscoped value
    ([("tensorrt.copies", "out"), ("copies", "in")], ["tensorrt", "onnxruntime-cuda"],
     {"tensorrt": {"copies": "out"}, "onnxruntime-cuda": {"copies": "in"}}),
    ([("torch.compile", True), ("channels_last", False)], ["torch", "openvino"],
     {"torch": {"compile": True, "channels_last": False}}),
    ([("hint", "latency"), ("hint", "throughput")], ["openvino"], {"openvino": {"hint": "throughput"}}),
    ([], ["onnxruntime", "openvino"], {}),
])
def test_routing(items, backends, expected):
    from benchbed.backends import route_options

    assert route_options(items, backends) == expected


@pytest.mark.parametrize("items,backends,needle", [
    ([("turbo", 1)], ["onnxruntime", "openvino"], "none of the selected backends (onnxruntime, openvino) takes it"),
    ([("openvino.hint", "throughput")], ["onnxruntime", "torch"], "backend 'openvino' is not selected"),
    ([("tpu.hint", "x")], ["openvino"], "backend 'tpu' is not selected"),
    ([("openvino.turbo", 1)], ["openvino"], "openvino has no option 'turbo'"),
    ([("onnxruntime.hint", 1)], ["onnxruntime", "openvino"], "onnxruntime has no option 'hint'; it takes none"),
    ([(".hint", 1)], ["openvino"], "BACKEND.KEY=VALUE"),
])
def test_routing_errors(items, backends, needle):
    from benchbed.backends import route_options
    from benchbed.core.errors import BenchbedError

    with pytest.raises(BenchbedError) as info:
        route_options(items, backends)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_jobs_carry_only_their_backends_options():
    from benchbed.networks import network_spec
    from benchbed.measure.timing import get_profile
    from benchbed.core.cell import Cell
    from benchbed.sweep.config import SweepConfig
    from benchbed.sweep.plan import make_job

    config = SweepConfig(phis=[0], mode="preset", alpha=1.2, beta=1.1, gamma=1.15, overrides={},
                         backend="onnxruntime,openvino", precisions=["fp32"], scenarios=["single-stream"],
                         profile=get_profile("quick"), max_batch=1, backend_extra={"openvino": {"hint": "throughput"}})
    spec = network_spec(0, "preset")
    cells = {b: Cell("b0", b, "fp32", "single-stream", 1) for b in config.backends}
    jobs = {b: make_job(config, spec, "fp32", cell, "20260101-000000-abcdef", 0) for b, cell in cells.items()}
    assert jobs["openvino"].backend_options["extra"] == {"hint": "throughput"}
    assert jobs["onnxruntime"].backend_options["extra"] == {}
    assert SweepConfig(**{**config.__dict__, "backend_extra": {}}).sha() != config.sha(), "options are in the identity"


def _sweep(tmp_path, *args):
    return run_cli("sweep", "--phi", "0", *TINY_ARGS, *FAST, "--db", str(tmp_path / "db.sqlite"),
                   "--models", str(tmp_path / "models"), "--reports", str(tmp_path / "r"), "--format", "json", *args)


def test_scoped_option_reaches_only_its_backend_in_a_real_sweep(tmp_path):
    pytest.importorskip("openvino")
    result = _sweep(tmp_path, "--backend", "onnxruntime,openvino", "--backend-option", "openvino.hint=throughput")
    assert result.returncode == 0, result.stderr
    docs = {d["cell"]["backend"]: d for d in
            json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())["results"]}
    assert set(docs) == {"onnxruntime", "openvino"}
    assert all(d["status"] == "ok" for d in docs.values()), [d.get("error") for d in docs.values()]
    assert docs["openvino"]["backend"]["options"]["extra"] == {"hint": "throughput"}
    assert docs["openvino"]["backend"]["details"]["config"]["PERFORMANCE_HINT"] == "THROUGHPUT"
    assert docs["onnxruntime"]["backend"]["options"]["extra"] == {}
    import sqlite3

    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        configs = [json.loads(row[0]) for row in db.execute("SELECT config FROM runs")]
    assert configs and configs[0]["backend_extra"] == {"openvino": {"hint": "throughput"}}


@pytest.mark.parametrize("args,needle", [
    (["--backend", "onnxruntime,null", "--backend-option", "turbo=1"], "none of the selected backends"),
    (["--backend", "onnxruntime", "--backend-option", "openvino.hint=throughput"], "'openvino' is not selected"),
    (["--backend", "null", "--backend-option", "null.turbo=1"], "null has no option 'turbo'"),
    (["--backend", "null", "--backend-option", "service_ms"], "expects KEY=VALUE"),
])
def test_sweep_option_errors_are_one_line_exit_2(tmp_path, args, needle):
    result = _sweep(tmp_path, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").glob("*/results.json")), "nothing measured"


def test_bad_option_value_exits_2_before_measuring_anything(tmp_path):
    """From the hostile-input issue: ``hint=banana`` was measured and failed every cell; now the parent
    parses every backend's options first, so it is one line on stderr and exit 2, and nothing is exported
    or measured."""
    result = run_cli("sweep", "--phi", "0", "--width", "0.25", "--depth", "0.34", "--resolution", "32", "--quick",
                     "--backend", "openvino", "--backend-option", "hint=banana",
                     "--db", str(tmp_path / "db.sqlite"), "--models", str(tmp_path / "models"),
                     "--reports", str(tmp_path / "r"))
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "openvino: hint must be latency or throughput, got 'banana'" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not any(p.exists() for p in (tmp_path / "r", tmp_path / "models", tmp_path / "db.sqlite")), "nothing ran"
