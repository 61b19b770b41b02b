"""Measure top-1/top-5 of a network with given weights on an image folder, in PyTorch or ONNX Runtime.

fp32 runs the PyTorch module by default; fp16/int8 run that precision's exported ONNX artifact
(exported here with the same weights), so a reduced-precision cell can show its *measured* accuracy
instead of borrowing fp32's. The result is one CSV row in the format the accuracy tables read.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from benchbed.accuracy.folder import Sample, index_folder, load_image
from benchbed.accuracy.transform import EvalTransform, default_transform
from benchbed.core.errors import BenchbedError, ConfigError, UnknownChoiceError

CSV_HEADER = ("network", "precision", "weights", "top1", "top5", "images", "source")
ENGINES = ("auto", "torch", "onnx")

Predict = Callable[[np.ndarray], np.ndarray]  # NCHW float32 batch -> logits (N, classes)
Progress = Callable[[int, int], None]  # images done, images in all


@dataclass(frozen=True)
class AccuracyResult:
    network: str
    precision: str
    weights_tag: str
    engine: str
    top1_hits: int
    top5_hits: int
    images: int
    val_dir: str
    transform: EvalTransform
    notes: tuple[str, ...] = ()  # about the folder: skipped files, class indices without a map

    @property
    def top1(self) -> float:
        return 100.0 * self.top1_hits / self.images

    @property
    def top5(self) -> float:
        return 100.0 * self.top5_hits / self.images

    def source(self) -> str:
        return (f"measured by benchbed accuracy on {self.val_dir} ({self.images} images, "
                f"transform {self.transform.describe()})")

    def row(self) -> dict:
        """The CSV row (top-1/top-5 in percent, 3 decimals)."""
        return {"network": self.network, "precision": self.precision, "weights": self.weights_tag,
                "top1": f"{self.top1:.3f}", "top5": f"{self.top5:.3f}", "images": self.images,
                "source": self.source()}


def topk_hits(logits: np.ndarray, labels: np.ndarray, k: int = 5) -> tuple[int, int]:
    """(top-1 hits, top-k hits); ties broken by class index, as a stable sort does."""
    order = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    hits = order == labels[:, None]
    return int(hits[:, 0].sum()), int(hits.any(axis=1).sum())


def torch_predictor(spec, weights: str) -> Predict:
    """The PyTorch module for ``spec`` with ``weights`` loaded strictly, in eval mode."""
    import torch

    from benchbed.networks import build_network

    model = build_network(spec, weights=weights)

    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(batch)).float().numpy()

    return predict


def onnx_predictor(spec, weights: str, precision: str, models_dir: str | Path,
                   progress: Callable[[str], None] = lambda message: None) -> Predict:
    """The ``precision`` ONNX artifact of ``spec`` exported with ``weights`` (cached), run by onnxruntime."""
    from benchbed.artifacts.export import export_network
    from benchbed.artifacts.parity import cpu_predictor

    artifact = export_network(spec, precision, models_dir, weights=weights, progress=progress)
    return cpu_predictor(artifact.path)


def spread(samples: list[Sample], limit: int | None) -> list[Sample]:
    """``limit`` samples evenly spread over the sorted folder, so a quick check sees every class part."""
    if limit is None or limit >= len(samples):
        return samples
    if limit < 1:
        raise ConfigError("limit", f"must be >= 1, got {limit}")
    return [samples[i * len(samples) // limit] for i in range(limit)]


def evaluate(
    spec,
    weights: str | Path,
    val_dir: str | Path,
    *,
    precision: str = "fp32",
    engine: str = "auto",
    transform: EvalTransform | None = None,
    batch_size: int = 32,
    limit: int | None = None,
    class_map: dict[str, int] | None = None,
    weights_tag: str | None = None,
    models_dir: str | Path = "models",
    progress: Progress = lambda done, total: None,
    messages: Callable[[str], None] = lambda message: None,
) -> AccuracyResult:
    """Top-1/top-5 of ``spec`` with ``weights`` on ``val_dir`` (see the module docstring for engines).

    ``messages`` hears export progress; notes about the folder come back in the result, so a failed run
    prints its error alone.
    """
    from benchbed.artifacts.precision import get_precision

    get_precision(precision)
    if engine not in ENGINES:
        raise UnknownChoiceError("engine", engine, ENGINES)
    if engine == "auto":
        engine = "torch" if precision == "fp32" else "onnx"
    if engine == "torch" and precision != "fp32":
        raise BenchbedError(f"the torch engine evaluates fp32 only; {precision} is measured on its ONNX artifact "
                            "(--engine onnx)")
    if batch_size < 1:
        raise ConfigError("batch_size", f"must be >= 1, got {batch_size}")
    weights = Path(weights)
    if not weights.is_file():
        raise ConfigError("weights", f"{weights}: no such file")
    transform = transform or default_transform(spec)
    folder = index_folder(val_dir, spec.num_classes, class_map)
    notes = []
    if folder.skipped:
        notes.append(f"skipped {len(folder.skipped)} non-image files (first: {folder.skipped[0]})")
    if class_map is None and len(folder.classes) < spec.num_classes:
        notes.append(f"{len(folder.classes)} class folders for a {spec.num_classes}-class network: class index = "
                     "sorted position; for a partial ImageNet folder pass --class-map")
    samples = spread(folder.samples, limit)
    predict = (torch_predictor(spec, str(weights)) if engine == "torch"
               else onnx_predictor(spec, str(weights), precision, models_dir, messages))
    top1 = top5 = 0
    for start in range(0, len(samples), batch_size):
        chunk = samples[start:start + batch_size]
        batch = np.stack([transform(load_image(s.path)) for s in chunk])
        logits = predict(batch)
        if not np.isfinite(logits).all():
            bad = chunk[int(np.flatnonzero(~np.isfinite(logits).all(axis=1))[0])].path
            raise BenchbedError(f"the network's outputs are NaN or infinite (first on {bad}): the weights or the "
                                "precision are broken, so no accuracy was measured")
        h1, h5 = topk_hits(logits, np.array([s.label for s in chunk]), k=min(5, spec.num_classes))
        top1, top5 = top1 + h1, top5 + h5
        progress(start + len(chunk), len(samples))
    return AccuracyResult(spec.name, precision, weights_tag or weights.stem, engine, top1, top5, len(samples),
                          str(val_dir), transform, tuple(notes))


#: A cell a spreadsheet would run as a formula starts with one of these (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Text from the user (a --weights-tag, a folder name) that a spreadsheet would run as a formula gets a
    leading apostrophe, the usual neutraliser; numbers are written as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def append_csv(path: str | Path, row: dict) -> Path:
    """Append ``row`` to ``path``, writing the header first when the file is new or empty."""
    path = Path(path)
    try:
        exists = path.is_file() and path.stat().st_size > 0
        if exists:
            with path.open(newline="", encoding="utf-8") as f:
                header = next(csv.reader(f), [])
            if tuple(header) != CSV_HEADER:
                raise BenchbedError(f"--out {path}: its header is {','.join(header)!r}, not "
                                    f"{','.join(CSV_HEADER)!r}; refusing to append")
            with path.open("rb") as f:
                f.seek(-1, 2)
                needs_newline = f.read(1) not in (b"\n", b"\r")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", newline="", encoding="utf-8") as f:
            if exists and needs_newline:
                f.write("\n")
            writer = csv.DictWriter(f, fieldnames=CSV_HEADER, lineterminator="\n")
            if not exists:
                writer.writeheader()
            writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})
    except OSError as exc:
        raise BenchbedError(f"cannot write --out {path}: {exc.strerror or exc}") from None
    return path
