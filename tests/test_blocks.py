import pytest

from benchbed.networks.blocks import StageSpec, decode_stage, encode_stage
from benchbed.networks.spec import EFFICIENTNET_B0


@pytest.mark.parametrize("text", EFFICIENTNET_B0.stages)
def test_round_trip(text):
    assert encode_stage(decode_stage(text)) == text


def test_token_order_is_free_and_se_optional():
    a = decode_stage("mb_c24_e6_s2_k3_r2_se0.25")
    assert a == StageSpec("mb", 2, 3, 2, 6, 24, 0.25)
    assert decode_stage("mb_r1_k3_s1_e1_c16").se_ratio == 0.0
    assert encode_stage(decode_stage("mb_r1_k3_s1_e1_c16")) == "mb_r1_k3_s1_e1_c16"


@pytest.mark.parametrize("text,message", [
    ("xx_r1_k3_s1_e1_c16", "unknown block type"), ("mb_r1_k3_s1_e1", "missing c"), ("mb_r1_k4_s1_e1_c8", "odd"),
    ("mb_r1_k3_s1_e1_c8_z2", "bad token"), ("mb_r1_r2_k3_s1_e1_c8", "twice"), ("mb_r0_k3_s1_e1_c8", ">= 1"),
    ("mb_r1.5_k3_s1_e1_c8", "integer"), ("mb_r1_k3_s1_e1_c8_se2", "se ratio"),
])
def test_bad_stage_strings_raise_value_error(text, message):
    with pytest.raises(ValueError, match=message):
        decode_stage(text)
