"""Tables and the markdown report of one run, from stored result documents (no measuring here)."""

from __future__ import annotations

from pathlib import Path

from benchbed.core.files import atomic_write_bytes, path_inside
from benchbed.accuracy.lookup import AccuracyBook
from benchbed.analysis.differences import what_differs
from benchbed.analysis.points import accuracy_evidence, accuracy_precision, p50_interval, throughput_ips_interval
from benchbed.report import differs
from benchbed.report.uncertainty import INTERVAL_LEGEND, with_interval
from benchbed.scenarios import SCENARIOS
from benchbed.core.result import check_run_id

ACCURACY_UNVERIFIED_NOTE = ("these cells compute below fp32 and were compared with fp32 only on synthetic images "
                            "(the parity check): the engine computes its artifact's function, but whether that "
                            "artifact keeps the classifier's answers on real inputs is not measured.")
COLUMNS = ("φ", "network", "mode", "res", "params", "MACs", "top-1", "accuracy source", "backend", "precision",
           "batch", "p50 ms [95% CI]", "p99 ms", "img/s [95% CI]", "peak RSS MB", "validity")
ACCURACY_FOOTNOTE = ("top-1: measured rows (--accuracy) first, else the published table of the same network "
                     "(paper: EfficientNet arXiv v5 Table 2; torchvision; timm). `*`: fp32 reference accuracy, "
                     "this precision unmeasured. Untrained networks are measured: the accuracy columns describe "
                     "the published models of the same architecture and input size.")


def human_count(value: float | None) -> str:
    """5288548 -> '5.29M'; None -> '-'."""
    if value is None:
        return "-"
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= size:
            return f"{value / size:.2f}{unit}"
    return f"{value:g}"


def scenario_rows(results: list[dict], book: AccuracyBook | None = None) -> dict[str, list[dict]]:
    """One row per (network, backend, precision) and scenario: the scenario's answering result."""
    from collections import defaultdict

    book = book or AccuracyBook()
    grouped: dict[tuple, dict[int, dict]] = defaultdict(dict)
    for doc in results:
        cell = doc["cell"]
        grouped[(cell["scenario"], cell["network"], cell["backend"], cell["precision"],
                 cell.get("hardware"))][int(cell["batch"])] = doc
    out: dict[str, list[dict]] = defaultdict(list)
    for (scenario, network, backend, precision, _hardware), by_batch in grouped.items():
        best = SCENARIOS[scenario].best(by_batch) if scenario in SCENARIOS else next(iter(by_batch.values()))
        out[scenario].append(_row(best, backend, book))
    for rows in out.values():
        rows.sort(key=lambda r: (r["phi"] if r["phi"] is not None else -1, r["network"], r["backend"], r["precision"]))
    return dict(out)


def _row(doc: dict, backend: str, book: AccuracyBook) -> dict:
    info = doc.get("network_info") or {}
    cell = doc["cell"]
    accuracy = book.match(cell["network"], accuracy_precision(doc))
    host = (doc.get("environment") or {}).get("hostname")
    where = cell.get("hardware") or host
    row = {"phi": info.get("phi"), "network": cell["network"] + (f" [{where}]" if where else ""),
           "network_name": cell["network"], "hardware": cell.get("hardware"), "host": host, "mode": info.get("mode"),
           "resolution": info.get("resolution"), "params": info.get("params"), "macs": info.get("macs"),
           "accuracy": None if accuracy is None else accuracy.to_dict(),
           "backend": backend, "precision": cell["precision"], "batch": cell["batch"], "status": doc["status"]}
    if doc["status"] == "ok":
        stats = doc["stats"]
        row.update(p50_ms=stats["p50_ms"], p50_interval=p50_interval(doc), p99_ms=stats["p99_ms"],
                   throughput_ips=stats["throughput_ips"], throughput_interval=throughput_ips_interval(doc),
                   peak_rss_bytes=doc["memory"]["peak_rss_bytes"], validity=doc["validity"]["status"],
                   accuracy_evidence=accuracy_evidence(doc),
                   reasons=doc["validity"]["reasons"], warnings=doc["validity"]["warnings"])
    else:
        row.update(p50_ms=None, p50_interval=None, p99_ms=None, throughput_ips=None, throughput_interval=None,
                   peak_rss_bytes=None, validity="FAILED", accuracy_evidence=None,
                   reasons=[doc.get("error", "failed")], warnings=[])
    return row


def row_cells(row: dict) -> list[str]:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.3g}" if v < 100 else f"{v:.0f}"

    acc = row.get("accuracy")
    top1 = "-" if acc is None else f"{acc['top1']:.1f}" + ("" if acc["precision_measured"] else "*")
    source = "-" if acc is None else acc["source"] + ("" if acc["weights"] in ("paper",) else f" {acc['weights']}")
    validity = (row["validity"] + (", accuracy unverified" if row.get("accuracy_evidence") else "")
                + (f" ({len(row['warnings'])} warn)" if row.get("warnings") else ""))
    return [
        "-" if row["phi"] is None else f"{row['phi']:g}", row["network"], row["mode"] or "-",
        str(row["resolution"] or "-"), human_count(row["params"]), human_count(row["macs"]), top1,
        source, row["backend"], row["precision"], str(row["batch"]), with_interval(row["p50_ms"], row["p50_interval"]),
        ms(row["p99_ms"]), with_interval(row["throughput_ips"], row["throughput_interval"]),
        "-" if row["peak_rss_bytes"] is None else f"{row['peak_rss_bytes'] / 2**20:.0f}", validity,
    ]


def md_table(header: tuple[str, ...] | list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def environment_rows(env: dict) -> list[list[str]]:
    return [["CPU", str(env.get("cpu_model"))],
            ["cores (physical / logical)", f"{env.get('physical_cores')} / {env.get('logical_cores')}"],
            ["memory", f"{(env.get('memory_bytes') or 0) / 2**30:.1f} GiB"], ["OS", str(env.get("os"))],
            ["Python", str(env.get("python"))],
            ["libraries", ", ".join(f"{k} {v}" for k, v in sorted((env.get("versions") or {}).items()))],
            ["benchbed", f"{env.get('benchbed_version')} ({env.get('git_commit') or 'no git commit'})"],
            ["GPUs", ", ".join(g["name"] for g in env.get("gpus") or []) or "none"],
            ["CPU speed flags", " ".join(env.get("cpu_speed_flags") or [])],
            ["fingerprint", str(env.get("fingerprint"))]]


def differences_section(rows_by_scenario: dict[str, list[dict]], paired: list[dict] | None) -> list[str]:
    """The report's opening: which variants of a network differ beyond noise (nothing when none to compare)."""
    found = what_differs(rows_by_scenario, paired)
    if not found and not paired:
        return []
    parts = [f"## {differs.TITLE}", "", differs.INTRO, ""] + [f"- {differs.line(d)}" for d in found] + [""]
    if paired:
        parts += ["Paired comparisons (interleaved rounds):", "",
                  md_table(differs.PAIRED_HEADER, differs.paired_rows(paired)), ""]
    return parts


def render_markdown(run: dict, results: list[dict], book: AccuracyBook | None = None,
                    paired: list[dict] | None = None) -> str:
    """One run's report; ``paired``: the run's interleaved comparisons (a results file's ``paired`` list)."""
    env = run["environment"]
    config = run["config"]
    rows_by_scenario = scenario_rows(results, book)
    parts = [f"# benchbed run {run['run_id']}", "",
             f"Status: **{run['status']}** · backend `{config.get('backend')}` · profile `{config.get('profile')}` · "
             f"{len(results)} cells", ""]
    parts += differences_section(rows_by_scenario, paired)
    for scenario, rows in rows_by_scenario.items():
        parts += [f"## {scenario}", "", SCENARIOS[scenario].description if scenario in SCENARIOS else "", "",
                  md_table(COLUMNS, [row_cells(r) for r in rows]), ""]
        problems = [f"- {r['network']} {r['precision']} b{r['batch']}: {'; '.join(r['reasons'] + r['warnings'])}"
                    for r in rows if r["reasons"] or r["warnings"]]
        if problems:
            parts += ["Reasons and warnings:", ""] + problems + [""]
        if any(r.get("accuracy_evidence") for r in rows):
            parts += [f"\"accuracy unverified\": {ACCURACY_UNVERIFIED_NOTE}", ""]
    parts += _throughput_by_batch(results)
    parts += _server_searches(results)
    parts += [ACCURACY_FOOTNOTE, "", INTERVAL_LEGEND, "", "## Environment", "", md_table(("field", "value"), environment_rows(env)), ""]
    return "\n".join(parts)


def _throughput_by_batch(results: list[dict]) -> list[str]:
    """The offline batch sweep in full: img/s per batch for each network and precision."""
    table: dict[tuple[str, str], dict[int, str]] = {}
    for doc in results:
        cell = doc["cell"]
        if cell["scenario"] != "offline":
            continue
        value = (with_interval(doc["stats"]["throughput_ips"], throughput_ips_interval(doc)) if doc["status"] == "ok"
                 else "failed")
        table.setdefault((cell["network"], cell["precision"]), {})[int(cell["batch"])] = value
    if not table:
        return []
    batches = sorted({b for row in table.values() for b in row})
    rows = [[network, precision] + [row.get(b, "") for b in batches] for (network, precision), row in table.items()]
    return ["### offline: throughput (img/s) by batch", "",
            md_table(["network", "precision"] + [f"b{b}" for b in batches], rows), ""]


def _server_searches(results: list[dict]) -> list[str]:
    """MLPerf Server: the highest VALID QPS under the SLA, and how it was found."""
    rows = []
    for doc in results:
        search = (doc.get("loadgen") or {}).get("search")
        if doc["cell"]["scenario"] != "mlperf-server" or not search:
            continue
        options = doc["timing"]["profile"]
        best = f"{search['best_qps']:.4g}" if search["best_qps"] else "none"
        rows.append([doc["cell"]["network"], doc["cell"]["precision"], best,
                     f"p{(options.get('percentile') or 0.99) * 100:g} <= {options.get('sla_ms')} ms",
                     f"{doc['stats']['p99_ms']:.3g}", f"max batch {options['batcher']['max_batch']}, "
                     f"wait {options['batcher']['max_queue_delay_ms']:g} ms", str(len(search["trials"])),
                     search["note"]])
    if not rows:
        return []
    return ["### mlperf-server: highest VALID QPS under the SLA (MLPerf LoadGen)", "",
            md_table(["network", "precision", "QPS", "SLA", "p99 ms at that load", "batcher", "LoadGen runs",
                       "search"], rows), ""]


def write_report(run: dict, results: list[dict], reports_dir: Path, book: AccuracyBook | None = None,
                 paired: list[dict] | None = None) -> Path:
    folder = path_inside(reports_dir, check_run_id(run["run_id"], "report"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.md"
    atomic_write_bytes(path, render_markdown(run, results, book, paired).encode())
    return path
