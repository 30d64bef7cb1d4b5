"""Lines a log transport wrapped: text before the server's own line, and the server's
own messages among its access lines.

HAProxy logs through syslog, so its lines start with a syslog header that no format
string describes; its notices (`Proxy www started.`) share the log.  A `Wrapped`
parser cuts the header before its layouts read a line (one anchored regex with no
groups, which the regex engine runs without its slower capture engines, so the
layouts' own regexes stay one-pass), gives every line back as it was logged, and
counts the notices as comments: no requests, nothing wrong either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from logstat import schema

if TYPE_CHECKING:
    from logstat.formats.base import Parser

_LOGGED = "_envelope_logged"  # the line as logged, while the layouts read it unwrapped


def unwrap(lines: pl.Series, envelope: str) -> pl.Series:
    """The lines without the transport's header (detection looks at these)."""
    return lines.str.replace(envelope, "")


@dataclass(frozen=True)
class Wrapped:
    """A parser for lines behind a transport's header; implements `Parser`."""

    parser: Parser
    envelope: str  # regex anchored at the start: the header to cut
    notices: str | None  # regex: the server's own messages, read as comments

    @property
    def keeps_state(self) -> bool:
        return self.parser.keeps_state

    @property
    def description(self) -> str:
        return self.parser.description

    def columns(self) -> set[str]:
        return self.parser.columns()

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        line = pl.col(schema.RAW_LINE)
        cut = lines.with_columns(line.alias(_LOGGED), line.str.replace(self.envelope, ""))
        parsed = self.parser.parse(cut, needed)
        restored = [pl.col(_LOGGED).alias(schema.RAW_LINE)]
        if self.notices is not None:
            kind = pl.col(schema.LINE_KIND)
            notice = (kind == schema.REJECTED) & line.str.contains(self.notices)
            restored += [
                pl.when(notice)
                .then(pl.lit(schema.COMMENT))
                .otherwise(kind)
                .alias(schema.LINE_KIND),
                pl.when(notice)
                .then(None)
                .otherwise(pl.col(schema.REJECT_REASON))
                .alias(schema.REJECT_REASON),
            ]
        return parsed.with_columns(restored).drop(_LOGGED)
