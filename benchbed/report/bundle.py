"""``benchbed report RUN… [--html]``: the markdown and HTML reports over one or more runs, in one folder.

Runs may come from several machines (Ray sweeps store each node's environment with its cells, or
results.json files copied from elsewhere): every analysis names the hardware of each point.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from benchbed.accuracy.lookup import AccuracyBook
from benchbed.analysis.pareto import COSTS, Cost, cost_per_image
from benchbed.analysis.points import Point, to_points
from benchbed.analysis.sources import doc_environment, load_side
from benchbed.analysis.summary import TableData, best_table, pareto_tables, scaling_tables
from benchbed.core.files import atomic_write_bytes, path_inside
from benchbed.core.result import check_run_id
from benchbed.analysis.prices import PriceFile
from benchbed.report.markdown import ACCURACY_FOOTNOTE, md_table, render_markdown


@dataclass
class ReportInputs:
    runs: list[dict]
    results_by_run: dict[str, list[dict]]
    points: list[Point]
    #: run id -> its interleaved paired comparisons (results files that carry them)
    paired: dict[str, list[dict]] = field(default_factory=dict)


def load_inputs(refs: list[str], db: Path | None, book: AccuracyBook) -> ReportInputs:
    runs, by_run, pairs, paired = [], {}, [], {}
    for ref in refs:
        side = load_side(ref, db)
        for run, docs in side.per_run:
            if run["run_id"] in by_run:
                continue
            runs.append(run)
            by_run[run["run_id"]] = docs
            pairs += [(doc, doc_environment(doc, run)) for doc in docs]
            if run["run_id"] in side.paired:
                paired[run["run_id"]] = side.paired[run["run_id"]]
    return ReportInputs(runs, by_run, to_points(pairs, book), paired)


def output_folder(reports_dir: Path, runs: list[dict]) -> Path:
    if len(runs) == 1:
        return path_inside(reports_dir, check_run_id(runs[0]["run_id"], "report"))
    digest = hashlib.sha256(",".join(sorted(r["run_id"] for r in runs)).encode()).hexdigest()[:8]
    return Path(reports_dir) / f"combined-{digest}"


def costs_for(prices: PriceFile | None, points: list[Point]) -> list[Cost]:
    costs = list(COSTS.values())
    if prices is not None:
        per_hour = {p.hardware: price.per_hour for p in points if (price := prices.price_for(p.hardware))}
        costs.append(cost_per_image(per_hour))
    return costs


def _md(t: TableData) -> list[str]:
    return [f"### {t.title}", "", md_table(t.header, t.rows), "", t.note, ""]


def render_bundle_markdown(inputs: ReportInputs, costs: list[Cost], book: AccuracyBook) -> str:
    parts = [render_markdown(run, inputs.results_by_run[run["run_id"]], book, inputs.paired.get(run["run_id"]))
             for run in inputs.runs]
    analyses = best_table(inputs.points) + scaling_tables(inputs.points) + pareto_tables(inputs.points, costs)
    if analyses:
        parts.append("## Analyses (all runs above)\n")
        for table in analyses:
            parts += _md(table)
    return "\n".join(parts)


def history_png(db: Path | None, points: list[Point], folder: Path) -> bytes | None:
    """The trend of these cells over every run in the store, when at least one has two runs."""
    if db is None or not Path(db).exists():
        return None
    from benchbed.analysis.history import plot_trends, trends
    from benchbed.core.cell import cell_key
    from benchbed.sweep.store import Store

    keys = {cell_key(p.doc["cell"]) for p in points}
    store = Store(db)
    try:
        found = [t for t in trends(store) if t.key in keys and len(t.points) >= 2]
    finally:
        store.close()
    if not found:
        return None
    path = folder / "plots" / "history.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    plot_trends(found, str(path))
    return path.read_bytes()


def write_bundle(inputs: ReportInputs, folder: Path, book: AccuracyBook, prices: PriceFile | None,
                 html: bool, db: Path | None) -> tuple[str, list[Path]]:
    """report.md always; report.html (+ plots/) with ``html``. Returns the markdown and the files written."""
    from benchbed.core.files import ensure_writable_dir

    ensure_writable_dir(folder, "--out")
    costs = costs_for(prices, inputs.points)
    md_path = folder / "report.md"
    markdown = render_bundle_markdown(inputs, costs, book)
    atomic_write_bytes(md_path, markdown.encode())
    written = [md_path]
    if html:
        from benchbed.report.html import render_html, write_html

        text = render_html(inputs.runs, inputs.results_by_run, inputs.points, folder, costs,
                           history_png(db, inputs.points, folder), ACCURACY_FOOTNOTE, book, inputs.paired)
        written.append(write_html(folder / "report.html", text))
    return markdown, written
