"""Access logs written as one JSON object per line under a vendor's fixed key names.

Traefik, Caddy, Google Cloud Logging and Azure diagnostics each log a request as a
JSON object whose keys (some nested: Caddy's `request.method`, Google's
`httpRequest.status`) the vendor documents.  A `JsonRecords` parser names the paths
it reads; the lines are decoded by polars in one pass with an explicit struct of
those paths (keys not named are skipped), and each value is converted like a format
string's field.  A line is a record when it holds the status path and what the
vendor's records hold (`identify`); other JSON objects and other lines are rejected
with their reason.  A line that is not JSON (or holds an object where text belongs)
makes polars refuse the whole chunk: then the valid lines are decoded alone, or at
last every path is read with `json_path_match`, slower but never failing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl

from logstat import schema
from logstat.errors import ExitCode, LogstatError
from logstat.formats.base import Detection
from logstat.formats.template import Converter

__all__ = [
    "Converter",
    "JsonRecords",
    "Key",
    "TextOf",
    "decode",
    "detect",
    "detector",
    "parser_maker",
]

TextOf = Callable[[str], pl.Expr]  # a path ("request.method") -> its value as text
NOT_JSON = "not a JSON object on one line"
BAD_JSON = "invalid JSON"


@dataclass(frozen=True)
class Key:
    """One value of the record: where it is, and the columns it fills."""

    path: tuple[str, ...]  # ("request", "headers", "User-Agent")
    convert: Converter  # its text -> columns
    columns: tuple[str, ...]
    listed: bool = False  # the value is a list (Caddy's headers): its first item is read
    identifies: bool = False  # read by `identify`: decoded whatever columns are needed


@dataclass(frozen=True)
class JsonRecords:
    """A parser of one vendor's JSON records; implements `Parser`."""

    keeps_state: ClassVar[bool] = False

    source: str
    name: str
    keys: tuple[Key, ...]
    status: tuple[str, ...]  # the status path: a record holds it
    # what else a record of this vendor holds (an expression over the values of the keys
    # that identify, by path joined with "."): another program's JSON is not read as one
    identify: Callable[[TextOf], pl.Expr] | None = None
    why_not: str = "JSON object without the vendor's fields"
    # the vendor's other messages in the same log (Caddy's runtime and error entries):
    # counted as comments, neither requests nor broken lines
    comment: Callable[[TextOf], pl.Expr] | None = None
    always: frozenset[str] = field(default_factory=frozenset)  # read whatever is needed
    # columns worked out from the others once read (over records only)
    derive: Callable[[], dict[str, pl.Expr]] | None = None

    @property
    def description(self) -> str:
        return f"{self.source} {self.name}"

    def columns(self) -> set[str]:
        return {column for key in self.keys for column in key.columns}

    def _wanted(self, needed: set[str] | None) -> list[Key]:
        if needed is None:
            return list(self.keys)
        wanted = needed | self.always
        return [
            key
            for key in self.keys
            if set(key.columns) & wanted or key.path == self.status or key.identifies
        ]

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        frame = lines.collect()
        keys = self._wanted(needed)
        raw = frame.get_column(schema.RAW_LINE)
        stripped = raw.str.strip_chars()
        is_object = (stripped.str.starts_with("{") & stripped.str.ends_with("}")).fill_null(False)
        texts, valid = decode(raw, is_object, [key.path for key in keys], [k.listed for k in keys])
        by_path = {".".join(key.path): texts[index] for index, key in enumerate(keys)}

        def text(path: str) -> pl.Expr:
            return pl.col(_column(path)) if path in by_path else pl.lit(None, pl.String)

        has_status = text(".".join(self.status)).is_not_null()
        vendor = self.identify(text) if self.identify is not None else pl.lit(True)
        record = pl.col(_VALID) & has_status & vendor.fill_null(False)
        remark = (
            pl.col(_VALID) & ~record & self.comment(text).fill_null(False)
            if self.comment is not None
            else pl.lit(False)
        )
        produced: dict[str, list[pl.Expr]] = {}
        for key in keys:
            for column, value in key.convert(text(".".join(key.path))).items():
                produced.setdefault(column, []).append(value)
        if needed is not None:
            wanted = needed | self.always
            produced = {column: value for column, value in produced.items() if column in wanted}
        blank = pl.col(schema.RAW_LINE).str.strip_chars() == ""
        reason = (
            pl.when(record | remark)
            .then(None)
            .when(blank)
            .then(pl.lit("empty line"))
            .when(~pl.col(_OBJECT))
            .then(pl.lit(NOT_JSON))
            .when(~pl.col(_VALID))
            .then(pl.lit(BAD_JSON))
            .when(~has_status)
            .then(pl.lit(f"JSON object without {'.'.join(self.status)!r}"))
            .otherwise(pl.lit(self.why_not))
        )
        decoded = frame.with_columns(
            is_object.alias(_OBJECT),
            valid.alias(_VALID),
            *(values.alias(_column(path)) for path, values in by_path.items()),
        )
        parsed = (
            decoded.lazy()
            .with_columns(
                pl.when(record)
                .then(pl.lit(schema.RECORD))
                .when(remark)
                .then(pl.lit(schema.COMMENT))
                .otherwise(pl.lit(schema.REJECTED))
                .alias(schema.LINE_KIND),
                reason.alias(schema.REJECT_REASON),
                *(
                    pl.when(record).then(pl.coalesce(values)).alias(column)
                    for column, values in produced.items()
                ),
            )
            .drop(_OBJECT, _VALID, *(_column(path) for path in by_path))
        )
        if self.derive is None:
            return parsed
        # a derived column is worked out when it is read, or when it has no key of its own
        present = set(parsed.collect_schema())
        keyed = {column for key in self.keys for column in key.convert(pl.lit(""))}
        derived = {
            column: value
            for column, value in self.derive().items()
            if column in present or column not in keyed
        }
        return parsed.with_columns(value.alias(column) for column, value in derived.items())

    def count_matches(self, sample: pl.Series) -> int:
        parsed = self.parse(pl.LazyFrame({schema.RAW_LINE: sample}), {"status"}).collect()
        return int((parsed.get_column(schema.LINE_KIND) == schema.RECORD).sum())


_OBJECT = "_json_object"
_VALID = "_json_valid"


def _column(path: str) -> str:
    return f"_json.{path}"


def detect(parser: JsonRecords, sample: pl.Series, marker: str) -> Detection | None:
    """The parser's Detection when sample lines are its records.  `marker` (a regex
    on the raw line) is a cheap look first: without it there is nothing to decode."""
    if not sample.str.contains(marker).any():
        return None
    matched = parser.count_matches(sample)
    return Detection(parser, matched, len(sample)) if matched else None


def detector(parser: JsonRecords, marker: str) -> Callable[[pl.Series], Detection | None]:
    """A format's `detect` for records read one way."""
    return lambda sample: detect(parser, sample, marker)


def parser_maker(parser: JsonRecords) -> Callable[[str | None], JsonRecords]:
    """A format's `make_parser` for records read one way: no layout, or `json`."""

    def make_parser(layout: str | None) -> JsonRecords:
        if layout not in (None, "json"):
            raise LogstatError(
                f"{parser.source}: {layout!r} is no layout; its JSON records are read as they are",
                ExitCode.USAGE,
            )
        return parser

    return make_parser


def _dtype(paths: list[tuple[str, ...]], listed: list[bool]) -> pl.Struct:
    """The struct of every path (leaves as text; lists of text where `listed`)."""
    tree: dict[str, object] = {}
    for path, is_list in zip(paths, listed, strict=True):
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})  # type: ignore[assignment]
        node[path[-1]] = pl.List(pl.String()) if is_list else pl.String()

    def build(node: dict[str, object]) -> pl.Struct:
        return pl.Struct(
            {
                name: build(child) if isinstance(child, dict) else child  # type: ignore[misc]
                for name, child in node.items()
            }
        )

    return build(tree)


def decode(
    lines: pl.Series, is_object: pl.Series, paths: list[tuple[str, ...]], listed: list[bool]
) -> tuple[list[pl.Series], pl.Series]:
    """Each path's value as text (a list's first item), and which lines were valid JSON."""
    objects = pl.select(pl.when(is_object).then(lines)).to_series()
    dtype = _dtype(paths, listed)
    decoded = _struct(objects, dtype)
    valid = is_object
    if decoded is None:
        valid = objects.str.json_path_match("$").is_not_null()
        decoded = _struct(pl.select(pl.when(valid).then(objects)).to_series(), dtype)
    if decoded is not None:
        frame = decoded.to_frame("_json")
        values = []
        for path, is_list in zip(paths, listed, strict=True):
            value = pl.col("_json")
            for part in path:
                value = value.struct.field(part)
            if is_list:
                value = value.list.first()
            values.append(frame.select(value).to_series())
        return values, valid
    checked = pl.select(pl.when(valid).then(objects)).to_series()
    return [
        checked.str.json_path_match(_json_path(path) + ("[0]" if is_list else ""))
        for path, is_list in zip(paths, listed, strict=True)
    ], valid


def _struct(objects: pl.Series, dtype: pl.Struct) -> pl.Series | None:
    try:
        return objects.str.json_decode(dtype)
    except pl.exceptions.PolarsError:
        return None


def _json_path(path: tuple[str, ...]) -> str:
    return "$" + "".join(
        f".{part}" if re.fullmatch(r"[A-Za-z_]\w*", part) else f"[{json.dumps(part)}]"
        for part in path
    )
