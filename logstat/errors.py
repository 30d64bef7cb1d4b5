"""One place for the errors logstat reports and the exit codes it uses."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes; documented in the README, so never renumber them."""

    OK = 0
    ERROR = 1  # an input or output problem the user must fix
    USAGE = 2  # the command line itself is wrong (typer/click also use 2)
    NO_FORMAT = 3  # no known log format matched the input
    ALERT = 4  # a --fail-if rule tripped
    UNPARSED = 5  # no line parsed, or most records have no status: the wrong format?
    PARTIAL = 6  # a file was gone (rotated, deleted) before it was read; the rest was read
    INTERNAL = 70  # a bug in logstat (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)
    TERMINATED = 143  # SIGTERM (128 + SIGTERM)


class LogstatError(Exception):
    """An error with a one-line message meant for the user."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
