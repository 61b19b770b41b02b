"""The published accuracy tables shipped in ``benchbed/data/accuracy.json``, each row with its source.

Sources: EfficientNet paper v5 Table 2 (B0-B7 and the comparison ConvNets of each group), torchvision's
weights metadata, timm's ImageNet results. Tests rebuild the networks and recompute params/FLOPS.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from benchbed.accuracy.rows import AccuracyRow

TABLE_FORMAT = "benchbed-accuracy/1"


@lru_cache(maxsize=1)
def _document() -> dict:
    doc = json.loads(resources.files("benchbed.data").joinpath("accuracy.json").read_text())
    if doc.get("format") != TABLE_FORMAT:
        raise ValueError(f"benchbed/data/accuracy.json: format {doc.get('format')!r}, expected {TABLE_FORMAT}")
    return doc


def sources() -> dict[str, str]:
    """Source key -> citation."""
    return dict(_document()["sources"])


@lru_cache(maxsize=1)
def published_rows() -> tuple[AccuracyRow, ...]:
    return tuple(AccuracyRow(**row) for row in _document()["rows"])


def rows_for_source(source: str) -> list[AccuracyRow]:
    return [r for r in published_rows() if r.source == source]


def paper_row(network: str) -> AccuracyRow | None:
    """The paper's Table 2 row of a published B-model (None for any other network)."""
    return next((r for r in rows_for_source("paper_v5") if r.network == network), None)
