"""Wall time of `benchbed sweep --phi 0-7` here: cold (exports included) and warm (exports cached),
with the --quick and default profiles. Each run gets its own store; cold runs start from an empty
models folder.

    python benchmarks/sweep_wall_time.py [--phi 0-7] [--work /tmp/benchbed-sweep-bench]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phi", default="0-7")
    parser.add_argument("--work", default="/tmp/benchbed-sweep-bench")
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    plan = [("cold-quick", "models-a", ["--quick"]), ("warm-quick", "models-a", ["--quick"]),
            ("cold-default", "models-b", []), ("warm-default", "models-b", [])]
    for label, models, extra in plan:
        db = work / f"{label}.sqlite"
        command = [sys.executable, "-m", "benchbed.cli", "sweep", "--phi", args.phi, "--models", str(work / models),
                   "--db", str(db), "--reports", str(work / f"reports-{label}"), "--format", "json", *extra]
        started = time.perf_counter()
        done = subprocess.run(command, stdout=(work / f"{label}.json").open("w"),
                              stderr=(work / f"{label}.err").open("w"))
        wall = time.perf_counter() - started
        with sqlite3.connect(db) as con:
            cells, invalid = con.execute("SELECT count(*), sum(validity != 'VALID') FROM results").fetchone()
        print(f"{label:<13} {wall:7.1f} s  exit {done.returncode}  {cells} cells, {invalid or 0} not VALID",
              flush=True)


if __name__ == "__main__":
    main()
