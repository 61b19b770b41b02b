"""The NVML double (gpu_doubles/pynvml_fake.py) and benchbed's NVML calls against the real nvidia-ml-py
(pure Python: it imports anywhere and loads libnvidia-ml.so.1 only in nvmlInit)."""

from __future__ import annotations

import json
import sys
import types

import pytest

from conformance.compare import paths_for, surface_problems, use_problems
from conformance.packages import pinned
from conformance.probe import describe
from conformance.scan import defining_module, nvml_uses
from conformance.surface import module_surface
from gpu_doubles import FakeGpu, install
from gpu_doubles.pynvml_fake import make_pynvml

#: the NVMLError subclasses of the double; instances carry ``value`` (set in the real ``__new__``)
ERRORS = ("NVMLError_Uninitialized", "NVMLError_NotSupported", "NVMLError_LibraryNotFound")
REAL_CODE = {
    "version": "from importlib.metadata import version\nresult = version('nvidia-ml-py')",
    "errors": f"result = {{n: getattr(m, n)().value for n in {ERRORS!r}}}",
    "init": ("try:\n    m.nvmlInit()\n    result = None\n"
             "except m.NVMLError as exc:\n    result = [type(exc).__name__, exc.value, str(exc)]"),
}
BENCHBED_WITHOUT_NVML_LIBRARY = """
import importlib, json, sys
sys.modules["cuda"] = None  # gpu_present asks cuda-python first; this checks its NVML path
present = importlib.import_module({presence!r}).gpu_present()
tracker = importlib.import_module({tracker!r}).NvmlTracker.open()
print(json.dumps({{"present": present, "tracker": tracker}}))
"""


@pytest.fixture(scope="module")
def nvml(real_nvml) -> types.SimpleNamespace:
    items = module_surface(make_pynvml(FakeGpu()))
    # ``value`` is an instance attribute in both (checked through instances below), not a class one
    items = [i for i in items if not i.path.endswith(".value")]
    uses = nvml_uses()
    real = describe(real_nvml, "pynvml", paths_for(items, uses), REAL_CODE)
    return types.SimpleNamespace(items=items, uses=uses, real=real, answers=real["paths"])


def test_the_real_package_is_the_pinned_version(nvml):
    assert nvml.real["code"]["version"]["result"] == pinned("gpu", "nvidia-ml-py")


def test_every_function_constant_and_parameter_of_the_double_is_real(nvml):
    constants = [i for i in nvml.items if i.value is not None]
    assert len(constants) >= 20 and len([i for i in nvml.items if i.kind == "function"]) >= 12
    assert surface_problems(nvml.items, nvml.answers) == []


def test_benchbed_uses_only_real_names_and_its_calls_bind(nvml):
    assert len({u.path for u in nvml.uses}) >= 10, "the scan of benchbed found no NVML use"
    assert use_problems(nvml.uses, nvml.answers) == []


def test_error_classes_carry_the_real_codes(nvml):
    double = make_pynvml(FakeGpu())
    assert {n: getattr(double, n)().value for n in ERRORS} == nvml.real["code"]["errors"]["result"]


def test_without_the_nvml_library_init_fails_as_the_double_says(nvml):
    real = nvml.real["code"]["init"]["result"]
    if real is None:
        pytest.skip("this machine has an NVIDIA driver: the library-not-found path cannot be shown")
    double = make_pynvml(FakeGpu(driver=None))
    with pytest.raises(double.NVMLError) as info:
        double.nvmlInit()
    assert [type(info.value).__name__, info.value.value, str(info.value)] == real


def test_benchbed_without_the_nvml_library_says_so_and_tracks_nothing(nvml, real_nvml, monkeypatch):
    """With the real pynvml and no driver: benchbed's GPU check gives NVML's reason and the tracker is
    None; the double installed without a driver gives the same answer."""
    if nvml.real["code"]["init"]["result"] is None:
        pytest.skip("this machine has an NVIDIA driver")
    script = BENCHBED_WITHOUT_NVML_LIBRARY.format(presence=defining_module("gpu_present"),
                                                  tracker=defining_module("NvmlTracker"))
    done = real_nvml.run(["-c", script])
    assert done.returncode == 0, done.stderr
    real = json.loads(done.stdout.strip().splitlines()[-1])
    assert real["present"][0] is False and "NVML Shared Library Not Found" in real["present"][1]
    assert real["tracker"] is None
    install(monkeypatch, trt_version=None, gpu=FakeGpu(driver=None), nvml={})
    for name in ("cuda", "cuda.bindings", "cuda.bindings.runtime"):  # the double installed them: hide all
        monkeypatch.setitem(sys.modules, name, None)
    presence = __import__(defining_module("gpu_present"), fromlist=["gpu_present"])
    tracker = __import__(defining_module("NvmlTracker"), fromlist=["NvmlTracker"])
    assert list(presence.gpu_present()) == real["present"] and tracker.NvmlTracker.open() is None
