"""The live terminal view of a sweep (rich): an overall bar with ETA, the cell in flight and its phase,
and one line per finished cell. Library text (errors, reasons, labels) is escaped: only the colour tags
here are markup, so "pip install 'benchbed[gpu]'" keeps its brackets."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def _summary(document: dict) -> str:
    if document.get("status") != "ok":
        return f"[red]FAILED[/red] {escape(str(document.get('error', '')))}"
    stats, validity = document["stats"], document["validity"]
    colour = "green" if validity["status"] == "VALID" else "yellow"
    text = (f"p50 {stats['p50_ms']:.3g} ms  p99 {stats['p99_ms']:.3g} ms  {stats['throughput_ips']:.1f} img/s  "
            f"[{colour}]{validity['status']}[/{colour}]")
    if validity["reasons"]:
        text += " (" + escape("; ".join(validity["reasons"])) + ")"
    if validity["warnings"]:
        text += f" [dim]{len(validity['warnings'])} warning(s)[/dim]"
    return text


class RichSweepUI:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                                 transient=True)
        self.overall = self.progress.add_task("sweep", total=0)
        self.current = self.progress.add_task("", total=None)

    def __enter__(self) -> "RichSweepUI":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def message(self, text: str) -> None:
        self.progress.console.print(text, markup=False)

    def add_planned(self, count: int) -> None:
        task = self.progress.tasks[self.overall]
        self.progress.update(self.overall, total=(task.total or 0) + count)

    def start_cell(self, label: str) -> None:
        self.progress.update(self.current, description=f"{label}: starting")

    def phase(self, label: str, phase: str) -> None:
        self.progress.update(self.current, description=f"{label}: {phase}")

    def finish_cell(self, label: str, document: dict) -> None:
        self.progress.advance(self.overall)
        self.progress.console.print(f"{escape(label)}: {_summary(document)}", highlight=False)
