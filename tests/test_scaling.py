import math

import pytest

from benchbed.core.errors import BenchbedError
from benchbed.networks.scaling import (PRESETS, compound, parse_phi_list, preset, round_filters, round_repeats,
                              scaling_spec, single_dimension)


def test_presets_are_the_reference_table_not_the_formula():
    expected = {0: (1.0, 1.0, 224, 0.2), 1: (1.0, 1.1, 240, 0.2), 2: (1.1, 1.2, 260, 0.3), 3: (1.2, 1.4, 300, 0.3),
                4: (1.4, 1.8, 380, 0.4), 5: (1.6, 2.2, 456, 0.4), 6: (1.8, 2.6, 528, 0.5), 7: (2.0, 3.1, 600, 0.5)}
    for phi, (w, d, r, drop) in expected.items():
        spec = preset(phi)
        assert (spec.width, spec.depth, spec.resolution, spec.dropout) == (w, d, r, drop)
        assert spec.mode == "preset" and spec.name == f"efficientnet_b{phi}"
    assert [PRESETS[p].bn_eps for p in range(8)] == [1e-5] * 5 + [1e-3] * 3
    b1 = compound(1)
    assert (round(b1.width, 3), round(b1.depth, 3), b1.resolution) == (1.1, 1.2, 258)
    assert preset(1).resolution == 240


def test_compound_formula_and_flops_prediction():
    spec = compound(2.5, 1.2, 1.1, 1.15)
    assert spec.depth == pytest.approx(1.2**2.5)
    assert spec.width == pytest.approx(1.1**2.5)
    assert spec.resolution == round(224 * 1.15**2.5)
    assert spec.flops_ratio == pytest.approx(1.2 * 1.1**2 * 1.15**2)
    assert spec.predicted_flops_multiple == pytest.approx(spec.flops_ratio**2.5)
    assert "compound" in spec.name and "phi2.5" in spec.name


@pytest.mark.parametrize("dimension", ["width", "depth", "resolution"])
def test_single_dimension_spends_the_compound_budget(dimension):
    phi = 3
    budget = (1.2 * 1.1**2 * 1.15**2) ** phi
    spec = single_dimension(dimension, phi)
    growth = spec.depth * spec.width**2 * (spec.resolution / 224) ** 2
    assert growth == pytest.approx(budget, rel=0.01)
    others = {"width", "depth", "resolution"} - {dimension}
    for other in others:
        assert (getattr(spec, other) == 1.0) if other != "resolution" else spec.resolution == 224


def test_rounding_rules_match_the_reference():
    assert round_filters(32, 1.0) == 32
    assert round_filters(40, 1.1) == 48  # 44 -> nearest multiple of 8 is 48
    assert round_filters(16, 1.2) == 24  # 19.2 -> 16 would lose > 10 %, so 24
    assert round_filters(24, 1.4) == 32  # 33.6 -> 32 (within 10 %)
    assert round_filters(1280, 0.25) == 320
    assert round_filters(3, 1.0) == 8  # never below the divisor
    for channels in range(8, 400, 8):
        for width in (0.3, 0.75, 1.1, 1.3, 1.7, 2.2):
            value = round_filters(channels, width)
            assert value % 8 == 0 and value >= 0.9 * channels * width
    assert round_repeats(3, 1.1) == 4 and round_repeats(4, 1.0) == 4 and round_repeats(1, 3.1) == 4


@pytest.mark.parametrize("text,expected", [("3", [3]), ("0-7", list(range(8))), ("0,2,5", [0, 2, 5]),
                                           (" 5 , 1-2 ", [1, 2, 5])])
def test_parse_phi(text, expected):
    assert parse_phi_list(text) == expected


def test_parse_phi_fractional_outside_preset():
    assert parse_phi_list("1.5", mode="compound") == [1.5]
    assert parse_phi_list("0.5-2.5", mode="compound") == [0.5, 1.5, 2.5]


@pytest.mark.parametrize("text", ["8", "-1", "3-1", "x", "", "1.5", "0-8", "1,,2"])
def test_parse_phi_rejects_bad_input(text):
    with pytest.raises(BenchbedError):
        parse_phi_list(text)


@pytest.mark.parametrize("args", [dict(alpha=0.9), dict(beta=0.5), dict(gamma=math.nan)])
def test_coefficients_below_one_are_rejected(args):
    with pytest.raises(BenchbedError, match=">= 1"):
        scaling_spec(1, "compound", **{"alpha": 1.2, "beta": 1.1, "gamma": 1.15, **args})


def test_unknown_mode_and_bad_overrides():
    with pytest.raises(BenchbedError, match="unknown mode"):
        scaling_spec(1, "sideways")
    with pytest.raises(BenchbedError):
        preset(0).with_overrides(resolution=3)
    with pytest.raises(BenchbedError):
        preset(0).with_overrides(width=-1)
    spec = preset(0).with_overrides(width=0.25, resolution=32)
    assert spec.overrides == ("width", "resolution") and spec.name == "efficientnet_b0@w0.25,r32"


def test_grid_search_respects_the_constraint_and_objective():
    from benchbed.networks.search import grid_search

    found = grid_search("flops", tolerance=0.05, step=0.05)
    assert found, "the paper's neighbourhood has candidates"
    assert all(abs(c.alpha * c.beta**2 * c.gamma**2 - 2) <= 0.05 for c in found)
    assert [c.score for c in found] == sorted(c.score for c in found)
    calls = []
    custom = grid_search(lambda spec: calls.append(spec) or -spec.resolution, tolerance=0.05, step=0.05)
    assert len(calls) == len(found) and custom[0].gamma == max(c.gamma for c in found)
    with pytest.raises(BenchbedError):
        grid_search("accuracy")


def test_latency_objective_measures_each_candidate(tmp_path):
    from benchbed.networks.search import grid_search

    found = grid_search("latency", tolerance=0.01, step=0.5, overrides={"width": 0.25, "resolution": 32},
                        objective_options={"backend": "onnxruntime", "models_dir": str(tmp_path)})
    assert [(c.alpha, c.beta, c.gamma) for c in found] == [(2.0, 1.0, 1.0)]
    assert 0 < found[0].score < 1000  # a real p50 in milliseconds
    assert any(tmp_path.rglob("fp32.onnx"))
