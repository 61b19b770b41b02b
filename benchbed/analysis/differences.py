"""Which variants (backend × precision) of one network differ beyond noise: the report's opening section.

Two sources, best first:

* ``paired``: interleaved paired comparisons a sweep ran (a results file's ``paired`` list): drift
  hits both variants alike, so their ratio interval is the one to believe;
* per-cell intervals: otherwise each variant's own interval (measured at different times). Intervals
  that do not overlap mean a difference; overlapping ones mean the cells cannot tell the variants
  apart, which is weaker than "the same" (drift between the cells can hide or fake a difference).

Only VALID cells take part; each line names its source.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from benchbed.measure.intervals import Interval, overlap

PAIRED = "paired"
PER_CELL = "per-cell intervals"


@dataclass(frozen=True)
class Metric:
    """A figure a difference is judged on: its row field, its interval's field, and which way is better."""

    key: str
    label: str
    unit: str
    interval_key: str
    higher_is_better: bool


LATENCY = Metric("p50_ms", "p50", "ms", "p50_interval", False)
THROUGHPUT = Metric("throughput_ips", "img/s", "img/s", "throughput_interval", True)
#: the figure each scenario's answer is judged by; any other scenario: p50 latency
SCENARIO_METRIC = {"offline": THROUGHPUT, "mlperf-offline": THROUGHPUT, "mlperf-server": THROUGHPUT}
#: metric names a paired entry may carry, as the report words them
METRIC_LABELS = {"p50_ms": "p50", "throughput_ips": "img/s", "min_ms": "min latency", "p10_ms": "p10 latency",
                 "median_ms": "median latency"}


@dataclass(frozen=True)
class Side:
    """One variant in a difference: its name and, for per-cell lines, its value and interval."""

    name: str
    value: float | None = None
    interval: Interval | None = None
    batch: int | None = None


@dataclass(frozen=True)
class Difference:
    """variant / reference on one metric for one network and scenario, with its verdict and source."""

    network: str
    phi: float | None
    scenario: str
    batch: int | None
    metric: str
    unit: str
    variant: Side
    reference: Side
    ratio: float | None
    verdict: str  # paired: slower/faster/same/unknown; per-cell: differs/within noise/cannot tell
    source: str
    ci_low: float | None = None
    ci_high: float | None = None
    rounds: int | None = None
    seconds: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def variant_names(a: dict, b: dict) -> tuple[str, str]:
    """The two variants named by what differs: ``openvino`` / ``onnxruntime`` when the precision is shared."""
    if a["precision"] == b["precision"]:
        return a["backend"], b["backend"]
    if a["backend"] == b["backend"]:
        return a["precision"], b["precision"]
    return f"{a['backend']} {a['precision']}", f"{b['backend']} {b['precision']}"


def from_paired(entry: dict) -> Difference:
    variant, reference = variant_names(entry["variant"], entry["reference"])
    return Difference(entry["network"], entry.get("phi"), entry["scenario"], entry.get("batch"),
                      METRIC_LABELS.get(entry.get("metric", "p50_ms"), entry.get("metric", "p50_ms")), "",
                      Side(variant), Side(reference), entry.get("ratio"), entry["verdict"], PAIRED,
                      entry.get("ci_low"), entry.get("ci_high"), entry.get("rounds"), entry.get("seconds"))


def _covered(row: dict, scenario: str, paired: list[dict], names: set[str]) -> bool:
    """Whether a paired entry speaks for this row's network in this scenario: by name, or by φ where the
    entry names its network otherwise than the cells do (``B3`` for ``efficientnet_b3``)."""
    return any(e["scenario"] == scenario and (e["network"] == row["network_name"] or (
        e["network"] not in names and e.get("phi") is not None and e.get("phi") == row["phi"])) for e in paired)


def _versus(scenario: str, row: dict, reference: dict, metric: Metric) -> Difference:
    names = variant_names(row, reference)
    a, b = row.get(metric.interval_key), reference.get(metric.interval_key)
    verdict = "cannot tell" if a is None or b is None else "within noise" if overlap(a, b) else "differs"
    return Difference(reference["network"], reference["phi"], scenario,
                      reference["batch"] if metric is LATENCY else None, metric.label, metric.unit,
                      Side(names[0], row[metric.key], tuple(a) if a else None, row["batch"]),
                      Side(names[1], reference[metric.key], tuple(b) if b else None, reference["batch"]),
                      row[metric.key] / reference[metric.key], verdict, PER_CELL)


def _per_cell(scenario: str, rows: list[dict], metric: Metric) -> list[Difference]:
    """Every other VALID variant against the best one, then the pairs of the others that are within noise
    of each other (which of the rest cannot be told apart), by whether their intervals overlap."""
    sign = -1 if metric.higher_is_better else 1
    rows = sorted((r for r in rows if r["validity"] == "VALID" and r.get(metric.key)), key=lambda r: sign * r[metric.key])
    if len(rows) < 2:
        return []
    best, rest = rows[0], rows[1:]
    out = [_versus(scenario, row, best, metric) for row in rest]
    pairs = [_versus(scenario, slower, faster, metric) for i, faster in enumerate(rest) for slower in rest[i + 1:]]
    return out + [d for d in pairs if d.verdict == "within noise"]


def what_differs(rows_by_scenario: dict[str, list[dict]], paired: list[dict] | None = None) -> list[Difference]:
    """The opening section's lines: paired comparisons first, per-cell intervals for networks without one.

    ``rows_by_scenario`` are the report's answering rows (:func:`benchbed.report.markdown.scenario_rows`).
    """
    paired = paired or []
    found = [from_paired(e) for e in paired]
    names = {row["network_name"] for rows in rows_by_scenario.values() for row in rows}
    for scenario, rows in rows_by_scenario.items():
        metric = SCENARIO_METRIC.get(scenario, LATENCY)
        groups: dict[tuple, list[dict]] = {}
        for row in rows:
            if not _covered(row, scenario, paired, names):
                groups.setdefault((row["network"], row["batch"] if metric is LATENCY else None), []).append(row)
        for group in groups.values():
            found += _per_cell(scenario, group, metric)
    return sorted(found, key=lambda d: (d.phi if d.phi is not None else -1, d.network, d.scenario,
                                        d.source != PAIRED))
