"""The words of every report's opening section, "What differs (beyond noise)", for markdown, HTML and the
terminal alike (:mod:`benchbed.analysis.differences` decides; this module only says it)."""

from __future__ import annotations

from benchbed.analysis.differences import PAIRED, Difference
from benchbed.report.uncertainty import ratio_with_interval, with_interval

TITLE = "What differs (beyond noise)"
INTRO = ("Each line: variant / reference of the figure named, for one network and scenario. Paired: the two "
         "were timed in interleaved rounds, so machine drift hits both alike (the ratio with its interval). "
         "Per-cell intervals (not measured paired): each variant against the best, then the others that are "
         "within noise of each other, judged by whether the cells' own 95 % intervals overlap; weaker evidence, "
         "since drift between two separate measurements can hide or fake a difference.")
PAIRED_HEADER = ["network", "φ", "scenario", "batch", "metric", "variant", "reference", "ratio [CI]",
                 "confidence", "verdict", "rounds", "seconds", "min effect", "smallest detectable"]
_OVERLAP = {"differs": "do not overlap", "within noise": "overlap"}


def _label(d: Difference) -> str:
    if d.scenario == "single-stream" and d.batch in (1, None):
        return d.network
    return f"{d.network} ({d.scenario}{'' if d.batch is None else f' b{d.batch}'})"


def _figure(value: float | None, interval, batch: int | None, show_batch: bool) -> str:
    return with_interval(value, interval) + (f" at b{batch}" if show_batch and batch is not None else "")


def line(d: Difference) -> str:
    """One sentence: ``B3: openvino / onnxruntime p50 0.84 [0.81, 0.87] — faster (paired, 12 rounds, 20 s)``."""
    head = f"{_label(d)}: {d.variant.name} / {d.reference.name} {d.metric}"
    if d.source == PAIRED:
        how = ", ".join(["paired"] + ([f"{d.rounds} rounds"] if d.rounds is not None else []) +
                        ([f"{d.seconds:.0f} s"] if d.seconds is not None else []))
        return f"{head} {ratio_with_interval(d.ratio, d.ci_low, d.ci_high)} — {d.verdict} ({how})"
    show_batch = d.batch is None
    values = (f"{_figure(d.variant.value, d.variant.interval, d.variant.batch, show_batch)} vs "
              f"{_figure(d.reference.value, d.reference.interval, d.reference.batch, show_batch)} {d.unit}")
    if d.verdict in _OVERLAP:
        evidence = f"per-cell intervals {values} {_OVERLAP[d.verdict]}"
    else:
        missing = " and ".join(s.name for s in (d.variant, d.reference) if s.interval is None)
        evidence = f"per-cell intervals {values}: no interval for {missing}"
    return f"{head} {d.ratio:.2f} — {d.verdict} ({evidence}; not measured paired)"


def paired_rows(entries: list[dict]) -> list[list[str]]:
    """The paired comparisons as a table, every field an entry carries."""
    def num(value, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    def name(v: dict) -> str:
        return f"{v['backend']} {v['precision']}"

    return [[e["network"], num(e.get("phi"), "g"), e["scenario"], num(e.get("batch"), "d"),
             e.get("metric", "p50_ms"), name(e["variant"]), name(e["reference"]),
             ratio_with_interval(e.get("ratio"), e.get("ci_low"), e.get("ci_high")),
             num(e.get("confidence"), ".0%"), e["verdict"], num(e.get("rounds"), "d"), num(e.get("seconds"), ".1f"),
             num(e.get("min_effect"), ".1%"), num(e.get("smallest_detectable"), ".1%")] for e in entries]
