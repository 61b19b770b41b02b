"""User-facing errors.

Anything raised as :class:`BenchbedError` is bad input or an unusable environment: the CLI prints its
message as one line and exits with code 2, never a traceback.
"""

from __future__ import annotations

from typing import Callable, Iterable


class BenchbedError(Exception):
    """A problem the user can fix; the message says how."""

    exit_code = 2


class UnwritableFolderError(BenchbedError):
    """A folder the user named (--out, --models, --reports) cannot be written: theirs to fix."""


class ConfigError(BenchbedError, ValueError):
    """A bad value of one named config field, e.g. ``ConfigError("alpha", "must be >= 1, got 0.9")``.

    The library names fields, not command-line flags: ``str(err)`` is ``"{field} {problem}"``, and the CLI
    prints ``err.message(flag_of)`` with each field's flag instead. Other fields the problem names are
    written ``{name}`` in it and listed in ``mentions``. A ``ValueError`` too, because library callers
    passing a bad value expect one.
    """

    def __init__(self, field: str, problem: str, mentions: tuple[str, ...] = ()) -> None:
        self.field, self.problem, self.mentions = field, problem, tuple(mentions)
        super().__init__(str(self))

    def message(self, name: Callable[[str], str] = str) -> str:
        """The message with ``name(field)`` (the field itself, or the flag that sets it) for each field."""
        return f"{name(self.field)} {self._problem(name)}"

    def _problem(self, name: Callable[[str], str]) -> str:
        text = self.problem
        for other in self.mentions:
            text = text.replace("{" + other + "}", name(other))
        return text

    def __str__(self) -> str:
        return self.message()


class UnknownChoiceError(ConfigError):
    """A value that is none of a field's choices: ``unknown mode 'x'; choose one of preset, compound, ...``.

    ``str(err)`` names the field in words (``what``, default: the field with spaces); the CLI names its flag.
    """

    def __init__(self, field: str, value: object, choices: Iterable[object], what: str | None = None) -> None:
        self.value, self.choices = value, tuple(choices)
        self.what = what or field.replace("_", " ")
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."  # never a megabyte line
        super().__init__(field, f"{shown}; choose one of {', '.join(map(str, self.choices))}")

    def message(self, name: Callable[[str], str] | None = None) -> str:
        return f"unknown {(name or (lambda field: self.what))(self.field)} {self.problem}"


class Terminated(KeyboardInterrupt):
    """SIGTERM (what ``timeout``, a CI cancel and ``kill`` send), handled as Ctrl-C is: every finished result is
    kept, the run is marked interrupted, workers and temporary folders are cleaned up; exit 143 (128 + 15)."""

    exit_code = 143


def raise_terminated(signum: int, frame: object) -> None:  # a signal handler's signature
    raise Terminated()
