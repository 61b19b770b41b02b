"""``benchbed compare``: two runs cell by cell, with significance and a minimum effect (exit 1 on regression)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from benchbed.cli.app import app, console
from benchbed.cli.options import CompareFormat, DbOpt, choose_format, csv_list
from benchbed.core.errors import BenchbedError

COMPARE_FORMATS = ("table", "md", "json", "junit")
FailOnOpt = Annotated[str, typer.Option("--fail-on", help="Verdicts that fail (exit 1).")]
NormalizeOpt = Annotated[str, typer.Option(
    "--normalize", help="auto: latency relative to the machine speed index where both sides measured it; off: raw.")]


def fail_on_verdicts(value: str) -> tuple[str, ...]:
    """``--fail-on`` as the verdicts it names (each one checked by the library)."""
    from benchbed.analysis.compare import check_fail_on

    return check_fail_on(csv_list(value, "--fail-on"))


def emit_comparison(rows: list, base: str, current: str, fail_on: tuple[str, ...], fmt: str,
                    output: Path | None) -> int:
    """Print the comparison (and write ``--output``); the exit code: 1 if a ``fail_on`` verdict occurs."""
    from benchbed.analysis.compare import failing
    from benchbed.report.compare import RENDERERS
    from benchbed.report.terminal import comparison_table

    failed = failing(rows, fail_on)
    if output is not None:
        kind = {".xml": "junit", ".json": "json"}.get(output.suffix, "md")
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(RENDERERS[kind](rows, base, current, failed))
        except OSError as exc:
            raise BenchbedError(f"cannot write --output {output}: {exc.strerror or exc}") from None
    if fmt == "table":
        console.print(comparison_table(rows, base, current, failed, fail_on))
    else:
        print(RENDERERS[fmt](rows, base, current, failed), end="")
    return 1 if failed else 0


@app.command()
def compare(
    base: Annotated[str, typer.Argument(help="BASE: run id in the store, results.json, or a folder of them.")],
    current: Annotated[str, typer.Argument(help="CURRENT: same forms as BASE.")],
    db: DbOpt = Path("reports/benchbed.sqlite"),
    min_effect: Annotated[float, typer.Option("--min-effect", help="Latency change that counts (0.05 = 5 %).")] = 0.05,
    throughput_effect: Annotated[float, typer.Option("--throughput-effect", help="Throughput change that counts.")] = 0.05,
    memory_effect: Annotated[float, typer.Option("--memory-effect", help="Peak-memory change that counts.")] = 0.10,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.01,
    fail_on: FailOnOpt = "slower,more memory,new failure",
    allow_env_mismatch: Annotated[bool, typer.Option("--allow-env-mismatch", help="Compare across environments.")] = False,
    normalize: NormalizeOpt = "auto",
    output_format: CompareFormat = "table",
    output: Annotated[Optional[Path], typer.Option("--output", help="Also write .md, .json or .xml (JUnit).")] = None,
) -> None:
    """Compare two runs cell by cell: exit 0 no regression, 1 regression, 2 unusable input."""
    from benchbed.analysis.compare import Thresholds, compare_cells
    from benchbed.analysis.sources import load_side

    choose_format(output_format, COMPARE_FORMATS)
    thresholds = Thresholds(latency=min_effect, throughput=throughput_effect, memory=memory_effect, alpha=alpha,
                            normalize=normalize)
    verdicts = fail_on_verdicts(fail_on)
    base_side, current_side = load_side(base, db), load_side(current, db)
    rows = compare_cells(base_side.results, current_side.results, thresholds, allow_env_mismatch)
    if not any(r.verdict not in ("missing", "new") for r in rows):
        raise BenchbedError("BASE and CURRENT share no cell (network, backend, precision, scenario, batch)")
    raise typer.Exit(emit_comparison(rows, base, current, verdicts, output_format, output))
