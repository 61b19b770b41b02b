"""A user's own measured accuracy: a CSV with ``network,precision,weights,top1,top5`` (+ images, source).

``benchbed accuracy --out`` writes the same format, so measured rows and hand-entered rows join alike.
Any bad row makes the whole file unusable (exit 2): a half-read accuracy file would silently change
which options pass an accuracy floor.
"""

from __future__ import annotations

import csv
from pathlib import Path

from benchbed.accuracy.rows import PRECISIONS, AccuracyRow
from benchbed.core.errors import BenchbedError

REQUIRED = ("network", "precision", "weights", "top1", "top5")
OPTIONAL = ("images", "source")


def _percent(text: str, column: str, required: bool) -> float | None:
    text = (text or "").strip()
    if not text:
        if required:
            raise ValueError(f"{column} is empty")
        return None
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise ValueError(f"{column} {text!r} is not a number") from None
    if not 0.0 <= value <= 100.0:
        raise ValueError(f"{column} {value:g} is not a percentage in [0, 100]")
    return value


def _row(record: dict[str, str], path: Path) -> AccuracyRow:
    network = (record.get("network") or "").strip()
    if not network:
        raise ValueError("network is empty")
    precision = (record.get("precision") or "").strip().lower()
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    top1 = _percent(record.get("top1", ""), "top1", required=True)
    top5 = _percent(record.get("top5", ""), "top5", required=False)
    if top5 is not None and top5 < top1:
        raise ValueError(f"top5 {top5:g} is below top1 {top1:g}")
    images = (record.get("images") or "").strip()
    if images and (not images.isdigit() or int(images) < 1):
        raise ValueError(f"images {images!r} is not a positive whole number")
    weights = (record.get("weights") or "").strip() or "unnamed"
    source = (record.get("source") or "").strip() or f"measured ({path.name})"
    return AccuracyRow(model=f"{network} {weights}", network=network, weights=weights, precision=precision,
                       top1=top1, top5=top5, source=source, measured=True)


def load_user_csv(path: str | Path) -> list[AccuracyRow]:
    """Every row of an accuracy CSV, or one BenchbedError naming the bad lines."""
    from benchbed.core.user_files import read_user_text

    path = Path(path)
    text = read_user_text(path, "accuracy file")
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BenchbedError(f"accuracy file {path}: missing column(s) {', '.join(missing)}; "
                            f"the header must be {','.join(REQUIRED)}[,{','.join(OPTIONAL)}]")
    rows, problems = [], []
    for line, record in enumerate(reader, start=2):
        if None in record:  # csv puts the fields past the header under the key None
            problems.append(f"line {line}: more fields than the header (quote a value that holds a comma)")
            continue
        record = {(k or "").strip(): (v or "") for k, v in record.items()}
        if not any(v.strip() for v in record.values()):
            continue
        try:
            rows.append(_row(record, path))
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise BenchbedError(f"accuracy file {path}: {'; '.join(problems[:3])}{more}")
    if not rows:
        raise BenchbedError(f"accuracy file {path} has no rows")
    return rows
