"""What AWS load balancers' access logs share: fixed fields, one regex, who produced a status.

Application (ALB) and classic (ELB) load balancers write one entry per line as
space-separated fields, some in double quotes, in an order AWS documents and
extends over the years by appending fields.  A `FieldLayout` lists the fields in
that order: the first `required` are in every entry, the later ones are missing
from older logs, and anything after the last known field (fields AWS adds later)
is ignored.  Only the fields the needed columns read become capturing groups.

Speed: the layout compiles to a strict regex (ASCII classes, no lazy
quantifiers), which decides which lines are read, written so that the next byte
always decides the way on: the regex engine runs it as a one-pass DFA, which
captures several times faster than a general regex (a strict field ambiguous
byte by byte, as `target:port_list` was written, made the whole capture fall back
to the slow engine: 7.1 µs an ALB line against 2.6; tests/test_one_pass.py checks
that no two ways on accept the same byte).  So one pass reads and
captures up to 13 fields; more fields are captured by a "loose" regex (each field
only a token, quoted text or either; one-pass and cheaper), run on the lines the
strict one read, where it captures the same text.  Lines the strict regex does not read are tried
with a "shaped" regex in which the request line may hold raw `"` (clients
send them in URLs and AWS logs them as sent), read and captured the same way
(one-pass too: 3.6 µs a line, 4.6 with a DFA choosing and a loose regex capturing),
then with a tolerant regex (a raw `"` elsewhere), several times slower again;
clean logs never pay for those passes.  No pass reads a line with text left over after a
field other than the last known one: the fields after it would be shifted
(`chosen_cert_arn` holding two fields where a space is missing).  Text after the
last known field (fields AWS added since) is counted in `trailing_fields`.

https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html
https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/access-log-collection.html
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import polars as pl
import polars.selectors as cs

from logstat import schema
from logstat.errors import ExitCode, LogstatError
from logstat.formats.apart import parse_apart
from logstat.formats.base import Detection, Format
from logstat.formats.parser import Parser
from logstat.formats.template import (
    FAST_REQUEST_LINE,
    QUOTED,
    REQUEST_LINE,
    TRAILING_FIELD,
    missing,
    split_target,
    to_timestamp,
)

# What a field's text may look like; ASCII classes keep the regex small and one-pass.
TOKEN = r"[^ ]+"
ISO_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z"
STATUS = r"[0-9]{1,4}|-"  # ALB writes "000" when no response was sent; 5 digits: no status
COUNT = r"-[0-9]*|[0-9]+"  # classic ELB writes -1 bytes for TCP connections
DURATION = r"-(?:[0-9]+(?:\.[0-9]+)?)?|[0-9]+(?:\.[0-9]+)?"  # seconds; -1: not measured
ESCAPED = r'(?:[^"\\]|\\.)*'  # inside "...": a quote only when backslash-escaped
LAZY_QUOTED = r"(?:[^\\]|\\.)*?"  # inside "...": the shortest text the rest of the line allows
# Fields with a known shape: strict shapes also keep the tolerant regex from
# shifting fields when a quoted field holds a raw `"`.
SSL_NAME = r"[A-Za-z0-9_.-]+"  # protocol name (TLSv1.2), or -
# OpenSSL and IANA cipher names hold no dot: `ECDHE-RSA-AES128-GCM-SHA256TLSv1.2` is
# cipher and protocol run together (a space lost), no cipher
SSL_CIPHER = r"[A-Za-z0-9_-]+"
ARN = r"arn:[^ ]+|-"
RULE_PRIORITY = r"-[0-9]*|[0-9]+"  # 0: default rule; -1: rule evaluation error
PLAIN = r'[^ "]+'  # a bare value, never quoted
# Shapes of ALB's later fields, which are quoted: a list of actions, an error name, ...
# forward, waf, authenticate, fixed-response, ...; `-` (none) is one of these words: no
# alternative of its own, which would make the strict regex ambiguous at a `-`
ACTIONS = r"[a-z-]+(?:,[a-z-]+)*"
# error_reason, classification, classification_reason: AWS's names, which may hold digits
# (LambdaEC2AccessDeniedException) but start with a letter, so a neighbour's address
# or number cannot pass as one
WORD = r"-|[A-Za-z][A-Za-z0-9_.-]*"
# target:port, space-separated: `-|[^ "]+:[0-9]+(?: [^ "]+:[0-9]+)*` written so that the
# next byte always decides the way on (no `:[0-9]+` that `[^ "]+` could also take), which
# keeps the strict regex one-pass.  _AFTER_FIRST reads a target from its second byte on:
# colons, then digits to the end, or other text and colons again.
_AFTER_FIRST = (
    r'[^ ":]*:+(?:[^ ":0-9][^ ":]*:+)*[0-9]+'
    r'(?:(?:[^ ":0-9][^ ":]*)?:+(?:[^ ":0-9][^ ":]*:+)*[0-9]+)*'
)
_MORE_TARGETS = rf'(?: [^ "]{_AFTER_FIRST})*'
TARGETS = rf'-(?:{_AFTER_FIRST}{_MORE_TARGETS})?|[^ "-]{_AFTER_FIRST}{_MORE_TARGETS}'
STATUSES = r"-|[0-9]+(?: [0-9]+)*"  # target status codes, space-separated
ALB_TYPES = ("http", "https", "h2", "grpcs", "ws", "wss")
# ALB_TYPES with shared prefixes factored out, so the alternatives stay one-pass
ALB_TYPE = r"h(?:ttps?|2)|grpcs|wss?"

# The start of each kind of line found in AWS load balancer logs, to say why a line
# is not the one a parser reads.
ALB_ENTRY = rf"^(?:{ALB_TYPE}) {ISO_TIME} "
ELB_ENTRY = rf"^{ISO_TIME} [^ ]+ (?:[^ ]+:[0-9]+|-) (?:[^ ]+:[0-9]+|-) "
# NLB access logs start with the listener type and a log version: `tls 2.0 ...`
NLB_ENTRY = r"^(?:tls|tcp|udp|tcp_udp) [0-9]+\.[0-9]+ "
# ALB connection logs: time, client address, client port, listener port, TLS fields
ALB_CONNECTION_ENTRY = rf"^{ISO_TIME} [^ ]+ [0-9]+ [0-9]+ "

ISO_TIMESTAMP = "%Y-%m-%dT%H:%M:%S%.f%#z"  # %#z also reads the trailing Z as UTC

# Temporary columns: the captured fields (one per batch), then the request line's parts.
TEMPORARY = "_aws_"
FIELDS_COLUMN = f"{TEMPORARY}fields_"
REQUEST_COLUMN = f"{TEMPORARY}request"


@dataclass(frozen=True)
class Passes:
    """A layout's expressions, in stages: each stage adds columns of its own."""

    first: list[list[pl.Expr]]  # the strict regex reads the lines and captures
    # the lines it did not read, read by other regexes; the last, tolerant one is slow
    retries: list[list[pl.Expr]]
    finish: list[list[pl.Expr]]  # the columns made from the captured fields
    finish_read: list[list[pl.Expr]]  # the same for lines known to be read: no reasons
    matched: pl.Expr  # whether a regex read the line (the regexes run so far)


def _in_stages(lines: pl.LazyFrame, stages: Iterable[list[pl.Expr]]) -> pl.LazyFrame:
    for stage in stages:
        lines = lines.with_columns(*stage)
    return lines


# The one-pass engine handles at most 16 groups, the whole match, `matched` and `tail`
# among them; more fields are captured in batches, each pass still one-pass.
BATCH = 13

Quoting = Literal["bare", "quoted", "either"]
# strict: quoted text holds a `"` only escaped; shaped: also raw in fields with a
# `shape`; tolerant: anywhere, taking the shortest quoted text the line allows;
# loose: any token or quoted text, to capture the fields of lines the strict mode reads;
# loose-shaped: loose, but fields with a `shape` in it, to capture what shaped reads
Mode = Literal["strict", "shaped", "tolerant", "loose", "loose-shaped"]
# A request line whose target has no space: `"GET http://host:80/a?q="x" HTTP/1.1"` ends at
# the first `"` after its protocol, wherever raw quotes are, as the tolerant regex ends it.
REQUEST_SHAPE = r"[A-Za-z]+ [^ ]* [A-Za-z]+/[0-9.]+"


@dataclass(frozen=True)
class Field:
    """One field of an entry.

    `quoting`: "bare" text without spaces; "quoted" always in double quotes;
    "either" in quotes in current logs but bare in some older ones.
    """

    name: str  # a regex group name; AWS's `target:port_list` becomes target_port_list
    pattern: str = TOKEN
    quoting: Quoting = "bare"
    # quoted text as it usually looks, raw quotes allowed, one-pass (the "shaped" mode)
    shape: str | None = None
    # text a client chose, which the tolerant mode lets hold raw `"` (AWS's own fields never
    # do, and a `""` in one is two fields run together): "anywhere" where strict fields
    # follow that end it (request, user agent), "inside" where only loose ones do (URLs):
    # no raw `"` before a space or another `"` there, so it never takes in the next field
    raw_quotes: Literal["never", "inside", "anywhere"] = "never"

    def regex(self, capture: bool, mode: Mode = "strict") -> str:
        def group(suffix: str = "") -> str:
            return f"(?P<{self.name}{suffix}>" if capture else "(?:"

        if mode == "loose-shaped" and self.shape is not None:
            return f'"{group()}{self.shape})"'
        if mode in ("loose", "loose-shaped"):
            # every strict pattern is a token (no space), or quoted text that does not
            # end in a backslash: the loose forms accept all it does
            quoted = f'"{group()}{ESCAPED})"'
            return {"quoted": quoted, "either": f'{group()}"{ESCAPED}"|[^ "]+)'}.get(
                self.quoting, f"{group()}[^ ]+)"
            )
        # the tolerant form takes the shortest quoted text the rest of the line allows
        inside = ESCAPED
        if mode == "tolerant" and self.raw_quotes != "never":
            inside = LAZY_QUOTED if self.raw_quotes == "anywhere" else QUOTED
        if mode == "shaped" and self.shape is not None:
            inside = self.shape
        if self.quoting == "quoted":
            return f'"{group()}{inside})"'
        if self.quoting == "either":  # one group, quotes included: stripped by `text`
            if self.pattern != TOKEN:
                # a value AWS writes has a shape: a field missing before it cannot pass
                # its neighbour's value off as this one (`"10.0.0.1:80"` as error_reason)
                inside = self.pattern
            return f'{group()}"(?:{inside})"|[^ "]+)'
        return f"{group()}{self.pattern})"

    def text(self, groups: pl.Expr) -> pl.Expr:
        """The captured text, without quotes; null when the line has no such field."""
        value = groups.struct.field(self.name)
        if self.quoting == "either":  # a bare value never holds a quote
            return value.str.strip_prefix('"').str.strip_suffix('"')
        return value


class Captured:
    """Expressions for the text of one line's fields, read from the staged columns."""

    def __init__(self, fields: dict[str, Field], batches: list[list[str]]) -> None:
        self._fields = fields
        self._column = {
            name: f"{FIELDS_COLUMN}{index}" for index, batch in enumerate(batches) for name in batch
        }

    def text(self, name: str) -> pl.Expr:
        return self._fields[name].text(pl.col(self._column[name]))

    def request_part(self, part: Literal["method", "target", "protocol"]) -> pl.Expr:
        """`GET http://host:80/path?query HTTP/1.1` split by template.REQUEST_LINE."""
        index = {"method": "1", "target": "2", "protocol": "3"}[part]
        return pl.col(REQUEST_COLUMN).struct.field(index)


@dataclass(frozen=True)
class Column:
    """An output column: the fields it reads and how it is computed from them."""

    reads: tuple[str, ...]
    build: Callable[[Captured], pl.Expr]


@dataclass(frozen=True)
class Reason:
    """Why a line that a layout rejected was rejected, when it starts like `pattern`."""

    pattern: str
    text: str


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: it holds dicts
class FieldLayout:
    """A fixed AWS log layout, compiled to regexes; implements the `Parser` protocol."""

    keeps_state: ClassVar[bool] = False

    source: str  # format name: "alb", "elb"
    title: str  # what a user reads in the summary, e.g. "AWS ALB access log"
    fields: tuple[Field, ...]
    required: int  # how many leading fields every entry has
    output: dict[str, Column]
    reasons: tuple[Reason, ...]  # tried in order on rejected lines
    fallback_reason: str
    _by_name: dict[str, Field] = field(init=False, repr=False)
    _regexes: dict[tuple[frozenset[str], Mode], str] = field(init=False, repr=False)
    _stages: dict[frozenset[str] | None, Passes] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {item.name: item for item in self.fields})
        object.__setattr__(self, "_regexes", {})
        object.__setattr__(self, "_stages", {})
        unknown = {name for column in self.output.values() for name in column.reads}
        unknown -= set(self._by_name)
        assert not unknown, f"columns read unknown fields: {unknown}"

    @property
    def description(self) -> str:
        return self.title

    @property
    def template(self) -> str:
        """The field list, for `logstat formats`."""
        return " ".join(item.name for item in self.fields)

    def columns(self) -> set[str]:
        return set(self.output)

    def regex(self, capture: frozenset[str] = frozenset(), mode: Mode = "strict") -> str:
        """The whole-line regex; fields named in `capture` become groups."""
        key = (capture, mode)
        if key not in self._regexes:
            self._regexes[key] = self._compile(capture, mode)
        return self._regexes[key]

    def _compile(self, capture: frozenset[str], mode: Mode) -> str:
        parts = [item.regex(item.name in capture, mode) for item in self.fields]
        optional = len(parts) - self.required
        # `matched` is an empty group that is null exactly when the line does not match
        head = "^(?P<matched>)" + " ".join(parts[: self.required])
        nested = "".join(f"(?: {part}" for part in parts[self.required :])
        # text only after the last known field: fields AWS appends later
        return head + nested + "(?P<tail> .*)?" + ")?" * optional + "$"

    @property
    def trailing_hint(self) -> str:
        """What to tell a user about fields after the last known one."""
        return "fields AWS added after those logstat knows; they are not read"

    def count_matches(self, sample: pl.Series) -> int:
        strict = sample.str.contains(self.regex())
        tolerant = sample.filter(~strict).str.contains(self.regex(mode="tolerant"))
        return int(strict.sum()) + int(tolerant.sum())

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        """Parse `line` into canonical (and extra) columns plus line_kind and reject_reason.

        The lines the one-pass regexes read (strict, then shaped: most lines) are converted
        from their groups; only the others go through the tolerant regex and the reject
        reasons (formats/apart.py)."""
        passes = self._passes(needed)
        return parse_apart(
            lines,
            lambda every: _in_stages(every, [*passes.first, *passes.retries[:-1]]),
            passes.matched,
            lambda common: _in_stages(common, passes.finish_read),
            lambda others: self.parse_every_line(others, needed),
            (self, None if needed is None else frozenset(needed)),
        )

    def parse_every_line(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        """Every pass over every line: the strict regex, the retries, the conversions."""
        passes = self._passes(needed)
        stages = [*passes.first, *passes.retries, *passes.finish]
        return _in_stages(lines, stages).drop(cs.starts_with(TEMPORARY))

    def _passes(self, needed: set[str] | None) -> Passes:
        key = None if needed is None else frozenset(needed)
        if key not in self._stages:  # built once: many small files reuse the same expressions
            self._stages[key] = self._build_stages(needed)
        return self._stages[key]

    def _build_stages(self, needed: set[str] | None) -> Passes:
        """Expressions in stages: each stage adds columns of its own, so polars
        evaluates a captured field once for all the columns that read it."""
        wanted = {
            name: column for name, column in self.output.items() if needed is None or name in needed
        }
        capture = [
            item.name
            for item in self.fields
            if any(item.name in column.reads for column in wanted.values())
        ]
        batches = [capture[start : start + BATCH] for start in range(0, len(capture), BATCH)]
        batches = batches or [[]]
        columns = [f"{FIELDS_COLUMN}{index}" for index in range(len(batches))]
        line = pl.col(schema.RAW_LINE)
        # every batch's regex has the same shape, so they all match the same lines
        matched = pl.col(columns[0]).struct.field("matched").is_not_null()
        # null lines skip the regex: each pass reads only the lines the passes before rejected
        retry = pl.when(matched).then(None).otherwise(line)
        # the strict regex, one-pass, reads the lines and captures the first batch; the
        # loose one (one-pass too, cheaper) captures the other batches of the lines read
        first = [[line.str.extract_groups(self.regex(frozenset(batches[0]))).alias(columns[0])]]
        strict = pl.when(matched).then(line)
        if len(batches) > 1:
            first.append(
                [
                    strict.str.extract_groups(self.regex(frozenset(batch), "loose")).alias(column)
                    for batch, column in zip(batches[1:], columns[1:], strict=True)
                ]
            )
        modes: list[Mode] = ["tolerant"]
        if any(item.shape is not None for item in self.fields):
            modes.insert(0, "shaped")
        retries = []
        for mode in modes:
            if mode == "shaped":
                # one-pass as the strict regex is: it reads and captures the first batch,
                # the loose-shaped regex the other batches of the lines it read
                retries += self._shaped_retry(line, batches, columns)
                continue
            retries.append(
                [
                    pl.when(matched)
                    .then(pl.col(column))
                    .otherwise(retry.str.extract_groups(self.regex(frozenset(batch), mode)))
                    .alias(column)
                    for batch, column in zip(batches, columns, strict=True)
                ]
            )
        captured = Captured(self._by_name, batches)
        finish = []
        if "request" in capture:
            # the usual request in one pass, the exact (slower) regex for the others
            text = missing(captured.text("request"))
            finish.append([text.str.extract_groups(FAST_REQUEST_LINE).alias(REQUEST_COLUMN)])
            fast = pl.col(REQUEST_COLUMN)
            read = fast.struct.field("1").is_not_null()  # a struct of nulls where it is not
            exact = pl.when(read).then(None).otherwise(text).str.extract_groups(REQUEST_LINE)
            request = pl.when(read).then(fast).otherwise(exact)
            finish.append([request.alias(REQUEST_COLUMN)])
        kind = (
            pl.when(matched)
            .then(pl.lit(schema.RECORD))
            .otherwise(pl.lit(schema.REJECTED))
            .alias(schema.LINE_KIND)
        )
        values = [column.build(captured).alias(name) for name, column in wanted.items()]
        tail = pl.col(columns[0]).struct.field("tail").str.count_matches(TRAILING_FIELD)
        trailing = pl.when(tail > 0).then(tail).alias(schema.TRAILING_FIELDS)
        finish_read = [*finish, [pl.lit(schema.RECORD).alias(schema.LINE_KIND), trailing, *values]]
        finish.append([kind, self._reason(line, matched), trailing, *values])
        return Passes(first, retries, finish, finish_read, matched)

    def _shaped_retry(
        self, line: pl.Expr, batches: list[list[str]], columns: list[str]
    ) -> list[list[pl.Expr]]:
        """Stages reading the lines the strict regex did not with the shaped one."""

        def read(column: str) -> pl.Expr:
            return pl.col(column).struct.field("matched").is_not_null()

        unread = pl.when(read(columns[0])).then(None).otherwise(line)
        shaped = unread.str.extract_groups(self.regex(frozenset(batches[0]), "shaped"))
        first = pl.when(read(columns[0])).then(pl.col(columns[0])).otherwise(shaped)
        stages = [[first.alias(columns[0])]]
        if len(batches) > 1:  # the other batches' columns hold what the strict regex read
            chosen = pl.when(read(columns[0]) & ~read(columns[1])).then(line)
            stages.append(
                [
                    pl.when(read(column))
                    .then(pl.col(column))
                    .otherwise(
                        chosen.str.extract_groups(self.regex(frozenset(batch), "loose-shaped"))
                    )
                    .alias(column)
                    for batch, column in zip(batches[1:], columns[1:], strict=True)
                ]
            )
        return stages

    def _reason(self, line: pl.Expr, matched: pl.Expr) -> pl.Expr:
        # Only rejected lines are examined: nulls skip the regexes below.
        rejected = pl.when(matched).then(None).otherwise(line)
        reason: pl.Expr = pl.lit(self.fallback_reason)
        for candidate in reversed(self.reasons):  # built inside out: the first listed wins
            reason = (
                pl.when(rejected.str.contains(candidate.pattern))
                .then(pl.lit(candidate.text))
                .otherwise(reason)
            )
        return (
            pl.when(matched)
            .then(None)
            .when(rejected.str.strip_chars() == "")
            .then(pl.lit("empty line"))
            .otherwise(reason)
            .alias(schema.REJECT_REASON)
        )


def too_few_fields(start: str, required: int) -> str:
    """Lines that start like `start` (two fields) and hold fewer than `required` words.

    A quoted field can hold several words, so fewer words surely means fewer fields.
    """
    return rf"{start.rstrip()}(?: +[^ ]+){{0,{required - 3}}} *$"


def fixed_format(
    *,
    name: str,
    title: str,
    vendors: tuple[str, ...],
    layout: FieldLayout,
    own_codes: Iterable[int],
) -> Format:
    """A Format for a log with one fixed layout: no format strings, no layout choice."""

    def make_parser(layout_or_template: str | None) -> Parser:
        if layout_or_template in (None, "access"):
            return layout
        raise LogstatError(
            f"{name}: AWS writes one fixed layout ('access'); --log-format does not apply",
            ExitCode.USAGE,
        )

    def detect(sample: pl.Series) -> Detection | None:
        matched = layout.count_matches(sample)
        return Detection(layout, matched, len(sample)) if matched else None

    return Format(
        name=name,
        title=title,
        vendors=vendors,
        layouts={"access": layout.template},
        make_parser=make_parser,
        detect=detect,
        produced_by=produced_by_rules(tuple(own_codes)),
        reads_again=True,
    )


def produced_by_rules(own_codes: tuple[int, ...]) -> Callable[[set[str]], pl.Expr]:
    """Who produced the status, from the load balancer's two status fields.

    The load balancer logs what it sent (`status`) and what the target or backend
    answered (`upstream_status`, null when it never answered).  Codes only the load
    balancer uses are its own; no answer from behind means it answered itself; an
    equal status was passed through; a different one was replaced.  With no status
    logged at all (TCP listeners) nobody can tell.
    """

    def produced_by(columns: set[str]) -> pl.Expr:
        status = pl.col("status")
        upstream = pl.col("upstream_status")
        return (
            pl.when(status.is_null())
            .then(pl.lit("unknown"))
            .when(status.is_in(own_codes) | upstream.is_null())
            .then(pl.lit("proxy"))
            .when(status == upstream)
            .then(pl.lit("upstream"))
            .otherwise(pl.lit("proxy"))
        )

    return produced_by


# Converters: field text -> column value.  '-' means "not logged" and becomes null.


def status_code(value: pl.Expr) -> pl.Expr:
    return missing(value).cast(pl.Int16, strict=False)


def integer(value: pl.Expr) -> pl.Expr:
    return missing(value).cast(pl.Int64, strict=False)


def byte_count(value: pl.Expr) -> pl.Expr:
    """-1 (classic ELB, TCP) means the count is unknown."""
    count = integer(value)
    return pl.when(count >= 0).then(count)


def seconds(value: pl.Expr) -> pl.Expr:
    """-1 means the time was not measured (no target reached, connection dropped)."""
    duration = missing(value).cast(pl.Float64, strict=False)
    return pl.when(duration >= 0).then(duration)


def timestamp(value: pl.Expr) -> pl.Expr:
    return to_timestamp(ISO_TIMESTAMP)(value)["timestamp"]


def address(value: pl.Expr) -> pl.Expr:
    """`1.2.3.4:80`, `[2001:db8::1]:80` or unbracketed `2001:db8::1:80` -> the address.

    The lazy match leaves the last `:digits` as the port, even in unbracketed IPv6.
    """
    return missing(value.str.replace(r"^\[?(.*?)\]?:[0-9]+$", "${1}"))


def column(convert: Callable[[pl.Expr], pl.Expr], field_name: str) -> Column:
    """A column computed from one field's text."""
    return Column((field_name,), lambda captured: convert(captured.text(field_name)))


def string(field_name: str) -> Column:
    return column(missing, field_name)


def total_seconds(field_names: tuple[str, ...]) -> Column:
    """The sum of the processing times; null when any of them was not measured."""

    def build(captured: Captured) -> pl.Expr:
        durations = [seconds(captured.text(name)) for name in field_names]
        total = durations[0]
        for duration in durations[1:]:
            total = total + duration  # null + x is null: one unmeasured time voids the sum
        return total.round(6)  # AWS logs at most microseconds: drop binary float noise

    return Column(field_names, build)


# The request line.  AWS logs the URL absolute: `GET http://host:80/path?query HTTP/1.1`.

_SCHEME_AND_AUTHORITY = r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*"
# the host of an absolute URL, without port and without IPv6 brackets
_URL_HOST = r"^[A-Za-z][A-Za-z0-9+.-]*://\[?([^\]/?#]*?)\]?(?::[0-9]*)?(?:[/?#]|$)"


def _path_and_query(captured: Captured) -> dict[str, pl.Expr]:
    target = captured.request_part("target").str.replace(_SCHEME_AND_AUTHORITY, "")
    return split_target(target)


def request_host(captured: Captured) -> pl.Expr:
    return missing(captured.request_part("target").str.extract(_URL_HOST, 1))


def host_or_request_host(field_name: str) -> Column:
    """The logged host name (SNI / Host header), else the host of the request URL."""
    return Column(
        (field_name, "request"),
        lambda captured: pl.coalesce(missing(captured.text(field_name)), request_host(captured)),
    )


def request_columns() -> dict[str, Column]:
    """method, path, query and protocol from the quoted request line."""
    reads = ("request",)
    return {
        "method": Column(reads, lambda captured: captured.request_part("method")),
        "path": Column(reads, lambda captured: _path_and_query(captured)["path"]),
        # what follows the `?` as sent, as for the other formats: `?-` is the query "-"
        "query": Column(reads, lambda captured: _path_and_query(captured)["query"]),
        "protocol": Column(reads, lambda captured: captured.request_part("protocol")),
    }
