"""The ``benchbed`` command line: parses, calls one library function, prints. No logic of its own.

``app`` (the typer app, consoles and error handling: ``cli.app``), one module per command, the shared
options and parsers (``cli.options``) and the map from library config fields to flags that error
messages use (``cli.flags``). Commands register in the order ``benchbed --help`` lists them.
"""

from benchbed.cli.app import app, main, run
from benchbed.cli import (generate, export, accuracy, search, sweep, report, procure, compare,  # noqa: F401,E402
                          history, abtest, info, selftest, version)  # (registration, in --help order)

__all__ = ["app", "main", "run"]
