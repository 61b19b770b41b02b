"""Baselines as data, and the scaled network spec with its parameter and MAC counts (no torch).

A baseline is a stem, a list of stage strings and a head; scaling it by a :class:`ScalingSpec` gives
a :class:`NetworkSpec`, from which the torch module is built and the cost is counted. Counting here,
from the spec, keeps ``benchbed generate`` fast for B7 and lets tests check the torch module against
an independent count.
"""

from __future__ import annotations

import os

from dataclasses import asdict, dataclass, field
from functools import lru_cache

from benchbed.networks.blocks import StageSpec, decode_stage, encode_stage
from benchbed.core.errors import BenchbedError, ConfigError
from benchbed.networks.scaling import BASE_RESOLUTION, ScalingSpec, preset, round_filters, round_repeats

#: Activations a baseline may name (the builder maps each to its torch module).
ACTIVATIONS = ("silu", "relu6", "relu")


@dataclass(frozen=True)
class NamedPreset:
    """One published member of a baseline's family (e.g. EfficientNet-lite0..4): its own name and coefficients."""

    phi: int
    name: str
    width: float
    depth: float
    resolution: int
    dropout: float = 0.2
    bn_eps: float = 1e-5

    def scaling(self) -> ScalingSpec:
        return ScalingSpec(self.phi, "preset", self.width, self.depth, self.resolution, self.dropout, self.bn_eps)


@dataclass(frozen=True)
class Baseline:
    """An unscaled network: what the paper's Table 1 says, as data.

    ``activation``, ``fix_stem_head`` and ``fix_first_last`` are what EfficientNet-lite changes (ReLU6; stem
    and head widths and the first/last stage depth kept when scaling, as timm's ``_gen_efficientnet_lite``);
    ``presets`` are a family's own published members (preset mode uses them instead of B0-B7's).
    """

    name: str
    stem_channels: int
    stages: tuple[str, ...]
    head_channels: int
    resolution: int
    num_classes: int = 1000
    stem_kernel: int = 3
    stem_stride: int = 2
    stochastic_depth: float = 0.2
    activation: str = "silu"
    fix_stem_head: bool = False
    fix_first_last: bool = False
    presets: tuple[NamedPreset, ...] = ()

    def to_dict(self) -> dict:
        """JSON-able content (what a worker needs to rebuild a user's baseline)."""
        data = asdict(self)
        data["stages"] = list(self.stages)
        data["presets"] = [asdict(p) for p in self.presets]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Baseline":
        data = dict(data)
        data["stages"] = tuple(data["stages"])
        data["presets"] = tuple(NamedPreset(**p) for p in data.get("presets") or ())
        return cls(**data)

    def preset_scaling(self, phi: float) -> ScalingSpec:
        """Preset mode: the family's own member φ, or B0-B7's coefficients when the baseline has none."""
        if not self.presets:
            return preset(phi)
        by_phi = {p.phi: p for p in self.presets}
        if isinstance(phi, float) and not phi.is_integer() or int(phi) not in by_phi:
            raise ConfigError("phi", f"must be one of {', '.join(str(k) for k in sorted(by_phi))} in preset mode "
                                     f"for baseline {self.name}, got {phi:g}")
        return by_phi[int(phi)].scaling()


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

#: EfficientNet-lite0 (tensorflow/tpu ``efficientnet/lite``; timm ``_gen_efficientnet_lite``): B0 without
#: squeeze-excitation, ReLU6, stem and head fixed; lite1-4 as its presets (timm's coefficients).
EFFICIENTNET_LITE0 = Baseline(
    name="efficientnet-lite0",
    stem_channels=32,
    stages=(
        "mb_r1_k3_s1_e1_c16",
        "mb_r2_k3_s2_e6_c24",
        "mb_r2_k5_s2_e6_c40",
        "mb_r3_k3_s2_e6_c80",
        "mb_r3_k5_s1_e6_c112",
        "mb_r4_k5_s2_e6_c192",
        "mb_r1_k3_s1_e6_c320",
    ),
    head_channels=1280,
    resolution=224,
    activation="relu6",
    fix_stem_head=True,
    fix_first_last=True,
    presets=tuple(NamedPreset(i, f"efficientnet_lite{i}", w, d, r, drop) for i, (w, d, r, drop) in enumerate(
        ((1.0, 1.0, 224, 0.2), (1.0, 1.1, 240, 0.2), (1.1, 1.2, 260, 0.3), (1.2, 1.4, 280, 0.3),
         (1.4, 1.8, 300, 0.3)))),
)

BASELINES: dict[str, Baseline] = {b.name: b for b in (EFFICIENTNET_B0, EFFICIENTNET_LITE0)}


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
    activation: str = "silu"
    #: the baseline's content when it is not a registered one (a user's YAML), so a worker can rebuild it
    custom_baseline: Baseline | None = None

    @property
    def name(self) -> str:
        """B0 networks keep their names; another baseline's are prefixed with it (its presets: their own)."""
        if self.baseline == EFFICIENTNET_B0.name:
            return self.scaling.name
        base = self.custom_baseline or BASELINES.get(self.baseline)
        if self.scaling.mode == "preset" and base is not None and base.presets:
            _, at, hand_set = self.scaling.name.partition("@")
            return next(p.name for p in base.presets if p.phi == self.scaling.phi) + at + hand_set
        return f"{self.baseline}_{self.scaling.name}"

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
        base_macs = count_cost(_reference_spec(self))[1]
        return {
            "phi": self.scaling.phi,
            "name": self.name,
            "baseline": self.baseline,
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
            "actual_flops_multiple": macs / base_macs,  # against the unscaled baseline (B0 at 224 px)
        }


def _reference_spec(spec: NetworkSpec) -> NetworkSpec:
    """The unscaled baseline a spec's FLOPS multiple is taken against (B0 at 224 px for B0 networks)."""
    if spec.baseline == EFFICIENTNET_B0.name:
        return build_spec(preset(0))
    from benchbed.networks.scaling import compound

    return build_spec(compound(0.0), spec.custom_baseline or BASELINES[spec.baseline])


def build_spec(scaling: ScalingSpec, baseline: Baseline = EFFICIENTNET_B0) -> NetworkSpec:
    """Scale ``baseline`` by ``scaling`` with the reference rounding rules."""
    try:
        decoded = [decode_stage(s) for s in baseline.stages]
    except ValueError as exc:
        raise BenchbedError(str(exc)) from None
    width, depth = scaling.width, scaling.depth
    last = len(decoded) - 1

    def repeats_of(i: int, stage: StageSpec) -> int:
        keep = baseline.fix_first_last and i in (0, last)
        return stage.repeats if keep else round_repeats(stage.repeats, depth)

    if baseline.activation not in ACTIVATIONS:
        raise BenchbedError(f"baseline {baseline.name}: unknown activation {baseline.activation!r} "
                            f"(known: {', '.join(ACTIVATIONS)})")
    blocks = sum(repeats_of(i, stage) for i, stage in enumerate(decoded))
    if blocks > MAX_BLOCKS:  # checked before any layer is made: a depth of 1e9 must not fill memory first
        raise BenchbedError(f"{scaling.name}: {blocks:,} blocks is over benchbed's limit of {MAX_BLOCKS:,} "
                            f"(EfficientNet-B7 has 55); lower the depth multiplier or φ")
    fixed = baseline.fix_stem_head
    in_channels = baseline.stem_channels if fixed else round_filters(baseline.stem_channels, width)
    stem = in_channels
    stages: list[tuple[LayerSpec, ...]] = []
    strings: list[str] = []
    for index, stage in enumerate(decoded):
        out_channels = round_filters(stage.channels, width)
        repeats = repeats_of(index, stage)
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
        head_channels=baseline.head_channels if fixed else round_filters(baseline.head_channels, width),
        num_classes=baseline.num_classes,
        resolution=_resolution(scaling, baseline),
        dropout=scaling.dropout,
        bn_eps=scaling.bn_eps,
        stochastic_depth=baseline.stochastic_depth,
        stage_strings=tuple(strings),
        activation=baseline.activation,
        custom_baseline=None if BASELINES.get(baseline.name) == baseline else baseline,
    )
    _check_size(spec)
    return spec


def _resolution(scaling: ScalingSpec, baseline: Baseline) -> int:
    """The scaled resolution relative to the baseline's own (B0's 224 px multipliers carried over); a
    resolution set by hand, or a family preset's, is taken as it is."""
    if baseline.resolution == BASE_RESOLUTION or "resolution" in scaling.overrides or baseline.presets and \
            scaling.mode == "preset":
        return scaling.resolution
    return round(scaling.resolution * baseline.resolution / BASE_RESOLUTION)


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
