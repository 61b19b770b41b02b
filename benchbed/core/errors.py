"""User-facing errors.

Anything raised as :class:`BenchbedError` is bad input or an unusable environment: the CLI prints its
message as one line and exits with code 2, never a traceback.
"""

from __future__ import annotations


class BenchbedError(Exception):
    """A problem the user can fix; the message says how."""

    exit_code = 2


class UnwritableFolderError(BenchbedError):
    """A folder the user named (--out, --models, --reports) cannot be written: theirs to fix."""
