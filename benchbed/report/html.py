"""One self-contained HTML report over one or more runs: tables (sortable), embedded plots, environment.

Everything the page needs is inside the file (PNG as data: URIs, inline CSS and a few lines of script
to sort tables), so it can be mailed, attached to a CI job or opened from disk with no server. The
figures are also written as PNG and SVG next to it.
"""

from __future__ import annotations

import base64
import html
import time
from pathlib import Path

from benchbed import __version__
from benchbed.report import plots
from benchbed.accuracy.lookup import AccuracyBook
from benchbed.analysis.pareto import COSTS, Cost
from benchbed.analysis.points import Point
from benchbed.analysis.summary import TableData, best_table, pareto_tables, scaling_tables
from benchbed.core.files import atomic_write_bytes
from benchbed.analysis.differences import what_differs
from benchbed.report import differs
from benchbed.report.markdown import COLUMNS, environment_rows, row_cells, scenario_rows
from benchbed.report.uncertainty import INTERVAL_LEGEND

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1280px;color:#222;padding:0 16px}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:2em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:8px 0 16px;font-size:12.5px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3;cursor:pointer;user-select:none;white-space:nowrap}th:after{content:" \\2195";color:#aaa}
td.t,th.t{text-align:left}tr:nth-child(even) td{background:#fafafa}.note{color:#555;font-size:12.5px;max-width:1000px}
img{max-width:100%;border:1px solid #eee;margin:6px 0}nav a{margin-right:14px}.bad{color:#b00}.warn{color:#a60}
figure{margin:0 0 18px}.scroll{overflow-x:auto}figcaption{font-size:12px;color:#555}
"""

_SORT_JS = """
function bbKey(t){t=t.trim();var m=t.match(/^(-?[0-9.]+(?:e-?[0-9]+)?)\\s*([KMB]?)/);
 if(!m)return null;var v=parseFloat(m[1]);return v*({K:1e3,M:1e6,B:1e9}[m[2]]||1);}
document.querySelectorAll('table.sortable th').forEach(function(th,i){th.addEventListener('click',function(){
 var table=th.closest('table'),body=table.tBodies[0],rows=Array.from(body.rows),asc=th.dataset.dir!=='asc';
 rows.sort(function(a,b){var x=a.cells[i].textContent,y=b.cells[i].textContent,kx=bbKey(x),ky=bbKey(y);
  var c=(kx!==null&&ky!==null)?kx-ky:x.localeCompare(y);return asc?c:-c;});
 rows.forEach(function(r){body.appendChild(r);});
 table.querySelectorAll('th').forEach(function(h){delete h.dataset.dir;});th.dataset.dir=asc?'asc':'desc';});});
"""

_TEXT_COLUMNS = {"network", "mode", "backend", "precision", "validity", "hardware", "group", "scenario", "step",
                 "accuracy source", "field", "value", "φ"}


def _table(header: list[str] | tuple[str, ...], rows: list[list[str]]) -> str:
    def cls(name: str) -> str:
        return ' class="t"' if name in _TEXT_COLUMNS else ""

    head = "".join(f"<th{cls(h)}>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td{cls(h)}>{html.escape(str(c))}</td>" for h, c in zip(header, row)) + "</tr>"
                   for row in rows)
    return f'<div class="scroll"><table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _table_data(t: TableData) -> str:
    note = f'<p class="note">{html.escape(t.note)}</p>' if t.note else ""
    return f"<h3>{html.escape(t.title)}</h3>{_table(t.header, t.rows)}{note}"


def _figure(png: bytes, stem: str, caption: str) -> str:
    data = base64.b64encode(png).decode()
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f'<figcaption>{html.escape(caption)} (also {stem}.png, {stem}.svg)</figcaption></figure>')


def _figures(points: list[Point], folder: Path, costs: list[Cost], history_png: bytes | None) -> dict[str, list[str]]:
    """Section name -> rendered figures; every figure also written to ``folder/plots``."""
    plot_dir = folder / "plots"
    out: dict[str, list[str]] = {"pareto": [], "scaling": [], "memory": [], "throughput": [], "published": [],
                                 "history": []}
    for cost in costs:
        fig = plots.pareto(points, cost)
        if fig is not None:
            stem = f"pareto_{cost.name}"
            out["pareto"].append(_figure(plots.save(fig, plot_dir, stem), stem, f"Top-1 vs {cost.label}"))
    for section, stem, fig, caption in (
            ("scaling", "scaling_loglog", plots.scaling(points), "p50 vs MACs, log-log, with the fitted exponent"),
            ("scaling", "latency_per_phi", plots.per_phi(points, "p50"), "p50 latency (batch 1) per φ"),
            ("memory", "memory_per_phi", plots.per_phi(points, "memory"), "peak memory per φ"),
            ("throughput", "throughput_by_batch", plots.throughput_by_batch(points), "offline throughput vs batch"),
            ("published", "published_accuracy_vs_flops", plots.published_accuracy_vs_flops(),
             "published top-1 vs GFLOPS (paper Table 2)")):
        if fig is not None:
            out[section].append(_figure(plots.save(fig, plot_dir, stem), stem, caption))
    if history_png:
        out["history"].append(_figure(history_png, "history", "these cells across every run in the store"))
    return out


def _differences(runs: list[dict], rows_by_run: dict[str, dict[str, list[dict]]],
                 paired_by_run: dict[str, list[dict]]) -> list[str]:
    """The opening section: per run, which variants differ beyond noise; nothing when no run has two."""
    parts = []
    for run in runs:
        paired = paired_by_run.get(run["run_id"]) or []
        found = what_differs(rows_by_run[run["run_id"]], paired)
        if not found and not paired:
            continue
        if len(runs) > 1:
            parts.append(f"<h3>run {html.escape(run['run_id'])}</h3>")
        parts.append("<ul>" + "".join(f"<li>{html.escape(differs.line(d))}</li>" for d in found) + "</ul>")
        if paired:
            parts.append("<h3>Paired comparisons (interleaved rounds)</h3>" +
                         _table(differs.PAIRED_HEADER, differs.paired_rows(paired)))
    if not parts:
        return []
    return [f'<h2 id="differs">{html.escape(differs.TITLE)}</h2><p class="note">{html.escape(differs.INTRO)}</p>',
            *parts]


def render_html(runs: list[dict], results_by_run: dict[str, list[dict]], points: list[Point], folder: Path,
                costs: list[Cost] | None = None, history_png: bytes | None = None,
                accuracy_note: str = "", book: AccuracyBook | None = None,
                paired_by_run: dict[str, list[dict]] | None = None) -> str:
    """``paired_by_run``: run id -> its interleaved comparisons (a results file's ``paired`` list)."""
    costs = costs if costs is not None else list(COSTS.values())
    figures = _figures(points, folder, costs, history_png)
    rows_by_run = {run["run_id"]: scenario_rows(results_by_run[run["run_id"]], book) for run in runs}
    opening = _differences(runs, rows_by_run, paired_by_run or {})
    ids = ", ".join(r["run_id"] for r in runs)
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>benchbed report {html.escape(ids)}"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>benchbed report</h1><p>Runs: <b>{html.escape(ids)}</b> · {len(points)} cells · generated "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by benchbed {__version__}</p>",
             '<nav>' + ('<a href="#differs">what differs</a>' if opening else '') +
             '<a href="#results">results</a><a href="#pareto">Pareto</a><a href="#scaling">scaling</a>'
             '<a href="#memory">memory</a><a href="#throughput">throughput</a><a href="#published">published</a>'
             '<a href="#history">history</a><a href="#environment">environment</a></nav>',
             *opening, '<h2 id="results">Results per φ</h2>']
    for run in runs:
        config = run["config"]
        parts.append(f"<h3>run {html.escape(run['run_id'])} · {html.escape(run['status'])} · backend "
                     f"{html.escape(str(config.get('backend')))} · profile {html.escape(str(config.get('profile')))}</h3>")
        for scenario, rows in rows_by_run[run["run_id"]].items():
            parts.append(f"<h3>{html.escape(scenario)}</h3>" + _table(list(COLUMNS), [row_cells(r) for r in rows]))
    parts.append(f'<p class="note">{html.escape(accuracy_note)}</p><p class="note">{html.escape(INTERVAL_LEGEND)}</p>')
    parts += [_table_data(t) for t in best_table(points)]
    parts.append('<h2 id="pareto">Pareto fronts: accuracy against cost</h2>')
    parts += figures["pareto"] or ['<p class="note">No VALID cell has an accuracy (untrained or unpublished '
                                   'networks without measured rows): no front to draw.</p>']
    parts += [_table_data(t) for t in pareto_tables(points, costs)]
    parts.append('<h2 id="scaling">Scaling: measured cost against FLOPS</h2>')
    parts += figures["scaling"] + [_table_data(t) for t in scaling_tables(points)]
    parts.append('<h2 id="memory">Memory per φ</h2>')
    parts += figures["memory"] or ['<p class="note">No single-stream cells.</p>']
    parts.append('<h2 id="throughput">Throughput vs batch</h2>')
    parts += figures["throughput"] or ['<p class="note">No offline cells.</p>']
    parts.append('<h2 id="published">Published accuracy and cost</h2>')
    parts += figures["published"]
    parts.append('<h2 id="history">History</h2>')
    parts += figures["history"] or ['<p class="note">Fewer than two runs of these cells in the store.</p>']
    parts.append('<h2 id="environment">Environment</h2>')
    for run in runs:
        parts.append(f"<h3>run {html.escape(run['run_id'])}</h3>" +
                     _table(["field", "value"], environment_rows(run["environment"])))
    parts.append(f"<script>{_SORT_JS}</script></body></html>")
    return "\n".join(parts)


def write_html(path: Path, text: str) -> Path:
    atomic_write_bytes(path, text.encode())
    return path
