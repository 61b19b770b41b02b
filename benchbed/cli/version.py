"""``benchbed version``."""

from __future__ import annotations

from benchbed import __version__
from benchbed.cli.app import app


@app.command()
def version() -> None:
    """Print benchbed's version."""
    print(__version__)
