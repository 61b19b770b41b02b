"""Which accuracy a measured cell is shown with, and how honestly.

A cell is (network, precision). Its accuracy is a row for that exact network (same graph, same input
size) from the preferred source. An fp16/int8/bf16 cell is never silently given fp32 accuracy: without a
measured row at its precision it gets the fp32 reference, marked as such (INT8 without
quantization-aware training is known to cost EfficientNets several points of top-1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from benchbed.accuracy.rows import AccuracyRow
from benchbed.accuracy.tables import published_rows
from benchbed.core.errors import UnknownChoiceError

#: The ``source`` choices: which published table a cell's accuracy comes from when no measured row exists.
SOURCE_ORDER = ("paper_v5", "torchvision", "timm")
UNMEASURED_NOTE = "fp32 reference accuracy, this precision unmeasured"


@dataclass(frozen=True)
class AccuracyMatch:
    row: AccuracyRow
    precision_measured: bool  # the row was measured at the cell's own precision

    @property
    def top1(self) -> float:
        return self.row.top1

    @property
    def note(self) -> str | None:
        return None if self.precision_measured else UNMEASURED_NOTE

    def label(self) -> str:
        """'77.1 (paper_v5)' or '77.1* (paper_v5)' with * = fp32 reference for another precision."""
        return f"{self.row.top1:.1f}{'' if self.precision_measured else '*'}"

    def to_dict(self) -> dict:
        return {"top1": self.row.top1, "top5": self.row.top5, "source": self.row.source,
                "weights": self.row.weights, "row_precision": self.row.precision, "measured": self.row.measured,
                "precision_measured": self.precision_measured, "note": self.note}


class AccuracyBook:
    """Published rows plus a user's measured rows, answering 'what accuracy does this cell have?'."""

    def __init__(self, measured: Iterable[AccuracyRow] = (), source: str = "paper_v5") -> None:
        if source not in SOURCE_ORDER:  # the one check of the source (a ValueError as well)
            raise UnknownChoiceError("accuracy_source", source, SOURCE_ORDER)
        self.measured = list(measured)
        self.source = source
        self.published = [r for r in published_rows() if r.network]

    def _best(self, rows: list[AccuracyRow]) -> AccuracyRow | None:
        return max(rows, key=lambda r: r.top1) if rows else None

    def unjoined(self, networks: Iterable[str]) -> list[str]:
        """Networks of measured rows that are not among ``networks``: a typo, or another run's networks."""
        return sorted({r.network for r in self.measured} - set(networks))

    def match(self, network: str, precision: str) -> AccuracyMatch | None:
        """Measured at this precision > chosen published source > other published sources (fp32 only)."""
        own = self._best([r for r in self.measured if r.network == network and r.precision == precision])
        if own:
            return AccuracyMatch(own, True)
        fp32 = self._best([r for r in self.measured if r.network == network and r.precision == "fp32"])
        if fp32 is None:
            for source in (self.source,) + tuple(s for s in SOURCE_ORDER if s != self.source):
                fp32 = self._best([r for r in self.published if r.network == network and r.source == source])
                if fp32:
                    break
        if fp32 is None:
            return None
        return AccuracyMatch(fp32, precision == "fp32")
