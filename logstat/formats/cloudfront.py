"""Amazon CloudFront standard logs: W3C, tab-separated, fields named by a `#Fields` line.

CloudFront writes gzip files to S3 (`<distribution>.YYYY-MM-DD-HH.<id>.gz`), each
starting with `#Version: 1.0` and `#Fields: date time x-edge-location ...`, then one
request per line, fields separated by tabs, `-` for an empty value:

    2019-12-04	21:02:31	LAX1	392	192.0.2.100	GET	d111111abcdef8.cloudfront.net
    /index.html	200	-	Mozilla/5.0%20(Windows%20NT%2010.0;...)	-	-	Hit	SOX4...==
    d111111abcdef8.cloudfront.net	https	23	0.001	-	TLSv1.2	ECDHE-RSA-AES128-GCM-SHA256
    Hit	HTTP/2.0	-	-	11040	0.001	Hit	text/html	78	-	-

(one line).  Lines are read with the `#Fields` list above them, kept from one chunk of
a file to the next; a file whose header was dropped (shippers do) is read with the
standard list, which AWS only ever extended at its end, so a line of N fields holds
its first N.  `x-edge-result-type` and `x-edge-detailed-result-type` say whether the
edge or the origin answered (`produced_by`); the detailed type is explained under
Layer details (status/cloudfront_result_types.csv).

https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import polars as pl

from logstat import schema
from logstat.errors import ExitCode, LogstatError
from logstat.formats.base import Detection, Format
from logstat.formats.chunks import Position, numbered
from logstat.formats.iis import first_true, latest
from logstat.formats.parser import Parser
from logstat.formats.template import from_epoch_seconds, missing

# The standard field list, in the order CloudFront writes it (new fields only ever appended).
STANDARD = (
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)",
    "cs-uri-stem", "sc-status", "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "cs(Cookie)",
    "x-edge-result-type", "x-edge-request-id", "x-host-header", "cs-protocol", "cs-bytes",
    "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher",
    "x-edge-response-result-type", "cs-protocol-version", "fle-status", "fle-encrypted-fields",
    "c-port", "time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type",
    "sc-content-len", "sc-range-start", "sc-range-end",
)  # fmt: skip
SHORTEST = STANDARD.index("x-edge-result-type") + 1  # the oldest logs end a few fields later
FIELDS_DIRECTIVE = "#Fields:"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _decoded(text: pl.Expr) -> pl.Expr:
    """CloudFront URL-encodes spaces in header values (%20), some twice (%2520)."""
    return (
        missing(text)
        .str.replace_all("%2520", " ", literal=True)
        .str.replace_all("%20", " ", literal=True)
    )


def _integer(text: pl.Expr) -> pl.Expr:
    return missing(text).cast(pl.Int64, strict=False)


def _seconds(text: pl.Expr) -> pl.Expr:
    return missing(text).cast(pl.Float64, strict=False)


# field -> (column, converter); other fields become string columns named after them
COLUMNS: dict[str, tuple[str, Callable[[pl.Expr], pl.Expr]]] = {
    "x-edge-location": ("edge_location", missing),
    "sc-bytes": ("bytes_sent", _integer),
    "c-ip": ("client_ip", missing),
    "cs-method": ("method", missing),
    "cs(host)": ("distribution_host", missing),  # d111111abcdef8.cloudfront.net
    "cs-uri-stem": ("path", missing),
    "sc-status": ("status", _integer),  # 000: the viewer left before a response
    "cs(referer)": ("referer", _decoded),
    "cs(user-agent)": ("user_agent", _decoded),
    "cs-uri-query": ("query", missing),
    "cs(cookie)": ("cookie", missing),
    "x-edge-result-type": ("edge_result_type", missing),
    "x-edge-request-id": ("request_id", missing),
    "x-host-header": ("host", missing),  # the Host the viewer sent (an alternate name)
    "cs-protocol": ("scheme", missing),
    "cs-bytes": ("bytes_received", _integer),
    "time-taken": ("request_time_s", _seconds),
    "x-forwarded-for": ("http_x_forwarded_for", missing),
    "ssl-protocol": ("ssl_protocol", missing),
    "ssl-cipher": ("ssl_cipher", missing),
    "x-edge-response-result-type": ("edge_response_result_type", missing),
    "cs-protocol-version": ("protocol", missing),
    "c-port": ("client_port", _integer),
    "time-to-first-byte": ("time_to_first_byte_s", _seconds),
    "x-edge-detailed-result-type": ("edge_detailed_result_type", missing),
    "c-country": ("client_country", missing),
}
# what produced_by reads
PRODUCED_BY_READS = frozenset(
    {"status", "edge_result_type", "edge_response_result_type", "edge_detailed_result_type"}
)


def column_of(field: str) -> str:
    known = COLUMNS.get(field.lower())
    return known[0] if known else field.lower().replace("(", "_").replace(")", "").replace("-", "_")


class CloudFrontParser:
    """Reads one CloudFront log file; keeps the `#Fields` list in effect between chunks."""

    keeps_state: ClassVar[bool] = True

    def __init__(self, fields: tuple[str, ...] | None = None) -> None:
        self._initial = fields
        # the list in effect at the end of the detection sample: for a file read on
        # from the middle (--state), below its header
        self._resume: tuple[str, ...] | None = None
        self._position = Position()
        self._start()

    def _start(self) -> None:
        self._fields = self._initial
        self._seen: set[str] = set()

    def _resumed(self) -> None:
        """Read from the middle of the file: below the header the detection sample showed."""
        if self._resume is not None:
            self._fields = self._resume

    def fresh(self) -> CloudFrontParser:
        parser = CloudFrontParser(self._initial)
        parser._resume = self._fields
        return parser

    @property
    def description(self) -> str:
        return "cloudfront standard log" + (
            "" if self._fields else " (no #Fields: standard fields)"
        )

    def columns(self) -> set[str]:
        return {"timestamp", *(column_of(field) for field in STANDARD[2:])} | self._seen

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        frame = numbered(lines)
        self._position.enter(frame, self._start, self._resumed)
        line = pl.col(schema.RAW_LINE)
        headers = frame.filter(line.str.starts_with(FIELDS_DIRECTIVE))
        lists: list[tuple[str, ...] | None] = [self._fields]
        lists += [
            tuple(text.removeprefix(FIELDS_DIRECTIVE).split()) for text in headers[schema.RAW_LINE]
        ]
        self._fields = lists[-1]
        for fields in lists:
            self._seen |= {column_of(field) for field in fields or ()}
        starts = headers["line_no"].cast(pl.Int64).to_list()
        segment = latest(starts, list(range(len(lists))), pl.UInt32())
        wanted = None if needed is None else needed | PRODUCED_BY_READS
        directive = line.str.starts_with("#")
        frame = frame.with_columns(segment.alias(_SEGMENT))
        readings = [_Reading(fields, wanted) for fields in lists]
        # each list's regex reads only its own lines: the others are null to it
        frame = frame.with_columns(
            pl.when((pl.col(_SEGMENT) == index) & ~directive)
            .then(line)
            .str.extract_groups(reading.regex)
            .alias(f"{_GROUPS}{index}")
            for index, reading in enumerate(readings)
        )
        matched = pl.any_horizontal(
            pl.col(f"{_GROUPS}{index}").struct.field("matched").is_not_null()
            for index in range(len(readings))
        )
        by_column: dict[str, list[tuple[pl.Expr, pl.Expr]]] = {}
        for index, reading in enumerate(readings):
            groups = pl.col(f"{_GROUPS}{index}")
            in_segment = pl.col(_SEGMENT) == index
            for column, value in reading.values(groups).items():
                by_column.setdefault(column, []).append((in_segment, value))
        expected = first_true(
            [
                (pl.col(_SEGMENT) == index, pl.lit(len(fields)))
                for index, fields in enumerate(lists)
                if fields is not None
            ],
            pl.Int64(),
        )
        blank = line.str.strip_chars() == ""
        record = ~directive & matched
        # the reasons are worked out for rejected lines only
        count = pl.when(~record & ~directive & ~blank).then(line).str.count_matches("\t") + 1
        reason = (
            pl.when(record | directive)
            .then(None)
            .when(blank)
            .then(pl.lit("empty line"))
            .when(expected.is_not_null() & (count != expected))
            .then(pl.format("has {} fields, #Fields lists {}", count, expected))
            .when(expected.is_null() & (count < SHORTEST))
            .then(
                pl.lit(f"no #Fields header, and fewer fields than CloudFront writes ({SHORTEST})")
            )
            .otherwise(pl.lit("not a CloudFront log line (date, time, status)"))
        )
        tails = [
            pl.col(f"{_GROUPS}{index}").struct.field("tail")
            for index, fields in enumerate(lists)
            if fields is None
        ]
        trailing = pl.coalesce(tails).str.count_matches("\t") if tails else pl.lit(None)
        return (
            frame.lazy()
            .with_columns(
                pl.when(directive)
                .then(pl.lit(schema.COMMENT))
                .when(record)
                .then(pl.lit(schema.RECORD))
                .otherwise(pl.lit(schema.REJECTED))
                .alias(schema.LINE_KIND),
                reason.alias(schema.REJECT_REASON),
                # fields AWS appends after those logstat knows (no #Fields header)
                pl.when(record & (trailing > 0))
                .then(trailing)
                .cast(pl.UInt32)
                .alias(schema.TRAILING_FIELDS),
                *(
                    pl.when(record).then(first_true(pairs)).alias(column)
                    for column, pairs in by_column.items()
                ),
                # what produced_by reads, null where the field list has no such field
                *(
                    pl.lit(None, dtype=schema.COLUMNS.get(column, pl.String())).alias(column)
                    for column in sorted(PRODUCED_BY_READS - set(by_column))
                ),
            )
            .drop(_SEGMENT, *(f"{_GROUPS}{index}" for index in range(len(readings))))
        )


_SEGMENT = "_cloudfront_segment"
_GROUPS = "_cloudfront_fields"
FIELD = r"[^\t]*"
# the fields checked as the line is read: a line whose fields are not these is no record
SHAPES = {
    "timestamp": r"[0-9]{9,10}\.[0-9]{1,6}",  # real-time logs: seconds since 1970
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "time": r"[0-9]{2}:[0-9]{2}:[0-9]{2}",
    "sc-status": r"[0-9]{1,4}",
}


class _Reading:
    """One field list as a regex over tab-separated fields, capturing the needed ones.

    The fields are told apart by their tabs alone, so the regex runs in one pass.  With
    no `#Fields` (None) it reads the standard list as far as the line goes: every field
    after the first SHORTEST is optional, and text after the last one is the `tail`.
    """

    def __init__(self, fields: tuple[str, ...] | None, wanted: set[str] | None) -> None:
        names = [name.lower() for name in (fields if fields is not None else STANDARD)]
        self.fields = names
        capture = {
            index
            for index, name in enumerate(names)
            if wanted is None
            or column_of(name) in wanted
            or (name in ("date", "time", "timestamp") and "timestamp" in wanted)
        }
        parts = [
            (f"(?P<f{index}>" if index in capture else "(?:") + SHAPES.get(name, FIELD) + ")"
            for index, name in enumerate(names)
        ]
        if fields is not None:
            self.regex = "^(?P<matched>)" + "\t".join(parts) + "$"
        else:
            optional = parts[SHORTEST:]
            self.regex = (
                "^(?P<matched>)"
                + "\t".join(parts[:SHORTEST])
                + "".join(f"(?:\t{part}" for part in optional)
                + "(?P<tail>\t.*)?"
                + ")?" * len(optional)
                + "$"
            )
        self.capture = capture

    def values(self, groups: pl.Expr) -> dict[str, pl.Expr]:
        def text(name: str) -> pl.Expr:
            return groups.struct.field(f"f{self.fields.index(name)}")

        values: dict[str, pl.Expr] = {}
        names = self.fields
        if {"date", "time"} <= set(names) and self.fields.index("date") in self.capture:
            values["timestamp"] = (text("date") + pl.lit(" ") + text("time")).str.to_datetime(
                "%Y-%m-%d %H:%M:%S", strict=False, time_unit="us", time_zone="UTC"
            )
        if "timestamp" in names and names.index("timestamp") in self.capture:
            values["timestamp"] = from_epoch_seconds(text("timestamp"))["timestamp"]
        for index, name in enumerate(names):
            if name in ("date", "time", "timestamp") or index not in self.capture:
                continue
            column = column_of(name)
            convert = COLUMNS.get(name, (column, missing))[1]
            values.setdefault(column, convert(text(name)))
        return values


def detect(sample: pl.Series) -> Detection | None:
    """CloudFront if the sample holds its directives or tab-separated request lines."""
    if not sample.str.contains(
        r"^(?:#Fields: date time x-edge-location|[0-9]{4}-[0-9]{2}-[0-9]{2}\t)"
    ).any():
        return None
    probe = CloudFrontParser()
    parsed = probe.parse(pl.LazyFrame({schema.RAW_LINE: sample}), {"status"}).collect()
    kinds = parsed.get_column(schema.LINE_KIND)
    records = int((kinds == schema.RECORD).sum())
    if records == 0 and not sample.str.starts_with("#Fields: date time x-edge-location").any():
        return None
    return Detection(probe.fresh(), records + int((kinds == schema.COMMENT).sum()), len(sample))


def make_parser(fields: str | None) -> Parser:
    """None: read #Fields from the file; a field list: read the lines with it until one."""
    if fields is None or fields == "standard":
        return CloudFrontParser()
    listed = tuple(fields.removeprefix(FIELDS_DIRECTIVE).split())
    if "sc-status" not in listed:
        raise LogstatError(
            f"cloudfront: {fields!r} is no #Fields list with sc-status, such as "
            "'date time c-ip cs-method cs-uri-stem sc-status'",
            ExitCode.USAGE,
        )
    return CloudFrontParser(listed)


# How CloudFront served the request: from its cache or by itself, or from the origin.
EDGE_SERVED = (
    "Hit", "RefreshHit", "OriginShieldHit", "Redirect", "LimitExceeded", "CapacityExceeded",
    "MissGeneratedResponse", "LambdaGeneratedResponse",
)  # fmt: skip
# Error types under which CloudFront answered by itself: the origin failed or was never
# asked (Origin*Error, AbortedOrigin), the viewer's request was refused (Invalid*,
# ClientGeoBlocked), an edge function failed (Lambda*, Function*)
EDGE_ERRORS = r"^(?:Origin|Aborted|SlowReader|Invalid|ClientGeo|Lambda|Function)"


def produced_by(columns: set[str]) -> pl.Expr:
    """Who produced the status, from CloudFront's result types.

    000 (the viewer left first) is CloudFront's.  A request that ended in an error
    (`x-edge-result-type` Error) is told apart by `x-edge-detailed-result-type`: the
    origin failing (OriginConnectError, OriginDnsError, OriginCommError ...), a refused
    request or a failed edge function mean CloudFront made the status up (`proxy`); a
    plain `Error` is an origin's error passed on or one served from the cache (unknown).
    When the viewer only left mid-download (result type Error, response result type
    not), the response's own type counts.  Otherwise a Miss is the origin's status
    (`upstream`); a Hit, a redirect, an exceeded quota or a generated response the edge's.
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html
    """
    status = pl.col("status")
    if "edge_result_type" not in columns:
        return pl.when(status == 0).then(pl.lit("proxy")).otherwise(pl.lit("unknown"))
    result = pl.col("edge_result_type")
    served = result
    if "edge_response_result_type" in columns:
        response = pl.col("edge_response_result_type")
        left_mid_download = (result == "Error") & response.is_not_null() & (response != "Error")
        served = pl.when(left_mid_download).then(response).otherwise(result)
    detailed = (
        pl.col("edge_detailed_result_type") if "edge_detailed_result_type" in columns else result
    )
    return (
        pl.when(status.is_null())
        .then(pl.lit("unknown"))
        .when(status == 0)
        .then(pl.lit("proxy"))
        .when(served.is_in(EDGE_SERVED))
        .then(pl.lit("proxy"))
        .when(served == "Miss")
        .then(pl.lit("upstream"))
        .when(detailed.str.contains(EDGE_ERRORS).fill_null(False))
        .then(pl.lit("proxy"))
        .otherwise(pl.lit("unknown"))
    )


FORMAT = Format(
    name="cloudfront",
    title="Amazon CloudFront standard log (W3C, tab-separated, #Fields)",
    vendors=("cloudfront",),
    layouts={"standard": " ".join(STANDARD)},
    make_parser=make_parser,
    detect=detect,
    produced_by=produced_by,
    produced_by_reads=PRODUCED_BY_READS,
)
