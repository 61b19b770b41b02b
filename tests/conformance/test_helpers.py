"""The conformance machinery checked on known input, so a helper that silently finds nothing cannot pass:
the benchbed scan, the pybind11 signature parser, call binding, and the install policy (CI fails)."""

from __future__ import annotations

import pytest

from conformance import packages
from conformance.scan import Call, cuda_runtime_uses, nvml_uses, tensorrt_uses
from conformance.signatures import Param, accepts, param_problems, parse_pybind

SOURCE = '''
import tensorrt as tr
from cuda.bindings import runtime as cudart

def build(trt, logger, nvml):
    builder = trt.Builder(logger)
    flag = tr.BuilderFlag.FP16 if hasattr(trt.BuilderFlag, "FP16") else None
    cudart.cudaMemcpyAsync(1, 2, 3, cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, stream=4)
    runtime().cudaStreamSynchronize(*args)
    reasons = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
    return nvml.nvmlDeviceGetClockInfo(0, nvml.NVML_CLOCK_SM), trt.__version__
'''


def test_the_scan_finds_every_kind_of_use(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "sub" / "mod.py").write_text(SOURCE)
    trt = {(u.path, u.call, u.optional) for u in tensorrt_uses(package)}
    assert trt == {("Builder", Call(1), False), ("BuilderFlag.FP16", None, False), ("BuilderFlag", None, False),
                   ("BuilderFlag.FP16", None, True), ("__version__", None, False)}
    cuda = {(u.path, u.call) for u in cuda_runtime_uses(package)}
    assert cuda == {("cudaMemcpyAsync", Call(4, ("stream",))), ("cudaMemcpyKind.cudaMemcpyHostToDevice", None),
                    ("cudaStreamSynchronize", Call(0, (), True))}
    nvml = {(u.path, u.optional) for u in nvml_uses(package)}
    assert nvml == {("nvmlDeviceGetCurrentClocksEventReasons", True), ("nvmlDeviceGetClockInfo", False),
                    ("NVML_CLOCK_SM", False)}


def test_pybind_signatures_and_call_binding():
    name, params = parse_pybind("__init__(self: tensorrt.Logger, min_severity: tensorrt.ILogger.Severity = "
                                "<Severity.WARNING: 2>) -> None")
    assert name == "__init__" and params == [Param("self"), Param("min_severity", True)]
    _, params = parse_pybind("f(self: X, a: Callable[[int, str], None], b: str = 'x,(y', *, c: int = 0) -> Dict[str, int]")
    assert [(p.name, p.has_default, p.kind) for p in params] == [
        ("self", False, "POSITIONAL_OR_KEYWORD"), ("a", False, "POSITIONAL_OR_KEYWORD"),
        ("b", True, "POSITIONAL_OR_KEYWORD"), ("c", True, "KEYWORD_ONLY")]
    real = [Param("input"), Param("min"), Param("opt"), Param("max")]
    assert accepts(real, 4) and not accepts(real, 5) and not accepts(real, 3, ("name",))
    assert param_problems("set_shape", [Param("name"), Param("min"), Param("opt"), Param("max")], [real])
    assert param_problems("set_shape", real, [real]) == []
    assert param_problems("parse", [Param("model")], [[Param("model"), Param("path", True)]]) == []
    assert param_problems("parse", [Param("model"), Param("path", True)], [[Param("model"), Param("path")]])


def test_pins_come_from_pyproject_and_match_the_doubles_defaults():
    import inspect

    from gpu_doubles import install
    from gpu_doubles.onnxruntime_fake import make_onnxruntime

    assert [packages.pinned(e, "tensorrt-cu13") for e in packages.TRT_EXTRAS] == ["10.16.1.11", "11.4.0.106"]
    assert inspect.signature(install).parameters["trt_version"].default == packages.pinned("tensorrt", "tensorrt-cu13")
    assert inspect.signature(make_onnxruntime).parameters["version"].default == packages.pinned("gpu", "onnxruntime-gpu")
    with pytest.raises(LookupError):
        packages.pinned("gpu", "no-such-package")


def _offline(monkeypatch, tmp_path) -> packages.PackageSet:
    """pip pointed at a closed port on loopback, with no other index or local wheels."""
    monkeypatch.setattr(packages, "CACHE", tmp_path / "cache")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_RETRIES", "0")
    return packages.PackageSet("offline-probe", ("nvidia-ml-py==13.615.71",))


def test_no_package_index_is_a_skip_without_ci_and_a_failure_in_ci(monkeypatch, tmp_path):
    wanted = _offline(monkeypatch, tmp_path)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        packages.ensure(wanted)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        packages.ensure(wanted)
    assert not (tmp_path / "cache" / "offline-probe").exists()


def test_a_pin_the_index_does_not_have_fails_even_without_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(packages, "CACHE", tmp_path / "cache")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.fail.Exception, match="nvidia-ml-py==0.0.1"):
        packages.ensure(packages.PackageSet("missing", ("nvidia-ml-py==0.0.1",)))
