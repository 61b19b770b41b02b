"""onnxruntime-gpu (pinned in the ``gpu`` extra) in its own folder, never beside the CPU build of the tests:

- the provider option names benchbed passes, and those the double accepts, exist in the real build (read
  from the string literals of its libraries: the providers cannot be loaded without CUDA);
- TensorRT-provider booleans are passed as the 'True'/'False' its option parser insists on;
- the double's Python surface (InferenceSession, OrtValue, IOBinding) is the real one;
- a provider listed as available whose library fails to load: what the real wheel does here, the double
  does the same, and benchbed refuses to measure the CPU fallback in both.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import types
import warnings
from pathlib import Path

import pytest

from conformance.compare import paths_for, surface_problems
from conformance.elf_strings import Literals
from conformance.probe import describe
from conformance.surface import module_surface
from gpu_doubles.models import tiny_onnx
from gpu_doubles.onnxruntime_fake import CPU, CUDA, CUDA_LOAD_ERROR, KNOWN_OPTIONS, TRT, TRT_LOAD_ERROR, make_onnxruntime

AVAILABLE = [TRT, CUDA, CPU]  # what onnxruntime-gpu lists on any machine
#: benchbed backend options that reach every provider option it can pass
BENCHBED_CELLS = {"onnxruntime-cuda": {"cuda_graph": "on", "prefer_nhwc": "on", "cudnn_conv_algo_search": "HEURISTIC"},
                  "onnxruntime-trt": {"max_batch": "4", "opt_batch": "2", "fp16": "on", "cuda_graph": "on"}}
SCENARIOS = {"cuda": [[CUDA, {"device_id": "0"}]], "trt+cuda": [[TRT, {"trt_fp16_enable": True}], CUDA],
             "trt": [TRT], "cpu": [CPU]}
RUN_SCENARIOS = """
import contextlib, io, json, sys, warnings
from pathlib import Path
import onnxruntime as ort
path, scenarios, cells = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
out = {"available": ort.get_available_providers(), "version": ort.__version__, "file": ort.__file__,
       "scenarios": {}, "benchbed": {}}
for label, providers in scenarios.items():
    printed = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(printed):
        warnings.simplefilter("always")
        session = ort.InferenceSession(path, providers=[p if isinstance(p, str) else tuple(p) for p in providers])
    out["scenarios"][label] = {"providers": session.get_providers(), "ep_error": "EP Error" in printed.getvalue(),
                               "warnings": len(caught), "printed": printed.getvalue()}
from benchbed.backends import BackendOptions, get_backend
for kind, extra in cells.items():
    runner = get_backend(kind).prepare(Path(path), BackendOptions(extra=extra))
    try:
        runner.activate()
        out["benchbed"][kind] = None
    except RuntimeError as exc:
        out["benchbed"][kind] = str(exc)
print(json.dumps(out))
"""


def _libraries(folder: Path) -> types.SimpleNamespace:
    capi = folder / "onnxruntime" / "capi"
    return types.SimpleNamespace(pybind=Literals(next(capi.glob("onnxruntime_pybind11_state*.so"))),
                                 trt=Literals(capi / "libonnxruntime_providers_tensorrt.so"),
                                 cuda=Literals(capi / "libonnxruntime_providers_cuda.so"))


@pytest.fixture(scope="module")
def ort_gpu(real_onnxruntime_gpu) -> types.SimpleNamespace:
    return _libraries(real_onnxruntime_gpu.python_path[0])


@pytest.fixture(scope="module")
def benchbed_options(tmp_path_factory) -> dict[str, dict]:
    """{provider: options} benchbed passes, taken from prepared runners (the model's batch axis is dynamic,
    so the TensorRT profile options are there too)."""
    from benchbed.backends import BackendOptions, get_backend

    path = tiny_onnx(tmp_path_factory.mktemp("ort") / "models" / "tiny" / "fp32.onnx")
    found: dict[str, dict] = {}
    for kind, extra in BENCHBED_CELLS.items():
        runner = get_backend(kind).prepare(path, BackendOptions(extra=extra))
        for provider, options in runner.details["provider_options"].items():
            found.setdefault(provider, {}).update(options)
    return found


def _missing(ort_gpu, provider: str, names) -> list[str]:
    """Names the real build does not have: TensorRT's are checked against the Python binding's option
    parser (it refuses others), CUDA's against the CUDA provider library."""
    library = ort_gpu.pybind if provider == TRT else ort_gpu.cuda
    return sorted(n for n in names if not library.has(n))


def test_benchbed_passes_only_option_names_the_real_build_has(ort_gpu, benchbed_options):
    assert set(benchbed_options) == {TRT, CUDA} and len(benchbed_options[TRT]) >= 10
    assert {p: _missing(ort_gpu, p, o) for p, o in benchbed_options.items()} == {TRT: [], CUDA: []}


def test_the_double_knows_only_option_names_the_real_build_has(ort_gpu):
    assert {p: _missing(ort_gpu, p, o) for p, o in KNOWN_OPTIONS.items()} == {TRT: [], CUDA: []}


def test_tensorrt_booleans_are_passed_as_true_or_false(ort_gpu, benchbed_options):
    """The TensorRT provider's parser refuses a boolean that is not 'True'/'False' (onnxruntime turns
    option values into str); the real parser's list of boolean keys is read from its error messages."""
    booleans = set(ort_gpu.pybind.findall(rb"The value for the key '([a-z0-9_]+)' should be 'True' or 'False'"))
    assert len(booleans) >= 10 and "trt_fp16_enable" in booleans
    passed = {k: str(v) for k, v in benchbed_options[TRT].items() if k in booleans}
    assert passed and all(v in ("True", "False") for v in passed.values()), passed


def test_tf32_options_of_the_real_build(ort_gpu):
    """A fact to know when deciding TF32: the CUDA provider has ``use_tf32``; the TensorRT provider has no
    TF32 option (TensorRT's own BuilderFlag.TF32 decides there). Fails when a new build changes that."""
    assert ort_gpu.cuda.exact("(?i)tf32") == {"use_tf32"}
    assert ort_gpu.trt.exact("(?i)tf32") | ort_gpu.pybind.exact("(?i)tf32") == set()
    assert len(ort_gpu.pybind.exact("^trt_")) >= 40, "the TensorRT provider's option names were not found"


def test_the_doubles_python_surface_is_the_real_one(real_onnxruntime_gpu):
    items = module_surface(make_onnxruntime(AVAILABLE))
    real = describe(real_onnxruntime_gpu, "onnxruntime", paths_for(items))
    from conformance.packages import pinned

    assert real["version"] == pinned("gpu", "onnxruntime-gpu") and "onnxruntime-gpu" in real["file"]
    assert len([i for i in items if i.kind == "function"]) >= 15
    assert surface_problems(items, real["paths"]) == []


def _double_scenarios(path: Path) -> dict:
    ort = make_onnxruntime(AVAILABLE, unloadable=frozenset({TRT, CUDA}))
    out = {}
    for label, providers in SCENARIOS.items():
        printed = io.StringIO()
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(printed), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("always")
            session = ort.InferenceSession(str(path), providers=[p if isinstance(p, str) else tuple(p) for p in providers])
        out[label] = {"providers": session.get_providers(), "ep_error": "EP Error" in printed.getvalue(),
                      "warnings": len(caught)}
    return out, ort


def test_a_provider_listed_available_whose_library_fails_to_load(real_onnxruntime_gpu, tmp_path, monkeypatch):
    path = tiny_onnx(tmp_path / "models" / "tiny" / "fp32.onnx")
    done = real_onnxruntime_gpu.run(["-c", RUN_SCENARIOS, str(path), json.dumps(SCENARIOS), json.dumps(BENCHBED_CELLS)],
                                    timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    real = json.loads(done.stdout.strip().splitlines()[-1])
    assert real["available"] == AVAILABLE and "onnxruntime-gpu" in real["file"]
    if CUDA in real["scenarios"]["cuda"]["providers"]:
        pytest.skip("CUDA's libraries load on this machine: the failure path cannot be shown")
    assert CUDA_LOAD_ERROR in done.stderr, "the double's CUDA load message is not the real one"
    assert TRT_LOAD_ERROR in real["scenarios"]["trt"]["printed"], "the double's TensorRT load message is not the real one"
    double, ort = _double_scenarios(path)
    assert double == {k: {f: v[f] for f in ("providers", "ep_error", "warnings")} for k, v in real["scenarios"].items()}
    monkeypatch.setitem(sys.modules, "onnxruntime", ort)
    from benchbed.backends import BackendOptions, get_backend

    for kind, extra in BENCHBED_CELLS.items():
        assert real["benchbed"][kind] and "did not enable" in real["benchbed"][kind]
        runner = get_backend(kind).prepare(path, BackendOptions(extra=extra))
        with pytest.raises(RuntimeError) as info, contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            runner.activate()
        assert str(info.value) == real["benchbed"][kind]


LOAD_LIBRARIES = """
import json
import onnxruntime as ort
from benchbed.backends import gpu_libraries
out = {}
for provider in ("CUDAExecutionProvider", "TensorrtExecutionProvider"):
    out[provider] = {"needs": list(gpu_libraries.provider_needs(ort, provider)),
                     "read_from": str(gpu_libraries.provider_library(ort, provider)),
                     "loaded": list(gpu_libraries.load_provider_libraries(ort, provider))}
print(json.dumps(out))
"""


def test_the_libraries_each_provider_needs_are_the_real_ones(real_onnxruntime_gpu, monkeypatch):
    """benchbed's and the double's lists are the real provider libraries' DT_NEEDED NVIDIA entries; on the real
    wheel benchbed reads them from the file itself, and ``preload_dlls(cuda=True, cudnn=True)`` is a call the
    real onnxruntime takes (without the CUDA wheels here, the first library is reported missing, no traceback)."""
    import re

    from benchbed.backends import gpu_libraries
    from gpu_doubles.onnxruntime_fake import PROVIDER_NEEDS as DOUBLE

    capi = real_onnxruntime_gpu.python_path[0] / "onnxruntime" / "capi"
    real = {provider: tuple(n for n in gpu_libraries.needed_libraries(capi / f"libonnxruntime_providers_{short}.so")
                            if re.match(r"lib(cu|nv)", n))
            for provider, short in ((CUDA, "cuda"), (TRT, "tensorrt"))}
    assert "libnvinfer.so.10" in real[TRT] and "libnvonnxparser.so.10" in real[TRT] and "libcudnn.so.9" in real[TRT]
    assert gpu_libraries.PROVIDER_NEEDS == real and DOUBLE == real
    done = real_onnxruntime_gpu.run(["-c", LOAD_LIBRARIES], timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    for provider in (CUDA, TRT):
        assert answer[provider]["read_from"].endswith(f"{provider[:-len('ExecutionProvider')].lower()}.so")
        assert answer[provider]["needs"] == [*real[provider], *(n for n in gpu_libraries.RUNTIME_NEEDS[provider]
                                                                  if n not in real[provider])]
        loaded, why = answer[provider]["loaded"]
        if not loaded:  # this machine has no CUDA libraries: the first one benchbed checks is named
            assert why.startswith(f"{real[provider][0]} not loadable ("), why


def test_the_extras_the_gpu_extra_asks_of_onnxruntime_gpu_exist(real_onnxruntime_gpu):
    """``onnxruntime-gpu[cuda,cudnn]``: the real wheel's METADATA declares both extras, and they bring the CUDA
    13 runtime and cuDNN 9 its providers link (cuBLAS comes with them as a dependency of those wheels)."""
    import tomllib

    from conformance.packages import ROOT

    gpu = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["gpu"]
    asked = next(r for r in gpu if r.startswith("onnxruntime-gpu["))
    extras = set(asked[asked.index("[") + 1:asked.index("]")].split(","))
    metadata = next(real_onnxruntime_gpu.python_path[0].glob("onnxruntime_gpu-*.dist-info/METADATA")).read_text()
    provided = {line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Provides-Extra:")}
    assert extras == {"cuda", "cudnn"} and extras <= provided, provided
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert any("nvidia-cuda-runtime~=13" in r and 'extra == "cuda"' in r for r in requires), requires
    assert any("nvidia-cudnn-cu13~=9" in r and 'extra == "cudnn"' in r for r in requires), requires
