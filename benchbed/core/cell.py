"""One cell = (network, backend, precision, scenario, batch[, hardware]): the unit that is measured and stored.

The cell's key is how the store, resume, compare, history and procure recognise the same measurement
across runs; it is derived here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchbed.core.errors import BenchbedError

#: The fields every stored cell has, in key order.
CELL_FIELDS = ("network", "backend", "precision", "scenario", "batch")


@dataclass(frozen=True)
class Cell:
    network: str
    backend: str
    precision: str
    scenario: str
    batch: int
    #: A Ray node type (``A100``, ``hw:LABEL``) on multi-hardware sweeps; None on one machine.
    hardware: str | None = None

    def key(self) -> str:
        key = "|".join(str(getattr(self, f)) for f in CELL_FIELDS)
        return key + (f"|{self.hardware}" if self.hardware else "")

    def group(self) -> tuple:
        """The cell without its batch: a scenario's batches belong to one group."""
        return (self.network, self.backend, self.precision, self.scenario, self.hardware)

    def label(self) -> str:
        """How a person sees the cell in progress lines."""
        text = f"{self.network} {self.backend} {self.precision} {self.scenario} b{self.batch}"
        return text + (f" [{self.hardware}]" if self.hardware else "")

    def to_dict(self) -> dict:
        data = {f: getattr(self, f) for f in CELL_FIELDS}
        if self.hardware:
            data["hardware"] = self.hardware
        return data

    @classmethod
    def from_dict(cls, data, where: str = "a result") -> "Cell":
        """A cell from a stored document; a damaged one is a one-line error naming ``where`` and the field."""
        if not isinstance(data, dict):
            raise BenchbedError(f"{where} has no cell")
        missing = [f for f in CELL_FIELDS if f not in data]
        if missing:
            raise BenchbedError(f"{where} has a cell without {', '.join(missing)}")
        for name in CELL_FIELDS[:4]:
            if not isinstance(data[name], str) or not data[name]:
                raise BenchbedError(f"{where} cell {name} {data[name]!r} is not a name")
        batch = data["batch"]
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise BenchbedError(f"{where} cell batch {batch!r} is not a whole number >= 1")
        hardware = data.get("hardware")
        if hardware is not None and not isinstance(hardware, str):
            raise BenchbedError(f"{where} cell hardware {hardware!r} is not a name")
        return cls(data["network"], data["backend"], data["precision"], data["scenario"], batch, hardware or None)


def cell_key(cell: dict | Cell) -> str:
    """The key of a cell given as stored (a dict) or typed."""
    return (cell if isinstance(cell, Cell) else Cell.from_dict(cell)).key()
