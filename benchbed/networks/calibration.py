"""Give an untrained network realistic activation ranges.

With plain random initialisation an EfficientNet's activations shrink layer by layer (to ~1e-15 at
the output of B0 and B7), which makes ONNX parity checks vacuous and int8 calibration meaningless.
Re-estimating every BatchNorm's running statistics on seeded synthetic images makes each BN output
roughly unit-variance again, so logits have an order-1 spread. Reproducible: same seed, same network.
"""

from __future__ import annotations

import torch
from torch import nn

from benchbed.artifacts.synthetic import synthetic_images


#: the last stages run at resolution / 32; each BN there should see at least this many positions,
#: or its variance estimate is so small that normalising amplifies rounding noise (tiny test inputs)
MIN_POSITIONS = 64


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, resolution: int, batch_size: int = 4, seed: int = 0) -> nn.Module:
    """Recompute BN running mean/var from one synthetic batch (cumulative average); returns ``model`` in eval."""
    final = max(1, -(-resolution // 32))
    batch_size = max(batch_size, -(-MIN_POSITIONS // (final * final)))
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved_momentum = [m.momentum for m in norms]
    model.eval()  # dropout and stochastic depth stay off
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: one batch sets the statistics exactly
        m.train()
    images = torch.from_numpy(synthetic_images(batch_size, resolution, seed=seed))
    model(images)
    for m, momentum in zip(norms, saved_momentum):
        m.momentum = momentum
        m.eval()
    return model
