"""Options shared by several commands, and the small parsers that turn flag text into typed values."""

from __future__ import annotations

import json
import re
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from benchbed.cli.app import say
from benchbed.core.errors import BenchbedError, ConfigError
from benchbed.networks.scaling import MODES

if TYPE_CHECKING:
    from benchbed.accuracy.lookup import AccuracyBook
    from benchbed.networks import NetworkSpec


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


# --- options of every command that names networks ------------------------------------------------------
PhiOpt = Annotated[str, typer.Option("--phi", help="φ values: 3, 0-7 or 0,2,5 (fractional φ outside preset mode).")]
ModeOpt = Annotated[str, typer.Option("--mode", help=f"Scaling mode: {', '.join(MODES)}.")]
AlphaOpt = Annotated[float, typer.Option("--alpha", help="Depth coefficient α (>= 1).")]
BetaOpt = Annotated[float, typer.Option("--beta", help="Width coefficient β (>= 1).")]
GammaOpt = Annotated[float, typer.Option("--gamma", help="Resolution coefficient γ (>= 1).")]
WidthOpt = Annotated[Optional[float], typer.Option("--width", help="Override the width multiplier (e.g. tiny test nets).")]
DepthOpt = Annotated[Optional[float], typer.Option("--depth", help="Override the depth multiplier.")]
ResOpt = Annotated[Optional[int], typer.Option("--resolution", help="Override the input resolution in pixels.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table or json.")]
BaselineOpt = Annotated[str, typer.Option(
    "--baseline", help="efficientnet-b0, efficientnet-lite0, or your own baseline as a YAML file (README: Your own "
                       "models).")]

# --- stores, results and accuracy --------------------------------------------------------------------------
DbOpt = Annotated[Path, typer.Option("--db", help="SQLite results store.")]
ReportsOpt = Annotated[Path, typer.Option("--reports", help="Folder for results.json and report.md per run.")]
AccuracyOpt = Annotated[Optional[Path], typer.Option(
    "--accuracy", help="CSV of your measured accuracy: network,precision,weights,top1,top5.")]
AccuracySourceOpt = Annotated[str, typer.Option(
    "--accuracy-source", help="Published table used where no measured row exists: paper_v5, torchvision, timm.")]
CompareFormat = Annotated[str, typer.Option("--format", help="table, md, json or junit.")]


#: the options that make generated networks: with ``--onnx`` the network comes from the file instead
NETWORK_OPTIONS = ("phi", "mode", "alpha", "beta", "gamma", "width", "depth", "resolution", "baseline")


def given_options(ctx: typer.Context, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` the user set (command line or environment), in order: a value typed equal to
    the default counts as given, a default left alone does not."""
    from typer import _click as click

    sources = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    return [name for name in names if ctx.get_parameter_source(name) in sources]


def refuse_network_options(ctx: typer.Context) -> None:
    """``--onnx`` takes its network from the file, so a network option the user set would go unused: refuse it
    rather than measure something other than what was asked."""
    given = given_options(ctx, NETWORK_OPTIONS)
    if given:
        first, rest = given[0], given[1:]
        verb = f"(and {', '.join('{' + name + '}' for name in rest)}) do" if rest else "does"
        raise ConfigError(first, f"{verb} not apply to {{onnx}} (the network comes from the file)", (*rest, "onnx"))


def specs(phi: str, mode: str, alpha: float, beta: float, gamma: float, width: float | None, depth: float | None,
          resolution: int | None, baseline: str = "efficientnet-b0") -> list[NetworkSpec]:
    """The networks the shared network options name (checked by the library, reported with flags)."""
    from benchbed.networks import network_specs

    return network_specs(phi, mode, alpha=alpha, beta=beta, gamma=gamma, width=width, depth=depth,
                         resolution=resolution, baseline=baseline)


def choose_format(value: str, choices: tuple[str, ...]) -> str:
    """A ``--format`` that is one of ``choices`` (commands whose formats differ from table/json)."""
    if value not in choices:
        raise BenchbedError(f"unknown --format {value!r}; choose {', '.join(choices[:-1])} or {choices[-1]}")
    return value


def csv_list(value: str, flag: str) -> list[str]:
    """``a, b,a`` -> ``[a, b]``: items in order, without blanks or repeats; at least one."""
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise BenchbedError(f"{flag} needs at least one value")
    return list(dict.fromkeys(items))


def milliseconds(text: str, flag: str) -> float:
    """'20ms', '0.02s', '20' (ms) -> milliseconds."""
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(ms|s|us)?\s*", text)
    if not match:
        raise BenchbedError(f"{flag}: expected a duration like 20ms or 0.02s, got {text!r}")
    value = float(match.group(1)) * {"ms": 1.0, "s": 1e3, "us": 1e-3, None: 1.0}[match.group(2)]
    if value <= 0:
        raise BenchbedError(f"{flag} must be > 0, got {text}")
    return value


def key_value_pairs(items: list[str]) -> list[tuple[str, object]]:
    """``KEY=VALUE`` / ``BACKEND.KEY=VALUE`` items in order; VALUE is JSON when it parses (4, true), else text."""
    out: list[tuple[str, object]] = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BenchbedError(f"--backend-option expects KEY=VALUE or BACKEND.KEY=VALUE, got {item!r}")
        try:
            out.append((key, json.loads(value)))
        except ValueError:
            out.append((key, value))
    return out


def require_store(db: Path) -> Path:
    """The ``--db`` store, which must exist (commands that only read results)."""
    if not db.exists():
        raise BenchbedError(f"no results store at {db}; run `benchbed sweep` first or pass --db")
    return db


def accuracy_book(accuracy: Path | None, source: str) -> AccuracyBook:
    """The accuracy rows of ``--accuracy`` (if given) over the published ``--accuracy-source``."""
    from benchbed.accuracy.lookup import AccuracyBook
    from benchbed.accuracy.user_csv import load_user_csv

    return AccuracyBook(load_user_csv(accuracy) if accuracy else (), source)


def note_unjoined(book: AccuracyBook, networks: list[str]) -> None:
    """Name measured accuracy rows whose network is not in the results (a typo, or another run's networks)."""
    unjoined = book.unjoined(networks)
    if unjoined:
        say(f"note: accuracy rows for networks not in these results: {', '.join(unjoined)}")
