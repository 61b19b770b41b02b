"""Baselines as data, and the scaled network spec with its parameter and MAC counts (no torch).

A baseline is a stem, a list of stage strings and a head; scaling it by a :class:`ScalingSpec` gives
a :class:`NetworkSpec`, from which the torch module is built and the cost is counted. Counting here,
from the spec, keeps ``benchbed generate`` fast for B7 and lets tests check the torch module against
an independent count.
"""

from __future__ import annotations

import os

from dataclasses import dataclass, field
from functools import lru_cache

from benchbed.networks.blocks import StageSpec, decode_stage, encode_stage
from benchbed.core.errors import BenchbedError
from benchbed.networks.scaling import ScalingSpec, preset, round_filters, round_repeats


@dataclass(frozen=True)
class Baseline:
    """An unscaled network: what the paper's Table 1 says, as data."""

    name: str
    stem_channels: int
    stages: tuple[str, ...]
    head_channels: int
    resolution: int
    num_classes: int = 1000
    stem_kernel: int = 3
    stem_stride: int = 2
    stochastic_depth: float = 0.2


#: EfficientNet-B0, paper Table 1 (same blocks as tensorflow/tpu ``_DEFAULT_BLOCKS_ARGS``).
EFFICIENTNET_B0 = Baseline(
    name="efficientnet-b0",
    stem_channels=32,
    stages=(
        "mb_r1_k3_s1_e1_c16_se0.25",
        "mb_r2_k3_s2_e6_c24_se0.25",
        "mb_r2_k5_s2_e6_c40_se0.25",
        "mb_r3_k3_s2_e6_c80_se0.25",
        "mb_r3_k5_s1_e6_c112_se0.25",
        "mb_r4_k5_s2_e6_c192_se0.25",
        "mb_r1_k3_s1_e6_c320_se0.25",
    ),
    head_channels=1280,
    resolution=224,
)

BASELINES: dict[str, Baseline] = {EFFICIENTNET_B0.name: EFFICIENTNET_B0}


@dataclass(frozen=True)
class LayerSpec:
    """One MBConv layer after scaling."""

    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    expand: int
    se_ratio: float

    @property
    def hidden_channels(self) -> int:
        return round_filters(self.in_channels, self.expand, divisor=8) if self.expand != 1 else self.in_channels

    @property
    def se_channels(self) -> int:
        return max(1, int(self.in_channels * self.se_ratio)) if self.se_ratio else 0


@dataclass(frozen=True)
class NetworkSpec:
    """A fully scaled network: everything the builder and the counters need."""

    scaling: ScalingSpec
    baseline: str
    stem_channels: int
    stem_kernel: int
    stem_stride: int
    stages: tuple[tuple[LayerSpec, ...], ...]
    head_channels: int
    num_classes: int
    resolution: int
    dropout: float
    bn_eps: float
    stochastic_depth: float
    stage_strings: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.scaling.name

    @property
    def num_blocks(self) -> int:
        return sum(len(stage) for stage in self.stages)

    @property
    def params(self) -> int:
        return count_cost(self)[0]

    @property
    def macs(self) -> int:
        return count_cost(self)[1]

    def summary(self) -> dict:
        params, macs = count_cost(self)
        base_macs = count_cost(build_spec(preset(0)))[1]
        return {
            "phi": self.scaling.phi,
            "name": self.name,
            "mode": self.scaling.mode,
            "width": self.scaling.width,
            "depth": self.scaling.depth,
            "resolution": self.resolution,
            "dropout": self.dropout,
            "bn_eps": self.bn_eps,
            "overrides": list(self.scaling.overrides),
            "alpha": self.scaling.alpha,
            "beta": self.scaling.beta,
            "gamma": self.scaling.gamma,
            "blocks": self.num_blocks,
            "stem_channels": self.stem_channels,
            "head_channels": self.head_channels,
            "stages": list(self.stage_strings),
            "params": params,
            "macs": macs,
            "flops_ratio": self.scaling.flops_ratio,
            "predicted_flops_multiple": self.scaling.predicted_flops_multiple,
            "actual_flops_multiple": macs / base_macs,  # against B0 at 224 px
        }


def build_spec(scaling: ScalingSpec, baseline: Baseline = EFFICIENTNET_B0) -> NetworkSpec:
    """Scale ``baseline`` by ``scaling`` with the reference rounding rules."""
    try:
        decoded = [decode_stage(s) for s in baseline.stages]
    except ValueError as exc:
        raise BenchbedError(str(exc)) from None
    width, depth = scaling.width, scaling.depth
    blocks = sum(round_repeats(stage.repeats, depth) for stage in decoded)
    if blocks > MAX_BLOCKS:  # checked before any layer is made: a depth of 1e9 must not fill memory first
        raise BenchbedError(f"{scaling.name}: {blocks:,} blocks is over benchbed's limit of {MAX_BLOCKS:,} "
                            f"(EfficientNet-B7 has 55); lower the depth multiplier or φ")
    in_channels = round_filters(baseline.stem_channels, width)
    stem = in_channels
    stages: list[tuple[LayerSpec, ...]] = []
    strings: list[str] = []
    for stage in decoded:
        out_channels = round_filters(stage.channels, width)
        repeats = round_repeats(stage.repeats, depth)
        layers = []
        for i in range(repeats):
            layers.append(
                LayerSpec(
                    in_channels=in_channels if i == 0 else out_channels,
                    out_channels=out_channels,
                    kernel=stage.kernel,
                    stride=stage.stride if i == 0 else 1,
                    expand=stage.expand,
                    se_ratio=stage.se_ratio,
                )
            )
        stages.append(tuple(layers))
        strings.append(
            encode_stage(
                StageSpec(stage.block, repeats, stage.kernel, stage.stride, stage.expand, out_channels, stage.se_ratio)
            )
        )
        in_channels = out_channels
    spec = NetworkSpec(
        scaling=scaling,
        baseline=baseline.name,
        stem_channels=stem,
        stem_kernel=baseline.stem_kernel,
        stem_stride=baseline.stem_stride,
        stages=tuple(stages),
        head_channels=round_filters(baseline.head_channels, width),
        num_classes=baseline.num_classes,
        resolution=scaling.resolution,
        dropout=scaling.dropout,
        bn_eps=scaling.bn_eps,
        stochastic_depth=baseline.stochastic_depth,
        stage_strings=tuple(strings),
    )
    _check_size(spec)
    return spec


#: Networks past these are refused before anything is built (B7: 55 blocks, 66 M parameters, 37 G MACs);
#: ``BENCHBED_MAX_PARAMS`` / ``BENCHBED_MAX_MACS`` raise the size limits for a machine that can take more.
MAX_BLOCKS = 1000
DEFAULT_MAX_PARAMS = 2_000_000_000
DEFAULT_MAX_MACS = 2_000_000_000_000


def _limit(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        return int(float(text))
    except ValueError:
        raise BenchbedError(f"{name}={text!r} is not a number") from None


def _check_size(spec: NetworkSpec) -> None:
    params, macs = count_cost(spec)
    for what, value, env, default in (("parameters", params, "BENCHBED_MAX_PARAMS", DEFAULT_MAX_PARAMS),
                                      ("MACs per image", macs, "BENCHBED_MAX_MACS", DEFAULT_MAX_MACS)):
        limit = _limit(env, default)
        if value > limit:
            raise BenchbedError(f"{spec.name}: {value:.3g} {what} is over the limit of {limit:.3g} "
                                f"(B7: 6.6e+07 parameters, 3.8e+10 MACs); set {env} to allow more")


def _conv_out(size: int, kernel: int, stride: int) -> int:
    """Output size with torchvision's symmetric padding (k-1)//2."""
    pad = (kernel - 1) // 2
    return (size + 2 * pad - kernel) // stride + 1


@lru_cache(maxsize=256)
def count_cost(spec: NetworkSpec) -> tuple[int, int]:
    """(parameters, multiply-accumulates) of one image through the network.

    MACs count convolutions and linear layers (what the paper's and torchvision's FLOPS figures count);
    BatchNorm, activations and pooling are omitted as they are there.
    """
    params = macs = 0

    def conv(cin: int, cout: int, k: int, hw_out: int, groups: int = 1, bias: bool = False, bn: bool = True) -> None:
        nonlocal params, macs
        weights = cout * (cin // groups) * k * k
        params += weights + (cout if bias else 0) + (2 * cout if bn else 0)
        macs += weights * hw_out * hw_out

    size = _conv_out(spec.resolution, spec.stem_kernel, spec.stem_stride)
    conv(3, spec.stem_channels, spec.stem_kernel, size)
    for stage in spec.stages:
        for layer in stage:
            hidden = layer.hidden_channels
            if layer.expand != 1:
                conv(layer.in_channels, hidden, 1, size)
            size = _conv_out(size, layer.kernel, layer.stride)
            conv(hidden, hidden, layer.kernel, size, groups=hidden)
            if layer.se_channels:
                conv(hidden, layer.se_channels, 1, 1, bias=True, bn=False)
                conv(layer.se_channels, hidden, 1, 1, bias=True, bn=False)
            conv(hidden, layer.out_channels, 1, size)
    last = spec.stages[-1][-1].out_channels
    conv(last, spec.head_channels, 1, size)
    conv(spec.head_channels, spec.num_classes, 1, 1, bias=True, bn=False)  # the classifier
    return params, macs
