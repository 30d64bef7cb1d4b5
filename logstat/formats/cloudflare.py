"""Cloudflare `http_requests` logs: Logpush and Logpull, as NDJSON or as CSV with a header.

A Logpush job chooses which fields it writes and how it writes timestamps, so a
record may hold any subset of the fields, in any order, with `EdgeStartTimestamp`
as RFC 3339 text, unix seconds, milliseconds or nanoseconds (as a number or as
text).  JSON lines are decoded by polars with an explicit struct of the fields
logstat reads; unknown and nested fields (`Cookies`, `JA4Signals`) are skipped.
CSV output is read when a header line names the columns; a header may appear
again further down (concatenated files), so the parser keeps the header in
effect from one chunk of a file to the next.

https://developers.cloudflare.com/logs/reference/log-fields/zone/http_requests/
https://developers.cloudflare.com/logs/logpull/understanding-the-basics/
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from logstat import schema
from logstat.errors import ExitCode, LogstatError
from logstat.formats.base import Detection, Format
from logstat.formats.chunks import Position, numbered
from logstat.formats.iis import first_true, latest
from logstat.formats.parser import Parser
from logstat.formats.template import missing, split_target, to_seconds

# Cloudflare field -> the type it is decoded as (numbers are decoded as text too,
# so a field written as "200" or 200 reads the same).
FIELDS: dict[str, pl.DataType] = {
    name: pl.String()
    for name in (
        "EdgeResponseStatus",
        "OriginResponseStatus",
        "EdgeStartTimestamp",
        "EdgeEndTimestamp",
        "ClientIP",
        "ClientRequestHost",
        "ClientRequestMethod",
        "ClientRequestURI",
        "ClientRequestProtocol",
        "ClientRequestUserAgent",
        "ClientRequestReferer",
        "EdgeResponseBytes",
        "OriginResponseDurationMs",
        "CacheCacheStatus",
        "CacheResponseStatus",
        "SecurityAction",
        "WAFAction",
        "WorkerStatus",
        "RayID",
        "EdgePathingOp",
        "EdgePathingSrc",
        "EdgePathingStatus",
        "ClientCountry",
    )
}
FIELDS["SecurityActions"] = pl.List(pl.String())  # every action the security rules took

# Fields kept as they are, as extra string columns (CacheCacheStatus -> cache_cache_status).
EXTRAS = (
    "CacheCacheStatus",
    "CacheResponseStatus",
    "SecurityAction",
    "SecurityActions",
    "WAFAction",
    "WorkerStatus",
    "RayID",
    "EdgePathingOp",
    "EdgePathingSrc",
    "EdgePathingStatus",
    "ClientCountry",
)
# A JSON object naming none of these is no http_requests record.
IDENTIFYING = tuple(name for name in FIELDS if name not in ("ClientIP", "ClientCountry"))
# What the detector looks for in a line: a key only Cloudflare's http_requests uses.
FIELD_NAME = r"EdgeResponseStatus|EdgeStartTimestamp|RayID|OriginResponseStatus"
KEY = rf'"(?:{FIELD_NAME})"\s*:'
CSV_NAME = r'"?[A-Z][A-Za-z0-9]*"?'
CSV_HEADER = rf"^{CSV_NAME}(?:,{CSV_NAME})*$"
CSV_VALUE = r'"(?:[^"]|"")*"|[^,"]*'
# a line of a JSON object printed over several lines: `"Key": value,`, `{` or `}`
FRAGMENT = r'^\s*(?:"[A-Za-z]+"\s*:.*|[{}\[\]],?)\s*$'

ISO_TIME = "%Y-%m-%dT%H:%M:%S%.f%#z"  # %#z also reads the trailing Z as UTC
NOT_ONE_LINE = (
    "not a one-line JSON object (Cloudflare writes one object per line; "
    "pretty-printed JSON is not read)"
)
NO_FIELDS = "JSON object without Cloudflare http_requests fields"
BAD_JSON = "invalid JSON"
# Cloudflare's own errors about the origin: https://developers.cloudflare.com/support/troubleshooting/http-status-codes/cloudflare-5xx-errors/
EDGE_ERRORS = (520, 521, 522, 523, 524, 525, 526, 527, 530)
# served from Cloudflare's cache: https://developers.cloudflare.com/cache/concepts/cache-responses/
CACHE_SERVED = ("hit", "stream_hit", "stale", "updating")
# security actions that end the request at the edge
EDGE_ACTIONS = (
    "block",
    "challenge",
    "jschallenge",
    "managedChallenge",
    "connectionClose",
    "forceConnectionClose",
)
ALWAYS = {  # what produced_by reads
    "status",
    "upstream_status",
    "origin_response_status",
    "cache_cache_status",
    "security_action",
    "security_actions",
    "waf_action",
}


def column_name(field: str) -> str:
    """RayID -> ray_id, CacheCacheStatus -> cache_cache_status, WAFAction -> waf_action."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", field)
    return spaced.lower()


def to_timestamp(text: pl.Expr) -> pl.Expr:
    """RFC 3339 text, or a unix time in seconds, milliseconds, microseconds or nanoseconds.

    Logpush writes seconds (`unix`) or nanoseconds (`unixnano`); milliseconds and
    microseconds come from other tools.  A number carries no unit, so it is told
    by its size, in steps of 1000: below 1e11 seconds, below 1e14 milliseconds,
    below 1e17 microseconds, else nanoseconds.  Each unit is then read right for
    every instant from 1973-03-03 (1e11 ms, 1e14 us, 1e17 ns) to the year 5138
    (1e11 s; nanoseconds end in 2262, where Int64 does).  Before 1973 the ranges
    overlap (0 is 1970 in every unit), which no Cloudflare log reaches.
    """
    text = missing(text)
    number = text.cast(pl.Int64, strict=False)
    micros = (
        pl.when(number < 10**11)
        .then(number * 1_000_000)
        .when(number < 10**14)
        .then(number * 1_000)
        .when(number < 10**17)
        .then(number)
        .otherwise(number // 1_000)
    )
    decimal_seconds = (text.cast(pl.Float64, strict=False) * 1_000_000).round(0).cast(pl.Int64)
    return (
        pl.when(text.str.contains(r"^\d+$"))
        .then(micros.cast(schema.TIMESTAMP))
        .when(text.str.contains(r"^\d+\.\d+$"))
        .then(decimal_seconds.cast(schema.TIMESTAMP))
        .otherwise(
            text.str.to_datetime(ISO_TIME, strict=False, time_unit="us").dt.convert_time_zone("UTC")
        )
    )


def _origin_seconds(milliseconds: pl.Expr, origin_status: pl.Expr) -> pl.Expr:
    """The origin's time in seconds; none when no request went to the origin (status 0:
    the cache or the edge answered), whose time Cloudflare logs as 0."""
    count = missing(milliseconds).cast(pl.Float64, strict=False)
    seconds = to_seconds("seconds", 1000)(milliseconds)["seconds"]  # rounds as read
    return pl.when((origin_status != 0) & (count >= 0)).then(seconds)


def outputs(text: dict[str, pl.Expr], wanted: set[str] | None) -> dict[str, pl.Expr]:
    """Canonical and extra columns from the fields' text (null where a field is absent)."""
    origin = missing(text["OriginResponseStatus"]).cast(pl.Int16, strict=False)
    start = to_timestamp(text["EdgeStartTimestamp"])
    end = to_timestamp(text["EdgeEndTimestamp"])
    columns: dict[str, pl.Expr] = {
        "timestamp": start,
        "client_ip": missing(text["ClientIP"]),
        "host": missing(text["ClientRequestHost"]),
        "method": missing(text["ClientRequestMethod"]),
        **split_target(text["ClientRequestURI"]),
        "protocol": missing(text["ClientRequestProtocol"]),
        "status": missing(text["EdgeResponseStatus"]).cast(pl.Int16, strict=False),
        # 0: no request went to the origin
        "upstream_status": pl.when(origin != 0).then(origin),
        "origin_response_status": origin,
        "bytes_sent": missing(text["EdgeResponseBytes"]).cast(pl.Int64, strict=False),
        "request_time_s": (end - start).dt.total_microseconds() / 1_000_000,
        # the origin's part of it (connecting, waiting for the answer); no origin: none
        "origin_response_time_s": _origin_seconds(text["OriginResponseDurationMs"], origin),
        "user_agent": missing(text["ClientRequestUserAgent"]),
        "referer": missing(text["ClientRequestReferer"]),
        **{column_name(field): missing(text[field]) for field in EXTRAS},
    }
    return {
        column: value
        for column, value in columns.items()
        if wanted is None or column in wanted | ALWAYS
    }


@dataclass(frozen=True)
class Header:
    """A CSV header line: the fields, in order."""

    names: tuple[str, ...]

    @classmethod
    def parse(cls, line: str) -> Header:
        return cls(tuple(name.strip().strip('"') for name in line.split(",")))

    def regex(self) -> str:
        groups = [
            f"(?P<f{index}>{CSV_VALUE})" if name in FIELDS else f"(?:{CSV_VALUE})"
            for index, name in enumerate(self.names)
        ]
        return "^(?P<matched>)" + ",".join(groups) + "$"

    def text(self, groups: pl.Expr) -> dict[str, pl.Expr]:
        values = {}
        for index, name in enumerate(self.names):
            if name in FIELDS and name not in values:
                raw = groups.struct.field(f"f{index}")
                quoted = raw.str.starts_with('"')
                inner = raw.str.slice(1, raw.str.len_chars() - 2).str.replace_all(
                    '""', '"', literal=True
                )
                values[name] = pl.when(quoted).then(inner).otherwise(raw)
        return values


def is_header(line: str) -> bool:
    if re.match(CSV_HEADER, line) is None:
        return False
    return bool(set(Header.parse(line).names) & set(FIELDS))


class CloudflareParser:
    """Reads one file of Cloudflare http_requests records; keeps a CSV header between chunks."""

    keeps_state: ClassVar[bool] = True

    def __init__(self, header: Header | None = None) -> None:
        self._initial = header
        # the CSV header at the end of the detection sample: for a file read on from
        # the middle (--state), which starts below its header
        self._resume: Header | None = None
        self._position = Position()
        self._start()

    def fresh(self) -> CloudflareParser:
        """A parser for a file from its start, knowing the header this one has seen."""
        parser = CloudflareParser(self._initial)
        parser._resume = self._header
        return parser

    def _start(self) -> None:
        """Forget what was read: the file is (read again) from its start."""
        self._header = self._initial
        self._json_records = 0
        self._csv_records = 0
        self._fragments = 0

    def _resumed(self) -> None:
        """Read from the middle of the file: below the header the detection sample showed."""
        if self._resume is not None:
            self._header = self._resume

    @property
    def fragments(self) -> int:
        """Rejected lines so far that look like part of a pretty-printed JSON object."""
        return self._fragments

    @property
    def description(self) -> str:
        kinds = []
        if self._json_records or not (self._csv_records or self._initial):
            kinds.append("json")
        if self._csv_records or self._initial:
            kinds.append("csv")
        text = f"cloudflare http_requests {' + '.join(kinds)}"
        if self._fragments:
            text += " (pretty-printed JSON over several lines is not read: one object per line)"
        return text

    def columns(self) -> set[str]:
        return {
            "timestamp",
            "client_ip",
            "host",
            "method",
            "path",
            "query",
            "protocol",
            "status",
            "upstream_status",
            "bytes_sent",
            "request_time_s",
            "user_agent",
            "referer",
            "origin_response_status",
            "origin_response_time_s",
            *(column_name(field) for field in EXTRAS),
        }

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        frame = numbered(lines)
        self._position.enter(frame, self._start, self._resumed)
        line = pl.col(schema.RAW_LINE)
        stripped = line.str.strip_chars()
        is_object = stripped.str.starts_with("{") & stripped.str.ends_with("}")
        frame = frame.with_columns(is_object.alias("_object"))
        decoded, valid_json = _decode(frame.get_column(schema.RAW_LINE), frame["_object"])
        frame = frame.with_columns(decoded.alias("_json"), valid_json.alias("_valid_json"))
        json_text = {field: pl.col("_json").struct.field(field) for field in FIELDS}

        headers, starts = self._headers(frame)
        frame = frame.with_columns(pl.col("line_no").is_in(starts).alias("_header"))
        segment = latest(starts, list(range(len(headers))), pl.UInt32())
        csv_matched: list[pl.Expr] = []
        csv_text: dict[str, list[tuple[pl.Expr, pl.Expr]]] = {}
        for index, header in enumerate(headers):
            if header is None:
                continue
            in_segment = (segment == index) & ~pl.col("_object") & ~pl.col("_header")
            groups = line.str.extract_groups(header.regex())
            matched = in_segment & groups.struct.field("matched").is_not_null()
            csv_matched.append(matched)
            for field, value in header.text(groups).items():
                csv_text.setdefault(field, []).append((matched, value))
        csv_row = pl.any_horizontal(csv_matched) if csv_matched else pl.lit(False)

        text = {
            field: pl.when(pl.col("_object"))
            .then(json_text[field])
            .otherwise(first_true(csv_text.get(field, []), pl.String()))
            for field in FIELDS
        }
        identified = pl.any_horizontal(missing(text[field]).is_not_null() for field in IDENTIFYING)
        json_record = pl.col("_object") & pl.col("_valid_json") & identified
        record = json_record | csv_row
        blank = stripped == ""
        kind = (
            pl.when(pl.col("_header"))
            .then(pl.lit(schema.COMMENT))
            .when(record)
            .then(pl.lit(schema.RECORD))
            .otherwise(pl.lit(schema.REJECTED))
        )
        in_csv = segment.is_in([index for index, header in enumerate(headers) if header])
        reason = (
            pl.when(pl.col("_header") | record)
            .then(pl.lit(None, dtype=pl.String))
            .when(blank)
            .then(pl.lit("empty line"))
            .when(pl.col("_object") & ~pl.col("_valid_json"))
            .then(pl.lit(BAD_JSON))
            .when(pl.col("_object"))
            .then(pl.lit(NO_FIELDS))
            .when(in_csv)
            .then(pl.lit("does not match the CSV header line's fields"))
            .otherwise(pl.lit(NOT_ONE_LINE))
        )
        parsed = frame.with_columns(
            kind.alias(schema.LINE_KIND),
            reason.alias(schema.REJECT_REASON),
            json_record.alias("_json_record"),
            csv_row.alias("_csv_row"),
        ).with_columns(
            pl.when(pl.col(schema.LINE_KIND) == schema.RECORD).then(value).alias(column)
            for column, value in outputs(text, needed).items()
        )
        self._json_records += int(parsed["_json_record"].sum())
        self._csv_records += int(parsed["_csv_row"].sum())
        self._fragments += int(
            parsed.select(
                (
                    (pl.col(schema.LINE_KIND) == schema.REJECTED)
                    & line.str.contains(FRAGMENT)
                    & ~pl.col("_object")
                ).sum()
            ).item()
        )
        return parsed.drop(
            "_object", "_json", "_valid_json", "_header", "_json_record", "_csv_row"
        ).lazy()

    def _headers(self, frame: pl.DataFrame) -> tuple[list[Header | None], list[int]]:
        """The CSV headers in effect in this chunk (first: the one before it), and their lines."""
        line = pl.col(schema.RAW_LINE)
        candidate = line.str.contains(CSV_HEADER) & ~pl.col("_object")
        found = frame.filter(candidate).select("line_no", schema.RAW_LINE)
        headers: list[Header | None] = [self._header]
        starts: list[int] = []
        for line_no, text in found.iter_rows():  # one loop per header line, not per record
            if is_header(text):
                headers.append(Header.parse(text))
                starts.append(line_no)
        self._header = headers[-1]
        return headers, starts


def _decode(lines: pl.Series, is_object: pl.Series) -> tuple[pl.Series, pl.Series]:
    """JSON objects -> a struct of FIELDS (as text); and which lines were valid JSON.

    `str.json_decode` fails the whole column on one broken line, so then the lines
    that are valid JSON are found (one more parse) and decoded alone.  A field of an
    unexpected type (an object where text belongs) fails that too: then each field
    is read with `json_path_match`, slower but never failing.
    """
    objects = (
        pl.DataFrame({"line": lines, "object": is_object})
        .select(pl.when(pl.col("object")).then(pl.col("line")))
        .to_series()
    )
    decoded = _struct(objects)
    if decoded is not None:
        return decoded, is_object
    valid = objects.str.json_path_match("$").is_not_null()
    decoded = _struct(pl.select(pl.when(valid).then(objects)).to_series())
    if decoded is not None:
        return decoded, valid
    line = objects.to_frame("line").lazy().select(pl.col("line"))
    fields = [
        pl.col("line").str.json_path_match(f"$.{field}").alias(field)
        for field, dtype in FIELDS.items()
        if dtype == pl.String
    ]
    # an array comes back as JSON text: ["block","log"] -> block,log
    found = pl.col("line").str.json_path_match("$.SecurityActions")
    actions = found.str.replace_all(r'[\[\]"\s]', "").alias("SecurityActions")
    return line.select(pl.struct(*fields, actions)).collect().to_series(), valid


def _struct(objects: pl.Series) -> pl.Series | None:
    """The decoded struct (SecurityActions joined with commas); None when polars refuses."""
    try:
        decoded = objects.str.json_decode(pl.Struct(FIELDS))
    except pl.exceptions.PolarsError:
        return None
    joined = pl.col("_json").struct.with_fields(
        pl.field("SecurityActions").list.join(",").alias("SecurityActions")
    )
    return decoded.to_frame("_json").select(joined).to_series()


def detect(sample: pl.Series) -> Detection | None:
    """Cloudflare if sample lines are http_requests records (JSON, or CSV under a header)."""
    # a cheap look first: without a Cloudflare field name there is nothing to parse
    if not sample.str.contains(FIELD_NAME).any():
        return None
    probe = CloudflareParser()
    parsed = probe.parse(pl.LazyFrame({schema.RAW_LINE: sample}), {"status"}).collect()
    kinds = parsed.get_column(schema.LINE_KIND)
    matched = int(((kinds == schema.RECORD) | (kinds == schema.COMMENT)).sum())
    if matched == 0 and probe.fragments and bool(sample.str.contains(KEY).any()):
        # one object printed over several lines: claimed, so its lines are reported as unread
        matched = probe.fragments
    if matched == 0:
        return None
    return Detection(probe.fresh(), matched, len(sample))


def make_parser(layout_or_header: str | None) -> Parser:
    """None, 'json' or 'csv': read as found; a comma-separated field list: a CSV header."""
    if layout_or_header in (None, "json", "csv"):
        return CloudflareParser()
    assert layout_or_header is not None
    if not is_header(layout_or_header):
        raise LogstatError(
            f"cloudflare: {layout_or_header!r} is neither a layout (json, csv) nor a CSV header "
            "line naming http_requests fields, such as 'EdgeStartTimestamp,EdgeResponseStatus'",
            ExitCode.USAGE,
        )
    return CloudflareParser(Header.parse(layout_or_header))


def produced_by(columns: set[str]) -> pl.Expr:
    """Who produced the status: Cloudflare's edge ("proxy") or the origin ("upstream").

    - 520-527 and 530 are Cloudflare's own errors about the origin: proxy.
    - OriginResponseStatus 0 means no request reached the origin: the edge answered
      (cache hit, WAF or rate-limit block, redirect rule, Worker): proxy.
    - No OriginResponseStatus logged: proxy when the cache served the request or a
      security rule ended it at the edge, otherwise unknown.
    - The origin's status equals the edge's: passed through, upstream; a different
      one was replaced at the edge (e.g. 304 from the origin, 200 from cache): proxy.
    """
    status = pl.col("status")
    origin = pl.col("origin_response_status")
    edge_action = (
        pl.col("security_action").is_in(EDGE_ACTIONS)
        | pl.col("security_actions").str.contains(rf"(?:^|,)(?:{'|'.join(EDGE_ACTIONS)})(?:,|$)")
        | (pl.col("waf_action") == "block")
    ).fill_null(False)
    served_at_edge = pl.col("cache_cache_status").is_in(CACHE_SERVED).fill_null(False) | edge_action
    return (
        pl.when(status.is_null())
        .then(pl.lit("unknown"))
        .when(status.is_in(EDGE_ERRORS) | (origin == 0))
        .then(pl.lit("proxy"))
        .when(origin.is_null())
        .then(pl.when(served_at_edge).then(pl.lit("proxy")).otherwise(pl.lit("unknown")))
        .when(origin == status)
        .then(pl.lit("upstream"))
        .otherwise(pl.lit("proxy"))
    )


FORMAT = Format(
    name="cloudflare",
    title="Cloudflare Logpush / Logpull http_requests (NDJSON, or CSV with a header line)",
    vendors=("cloudflare",),
    layouts={
        "json": "one JSON object per line, any subset of the http_requests fields",
        "csv": "comma-separated values under a header line of field names",
    },
    make_parser=make_parser,
    detect=detect,
    produced_by=produced_by,
)
