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

from benchbed.core.errors import BenchbedError
from benchbed.networks.blocks import decode_stage
from benchbed.networks.spec import ACTIVATIONS, BASELINES, Baseline, NamedPreset

#: YAML key -> Baseline field (keys not listed keep their name)
_KEYS = {"stem": "stem_channels", "head": "head_channels"}
_REQUIRED = ("name", "stem", "head", "resolution", "stages")
_OPTIONAL = ("num_classes", "stem_kernel", "stem_stride", "stochastic_depth", "activation", "fix_stem_head",
             "fix_first_last", "presets")


def _line_of(text: str, needle: str) -> int:
    """1-based line of the first line holding ``needle`` (0 when not found)."""
    return next((i for i, line in enumerate(text.splitlines(), 1) if needle in line), 0)


def parse_baseline(text: str, source: str = "<baseline>") -> Baseline:
    """A :class:`Baseline` from YAML text; raises :class:`BenchbedError` (one line) on any problem."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise BenchbedError(f"{source}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, dict):
        raise BenchbedError(f"{source}: expected a mapping with keys {', '.join(_REQUIRED)}")
    unknown = [k for k in data if k not in _REQUIRED + _OPTIONAL]
    if unknown:
        raise BenchbedError(f"{source} line {_line_of(text, str(unknown[0]))}: unknown key {unknown[0]!r} "
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
        raise BenchbedError(f"{source} line {_line_of(text, 'activation')}: unknown activation {activation!r} "
                            f"(known: {', '.join(ACTIVATIONS)})")
    fields = {_KEYS.get(k, k): v for k, v in data.items() if k != "presets"}
    fields["stages"] = tuple(stages)
    fields["name"] = str(data["name"])
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fields["name"]):
        raise BenchbedError(f"{source} line {_line_of(text, 'name')}: name {fields['name']!r} must be letters, "
                            "digits, '.', '_' or '-' (it names folders and results)")
    if fields["name"] in BASELINES:
        raise BenchbedError(f"{source} line {_line_of(text, 'name')}: name {fields['name']!r} is a built-in "
                            f"baseline's; give yours its own name (or use --baseline {fields['name']})")
    for key in ("stem_channels", "head_channels", "resolution"):
        if not isinstance(fields[key], int) or isinstance(fields[key], bool) or fields[key] < 1:
            raise BenchbedError(f"{source}: {key.split('_')[0]} must be a positive integer, got {fields[key]!r}")
    try:
        presets = tuple(NamedPreset(**p) for p in data.get("presets") or ())
    except TypeError as exc:
        raise BenchbedError(f"{source} line {_line_of(text, 'presets')}: bad preset ({exc}); each needs phi, name, "
                            "width, depth, resolution (dropout, bn_eps optional)") from None
    return Baseline(**fields, presets=presets)


def load_baseline(path: str | Path) -> Baseline:
    """The baseline in a YAML file (see the module docstring for the format)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise BenchbedError(f"cannot read baseline file {path}: {exc.strerror or exc}") from None
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
