"""``python -m benchbed.cli ...``: the same as the ``benchbed`` console script (tests and abtest use it)."""

from benchbed.cli import run

run()
