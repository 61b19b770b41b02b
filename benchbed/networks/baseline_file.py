"""A user's baseline as a YAML file: stage strings in benchbed's block grammar, stem/head widths, resolution,
activation and optional named presets. Every mistake is one line naming the file, the line and the key.

Example::

    name: my-net
    stem: 32
    head: 1280
    resolution: 224
    activation: relu6          # silu (default), relu6 or relu
    fix_stem_head: true        # keep stem/head widths when scaling (EfficientNet-lite)
    fix_first_last: false      # keep the first and last stage's depth when scaling
    stages:
      - mb_r1_k3_s1_e1_c16
      - mb_r2_k3_s2_e6_c24_se0.25
    presets:                   # optional: preset mode uses these instead of B0-B7's coefficients
      - {phi: 0, name: my-net-s, width: 1.0, depth: 1.0, resolution: 224}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from benchbed.core.errors import BenchbedError
from benchbed.core.user_files import parse_user_yaml, read_user_text, shown
from benchbed.networks.blocks import decode_stage
from benchbed.networks.spec import ACTIVATIONS, BASELINES, Baseline, NamedPreset

#: YAML key -> Baseline field (keys not listed keep their name)
_KEYS = {"stem": "stem_channels", "head": "head_channels"}
_REQUIRED = ("name", "stem", "head", "resolution", "stages")
_OPTIONAL = ("num_classes", "stem_kernel", "stem_stride", "stochastic_depth", "activation", "fix_stem_head",
             "fix_first_last", "presets")
#: A baseline file is a few hundred bytes; a megabyte is no baseline.
MAX_BASELINE_BYTES = 1 << 20
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"

Channels = Annotated[int, Field(strict=True, ge=1, le=16384)]
Pixels = Annotated[int, Field(strict=True, ge=8, le=8192)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PresetEntry(_Strict):
    phi: Annotated[int, Field(strict=True, ge=0, le=63)]
    name: Annotated[str, Field(strict=True, pattern=f"^{_NAME}$")]
    width: Annotated[float, Field(strict=False, gt=0, le=16, allow_inf_nan=False)]
    depth: Annotated[float, Field(strict=False, gt=0, le=16, allow_inf_nan=False)]
    resolution: Pixels
    dropout: Annotated[float, Field(strict=False, ge=0, lt=1, allow_inf_nan=False)] = 0.2
    bn_eps: Annotated[float, Field(strict=False, gt=0, lt=1, allow_inf_nan=False)] = 1e-5

    @field_validator("width", "depth", "dropout", "bn_eps", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if isinstance(value, (str, bool)) or not isinstance(value, (int, float)):
            raise ValueError(f"must be a number, got {shown(value)}")
        return value


class BaselineFile(_Strict):
    """The YAML's fields with their types and bounds: a value that would fail every cell is refused here."""

    name: str  # its shape and its clash with the built-ins are checked first, with their own messages
    stem: Channels
    head: Channels
    resolution: Pixels
    stages: Annotated[list[str], Field(min_length=1, max_length=64)]
    num_classes: Annotated[int, Field(strict=True, ge=1, le=100_000)] = 1000
    stem_kernel: Annotated[int, Field(strict=True, ge=1, le=15)] = 3
    stem_stride: Annotated[int, Field(strict=True, ge=1, le=4)] = 2
    stochastic_depth: Annotated[float, Field(strict=False, ge=0, lt=1, allow_inf_nan=False)] = 0.2
    activation: str = "silu"
    fix_stem_head: bool = False
    fix_first_last: bool = False
    presets: Annotated[list[PresetEntry], Field(max_length=64)] = []

    @field_validator("stochastic_depth", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if isinstance(value, (str, bool)) or not isinstance(value, (int, float)):
            raise ValueError(f"must be a number, got {shown(value)}")
        return value

    @field_validator("stem_kernel")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"must be odd (a 'same'-padded convolution), got {value}")
        return value

    @field_validator("presets")
    @classmethod
    def _distinct(cls, presets: list[PresetEntry]) -> list[PresetEntry]:
        for attribute in ("phi", "name"):
            values = [getattr(p, attribute) for p in presets]
            twice = next((v for v in values if values.count(v) > 1), None)
            if twice is not None:
                raise ValueError(f"two presets have {attribute} {shown(twice)}")
        return presets


def _line_of(text: str, needle: str) -> int:
    """1-based line of the first line holding ``needle`` (0 when not found)."""
    return next((i for i, line in enumerate(text.splitlines(), 1) if needle in line), 0)


def _validation_message(exc: ValidationError, text: str, source: str) -> str:
    error = exc.errors()[0]
    location = [str(part) for part in error["loc"]]
    key = next((part for part in reversed(location) if not part.isdigit()), location[0] if location else "")
    where = f" line {_line_of(text, key)}" if key and _line_of(text, key) else ""
    message = error["msg"].removeprefix("Value error, ")
    given = f" (got {shown(error.get('input'))})" if "got" not in message and error["type"] != "missing" else ""
    return f"{source}{where}: {'.'.join(location)}: {message}{given}"


def parse_baseline(text: str, source: str = "<baseline>") -> Baseline:
    """A :class:`Baseline` from YAML text; raises :class:`BenchbedError` (one line) on any problem."""
    data = parse_user_yaml(text, source)
    if not isinstance(data, dict):
        raise BenchbedError(f"{source}: expected a mapping with keys {', '.join(_REQUIRED)}")
    unknown = [k for k in data if k not in _REQUIRED + _OPTIONAL]
    if unknown:
        raise BenchbedError(f"{source} line {_line_of(text, str(unknown[0]))}: unknown key {shown(unknown[0])} "
                            f"(known: {', '.join(_REQUIRED + _OPTIONAL)})")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise BenchbedError(f"{source}: missing {', '.join(missing)}")
    stages = data["stages"]
    if not isinstance(stages, list) or not stages or not all(isinstance(s, str) for s in stages):
        raise BenchbedError(f"{source} line {_line_of(text, 'stages')}: stages must be a list of stage strings "
                            "like mb_r2_k3_s2_e6_c24_se0.25")
    for stage in stages:
        try:
            decode_stage(stage)
        except ValueError as exc:
            raise BenchbedError(f"{source} line {_line_of(text, stage)}: {exc}") from None
    activation = data.get("activation", "silu")
    if activation not in ACTIVATIONS:
        raise BenchbedError(f"{source} line {_line_of(text, 'activation')}: unknown activation {shown(activation)} "
                            f"(known: {', '.join(ACTIVATIONS)})")
    name = data["name"]
    if isinstance(name, str) and name in BASELINES:
        raise BenchbedError(f"{source} line {_line_of(text, 'name')}: name {name!r} is a built-in "
                            f"baseline's; give yours its own name (or use --baseline {name})")
    if not isinstance(name, str) or not re.fullmatch(_NAME, name):
        raise BenchbedError(f"{source} line {_line_of(text, 'name')}: name {shown(name)} must be letters, "
                            "digits, '.', '_' or '-' (it names folders and results)")
    try:
        checked = BaselineFile.model_validate(data)
    except ValidationError as exc:
        raise BenchbedError(_validation_message(exc, text, source)) from None
    fields = {_KEYS.get(k, k): v for k, v in checked.model_dump().items() if k != "presets"}
    fields["stages"] = tuple(checked.stages)
    fields["stochastic_depth"] = float(checked.stochastic_depth)
    presets = tuple(NamedPreset(**{**p.model_dump(), "width": float(p.width), "depth": float(p.depth)})
                    for p in checked.presets)
    return Baseline(**fields, presets=presets)


def load_baseline(path: str | Path) -> Baseline:
    """The baseline in a YAML file (see the module docstring for the format)."""
    text = read_user_text(path, "baseline file", MAX_BASELINE_BYTES)
    return parse_baseline(text, str(path))


def resolve_baseline(name_or_path: str | Baseline) -> Baseline:
    """A registered baseline by name, or a YAML file by path (``*.yaml``/``*.yml`` or an existing file)."""
    from benchbed.core.errors import UnknownChoiceError

    if isinstance(name_or_path, Baseline):
        return name_or_path
    if name_or_path in BASELINES:
        return BASELINES[name_or_path]
    if str(name_or_path).endswith((".yaml", ".yml")) or Path(name_or_path).is_file():
        return load_baseline(name_or_path)
    raise UnknownChoiceError("baseline", name_or_path, BASELINES)
