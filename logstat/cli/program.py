"""`logstat`'s entry point: `main` runs a command and turns every error into one line
on stderr and an exit code (errors.ExitCode), here and nowhere else.

polars is imported only by the commands that need it, so `logstat --help` stays fast.
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import sys
import threading
from typing import Any, TextIO, cast

import typer

from logstat.cli.app import app_for, with_default_command
from logstat.cli.messages import error as _error
from logstat.errors import ExitCode, LogstatError

COLLECTOR_THRESHOLDS = (50_000, 20, 100)  # gc.set_threshold's (700, 10, 10) made rarer


def _click_exceptions() -> tuple[tuple[type[BaseException], ...], ...]:
    """click's exception types, when click is installed.

    typer >= 0.29 bundles its own copy of click and raises typer's exceptions
    (click is then not installed at all); older releases raise click's.
    """
    try:
        import click
    except ImportError:
        return (), (), ()
    return (click.ClickException,), (click.exceptions.Exit,), (click.Abort,)


_CLICK_USAGE, _CLICK_EXIT, _CLICK_ABORT = _click_exceptions()
USAGE_ERRORS: tuple[type[BaseException], ...] = (
    *_CLICK_USAGE,
    *((typer.TyperException,) if hasattr(typer, "TyperException") else ()),
)
EXITS: tuple[type[BaseException], ...] = (typer.Exit, *_CLICK_EXIT)
ABORTS: tuple[type[BaseException], ...] = (typer.Abort, KeyboardInterrupt, *_CLICK_ABORT)


class _Terminated:
    """Which stopping signal arrived: SIGTERM is raised as KeyboardInterrupt, so every
    `finally` and context manager (temporary files, staging, locks) runs as for Ctrl-C."""

    signal: int | None = None


def _on_signal(number: int, frame: object) -> None:
    if _Terminated.signal is not None:
        return  # already stopping: let the cleanup finish
    _Terminated.signal = number
    raise KeyboardInterrupt


class _GuardedOutput:
    """sys.stdout for a run: a write that fails (a full disk, /dev/full, EIO) becomes a
    one-line error instead of an internal error; a reader that left (EPIPE) stays a
    BrokenPipeError, which `main` turns into a quiet exit."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _output_error(error) from error

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _output_error(error) from error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _OutputError(LogstatError):
    """Standard output failed: what is still buffered for it can never be written."""


def _output_error(error: OSError) -> LogstatError:
    return _OutputError(f"cannot write the output: {error.strerror or error}")


def main(argv: list[str] | None = None, *, teardown: bool = True) -> None:
    """Run the command of `argv` (else the process's arguments) and exit with its code.

    `teardown=False` (`run`, the program): the process ends without the interpreter's
    teardown when nothing needs it (`_leave`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    _Terminated.signal = None
    previous_handler = signal.signal(signal.SIGTERM, _on_signal)
    stdout = sys.stdout
    sys.stdout = cast(TextIO, _GuardedOutput(stdout))
    try:
        code = _run(args, debug)
    finally:
        sys.stdout = stdout
        signal.signal(signal.SIGTERM, previous_handler)
    if not teardown:
        _leave(int(code))
    sys.exit(int(code))


def run() -> None:
    """The `logstat` program (the console script and `python -m logstat`): main() with the
    process's arguments; the process ends without the interpreter's teardown (`_leave`)."""
    # a run keeps 100,000s of small objects alive (a plan part, a run and a row a file),
    # which the cycle collector's default pace walks every few thousand allocations: a
    # fifth of a cluster client's CPU over 20,000 files (0.54 -> 0.15 s); reference
    # counting frees nearly everything here, so cycles are looked for less often
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    main(teardown=False)


def _leave(code: int) -> None:
    """End the process now, without the interpreter's teardown, which frees every module
    and object one by one (0.05-0.1 s of wall time once polars is loaded, for a 1,000-line
    summary as for a 2 M-line one): the standard streams are flushed and the exit
    handlers run first.  Returns, for the usual exit, while another Python thread runs
    (it may still write) or when a flush fails (the usual exit reports it)."""
    if threading.active_count() > 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    atexit._run_exitfuncs()
    os._exit(code)


def _run(args: list[str], debug: bool) -> ExitCode:
    """The command's exit code; every error becomes one line on stderr here."""
    try:
        # without standalone mode, click returns the code of a `typer.Exit` instead of exiting
        args = with_default_command(args)
        returned = app_for(args)(args, prog_name="logstat", standalone_mode=False)
        sys.stdout.flush()  # a full disk shows here for short outputs, not at exit
        if returned == ExitCode.INTERRUPTED:  # typer turns Ctrl-C into Exit(130)
            return _interrupted()
        code = ExitCode(returned) if returned in set(ExitCode) else ExitCode.OK
        if isinstance(returned, int) and returned not in set(ExitCode):
            code = ExitCode.ERROR
        return code
    except LogstatError as error:
        if debug:
            raise
        _error(error.message)
        if isinstance(error, _OutputError):
            _quiet_stdout()  # the output failed: do not fail again when Python flushes it
        return error.exit_code
    except EXITS as done:
        exit_code = getattr(done, "exit_code", 1)
        if exit_code == ExitCode.INTERRUPTED:
            return _interrupted()
        return ExitCode(exit_code) if exit_code in set(ExitCode) else ExitCode.ERROR
    except USAGE_ERRORS as error:
        show = getattr(error, "show", None)
        if show is not None:
            show()
        else:
            _error(str(error))
        return ExitCode.USAGE
    except ABORTS as error:
        if isinstance(error, KeyboardInterrupt) or isinstance(error.__cause__, KeyboardInterrupt):
            return _interrupted()
        _error(f"aborted: {error.__cause__ or error}")  # click's Abort for an EOFError
        return ExitCode.ERROR
    except BrokenPipeError:
        # `logstat ... | head`: the reader left; say nothing and do not flush again
        _quiet_stdout()
        return ExitCode.OK
    except OSError as error:  # the system refused something no other place explains
        if debug:
            raise
        where = f"{error.filename}: " if error.filename else ""
        _error(f"{where}{error.strerror or error}")
        return ExitCode.ERROR
    except Exception as error:  # a bug: one line unless --debug
        if debug:
            raise
        first = str(error).splitlines()[0] if str(error) else ""
        _error(f"internal error: {type(error).__name__}: {first} (rerun with --debug for details)")
        return ExitCode.INTERNAL


def _interrupted() -> ExitCode:
    sys.stderr.write("logstat: interrupted\n")
    if _Terminated.signal == signal.SIGTERM:
        return ExitCode.TERMINATED
    return ExitCode.INTERRUPTED


def _quiet_stdout() -> None:
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
