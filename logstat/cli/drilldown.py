"""The `logstat lines` command behind a summary: its inputs and filters, to which each
table's row adds its own (`--status 502`), so that a user can go from a count to the
requests behind it.  The views show it under the tables (report/text.py)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from logstat.report.model import FilterReport


def lines_command(
    logs: Sequence[str],
    filters: FilterReport | None,
    *,
    format: str | None = None,
    log_format: str | None = None,
    json_keys: str | None = None,
    vendors: Sequence[str] = (),
    endpoint_url: str | None = None,
) -> str | None:
    """`logstat lines ...` reading what the summary read, with its filters but --status
    (each row gives its own); None when the input cannot be read again (stdin)."""
    if not logs or "-" in logs:
        return None
    words = ["logstat", "lines", *logs]
    for option, value in (
        ("--format", format),
        ("--log-format", log_format),
        ("--json-keys", json_keys),
        ("--endpoint-url", endpoint_url),
    ):
        if value is not None:
            words += [option, value]
    for vendor in vendors:
        words += ["--vendor", vendor]
    if filters is not None:
        # times as resolved when the summary ran: `--since 1h` must not move with the clock
        for option, moment in (("--since", filters.since), ("--until", filters.until)):
            if moment is not None:
                words += [option, moment.isoformat().replace("+00:00", "Z")]
        if filters.path is not None:
            words += ["--path", filters.path]
        for option, values in (
            ("--host", filters.host),
            ("--method", filters.method),
            ("--source", filters.source),
        ):
            if values:
                words += [option, ",".join(values)]
    return shlex.join(words)
