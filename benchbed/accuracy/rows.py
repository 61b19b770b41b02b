"""One accuracy row, and the precisions a row can describe."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from benchbed.artifacts.precision import PRECISIONS as ARTIFACT_PRECISIONS

#: every artifact precision, plus bf16: an fp32 artifact a backend computes in bf16 (OpenVINO, torch autocast)
PRECISIONS = (*ARTIFACT_PRECISIONS, "bf16")


@dataclass(frozen=True)
class AccuracyRow:
    """Top-1/top-5 of one model with one set of weights at one precision, and where the figure comes from.

    ``network`` is the benchbed network whose cost the row describes (same graph, same input size), or
    None for a model benchbed does not generate (the paper's comparison ConvNets, TF-padded weights).
    """

    model: str
    network: str | None
    weights: str
    precision: str
    top1: float
    top5: float | None
    source: str
    measured: bool = False  # True: a user's or ``benchbed accuracy``'s own measurement
    group: str | None = None  # the B-model the row belongs to (the paper's grouping in Table 2)
    params_m: float | None = None
    gflops: float | None = None
    crop: int | None = None
    resize: int | None = None
    crop_pct: float | None = None
    interpolation: str | None = None
    note: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}
