"""The torch module for a :class:`NetworkSpec`.

Module names and order follow torchvision's ``models/efficientnet.py`` exactly (``features.N``,
``block``, ``fc1``/``fc2``, ``classifier.1``), so a preset network has torchvision's state-dict keys
and shapes and a user's pretrained torchvision weights load with ``strict=True``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from benchbed.networks.spec import LayerSpec, NetworkSpec


#: activation name (a baseline's ``activation``) -> module factory; B0 is SiLU, EfficientNet-lite ReLU6
ACTIVATIONS: dict[str, type[nn.Module]] = {"silu": nn.SiLU, "relu6": nn.ReLU6, "relu": nn.ReLU}


class ConvBNAct(nn.Sequential):
    """conv (no bias) -> BatchNorm -> optional activation; torchvision's ``Conv2dNormActivation`` layout."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, eps: float = 1e-5,
                 act: bool = True, activation: str = "silu") -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout, eps=eps),
        ]
        if act:
            layers.append(ACTIVATIONS[activation](inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """Channel attention: pool, reduce, SiLU, expand, sigmoid, rescale."""

    def __init__(self, channels: int, squeeze: int, activation: str = "silu") -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = ACTIVATIONS[activation](inplace=True)
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return x * scale


class StochasticDepth(nn.Module):
    """Drops whole residual branches per sample while training; identity at inference."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        mask = torch.empty((x.shape[0], 1, 1, 1), dtype=x.dtype, device=x.device).bernoulli_(survival)
        return x * mask / survival


class MBConv(nn.Module):
    """Inverted residual with depthwise conv and squeeze-excitation (paper's MBConv)."""

    def __init__(self, layer: LayerSpec, eps: float, drop_prob: float, activation: str = "silu") -> None:
        super().__init__()
        hidden = layer.hidden_channels
        self.use_res_connect = layer.stride == 1 and layer.in_channels == layer.out_channels
        modules: list[nn.Module] = []
        if layer.expand != 1:
            modules.append(ConvBNAct(layer.in_channels, hidden, 1, eps=eps, activation=activation))
        modules.append(ConvBNAct(hidden, hidden, layer.kernel, layer.stride, groups=hidden, eps=eps,
                                 activation=activation))
        if layer.se_channels:
            modules.append(SqueezeExcitation(hidden, layer.se_channels, activation))
        modules.append(ConvBNAct(hidden, layer.out_channels, 1, eps=eps, act=False))
        self.block = nn.Sequential(*modules)
        self.stochastic_depth = StochasticDepth(drop_prob)
        self.out_channels = layer.out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if self.use_res_connect:
            out = self.stochastic_depth(out) + x
        return out


class EfficientNet(nn.Module):
    """An EfficientNet-family network built from a :class:`NetworkSpec`."""

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        self.spec = spec
        eps, act = spec.bn_eps, spec.activation
        features: list[nn.Module] = [ConvBNAct(3, spec.stem_channels, spec.stem_kernel, spec.stem_stride, eps=eps,
                                               activation=act)]
        total, block_id = spec.num_blocks, 0
        for stage in spec.stages:
            blocks = []
            for layer in stage:
                drop = spec.stochastic_depth * block_id / total  # linear in depth, as torchvision
                blocks.append(MBConv(layer, eps, drop, act))
                block_id += 1
            features.append(nn.Sequential(*blocks))
        last = spec.stages[-1][-1].out_channels
        features.append(ConvBNAct(last, spec.head_channels, 1, eps=eps, activation=act))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=spec.dropout, inplace=True),
                                        nn.Linear(spec.head_channels, spec.num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's initialisation (kaiming fan-out convs, unit BN, uniform linear)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.classifier(x)
