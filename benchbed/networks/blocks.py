"""Stage strings: one line describes one stage of MBConv blocks (after timm's ``_decode_block_str``).

Grammar::

    <type>_<token>_<token>...      tokens in any order, separated by "_"
    type   mb                       MBConv (inverted residual; e1 means no expansion conv)
    r<int>  repeats (layers in the stage)          required
    k<int>  depthwise kernel size (odd)            required
    s<int>  stride of the first layer               required
    e<int>  expansion ratio                         required
    c<int>  output channels                         required
    se<float> squeeze-excitation ratio (of the block's input channels); 0 or absent means none

Example: ``mb_r2_k3_s2_e6_c24_se0.25`` is two MBConv6 3x3 layers with 24 output channels, the first
with stride 2. :func:`encode_stage` writes the canonical form, and ``decode(encode(x)) == x``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BLOCK_TYPES = ("mb",)
_TOKEN = re.compile(r"^(se|r|k|s|e|c)(\d+(?:\.\d+)?)$")
_REQUIRED = ("r", "k", "s", "e", "c")


@dataclass(frozen=True)
class StageSpec:
    """One stage: ``repeats`` identical MBConv layers, the first one with ``stride``."""

    block: str
    repeats: int
    kernel: int
    stride: int
    expand: int
    channels: int
    se_ratio: float = 0.0


def decode_stage(text: str) -> StageSpec:
    """Parse one stage string; raises ``ValueError`` naming the bad token."""
    parts = text.strip().split("_")
    block = parts[0]
    if block not in BLOCK_TYPES:
        raise ValueError(f"stage {text!r}: unknown block type {block!r} (known: {', '.join(BLOCK_TYPES)})")
    values: dict[str, str] = {}
    for token in parts[1:]:
        match = _TOKEN.match(token)
        if not match:
            raise ValueError(f"stage {text!r}: bad token {token!r}")
        key, value = match.groups()
        if key in values:
            raise ValueError(f"stage {text!r}: token {key!r} given twice")
        values[key] = value
    missing = [k for k in _REQUIRED if k not in values]
    if missing:
        raise ValueError(f"stage {text!r}: missing {', '.join(missing)}")
    ints = {}
    for key in _REQUIRED:
        if "." in values[key]:
            raise ValueError(f"stage {text!r}: {key} must be an integer, got {values[key]}")
        ints[key] = int(values[key])
        if ints[key] < 1:
            raise ValueError(f"stage {text!r}: {key} must be >= 1")
    if ints["k"] % 2 == 0:
        raise ValueError(f"stage {text!r}: kernel must be odd, got {ints['k']}")
    se_ratio = float(values.get("se", 0.0))
    if not 0.0 <= se_ratio <= 1.0:
        raise ValueError(f"stage {text!r}: se ratio must be in [0, 1], got {se_ratio}")
    return StageSpec(block, ints["r"], ints["k"], ints["s"], ints["e"], ints["c"], se_ratio)


def encode_stage(stage: StageSpec) -> str:
    """The canonical stage string for ``stage``."""
    text = f"{stage.block}_r{stage.repeats}_k{stage.kernel}_s{stage.stride}_e{stage.expand}_c{stage.channels}"
    if stage.se_ratio:
        text += f"_se{stage.se_ratio:g}"
    return text
