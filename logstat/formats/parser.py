"""What every parser does: a frame of raw lines in, canonical columns out.

A parser turns raw lines into canonical columns plus `line_kind` and `reject_reason`;
it may keep state between chunks of the same file (IIS `#Fields` directives).  Apart
from formats/base.py so that wrappers (formats/envelope.py) can name it without
importing the formats they wrap.
"""

from __future__ import annotations

from typing import Protocol

import polars as pl


class Parser(Protocol):
    @property
    def keeps_state(self) -> bool:
        """True when reading a chunk depends on the chunks before it (IIS `#Fields`, a
        Cloudflare CSV header): such a parser reads one file, in order, and is never
        shared by the files named like it or handed their lines in one batch."""
        ...

    @property
    def description(self) -> str:
        """What was recognised, e.g. 'nginx combined'."""
        ...

    def columns(self) -> set[str]:
        """Every canonical (or extra) column this parser can fill."""
        ...

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        """Raw `line` -> canonical columns, `line_kind`, `reject_reason`."""
        ...
