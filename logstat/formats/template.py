"""Compile a server's log-format string into one regex plus column converters.

nginx (`$status`) and Apache (`%>s`) describe their access-log lines with a
format string.  Each format module tokenizes its own syntax into `Literal` and
`Field` tokens, naming for every field how it looks and which canonical
columns it fills; this module turns those tokens into a `Layout`: a single
regex run by polars over the line column, and expressions that convert the
captured text.  Only fields whose columns a report needs become capturing
groups, so a status summary never pays for user agents.

A format string that is a JSON object (nginx `escape=json`) becomes a
`JsonLayout` instead: its keys are read with polars' JSON path matching.

Real files mix layouts (a few CLF lines in a combined log, vhost-prefixed lines
after a config change), so detection returns a `LayoutChain`: every line is
parsed by the first layout of the chain that matches it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl
from polars.expr.whenthen import ChainedThen, Then

from logstat import schema
from logstat.formats.apart import parse_apart

Converter = Callable[[pl.Expr], dict[str, pl.Expr]]
Unescape = Callable[[pl.Expr], pl.Expr]

# What a field's text may look like, by context in the format string.
# Inside "...": lazy, so unescaped quotes still parse, but never a raw `"` followed by
# white space or by another `"` (except one just before the closing quote): that is
# where a quoted field ends, and text holding one would be two fields read as one
# (`"-" 500 "router"` taken into a user agent, `"-""-"`: fields shifted).
QUOTED = r'(?:[^"\\]|\\.|"(?:[^"\s\\]|\\.))*?"?'
BRACKETED = r"[^\]]*"
TOKEN = r"\S+"  # `-` stands for a missing value, so a field between spaces is never empty
NUMBER = r"-|\d+"
# A status has at most four digits (9999 is kept, class "other"); a longer number is
# no HTTP status, and its line is rejected rather than counted with no status.
STATUS_NUMBER = r"-|\d{1,4}"
DECIMAL = r"-|-?\d+(?:\.\d+)?"
# nginx writes one value per upstream tried: "502, 504" or "502 : 200" after an internal redirect
VALUE_LIST = r"-|[-\w.:\[\]/]+(?:(?:, | : )[-\w.:\[\]/]+)*"
# [10/Oct/2000:13:55:36 -0700]: strict, so `[-]` or a zone-less time is no access line
CLF_TIME_TEXT = r"\d{1,2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}"
CLF_TIME = "%d/%b/%Y:%H:%M:%S %z"
ISO_TIME_TEXT = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})"
# a path directly followed by another field ($uri$is_args$args, %U%q) stops at the "?"
PATH_BEFORE_QUERY = r"[^?\s]*"

# The fast regex.  The regex engine extracts fields several times faster from a
# regex it can run in one pass (no choice ever waits for later text) than from
# the exact one above, whose lazy quotes and `\s` runs are ambiguous.  Every
# line is tried with the fast regex first and only the lines it rejects with
# the exact one.  Each fast piece accepts a subset of what its exact piece does
# and stops where the exact piece prefers to stop, so a line the fast regex
# matches is split exactly as the exact regex would split it.
STRICT_QUOTED = r'(?:[^"\\]|\\.)*'  # up to the first unescaped quote, where QUOTED stops first
FAST_SPACE = r"(?-u:\s)+"  # a whole run of ASCII white space, as `\s+` takes it
# Text after the layout's last field, kept to be counted (lines hold no "\n")
TAIL = r"(?P<tail>\s.*)?$"
FAST_TAIL = r"(?P<tail>(?-u:\s).*)?$"
# one field of such text: quoted or bracketed (up to the next space: `[::1]:80`), or a word
TRAILING_FIELD = r'"(?:[^"\\]|\\.)*"?\S*|\[[^\]]*\]?\S*|\S+'
_UNICODE_DIGIT = re.compile(r"(?<!\\)((?:\\\\)*)\\d")  # `\d`, not `\\d`
# A blank tail (what FAST_TAIL takes when the line holds nothing more), in one search
BLANK_TAIL = r"(?:(?-u:\s)\s*)?$"


def _ascii_digits(pattern: str) -> str:
    return _UNICODE_DIGIT.sub(r"\1[0-9]", pattern)


# Fast patterns that stop at the first character given (" ": at ASCII white space),
# which they cannot hold: followed by that character, a field of one of them ends
# in one place (Layout.split_regex).  Escaped quotes are taken whole by STRICT_QUOTED.
# The patterns named in _MAY_START_BLANK may also begin with white space, so after
# a literal ending in a space they could begin in two places.
_STOPS = {
    STRICT_QUOTED: '"',
    BRACKETED: "]",
    TOKEN: " ",
    **{_ascii_digits(pattern): " " for pattern in (NUMBER, STATUS_NUMBER, r"\d+")},
}
_MAY_START_BLANK = frozenset({STRICT_QUOTED, BRACKETED})


@dataclass(frozen=True)
class Literal:
    text: str


@dataclass(frozen=True)
class Field:
    directive: str  # as written in the format string, e.g. "$status" or "%>s"
    convert: Converter  # captured text -> canonical (or extra) columns
    pattern: str | None = None  # None: decided by context (quoted, bracketed, token)
    columns: tuple[str, ...] = ()  # columns `convert` produces
    # pattern when another field follows with no text between ($uri$is_args$args)
    adjacent_pattern: str | None = None
    # the fast regex's pattern (see STRICT_QUOTED): the usual values only, a subset
    # of `pattern` that the exact regex would split the same way
    common_pattern: str | None = None

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
    """A duration logged in seconds, milliseconds, microseconds or nanoseconds (`divisor`
    1, 1000, 1e6 or 1e9), as seconds.

    Divided as text: `52` ms is read as `52e-3`, which the float parser rounds correctly.
    polars divides a column by a number as a multiplication by its inverse (52 * 0.001 is
    0.052000000000000005) or not, depending on how the expression is evaluated, so the same
    line could give two answers; a value the parser cannot read so (`inf`) is divided."""
    if divisor == 1:
        return lambda text: {column: missing(text).cast(pl.Float64, strict=False)}
    exponent = round(math.log10(divisor))
    if divisor != 10**exponent:
        raise ValueError(f"divisor {divisor}: a power of ten is expected")

    def convert(text: pl.Expr) -> dict[str, pl.Expr]:
        logged = missing(text)
        scaled = pl.concat_str(logged, pl.lit(f"e-{exponent}")).cast(pl.Float64, strict=False)
        return {column: pl.coalesce(scaled, logged.cast(pl.Float64, strict=False) / divisor)}

    return convert


def to_summed_seconds(listed_column: str, column: str) -> Converter:
    """nginx's per-attempt times ($upstream_response_time ...): the list as logged and the
    time spent in every attempt, in seconds.

    One value per upstream tried, `, `-separated, groups after an internal redirect
    ` : `-separated (`0.004, 0.010 : 0.002` is 0.016); a `-` part (no connection, no
    header) adds nothing, and a list of nothing but `-` is null.  Summed as decimals
    (polars Decimal, 9 places): 0.1, 0.2 is 0.3, as the one value 0.3 is read, never
    0.30000000000000004.  A single value (most lines) is read as to_seconds reads it."""

    def convert(text: pl.Expr) -> dict[str, pl.Expr]:
        logged = missing(text)
        listed = pl.when(logged.str.contains("[,:]")).then(logged)
        parts = listed.str.replace_all(r"\s*[,:]\s*", ",").str.split(",")
        numbers = parts.list.eval(pl.element().cast(pl.Decimal(38, 9), strict=False))
        summed = pl.when(numbers.list.drop_nulls().list.len() > 0).then(numbers.list.sum())
        single = pl.when(listed.is_null()).then(logged).cast(pl.Float64, strict=False)
        return {listed_column: logged, column: pl.coalesce(summed.cast(pl.Float64), single)}

    return convert


def to_timestamp(time_format: str) -> Converter:
    """Text with its UTC offset -> the same instant in UTC."""
    return lambda text: {
        "timestamp": missing(text)
        .str.to_datetime(time_format, strict=False, time_unit="us")
        .dt.convert_time_zone("UTC")
    }


def from_epoch_seconds(text: pl.Expr) -> dict[str, pl.Expr]:
    seconds = missing(text).cast(pl.Float64, strict=False)
    # round: 1474706096.123 * 1e6 is 1474706096122999.9 in binary floating point
    micros = (seconds * 1_000_000).round(0).cast(pl.Int64)
    return {"timestamp": micros.cast(schema.TIMESTAMP)}


REQUEST_LINE = r"^([A-Za-z][-A-Za-z0-9_]*) (.*?)(?: ([A-Za-z]+/[0-9.]+))?$"
# the usual request, read in one pass (see STRICT_QUOTED): with no space in the
# target, the shortest target REQUEST_LINE allows is the whole of it
FAST_REQUEST_LINE = r"^([A-Za-z][-A-Za-z0-9_]*) ([^ ]*) ([A-Za-z]+/[0-9.]+)$"


Steps = list[dict[str, pl.Expr]]


@dataclass(frozen=True)
class Stepwise:
    """A converter that can also run as steps, each a `with_columns` of its own.

    polars computes a subexpression several columns read only once, unless it is nested
    in another such one: the request line's regexes feed the target, which feeds both
    path and query, and were run again for each column (a third of an export's parse).
    `in_steps(text, name)` gives the intermediate values as columns named after `name`,
    to be made in order, and the columns made from them; `at_once` is the same
    conversion as plain expressions (for a frame that converts few rows)."""

    at_once: Converter
    in_steps: Callable[[pl.Expr, str], tuple[Steps, dict[str, pl.Expr]]]

    def __call__(self, text: pl.Expr) -> dict[str, pl.Expr]:
        return self.at_once(text)


def _request_groups(text: pl.Expr, fast: pl.Expr) -> pl.Expr:
    """REQUEST_LINE's groups, for the requests whose FAST_REQUEST_LINE groups (`fast`)
    are empty."""
    return pl.when(fast.struct.field("1").is_null()).then(text).str.extract_groups(REQUEST_LINE)


def _request_part(fast: pl.Expr, exact: pl.Expr) -> Callable[[str], pl.Expr]:
    return lambda group: pl.coalesce(fast.struct.field(group), exact.struct.field(group))


def _request_line_at_once(text: pl.Expr) -> dict[str, pl.Expr]:
    fast = text.str.extract_groups(FAST_REQUEST_LINE)
    part = _request_part(fast, _request_groups(text, fast))
    return {"method": part("1"), **split_target(part("2")), "protocol": part("3")}


def _request_line_in_steps(text: pl.Expr, name: str) -> tuple[Steps, dict[str, pl.Expr]]:
    line, fast, exact, target = (f"{name}_{part}" for part in ("text", "fast", "exact", "target"))
    part = _request_part(pl.col(fast), pl.col(exact))
    steps = [
        {line: text},
        {fast: pl.col(line).str.extract_groups(FAST_REQUEST_LINE)},
        {exact: _request_groups(pl.col(line), pl.col(fast))},
        {target: _target_parts(part("2"))},
    ]
    return steps, {"method": part("1"), **_path_and_query(pl.col(target)), "protocol": part("3")}


# `GET /a?b=1 HTTP/1.1` -> method, path, query, protocol; garbage leaves them null
from_request_line = Stepwise(_request_line_at_once, _request_line_in_steps)


def split_target(target: pl.Expr) -> dict[str, pl.Expr]:
    """`/a?b=1` -> path `/a`, query `b=1` (null when there is no `?`)."""
    return _path_and_query(_target_parts(target))


def _target_parts(target: pl.Expr) -> pl.Expr:
    # before and after the first "?", as ^([^?]*) and \?(.*)$ would take them, in one pass
    return missing(target).str.splitn("?", 2)


def _path_and_query(parts: pl.Expr) -> dict[str, pl.Expr]:
    return {
        "path": missing(parts.struct.field("field_0")),
        "query": parts.struct.field("field_1"),
    }


def split_url(url: pl.Expr) -> dict[str, pl.Expr]:
    """`https://shop.example.com:443/path?q=1` (or a bare target) -> host without its
    port, path and query."""
    parts = url.str.extract_groups(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*))?(.*)$")
    host = missing(parts.struct.field("1")).str.replace(r":[0-9]+$", "")
    return {"host": host, **split_target(parts.struct.field("2"))}


def from_status_list(text: pl.Expr) -> dict[str, pl.Expr]:
    """`502, 504` -> upstream_status 504 (the attempt whose answer was used) and the list."""
    listed = missing(text)
    last = listed.str.extract(r"(\S+)\s*$", 1)
    return {
        "upstream_status": missing(last).cast(pl.Int16, strict=False),
        "upstream_status_list": listed,
    }


def split_directives(
    template: str, directive: re.Pattern[str], field: Callable[[re.Match[str]], Token]
) -> list[Token]:
    """A format string as literal text between its directives, each made a token by `field`."""
    tokens: list[Token] = []
    position = 0
    for match in directive.finditer(template):
        if match.start() > position:
            tokens.append(Literal(template[position : match.start()]))
        tokens.append(field(match))
        position = match.end()
    if position < len(template):
        tokens.append(Literal(template[position:]))
    return tokens


def context_of(tokens: Sequence[Token], index: int) -> str:
    """'quoted', 'bracketed' or 'token': what surrounds the field at `index`."""
    before = tokens[index - 1] if index > 0 else None
    after = tokens[index + 1] if index + 1 < len(tokens) else None
    before_text = before.text if isinstance(before, Literal) else ""
    after_text = after.text if isinstance(after, Literal) else ""
    if before_text.endswith('"') and after_text.startswith('"'):
        return "quoted"
    if before_text.endswith("[") and after_text.startswith("]"):
        return "bracketed"
    return "token"


CONTEXT_PATTERNS = {"quoted": QUOTED, "bracketed": BRACKETED, "token": TOKEN}


def unescape_quoted(tokens: list[Token], unescape: Unescape) -> list[Token]:
    """Free text inside quotes is escaped by the server; undo that before converting."""
    result: list[Token] = []
    for index, token in enumerate(tokens):
        if (
            isinstance(token, Field)
            and token.pattern is None
            and context_of(tokens, index) == "quoted"
        ):
            token = Field(
                token.directive,
                _unescaped(token.convert, unescape),
                None,
                token.columns,
                token.adjacent_pattern,
            )
        result.append(token)
    return result


def _unescaped(convert: Converter, unescape: Unescape) -> Converter:
    """`convert` of the unescaped text; in steps, the unescaped text is a column of its
    own (`missing` and most converters read their text more than once)."""

    def in_steps(text: pl.Expr, name: str) -> tuple[Steps, dict[str, pl.Expr]]:
        unescaped = pl.col(f"{name}_unescaped")
        first = {unescaped.meta.output_name(): unescape(text)}
        if isinstance(convert, Stepwise):
            steps, produced = convert.in_steps(unescaped, name)
            return [first, *steps], produced
        return [first], convert(unescaped)

    return Stepwise(lambda text: convert(unescape(text)), in_steps)


@dataclass(frozen=True)
class Layout:
    """A compiled format string."""

    keeps_state: ClassVar[bool] = False

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

    @property
    def units(self) -> int:
        """How many space-separated fields a line of this layout has (quoted and
        bracketed text counted as one): what a line missing a field falls short of."""
        return len(re.findall(TRAILING_FIELD, self.template))

    def regex(
        self, capture: Iterable[int] | None = None, fast: bool = False, whole: bool = False
    ) -> str:
        """The whole-line regex; fields whose index is in `capture` become groups.

        Text after the last field is captured as `tail`, to be counted: never read as
        fields.  `whole`: no such text, the layout covers the whole line (detection).
        `fast`: the one-pass variant (see STRICT_QUOTED), for most lines.
        """
        wanted = set(range(len(self.tokens))) if capture is None else set(capture)
        # an empty group that is null exactly when the line fails
        parts = ["^(?P<matched>)", self._pieces(range(len(self.tokens)), wanted, fast)]
        # Fields appended after the known ones (a %D or X-Forwarded-For at the end) are
        # the tail: the line is read, and its extra fields counted (pass --log-format)
        if whole:
            parts.append(r"(?-u:\s)*$" if fast else r"\s*$")
        else:
            parts.append(FAST_TAIL if fast else TAIL)
        return "".join(parts)

    def split_regex(self, capture: list[int]) -> tuple[str, str] | None:
        """The fast regex cut after the last field in `capture`, for a line read in two
        searches: the start, anchored at the line's start, its fields captured and all
        of it as `start`; the rest with a blank tail, anchored at the line's end only
        (a search runs backwards from there, over the rest alone).

        When the start's match ends where the rest's leftmost match begins, the fast
        regex matches the line with those fields and a blank tail: it takes the start
        as the start's own search does (its first way through), then the rest, which
        fits there in one way only.  None when a field after the cut could end in two
        places (`_stops_once`): which way the fast regex takes would then decide
        whether its tail is blank, and a search for the rest cannot tell."""
        if not capture:
            return None
        cut = max(capture) + 1
        if not all(self._stops_once(index) for index in range(cut, len(self.tokens))):
            return None
        start = self._pieces(range(cut), set(capture), fast=True)
        rest = self._pieces(range(cut, len(self.tokens)), set(), fast=True)
        return f"^(?P<start>{start})", rest + BLANK_TAIL

    def _stops_once(self, index: int) -> bool:
        """A literal, or a field whose fast pattern cannot hold the text that follows it
        (the next literal's first character, else the tail's white space): it ends
        where that text begins, in one place; and begins in one place too."""
        token = self.tokens[index]
        if isinstance(token, Literal):
            return True
        pattern = self._fast_pattern(index)
        stop = _STOPS.get(pattern)
        before = self.tokens[index - 1] if index > 0 else None
        if pattern in _MAY_START_BLANK and isinstance(before, Literal) and before.text[-1:] == " ":
            return False
        following = self.tokens[index + 1] if index + 1 < len(self.tokens) else None
        if following is None:
            return stop == " "
        return isinstance(following, Literal) and stop == following.text[:1]

    def _pieces(self, indexes: Iterable[int], wanted: set[int], fast: bool) -> str:
        """The regex of the tokens at `indexes`; fields in `wanted` as groups."""
        parts = []
        for index in indexes:
            token = self.tokens[index]
            if isinstance(token, Literal):
                parts.append(_literal_regex(token.text, FAST_SPACE if fast else r"\s+"))
                continue
            pattern = self._fast_pattern(index) if fast else self._pattern(index)
            parts.append(f"(?P<f{index}>{pattern})" if index in wanted else f"(?:{pattern})")
        return "".join(parts)

    def _fast_pattern(self, index: int) -> str:
        token = self.tokens[index]
        assert isinstance(token, Field)
        pattern = self._pattern(index)
        if token.common_pattern is not None and pattern == token.pattern:
            pattern = token.common_pattern
        if pattern == QUOTED:
            return STRICT_QUOTED
        return _ascii_digits(pattern)  # ASCII digits: a smaller automaton

    def _pattern(self, index: int) -> str:
        token = self.tokens[index]
        assert isinstance(token, Field)
        following = self.tokens[index + 1] if index + 1 < len(self.tokens) else None
        if token.adjacent_pattern is not None and isinstance(following, Field):
            return token.adjacent_pattern
        if token.pattern is not None:
            return token.pattern
        context = context_of(self.tokens, index)
        if context == "token" and index > 0 and isinstance(self.tokens[index - 1], Field):
            return r"\S*"  # right after another field ($uri$is_args$args): may be empty
        return CONTEXT_PATTERNS[context]

    def capture(self, needed: set[str] | None) -> list[int]:
        """Indexes of the fields that fill a needed column (all fields when None)."""
        return [
            index
            for index, token in enumerate(self.tokens)
            if isinstance(token, Field) and (needed is None or set(token.produces()) & needed)
        ]

    def convert(self, groups: pl.Expr, capture: list[int]) -> dict[str, pl.Expr]:
        """Captured groups -> column expressions."""
        produced: dict[str, pl.Expr] = {}
        for index in capture:
            token = self.tokens[index]
            assert isinstance(token, Field)
            text = groups.struct.field(f"f{index}")
            for column, expression in token.convert(text).items():
                # the first field that fills a column wins ($request before $uri)
                produced.setdefault(column, expression)
        return produced

    def convert_in_steps(
        self, groups: pl.Expr, capture: list[int]
    ) -> tuple[Steps, dict[str, pl.Expr]]:
        """`convert` for a frame of many rows: the `with_columns` steps that make the
        intermediate columns of Stepwise converters (named after `groups`' column),
        then the column expressions, as `convert` makes them."""
        steps: Steps = []
        produced: dict[str, pl.Expr] = {}
        prefix = groups.meta.output_name()
        for index in capture:
            token = self.tokens[index]
            assert isinstance(token, Field)
            text = groups.struct.field(f"f{index}")
            if isinstance(token.convert, Stepwise):
                made, columns = token.convert.in_steps(text, f"{prefix}_f{index}")
                for depth, step in enumerate(made):  # one step of every field at a time
                    if depth == len(steps):
                        steps.append({})
                    steps[depth].update(step)
            else:
                columns = token.convert(text)
            for column, expression in columns.items():
                produced.setdefault(column, expression)
        return steps, produced

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        """Parse `line` into canonical columns plus line_kind and reject_reason.

        `needed` limits which columns are converted (None: all of them).
        """
        return LayoutChain((self,)).parse(lines, needed)


@dataclass(frozen=True)
class LayoutChain:
    """Layouts tried in order: each line is parsed by the first one that covers it
    whole, else by the first one that matches it with text left over (its `tail`,
    whose fields are counted in `trailing_fields`, never read as the layout's).

    Later layouts only see the lines no earlier one covered whole, so a file that
    is all one layout pays for one regex.
    """

    keeps_state: ClassVar[bool] = False

    layouts: tuple[Layout, ...]
    # the layout most sample lines used: what the summary reports
    primary: Layout | None = None
    # layouts seen in the sample: their columns are what this file logs
    in_use: tuple[Layout, ...] = ()

    @property
    def description(self) -> str:
        return (self.primary or self.layouts[0]).description

    def columns(self) -> set[str]:
        return set().union(*(layout.columns() for layout in self.in_use or self.layouts[:1]))

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        """The lines the first layout's fast regex covers whole (most lines) are converted
        from its groups in one pass; only the others go down the whole chain
        (`parse_every_line`), so one odd line no longer makes its chunk pay for every
        layout (formats/apart.py)."""
        first = self.layouts[0]
        capture = first.capture(needed)
        groups = pl.col(_COMMON)
        tail = groups.struct.field("tail")
        covered = groups.struct.field("matched").is_not_null() & (
            tail.is_null() | (tail.str.strip_chars() == "")
        )
        steps, converted = first.convert_in_steps(groups, capture)
        made = {
            schema.LINE_KIND: pl.lit(schema.RECORD),
            schema.REJECT_REASON: pl.lit(None, dtype=pl.String),
            schema.TRAILING_FIELDS: pl.lit(None, dtype=pl.UInt32),
            **_needed(converted, needed),
        }

        def convert(common: pl.LazyFrame) -> pl.LazyFrame:
            for step in steps:  # intermediate columns, left for parse_apart to drop
                common = common.with_columns(**step)
            return common.with_columns(value.alias(name) for name, value in made.items())

        return parse_apart(
            lines,
            lambda every: every.with_columns(
                pl.col(schema.RAW_LINE)
                .str.extract_groups(first.regex(capture, fast=True))
                .alias(_COMMON)
            ),
            covered,
            convert,
            lambda others: self.parse_every_line(others, needed),
            (self, None if needed is None else frozenset(needed)),
        )

    def parse_every_line(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        """The chain's rule over every line: each layout's fast regex, then its exact
        one, each later layout on the lines no earlier one covered whole."""
        line = pl.col(schema.RAW_LINE)
        remaining: pl.Expr = line
        stages: list[tuple[pl.Expr, pl.Expr, pl.Expr, dict[str, pl.Expr]]] = []
        temporary: list[str] = [_STAGE]
        frame = lines
        for number, layout in enumerate(self.layouts):
            capture = layout.capture(needed)
            name = f"__layout{number}"
            # a line an earlier layout covered is null here, and regexes skip nulls
            frame = _extract(frame, remaining, layout, capture, name)
            temporary += [name, f"{name}_fast", f"{name}_exact"]
            groups = pl.col(name)
            matched = groups.struct.field("matched").is_not_null()
            tail = groups.struct.field("tail").str.strip_chars()
            whole = matched & (tail.is_null() | (tail == ""))
            produced = _needed(layout.convert(groups, capture), needed)
            stages.append((whole, matched, tail, produced))
            remaining = pl.when(whole).then(None).otherwise(remaining)
        # the first layout covering the line whole, else of those that matched it with
        # fields left over, the one with the most fields (the fewest left over)
        chosen: Then | ChainedThen = pl.when(stages[0][0]).then(pl.lit(0, dtype=pl.Int32))
        for number, (whole, _, _, _) in enumerate(stages[1:], start=1):
            chosen = chosen.when(whole).then(pl.lit(number, dtype=pl.Int32))
        richest = sorted(range(len(stages)), key=lambda number: -self.layouts[number].field_count)
        for number in richest:
            chosen = chosen.when(stages[number][1]).then(pl.lit(number, dtype=pl.Int32))
        frame = frame.with_columns(chosen.otherwise(None).alias(_STAGE))
        stage = pl.col(_STAGE)
        trailing: Then | ChainedThen = pl.when(stage == 0).then(stages[0][2])
        for number, (_, _, tail, _) in enumerate(stages[1:], start=1):
            trailing = trailing.when(stage == number).then(tail)
        any_matched = stage.is_not_null()
        columns = list(dict.fromkeys(column for *_, produced in stages for column in produced))
        values = [
            _chosen_value([produced for *_, produced in stages], column).alias(column)
            for column in columns
        ]
        return frame.with_columns(
            _kind(any_matched),
            _reason(any_matched, self._rejected_reason(any_matched)),
            _trailing_fields(trailing),
            *values,
        ).drop(temporary, strict=False)

    def _rejected_reason(self, matched: pl.Expr) -> pl.Expr:
        """Why a line no layout matched: a field missing, or simply another shape."""
        first = self.primary or self.layouts[0]
        if len(self.layouts) == 1:
            other = f"does not match {first.description}"
        else:
            other = f"does not match {first.description} or any other {first.source} layout"
        # fields counted on the lines no layout matched only: polars would count them on
        # every line (its common subexpressions are evaluated before any when/then)
        line = pl.when(~matched).then(pl.col(schema.RAW_LINE))
        fields = line.str.count_matches(TRAILING_FIELD)
        # a line with quoted or bracketed fields, as access lines have, but too few of them
        return (
            pl.when((fields < first.units) & line.str.contains(r'"[^"]*"|\[[^\]]*\]'))
            .then(
                pl.format(
                    f"a field is missing: {{}} fields, {first.description} has {first.units}",
                    fields,
                )
            )
            .otherwise(pl.lit(other))
        )


def _extract(
    frame: pl.LazyFrame, lines: pl.Expr, layout: Layout, capture: list[int], name: str
) -> pl.LazyFrame:
    """`name`: the layout's groups for each line: the fast regex's, else the exact one's."""
    exact = layout.regex(capture)
    fast = layout.regex(capture, fast=True)
    if fast == exact:
        return frame.with_columns(lines.str.extract_groups(exact).alias(name))
    quick, slow = pl.col(f"{name}_fast"), pl.col(f"{name}_exact")
    rejected = pl.when(quick.struct.field("matched").is_null()).then(lines)
    keys = ["matched", "tail", *(f"f{index}" for index in capture)]
    return (
        frame.with_columns(lines.str.extract_groups(fast).alias(f"{name}_fast"))
        .with_columns(rejected.str.extract_groups(exact).alias(f"{name}_exact"))
        .with_columns(
            pl.struct(
                pl.coalesce(quick.struct.field(key), slow.struct.field(key)).alias(key)
                for key in keys
            ).alias(name)
        )
    )


_STAGE = "__layout_chosen"
_COMMON = "__layout_common"  # the first layout's fast groups


def _needed(produced: dict[str, pl.Expr], needed: set[str] | None) -> dict[str, pl.Expr]:
    """The converted columns a report needs (all when `needed` is None)."""
    if needed is None:
        return produced
    return {column: value for column, value in produced.items() if column in needed}


def _chosen_value(stages: list[dict[str, pl.Expr]], column: str) -> pl.Expr:
    """The column's value from the stage chosen for the line (`_STAGE`)."""
    stage = pl.col(_STAGE)
    relevant = [
        (number, produced[column]) for number, produced in enumerate(stages) if column in produced
    ]
    number, value = relevant[0]
    chained: Then | ChainedThen = pl.when(stage == number).then(value)
    for number, value in relevant[1:]:
        chained = chained.when(stage == number).then(value)
    return chained.otherwise(None)


def _trailing_fields(tail: pl.Expr) -> pl.Expr:
    """How many fields a line holds after its layout's last one (null: none)."""
    count = tail.str.count_matches(TRAILING_FIELD)
    return pl.when(count > 0).then(count).alias(schema.TRAILING_FIELDS)


def _kind(matched: pl.Expr) -> pl.Expr:
    return (
        pl.when(matched)
        .then(pl.lit(schema.RECORD))
        .otherwise(pl.lit(schema.REJECTED))
        .alias(schema.LINE_KIND)
    )


def _reason(matched: pl.Expr, reason: str | pl.Expr) -> pl.Expr:
    blank = pl.col(schema.RAW_LINE).str.strip_chars() == ""
    return (
        pl.when(matched)
        .then(None)
        .when(blank)
        .then(pl.lit("empty line"))
        .otherwise(pl.lit(reason) if isinstance(reason, str) else reason)
        .alias(schema.REJECT_REASON)
    )


def _literal_regex(text: str, space: str = r"\s+") -> str:
    """Literal text of a format string; a run of spaces matches `space` (white space)."""
    return space.join(re.escape(part) for part in re.split(r" +", text))


@dataclass(frozen=True)
class JsonLayout:
    """A format string that writes one JSON object per line (nginx `escape=json`).

    Values are read by key with polars' JSON path matching (which undoes JSON
    escapes), then converted by the field their format string names.  A line is
    a record when it is a JSON object holding the `anchor` key (the status).
    """

    keeps_state: ClassVar[bool] = False

    source: str
    name: str
    template: str
    fields: tuple[tuple[str, Field], ...]  # JSON key -> field
    anchor: str

    @property
    def description(self) -> str:
        return f"{self.source} {self.name}"

    def columns(self) -> set[str]:
        return {column for _, token in self.fields for column in token.produces()}

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        produced: dict[str, list[pl.Expr]] = {}
        for key, token in self.fields:
            if needed is not None and not set(token.produces()) & needed:
                continue
            for column, expression in token.convert(_json_value(key)).items():
                produced.setdefault(column, []).append(expression)
        if needed is not None:
            produced = {column: value for column, value in produced.items() if column in needed}
        matched = _json_value(self.anchor).is_not_null()
        return (
            lines.with_columns(_json_text().alias(_JSON_TEXT))
            .with_columns(
                _kind(matched),
                _reason(matched, f"not a JSON object with a {self.anchor!r} key"),
                # two keys may fill one column (time_local, time_iso8601): the first present wins
                *(
                    pl.when(matched).then(pl.coalesce(values)).alias(column)
                    for column, values in produced.items()
                ),
            )
            .drop(_JSON_TEXT)
        )

    def count_matches(self, sample: pl.Series) -> int:
        """Sample lines that hold the anchor and two more of the keys: lines of this layout."""
        frame = pl.DataFrame({schema.RAW_LINE: sample}).with_columns(_json_text().alias(_JSON_TEXT))
        others = [_json_value(key).is_not_null() for key, _ in self.fields if key != self.anchor]
        needed_others = min(2, len(others))
        present = pl.sum_horizontal(others) if others else pl.lit(0)
        return int(
            frame.select(
                (_json_value(self.anchor).is_not_null() & (present >= needed_others)).sum()
            ).item()
        )


_JSON_TEXT = "__json"


def _json_text() -> pl.Expr:
    r"""The line as JSON: bytes that were not UTF-8 come from split_lines as `\xHH`,
    which is no JSON escape; escape their backslash so the rest of the line still reads."""
    return pl.col(schema.RAW_LINE).str.replace_all(r"((?:^|[^\\])(?:\\\\)*)\\x", r"${1}\\x")


def _json_value(key: str) -> pl.Expr:
    path = f"$.{key}" if re.fullmatch(r"[A-Za-z_]\w*", key) else f"$[{json.dumps(key)}]"
    return pl.col(_JSON_TEXT).str.json_path_match(path)


# "key": "value" or "key": value in a JSON format string
_JSON_MEMBER = re.compile(r'"((?:[^"\\]|\\.)+)"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}\s]+)')


def is_json_template(template: str) -> bool:
    return template.lstrip().startswith("{") and _JSON_MEMBER.search(template) is not None


def compile_json(
    source: str, name: str, template: str, tokenize: Callable[[str], list[Token]]
) -> JsonLayout:
    """`{"status":"$status","t":"$time_iso8601"}` -> a JsonLayout reading those keys."""
    fields: list[tuple[str, Field]] = []
    for match in _JSON_MEMBER.finditer(template):
        key, value = match.group(1), match.group(2).strip('"')
        tokens = [token for token in tokenize(value) if not _is_blank(token)]
        if len(tokens) == 1 and isinstance(tokens[0], Field):
            fields.append((key, tokens[0]))
        else:  # literal text or several fields in one value: keep the value as text
            column = re.sub(r"\W+", "_", key).strip("_").lower() or "value"
            fields.append((key, Field(value, to_string(column), None, (column,))))
    anchor = next(
        (key for key, token in fields if "status" in token.produces()),
        fields[0][0] if fields else "status",
    )
    return JsonLayout(source, name, template, tuple(fields), anchor)


def _is_blank(token: Token) -> bool:
    return isinstance(token, Literal) and not token.text.strip()


TemplateParser = Layout | LayoutChain | JsonLayout


def compile_template(
    source: str, name: str, template: str, tokenize: Callable[[str], list[Token]]
) -> Layout | JsonLayout:
    """A format string -> its parser: a JSON object template, or a regex layout."""
    if is_json_template(template):
        return compile_json(source, name, template, tokenize)
    return Layout(source, name, template, tuple(tokenize(template)))


def every_layout(layouts: Sequence[Layout | JsonLayout]) -> TemplateParser:
    """All of a server's regex layouts, the first (its default) reported: for a file
    the user says is this server's although no layout recognised its first lines."""
    text = [layout for layout in layouts if isinstance(layout, Layout)]
    if not text:
        return layouts[0]
    ordered = sorted(text, key=lambda layout: -layout.field_count)
    return LayoutChain(tuple(ordered), text[0], (text[0],))


def _matched_by(
    lines: pl.DataFrame, layouts: Sequence[Layout], whole: bool = True
) -> dict[str, pl.Series]:
    """Which lines each layout's regex reads (`whole`: with nothing left over), by name:
    the regexes in one query, which polars runs side by side."""
    if not layouts:
        return {}
    line = pl.col("line")
    found = lines.select(
        line.str.contains(layout.regex([], whole=whole)).fill_null(False).alias(str(n))
        for n, layout in enumerate(layouts)
    )
    return {layout.name: found[str(n)] for n, layout in enumerate(layouts)}


def detect(
    layouts: Sequence[Layout | JsonLayout],
    sample: pl.Series,
    fallbacks: Iterable[str] = (),
) -> tuple[TemplateParser, int, int] | None:
    """The parser that reads the most sample lines, how many it reads, and how many
    of those it covers whole (no fields left over after the layout).

    Regex layouts form a chain: the layouts that matched sample lines, most
    fields first (so each line gets the richest reading), then the rest as
    fallbacks for lines further down the file.  The layout reported is the one
    that reads the most lines whole: a line that a shorter layout matches with
    fields left over is another layout's (Traefik's fields after `combined`).
    JSON layouts compete alone.  Layouts named in `fallbacks` read lines of a file
    only when another layout recognised it: a server that merely tolerates a shape
    does not claim it.
    """
    only_fallbacks = set(fallbacks)
    text = [layout for layout in layouts if isinstance(layout, Layout)]
    best: tuple[TemplateParser, int, int] | None = None
    if text and len(sample):
        ordered = sorted(text, key=lambda layout: -layout.field_count)  # stable: ties keep order
        lines = sample.rename("line").to_frame()
        matches = _matched_by(lines, ordered, whole=False)
        # a line the whole regex reads, the other reads too (its tail is blank or absent;
        # `.` stops at a "\n", which a line unwrapped from JSON may hold): only the
        # layouts that read some line have their whole regex compiled (1-5 ms each,
        # most of detection's time)
        newline = bool(sample.str.contains("\n", literal=True).any())
        reading = [layout for layout in ordered if newline or matches[layout.name].any()]
        wholes = _matched_by(lines, reading)
        nothing = pl.Series([False] * len(sample))
        wholes = {layout.name: wholes.get(layout.name, nothing) for layout in ordered}
        taken = pl.Series([False] * len(sample))
        # as LayoutChain reads lines: whole first, then with fields left over
        used: list[dict[str, int]] = [{}, {}]
        for found, counts in zip((wholes, matches), used, strict=True):
            for layout in ordered:
                fresh = found[layout.name] & ~taken
                counts[layout.name] = int(fresh.sum())
                taken = taken | found[layout.name]
            if found is wholes:
                covered = int(taken.sum())
        matched = int(taken.sum())
        seen = [layout for layout in ordered if int(matches[layout.name].sum())]
        own = [layout for layout in seen if layout.name not in only_fallbacks]
        if own:
            rest = [layout for layout in ordered if layout not in seen]
            primary = max(own, key=lambda layout: (used[0][layout.name], used[1][layout.name]))
            best = (LayoutChain(tuple(seen + rest), primary, tuple(seen)), matched, covered)
    for json_layout in layouts:
        if isinstance(json_layout, JsonLayout):
            matched = json_layout.count_matches(sample)
            if matched and (best is None or matched > best[1]):
                best = (json_layout, matched, matched)
    return best
