"""logstat: count and explain the HTTP status codes in web access logs.

The Python API (see docs/library.md): read, summarize, export, ingest, meaning, diff,
compare, read_summary.
Importing logstat is cheap: polars is loaded by the first call that reads logs.
"""

from typing import TYPE_CHECKING, Any

from logstat.errors import ExitCode, LogstatError
from logstat.library import (
    UnparsedInput,
    Written,
    compare,
    diff,
    export,
    ingest,
    meaning,
    read,
    read_summary,
    summarize,
)

if TYPE_CHECKING:
    from logstat.reading.dataset import committed_files
    from logstat.report.model import Summary


def __getattr__(name: str) -> Any:
    # looked up only when asked for: importlib.metadata and the report model cost start-up time
    if name == "Summary":
        from logstat.report.model import Summary

        return Summary
    if name == "committed_files":  # a dataset's consistent snapshot, for other readers
        from logstat.reading.dataset import committed_files

        return committed_files
    if name != "__version__":
        raise AttributeError(f"module 'logstat' has no attribute {name!r}")
    from logstat.version import version

    return version()


__all__ = [
    "ExitCode",
    "LogstatError",
    "Summary",
    "UnparsedInput",
    "Written",
    "__version__",
    "committed_files",
    "compare",
    "diff",
    "export",
    "ingest",
    "meaning",
    "read",
    "read_summary",
    "summarize",
]
