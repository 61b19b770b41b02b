import gzip
import json

import pytest
import torch

from benchbed.networks import build_model, network_spec
from benchbed.networks.network import EfficientNet
from benchbed.artifacts.synthetic import synthetic_images
from conftest import FIXTURES, TINY

TORCHVISION_PARAMS = [5288548, 7794184, 9109994, 12233232, 19341616, 30389784, 43040704, 66347960]
PAPER_GFLOPS = [0.39, 0.70, 1.0, 1.8, 4.2, 9.9, 19, 37]


@pytest.fixture(scope="module")
def torchvision_fixture():
    with gzip.open(FIXTURES / "torchvision_efficientnet_state_dicts.json.gz", "rt") as handle:
        return json.load(handle)


@pytest.mark.parametrize("phi", range(8))
def test_preset_matches_torchvision_key_for_key(phi, torchvision_fixture):
    expected = torchvision_fixture["models"][f"efficientnet_b{phi}"]
    model = EfficientNet(network_spec(phi))
    state = model.state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == expected["state_dict"]
    params = sum(p.numel() for p in model.parameters())
    assert params == expected["params"] == TORCHVISION_PARAMS[phi] == network_spec(phi).params
    eps = sorted({m.eps for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)})
    assert eps == expected["bn_eps"]


def test_macs_agree_with_the_paper_table():
    for phi, gflops in enumerate(PAPER_GFLOPS):
        macs = network_spec(phi).macs / 1e9
        # B2 is published at 1.0B (rounded); others within 10 % of the two-significant-digit table value
        assert macs == pytest.approx(gflops, rel=0.1 if phi != 2 else 0.01 + abs(1 - 0.994))


def test_macs_counted_from_the_spec_equal_a_hook_count_on_the_torch_module():
    spec = network_spec(0, **TINY)
    model = EfficientNet(spec).eval()
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            total += output.numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, torch.nn.Linear):
            total += module.in_features * module.out_features

    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.zeros(1, 3, spec.resolution, spec.resolution))
    assert total == spec.macs


def test_torchvision_weights_load_strict_and_give_the_same_outputs(tmp_path):
    """The fixture was made by torchvision 0.29.1's own EfficientNet (width .25, depth .34, 10 classes)."""
    saved = torch.load(FIXTURES / "torchvision_tiny_b0.pt", weights_only=True)
    weights = tmp_path / "tv.pt"
    torch.save(saved["state_dict"], weights)
    from benchbed.networks import EFFICIENTNET_B0, build_spec
    from benchbed.networks.network import EfficientNet as Net
    from benchbed.networks import load_weights
    from dataclasses import replace

    spec = network_spec(0, width=saved["width"], depth=saved["depth"], resolution=saved["resolution"])
    spec = build_spec(spec.scaling, replace(EFFICIENTNET_B0, num_classes=saved["num_classes"]))
    model = load_weights(Net(spec), str(weights)).eval()
    with torch.no_grad():
        out = model(saved["x"])
    torch.testing.assert_close(out, saved["y"], rtol=1e-5, atol=1e-6)


def test_weights_with_wrong_keys_are_refused(tmp_path):
    from benchbed.core.errors import BenchbedError

    bad = tmp_path / "bad.pt"
    torch.save({"not.a.key": torch.zeros(1)}, bad)
    with pytest.raises(BenchbedError, match="cannot load weights"):
        build_model(0, weights=str(bad), **TINY)
    with pytest.raises(BenchbedError, match="not found"):
        build_model(0, weights=str(tmp_path / "missing.pt"), **TINY)


def test_calibrated_network_has_order_one_outputs_and_is_reproducible():
    images = torch.from_numpy(synthetic_images(4, 224, seed=7))
    model = build_model(0)
    with torch.no_grad():
        out = model(images)
        again = build_model(0)(images)
        raw = build_model(0, calibrate=False)(images)
    assert 0.05 < out.std().item() < 20  # order 1, not the ~1e-15 of plain random init
    assert (out[0] - out[1]).abs().max().item() > 0.01  # distinct images, distinct logits
    assert raw.std().item() < 1e-6  # why calibration exists
    torch.testing.assert_close(out, again)


def test_stochastic_depth_is_identity_at_inference_and_active_in_training():
    model = build_model(0, **TINY)
    x = torch.from_numpy(synthetic_images(8, 32, seed=1))
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
    blocks = [m for m in model.modules() if type(m).__name__ == "StochasticDepth"]
    assert blocks[-1].p > 0 and blocks[0].p == 0.0
