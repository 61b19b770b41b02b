"""``benchbed abtest``: the BASE and CURRENT checkouts' sweeps interleaved on this machine, then compared.

Rounds alternate the order (A B, B A, ...), so a drift of the machine during the test (thermal, other
tenants) lands on both sides alike instead of on whichever side ran second (Abedi & Brecht 2017: randomized
multiple interleaved trials). Each side is a sweep run by that side's own Python in a subprocess, into its
own folder, with JSON results; the comparison then pools every round of each side.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from benchbed.analysis.compare import CellComparison, Thresholds, compare_cells
from benchbed.core.errors import BenchbedError, ConfigError

#: Sweep arguments the A/B test sets itself for each side.
RESERVED_SWEEP_ARGS = ("--db", "--reports", "--resume", "--run-id", "--format")
SIDES = ("base", "current")


@dataclass(frozen=True)
class ABTest:
    """Which Pythons to run, with which sweep arguments, how many rounds, and where the results go."""

    base_python: Path
    current_python: Path
    sweep_args: tuple[str, ...]
    rounds: int = 3
    work: Path = Path("reports/abtest")

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise ConfigError("rounds", f"must be >= 1, got {self.rounds}")
        for label in ("base_python", "current_python"):
            if not Path(getattr(self, label)).exists():
                raise ConfigError(label, f"{getattr(self, label)}: no such interpreter")
        if any(a in RESERVED_SWEEP_ARGS for a in self.sweep_args):
            raise ConfigError("sweep_args", f"must not set {', '.join(RESERVED_SWEEP_ARGS[:-1])} or "
                                            f"{RESERVED_SWEEP_ARGS[-1]}")

    def order(self, index: int) -> tuple[str, str]:
        """The sides of round ``index`` (from 0) in the order they run: alternating."""
        return SIDES if index % 2 == 0 else SIDES[::-1]

    def folder(self, side: str) -> Path:
        return self.work / side


def run_side(test: ABTest, side: str) -> None:
    """One sweep of ``side`` by its own Python, into its folder; a failed sweep fails the A/B test."""
    python = test.base_python if side == "base" else test.current_python
    folder = test.folder(side)
    done = subprocess.run([str(python), "-m", "benchbed.cli", "sweep", *test.sweep_args, "--db",
                           str(folder / "store.sqlite"), "--reports", str(folder), "--format", "json"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchbedError(f"{side} sweep failed (exit {done.returncode}): {last}")


def run_abtest(test: ABTest, thresholds: Thresholds,
               on_round: Callable[[int, str], None] = lambda index, side: None) -> list[CellComparison]:
    """Every round of both sides, then the cell-by-cell comparison of the pooled rounds.

    ``on_round(index, side)`` is called as each sweep starts. Both sides ran here and now, so environments
    are not required to match (two checkouts may pin different library versions: that is the test).
    """
    from benchbed.analysis.sources import load_side

    for index in range(test.rounds):
        for side in test.order(index):
            on_round(index, side)
            run_side(test, side)
    base, current = (load_side(str(test.folder(side)), None) for side in SIDES)
    return compare_cells(base.results, current.results, thresholds, allow_env_mismatch=True)
