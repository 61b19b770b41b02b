"""Compound scaling of a baseline network: pure math, no torch.

EfficientNet (Tan & Le, 2019, Eq. 3) scales depth d = α^φ, width w = β^φ and resolution r = γ^φ with
α·β²·γ² ≈ 2, so FLOPS grow by about 2^φ. The published B0–B7 do *not* follow the formula exactly (their
coefficients were set by hand in the reference implementation), so both are offered, and every spec
says which mode produced it.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

from benchbed.core.errors import ConfigError, UnknownChoiceError
from benchbed.core.user_files import shown

#: The paper's grid-search result at φ = 1.
PAPER_ALPHA, PAPER_BETA, PAPER_GAMMA = 1.2, 1.1, 1.15
BASE_RESOLUTION = 224
BASE_DROPOUT = 0.2
MAX_PRESET_PHI = 7
#: The most φ values one list may name (a sweep of more networks is a typo, not a plan).
MAX_PHI_VALUES = 64


@dataclass(frozen=True)
class Preset:
    """One published EfficientNet (tensorflow/tpu ``efficientnet_builder.efficientnet_params``)."""

    width: float
    depth: float
    resolution: int
    dropout: float
    bn_eps: float  # torchvision: default 1e-5 for B0-B4, 1e-3 for B5-B7


#: (width, depth, resolution, dropout) from the reference implementation; BN eps as torchvision uses.
PRESETS: dict[int, Preset] = {
    0: Preset(1.0, 1.0, 224, 0.2, 1e-5),
    1: Preset(1.0, 1.1, 240, 0.2, 1e-5),
    2: Preset(1.1, 1.2, 260, 0.3, 1e-5),
    3: Preset(1.2, 1.4, 300, 0.3, 1e-5),
    4: Preset(1.4, 1.8, 380, 0.4, 1e-5),
    5: Preset(1.6, 2.2, 456, 0.4, 1e-3),
    6: Preset(1.8, 2.6, 528, 0.5, 1e-3),
    7: Preset(2.0, 3.1, 600, 0.5, 1e-3),
}

#: BN eps for networks that are not a published preset: the TF reference's global default.
REFERENCE_BN_EPS = 1e-3

MODES = ("preset", "compound", "width", "depth", "resolution")


@dataclass(frozen=True)
class ScalingSpec:
    """How one network is scaled from the baseline: the multipliers and where they came from."""

    phi: float
    mode: str
    width: float
    depth: float
    resolution: int
    dropout: float
    bn_eps: float
    alpha: float = PAPER_ALPHA
    beta: float = PAPER_BETA
    gamma: float = PAPER_GAMMA
    #: Coefficients the user set by hand on top of the mode (tiny test networks, ablations).
    overrides: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        """A unique, readable name; it encodes everything that changes the network."""
        if self.mode == "preset":
            base = f"efficientnet_b{int(self.phi)}"
        elif self.mode == "compound":
            base = f"compound_phi{self.phi:g}_a{self.alpha:g}_b{self.beta:g}_g{self.gamma:g}"
        else:
            base = f"{self.mode}only_phi{self.phi:g}_a{self.alpha:g}_b{self.beta:g}_g{self.gamma:g}"
        if self.overrides:
            parts = {"width": f"w{self.width:g}", "depth": f"d{self.depth:g}", "resolution": f"r{self.resolution}"}
            base += "@" + ",".join(parts[o] for o in self.overrides)
        return base

    @property
    def flops_ratio(self) -> float:
        """α·β²·γ², the FLOPS growth per unit of φ the formula promises."""
        return flops_ratio(self.alpha, self.beta, self.gamma)

    @property
    def predicted_flops_multiple(self) -> float:
        """(α·β²·γ²)^φ: what the formula predicts relative to the baseline."""
        return self.flops_ratio**self.phi

    def to_dict(self) -> dict:
        data = asdict(self)
        data["overrides"] = list(self.overrides)
        data["name"] = self.name
        return data

    def with_overrides(
        self, width: float | None = None, depth: float | None = None, resolution: int | None = None
    ) -> "ScalingSpec":
        """The same spec with some coefficients set by hand (recorded in ``overrides`` and the name)."""
        changes: dict = {}
        if width is not None:
            _check_positive("width", width)
            changes["width"] = float(width)
        if depth is not None:
            _check_positive("depth", depth)
            changes["depth"] = float(depth)
        if resolution is not None:
            if int(resolution) != resolution or resolution < 8:
                raise ConfigError("resolution", f"must be an integer >= 8, got {resolution}")
            changes["resolution"] = int(resolution)
        if not changes:
            return self
        overrides = tuple(k for k in ("width", "depth", "resolution") if k in changes or k in self.overrides)
        return replace(self, overrides=overrides, **changes)


def flops_ratio(alpha: float, beta: float, gamma: float) -> float:
    return alpha * beta**2 * gamma**2


#: A multiplier past this is a typo, not a network (B7 is width 2.0, depth 3.1); the size limits in spec.py
#: would refuse the network anyway, but only after arithmetic that overflows on values like 1e308.
MAX_MULTIPLIER = 1000.0


def _check_positive(label: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 < value <= MAX_MULTIPLIER):
        raise ConfigError(label, f"must be a positive number up to {MAX_MULTIPLIER:g}, got {value}")


def _check_phi(phi: float) -> None:
    if not (isinstance(phi, (int, float)) and math.isfinite(phi) and phi >= 0):
        raise ConfigError("phi", f"must be a number >= 0, got {phi}")


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else repr(value)


def check_scaling(mode: str, alpha: float, beta: float, gamma: float) -> None:
    """The one check of a scaling request: a known mode, and α, β, γ >= 1 in every mode.

    Preset mode does not use the coefficients, but they are recorded with the sweep: a value the paper's
    constraint excludes is refused there too rather than stored.
    """
    if mode not in MODES:
        raise UnknownChoiceError("mode", mode, MODES)
    for label, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 1.0):
            raise ConfigError(label, f"must be >= 1 (the paper's constraint α, β, γ >= 1), got {_shown(value)}")


def _dropout_for(phi: float) -> float:
    """Dropout grows 0.2 -> 0.5 over B0..B7 in the reference; interpolate for non-preset φ."""
    return round(min(0.5, BASE_DROPOUT + 0.3 * phi / MAX_PRESET_PHI), 4)


def preset(phi: int) -> ScalingSpec:
    """The published EfficientNet-B{φ}."""
    if isinstance(phi, float) and not phi.is_integer() or phi not in PRESETS:
        raise ConfigError("phi", f"must be an integer in 0-{MAX_PRESET_PHI} in preset mode, got {phi:g} "
                                 "(use {mode} compound for fractional or larger phi)", mentions=("mode",))
    p = PRESETS[int(phi)]
    return ScalingSpec(int(phi), "preset", p.width, p.depth, p.resolution, p.dropout, p.bn_eps)


def compound(
    phi: float, alpha: float = PAPER_ALPHA, beta: float = PAPER_BETA, gamma: float = PAPER_GAMMA
) -> ScalingSpec:
    """Pure compound scaling: d = α^φ, w = β^φ, r = γ^φ on the 224 px baseline."""
    _check_phi(phi)
    check_scaling("compound", alpha, beta, gamma)
    return ScalingSpec(
        phi=float(phi),
        mode="compound",
        width=beta**phi,
        depth=alpha**phi,
        resolution=round(BASE_RESOLUTION * gamma**phi),
        dropout=_dropout_for(phi),
        bn_eps=REFERENCE_BN_EPS,
        alpha=alpha,
        beta=beta,
        gamma=gamma,
    )


def single_dimension(
    dimension: str,
    phi: float,
    alpha: float = PAPER_ALPHA,
    beta: float = PAPER_BETA,
    gamma: float = PAPER_GAMMA,
) -> ScalingSpec:
    """Scale one dimension alone to the FLOPS budget of compound φ, (α·β²·γ²)^φ.

    FLOPS grow linearly with depth and quadratically with width and resolution, so the budget B is
    spent as d = B, or w = √B, or r = √B (the paper's Figure 3 study).
    """
    if dimension not in MODES[2:]:
        raise UnknownChoiceError("dimension", dimension, MODES[2:])
    _check_phi(phi)
    check_scaling(dimension, alpha, beta, gamma)
    budget = flops_ratio(alpha, beta, gamma) ** phi
    width, depth, res = 1.0, 1.0, 1.0
    if dimension == "width":
        width = math.sqrt(budget)
    elif dimension == "depth":
        depth = budget
    else:  # resolution
        res = math.sqrt(budget)
    return ScalingSpec(
        phi=float(phi),
        mode=dimension,
        width=width,
        depth=depth,
        resolution=round(BASE_RESOLUTION * res),
        dropout=_dropout_for(phi),
        bn_eps=REFERENCE_BN_EPS,
        alpha=alpha,
        beta=beta,
        gamma=gamma,
    )


def scaling_spec(
    phi: float,
    mode: str = "preset",
    alpha: float = PAPER_ALPHA,
    beta: float = PAPER_BETA,
    gamma: float = PAPER_GAMMA,
) -> ScalingSpec:
    """The spec for φ in the given mode (registry of the five modes)."""
    builders: dict[str, Callable[[], ScalingSpec]] = {
        "preset": lambda: preset(phi),
        "compound": lambda: compound(phi, alpha, beta, gamma),
        "width": lambda: single_dimension("width", phi, alpha, beta, gamma),
        "depth": lambda: single_dimension("depth", phi, alpha, beta, gamma),
        "resolution": lambda: single_dimension("resolution", phi, alpha, beta, gamma),
    }
    check_scaling(mode, alpha, beta, gamma)
    return builders[mode]()


# --- rounding, exactly as tensorflow/tpu efficientnet_model.py (and torchvision _make_divisible) -----


def round_filters(channels: float, width: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Scale a channel count by ``width``, round to a multiple of ``divisor``, never below 90 %."""
    scaled = channels * width
    min_value = min_value or divisor
    rounded = max(min_value, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def round_repeats(repeats: int, depth: float) -> int:
    """Scale a stage's layer count by ``depth``, rounding up."""
    return int(math.ceil(repeats * depth))


# --- φ lists as text (3, 0-7, 0,2,5) ---------------------------------------------------------------------

_PHI_TOKEN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?)\s*)?$")


def parse_phi_list(text: str, mode: str = "preset") -> list[float]:
    """Parse ``3``, ``0-7``, ``0,2,5`` or ``1.5`` into a sorted list of unique φ values.

    Ranges step by 1. Preset mode accepts only integers 0-7; other modes accept any φ >= 0.
    """
    limit = f"an integer 0-{MAX_PRESET_PHI}" if mode == "preset" else "a number >= 0"
    values: set[float] = set()
    for token in str(text).split(","):
        match = _PHI_TOKEN.match(token)
        if not match:
            raise ConfigError("phi", f"{shown(text)}: each item must be {limit} or a range like 0-7")
        lo = float(match.group(1))
        hi = float(match.group(2)) if match.group(2) is not None else lo
        if hi < lo:
            raise ConfigError("phi", f"range {token.strip()!r}: the end is below the start (try {hi:g}-{lo:g})")
        if hi - lo >= MAX_PHI_VALUES:  # bounded before it is expanded: 0-99999999999 must not fill memory
            raise ConfigError("phi", f"range {token.strip()!r}: more than {MAX_PHI_VALUES} values")
        value = lo
        while value <= hi + 1e-9:
            values.add(round(value, 6))
            value += 1.0
        if len(values) > MAX_PHI_VALUES:  # lists written with commas count too, not only ranges
            raise ConfigError("phi", f"{shown(text)}: more than {MAX_PHI_VALUES} values")
    for value in values:
        if mode == "preset" and (not float(value).is_integer() or value > MAX_PRESET_PHI):
            raise ConfigError("phi", f"{text!r}: preset mode takes {limit} (got {value:g})")
    return sorted(values)
