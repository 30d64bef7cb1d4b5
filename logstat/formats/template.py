"""Compile a server's log-format string into one regex plus column converters.

nginx (`$status`) and Apache (`%>s`) describe their access-log lines with a
format string.  Each format module tokenizes its own syntax into `Literal` and
`Field` tokens, naming for every field how it looks and which canonical
columns it fills; this module turns those tokens into a `Layout`: a single
regex run by polars over the line column, and expressions that convert the
captured text.  Only fields whose columns a report needs become capturing
groups, so a status summary never pays for user agents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import polars as pl

from logstat import schema

Converter = Callable[[pl.Expr], dict[str, pl.Expr]]

# What a field's text may look like, by context in the format string.
QUOTED = r"(?:[^\\]|\\.)*?"  # inside "...": lazy, so unescaped quotes still parse
BRACKETED = r"[^\]]*"
TOKEN = r"\S*"
NUMBER = r"-|-?\d+"
DECIMAL = r"-|-?\d+(?:\.\d+)?"
# nginx writes one value per upstream tried: "502, 504" or "502 : 200" after an internal redirect
VALUE_LIST = r"-|[-\w.:\[\]/]+(?:(?:, | : )[-\w.:\[\]/]+)*"


@dataclass(frozen=True)
class Literal:
    text: str


@dataclass(frozen=True)
class Field:
    directive: str  # as written in the format string, e.g. "$status" or "%>s"
    convert: Converter  # captured text -> canonical (or extra) columns
    pattern: str | None = None  # None: decided by context (quoted, bracketed, token)
    columns: tuple[str, ...] = ()  # columns `convert` produces

    def produces(self) -> tuple[str, ...]:
        return self.columns


Token = Literal | Field


def missing(text: pl.Expr) -> pl.Expr:
    """'-' and '' mean 'not logged' in access logs: make them null."""
    return pl.when(text.is_in(["-", ""])).then(None).otherwise(text)


def to_string(column: str) -> Converter:
    return lambda text: {column: missing(text)}


def to_integer(column: str, dtype: pl.DataType | None = None) -> Converter:
    target = dtype or schema.COLUMNS.get(column, pl.Int64())
    return lambda text: {column: missing(text).cast(target, strict=False)}


def to_seconds(column: str, divisor: float) -> Converter:
    """A duration logged in seconds, milliseconds or microseconds, as seconds."""
    return lambda text: {column: missing(text).cast(pl.Float64, strict=False) / divisor}


def to_timestamp(time_format: str) -> Converter:
    return lambda text: {
        "timestamp": missing(text)
        .str.to_datetime(time_format, strict=False, time_unit="us")
        .dt.convert_time_zone("UTC")
    }


def from_epoch_seconds(text: pl.Expr) -> dict[str, pl.Expr]:
    micros = (missing(text).cast(pl.Float64, strict=False) * 1_000_000).cast(pl.Int64)
    return {"timestamp": micros.cast(schema.TIMESTAMP)}


REQUEST_LINE = r"^([A-Za-z][-A-Za-z0-9_]*) (.*?)(?: ([A-Za-z]+/[0-9.]+))?$"


def from_request_line(text: pl.Expr) -> dict[str, pl.Expr]:
    """`GET /a?b=1 HTTP/1.1` -> method, path, query, protocol; garbage leaves them null."""
    target = text.str.extract(REQUEST_LINE, 2)
    return {
        "method": text.str.extract(REQUEST_LINE, 1),
        **split_target(target),
        "protocol": text.str.extract(REQUEST_LINE, 3),
    }


def split_target(target: pl.Expr) -> dict[str, pl.Expr]:
    """`/a?b=1` -> path `/a`, query `b=1` (null when there is no `?`)."""
    target = missing(target)
    return {
        "path": target.str.extract(r"^([^?]*)", 1),
        "query": target.str.extract(r"\?(.*)$", 1),
    }


def from_status_list(text: pl.Expr) -> dict[str, pl.Expr]:
    """`502, 504` -> upstream_status 504 (the attempt whose answer was used) and the list."""
    listed = missing(text)
    last = listed.str.extract(r"(\S+)\s*$", 1)
    return {
        "upstream_status": missing(last).cast(pl.Int16, strict=False),
        "upstream_status_list": listed,
    }


@dataclass(frozen=True)
class Layout:
    """A compiled format string."""

    source: str  # format name, e.g. "nginx"
    name: str  # layout name, e.g. "combined" or "custom"
    template: str
    tokens: tuple[Token, ...]
    field_count: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "field_count", sum(isinstance(token, Field) for token in self.tokens)
        )

    @property
    def description(self) -> str:
        return f"{self.source} {self.name}"

    def columns(self) -> set[str]:
        """Every column this layout can fill."""
        return {
            column
            for token in self.tokens
            if isinstance(token, Field)
            for column in token.produces()
        }

    def regex(self, capture: Iterable[int] | None = None) -> str:
        """The whole-line regex; fields whose index is in `capture` become groups."""
        wanted = set(range(len(self.tokens))) if capture is None else set(capture)
        parts = ["^(?P<matched>)"]  # an empty group that is null exactly when the line fails
        for index, token in enumerate(self.tokens):
            if isinstance(token, Literal):
                parts.append(_literal_regex(token.text))
                continue
            pattern = token.pattern or self._context_pattern(index)
            parts.append(f"(?P<f{index}>{pattern})" if index in wanted else f"(?:{pattern})")
        # Tolerate fields appended after the known ones (a %D or X-Forwarded-For at the end).
        parts.append(r"(?:\s.*)?$")
        return "".join(parts)

    def _context_pattern(self, index: int) -> str:
        before = self.tokens[index - 1] if index > 0 else None
        after = self.tokens[index + 1] if index + 1 < len(self.tokens) else None
        before_text = before.text if isinstance(before, Literal) else ""
        after_text = after.text if isinstance(after, Literal) else ""
        if before_text.endswith('"') and after_text.startswith('"'):
            return QUOTED
        if before_text.endswith("[") and after_text.startswith("]"):
            return BRACKETED
        return TOKEN

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        """Parse `line` into canonical columns plus line_kind and reject_reason.

        `needed` limits which columns are converted (None: all of them).
        """
        capture = [
            index
            for index, token in enumerate(self.tokens)
            if isinstance(token, Field) and (needed is None or set(token.produces()) & needed)
        ]
        groups = pl.col(schema.RAW_LINE).str.extract_groups(self.regex(capture))
        produced: dict[str, pl.Expr] = {}
        for index in capture:
            token = self.tokens[index]
            assert isinstance(token, Field)
            text = groups.struct.field(f"f{index}")
            for column, expression in token.convert(text).items():
                # the first field that fills a column wins ($request before $uri)
                produced.setdefault(column, expression)
        if needed is not None:
            produced = {column: value for column, value in produced.items() if column in needed}
        matched = groups.struct.field("matched").is_not_null()
        blank = pl.col(schema.RAW_LINE).str.strip_chars() == ""
        kind = (
            pl.when(matched)
            .then(pl.lit(schema.RECORD))
            .otherwise(pl.lit(schema.REJECTED))
            .alias(schema.LINE_KIND)
        )
        reason = (
            pl.when(matched)
            .then(None)
            .when(blank)
            .then(pl.lit("empty line"))
            .otherwise(pl.lit(f"does not match {self.description}"))
            .alias(schema.REJECT_REASON)
        )
        return lines.with_columns(
            kind, reason, *(value.alias(column) for column, value in produced.items())
        )


def _literal_regex(text: str) -> str:
    """Literal text of a format string; a run of spaces matches one or more spaces."""
    return r"\s+".join(re.escape(part) for part in re.split(r" +", text))


def compile_layout(source: str, name: str, template: str, tokens: list[Token]) -> Layout:
    return Layout(source, name, template, tuple(tokens))
