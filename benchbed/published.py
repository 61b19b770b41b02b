"""Published accuracy and cost of the EfficientNets (data file with sources, ``data/published.json``).

Only a preset network *is* a published model: compound and single-dimension networks have no
published accuracy, and :func:`published_for` returns None for them rather than the nearest B-model.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def published_table() -> dict:
    return json.loads(resources.files("benchbed.data").joinpath("published.json").read_text())


def published_for(name: str) -> dict | None:
    """Paper and torchvision rows for network ``name``, or None when it is not a published model."""
    return published_table()["networks"].get(name)


def paper_top1(name: str) -> float | None:
    row = published_for(name)
    return row["paper_v5"]["top1"] if row else None


def paper_gflops(name: str) -> float | None:
    row = published_for(name)
    return row["paper_v5"]["gflops"] if row else None


def torchvision_top1(name: str) -> str | None:
    """torchvision acc@1 as shown in tables: several weights joined by '/' (e.g. B1 V1/V2)."""
    row = published_for(name)
    if not row:
        return None
    return " / ".join(f"{w['acc1']:.3f}" for w in row["torchvision"])
