"""The typer app, the two consoles, and the one place where errors become exit codes.

Errors the user can fix (:class:`BenchbedError`, bad options) print as one line on stderr with exit
code 2, a :class:`ConfigError` with the flag instead of the library's field name; Ctrl-C exits 130.
Nothing prints a traceback unless ``BENCHBED_DEBUG=1``. Text from the library is printed as text,
never as rich markup (``pip install 'benchbed[gpu]'`` keeps its brackets).
"""

from __future__ import annotations

import json
import errno
import os
import signal
import sys
import threading

import typer
from rich.console import Console
from typer import _click as click  # typer >= 0.24 vendors click; its exceptions live here

from benchbed.cli.flags import describe
from benchbed.core.errors import BenchbedError, ConfigError, Terminated, raise_terminated

app = typer.Typer(
    name="benchbed",
    help="Generate compound-scaled EfficientNets, export them to ONNX, measure them, compare cost with accuracy.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _usable_streams() -> None:
    """A closed stdout/stderr becomes /dev/null, and a terminal that cannot show φ or ≥ gets escapes instead
    of a UnicodeEncodeError: output problems must never turn into a traceback."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, open(os.devnull, "w"))
        elif "utf" not in (getattr(stream, "encoding", "") or "utf").lower() and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


_usable_streams()
# Piped output keeps full-width tables instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def say(text: str) -> None:
    """A line for people on stderr (stdout stays for the answer, e.g. JSON), shown as plain text."""
    err_console.print(text, markup=False, highlight=False)


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2))


def print_results(run: dict, results: list[dict], as_json: bool, book=None, paired: list[dict] | None = None) -> None:
    """A run's results per scenario (``sweep``, ``report``): JSON on stdout, or what differs beyond noise and
    one table per scenario."""
    from benchbed.report.terminal import results_summary, results_tables

    if as_json:
        return print_json(results_summary(run, results, book, paired))
    for table in results_tables(run, results, book, paired):
        console.print(table)


def _error(message: str) -> None:
    err_console.print(f"benchbed: error: {message}", markup=False, highlight=False, soft_wrap=True)


def _command_name(argv: list[str]) -> str | None:
    """The subcommand in ``argv`` (flags may name a field differently per command)."""
    names = {command.name or callback.__name__ for command in app.registered_commands
             for callback in [command.callback] if callback}
    return next((arg for arg in argv if arg in names), None)


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors with exit 2, Ctrl-C exit 130, never a traceback."""
    argv = argv if argv is not None else sys.argv[1:]
    command = typer.main.get_command(app)
    debug = os.environ.get("BENCHBED_DEBUG") == "1"
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, raise_terminated)  # as Ctrl-C: results kept, run marked, workers stopped
    try:
        result = command.main(args=argv, prog_name="benchbed", standalone_mode=False)
        return int(result or 0)
    except typer.Exit as exc:
        return exc.exit_code
    except BenchbedError as exc:
        if debug:
            raise
        _error(describe(exc, _command_name(argv)) if isinstance(exc, ConfigError) else str(exc))
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "", file=sys.stderr)
        return 2
    except click.ClickException as exc:
        _error(exc.format_message())
        return exc.exit_code if exc.exit_code else 2
    except Terminated:
        err_console.print("benchbed: terminated (SIGTERM); finished results are kept", markup=False)
        return Terminated.exit_code
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("benchbed: interrupted", markup=False)
        return 130
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRORS:
            raise
        _silence_stdout()
        _error(f"cannot write the output: {exc.strerror or exc} (stdout closed, a full device or a closed pipe)")
        return 2


#: writing to stdout failed for a reason of the reader's (a full device, a closed pipe), not benchbed's
_OUTPUT_ERRORS = (errno.ENOSPC, errno.EPIPE, errno.EBADF)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        sys.stdout = open(os.devnull, "w")


def run() -> None:
    """The ``benchbed`` console script."""
    sys.exit(main())
