"""The TensorRT doubles and benchbed's TensorRT code against the real bindings of 10.16 and 11.4.

The bindings import here with stub libnvinfer & co. (conftest), so every class, method, enum value and
pybind11 signature compared below is TensorRT's own for that version.
"""

from __future__ import annotations

import types
from typing import Callable

import pytest

from conformance.compare import enum_problems, paths_for, surface_problems, use_problems
from conformance.packages import TRT_EXTRAS, pinned
from conformance.probe import describe
from conformance.scan import defining_module, probed_names, string_constants, tensorrt_uses
from conformance.surface import module_surface
from gpu_doubles.gpu import FakeGpu
from gpu_doubles.tensorrt_fake import make_tensorrt

NO_GPU = """
result, logger = {}, m.Logger()
for name in ("Builder", "Runtime"):
    try:
        getattr(m, name)(logger)
        result[name] = None
    except Exception as exc:
        result[name] = [type(exc).__name__, str(exc)]
"""
BENCHBED_LOGGER = """
import importlib
logger = importlib.import_module({module!r}).make_logger(m)
assert isinstance(logger, m.ILogger) and importlib.import_module({module!r}).make_logger(m) is logger
since = logger.mark()
logger.log(m.ILogger.Severity.ERROR, "an error")
logger.log(m.ILogger.Severity.INFO, "not kept")
try:
    m.Builder(logger)  # argument conversion accepted benchbed's logger; the stub factory returns NULL
    builder = None
except TypeError as exc:
    builder = str(exc)
result = {{"errors": logger.errors(since), "builder": builder}}
"""


@pytest.fixture(scope="module")
def trt(real_tensorrt) -> Callable[[str], types.SimpleNamespace]:
    """``trt(extra)``: the double, its surface, benchbed's uses and the real module's answers."""
    made: dict[str, types.SimpleNamespace] = {}

    def get(extra: str) -> types.SimpleNamespace:
        if extra not in made:
            version = pinned(extra, "tensorrt-cu13")
            items = module_surface(make_tensorrt(version, FakeGpu()))
            uses = tensorrt_uses()
            code = {"no_gpu": NO_GPU, "logger": BENCHBED_LOGGER.format(module=defining_module("make_logger"))}
            real = describe(real_tensorrt(extra), "tensorrt", paths_for(items, uses), code)
            made[extra] = types.SimpleNamespace(version=version, items=items, uses=uses, real=real,
                                                 answers=real["paths"])
        return made[extra]

    return get


@pytest.mark.parametrize("extra", TRT_EXTRAS)
def test_the_real_bindings_are_the_pinned_version(trt, extra):
    assert trt(extra).real["version"] == trt(extra).version


@pytest.mark.parametrize("extra", TRT_EXTRAS)
def test_every_name_enum_value_and_parameter_of_the_double_is_real(trt, extra):
    t = trt(extra)
    enums = [i for i in t.items if i.kind == "enum"]
    methods = [i for i in t.items if i.kind == "function"]
    assert len(enums) >= 6 and len(methods) >= 35 and len(t.items) >= 80, "the double's surface was not read"
    assert surface_problems(t.items, t.answers) == []


@pytest.mark.parametrize("extra", TRT_EXTRAS)
def test_benchbed_uses_only_real_names_and_its_calls_bind(trt, extra):
    t = trt(extra)
    assert len({u.path for u in t.uses}) >= 10, "the scan of benchbed found no TensorRT use"
    other = trt(next(e for e in TRT_EXTRAS if e != extra))
    elsewhere = {u.path for u in other.uses if other.answers.get(u.path, {}).get("exists")}
    assert use_problems(t.uses, t.answers, elsewhere) == []


@pytest.mark.parametrize("extra", TRT_EXTRAS)
def test_names_benchbed_probes_as_strings_are_in_the_double_exactly_when_real(trt, extra):
    """benchbed asks ``hasattr(trt.BuilderFlag, "FP16")`` or ``hasattr(engine, "device_memory_size_v2")``: for
    every name benchbed spells as a string, the double's enums and classes must answer as the real version's."""
    t = trt(extra)
    strings = string_constants()
    # API names benchbed probes with hasattr/getattr ("device_memory_size_v2"), not plain words like "name"
    # that it also probes on its own objects (a severity's .name)
    probed = {n for n in probed_names() if "_" in n.strip("_")}
    problems = []
    # enums: any string (the flag names sit in a dict before the hasattr); classes: the probed names
    members = {i.path: (strings, {n for n, _ in i.members}, set(t.answers[i.path]["members"])) for i in t.items
               if i.kind == "enum"}
    for cls in (i.path for i in t.items if i.kind == "class"):
        own = {i.path[len(cls) + 1:] for i in t.items if i.path.startswith(cls + ".")}
        members[cls] = (probed, {n for n in own if "." not in n}, set(t.answers[cls].get("attributes", [])))
    assert "device_memory_size_v2" in probed, "the scan for hasattr/getattr names found nothing"
    for path, (names, double, real) in members.items():
        for name in sorted(names & (real | double)):
            if (name in real) != (name in double):
                problems.append(f"{path}.{name}: real {'has' if name in real else 'lacks'} it, the double "
                                f"{'has' if name in double else 'lacks'} it")
    assert problems == []


@pytest.mark.parametrize("extra", TRT_EXTRAS)
def test_without_a_gpu_builder_and_runtime_fail_as_the_double_says(trt, extra):
    real = trt(extra).real["code"]["no_gpu"]
    assert "result" in real, real
    double = make_tensorrt(trt(extra).version, FakeGpu(driver=None))
    logger = double.Logger()
    for name in ("Builder", "Runtime"):
        with pytest.raises(Exception) as info:
            getattr(double, name)(logger)
        assert [type(info.value).__name__, str(info.value)] == real["result"][name]


@pytest.mark.parametrize("extra", TRT_EXTRAS)
def test_benchbeds_logger_is_a_real_ilogger(trt, extra):
    answer = trt(extra).real["code"]["logger"]
    assert "result" in answer, answer.get("traceback")
    assert answer["result"]["errors"] == ["an error"]
    assert "factory function returned nullptr" in answer["result"]["builder"]


@pytest.mark.parametrize("extra", TRT_EXTRAS)
def test_set_shape_refuses_min_above_opt_above_max_with_the_real_messages(trt, extra, real_tensorrt):
    extension = real_tensorrt(extra).python_path[0] / "tensorrt_bindings" / "tensorrt.so"
    binary = extension.read_bytes()
    profile = make_tensorrt(trt(extra).version, FakeGpu()).IOptimizationProfile()
    for bad, which in ((((-1, 3), (1, 3), (1, 3)), "min"), (((2, 3), (1, 3), (4, 3)), "opt"),
                       (((1, 3), (4, 3), (2, 3)), "max"), (((1, 3), (1, 3, 1), (1, 3, 1)), "opt")):
        with pytest.raises(RuntimeError) as info:
            profile.set_shape("images", *bad)
        assert str(info.value) == f"Shape provided for {which} is inconsistent with other shapes."
        assert str(info.value).encode() + b"\0" in binary, "not the real bindings' message"
    profile.set_shape("images", (1, 3), (2, 3), (2, 3))
    assert profile.get_shape("images") == [(1, 3), (2, 3), (2, 3)]


def test_enum_comparison_can_fail():
    """The helper catches a wrong value, a member the real enum lacks, and passes a correct subset."""
    real = {"FP16": 0, "TF32": 6}
    assert enum_problems("BuilderFlag", {"FP16": 0, "TF32": 6}, real) == []
    assert enum_problems("BuilderFlag", {"TF32": 7}, real) == ["BuilderFlag.TF32 = 7 in the double, 6 in the real enum"]
    assert enum_problems("BuilderFlag", {"FP17": 0}, real)[0].startswith("BuilderFlag.FP17: not a member")


def test_the_comparison_catches_a_wrong_double_and_a_wrong_use(trt):
    """Against the real 10.16 answers: a renamed parameter, a wrong enum value, a method TensorRT lacks, data
    where TensorRT has a method, and benchbed calls with too many arguments or a missing name all show."""
    from conformance.scan import Call, Use
    from conformance.signatures import Param
    from conformance.surface import Item

    answers = trt("tensorrt").answers
    renamed = (Param("name"), Param("min"), Param("opt"), Param("max"))
    wrong = [Item("IOptimizationProfile.set_shape", "function", renamed),
             Item("BuilderFlag", "enum", members=(("TF32", 7),)),
             Item("ICudaEngine.session", "function", ()),
             Item("IBuilderConfig.get_flag", "attribute")]
    problems = surface_problems(wrong, {**answers, "ICudaEngine.session": {"exists": False}})
    assert len(problems) == 4, problems
    uses = [Use("Builder", "x.py:1", Call(2)), Use("BuilderFlag.FP17", "x.py:2")]
    assert len(use_problems(uses, {**answers, "BuilderFlag.FP17": {"exists": False}})) == 2
