"""Published accuracy and cost of the B-models, by name (a view of ``benchbed.accuracy.tables``).

Only a preset network *is* a published model: compound and single-dimension networks have no
published accuracy, and :func:`published_for` returns None for them rather than the nearest B-model.
"""

from __future__ import annotations

from benchbed.accuracy.tables import paper_row, rows_for_source


def published_for(name: str) -> dict | None:
    """{'paper_v5': {...}, 'torchvision': [...]} for a B-model name; torchvision rows carry the eval transform."""
    paper = paper_row(name)
    if paper is None:
        return None
    torchvision = [{"weights": r.weights.split(":", 1)[1], "acc1": r.top1, "acc5": r.top5, "crop": r.crop,
                    "resize": r.resize, "interpolation": r.interpolation, "network": r.network}
                   for r in rows_for_source("torchvision") if r.group == name]
    return {"paper_v5": {"top1": paper.top1, "top5": paper.top5, "params_m": paper.params_m,
                         "gflops": paper.gflops}, "torchvision": torchvision}


def paper_gflops(name: str) -> float | None:
    row = paper_row(name)
    return row.gflops if row else None
