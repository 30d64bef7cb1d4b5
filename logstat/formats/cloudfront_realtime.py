"""Amazon CloudFront real-time logs: tab-separated fields in the order the real-time log
configuration lists them, with no header.

A real-time log configuration chooses its fields; Kinesis Data Streams then carries one
request per record, the chosen fields in the documented order, separated by tabs,
`-` for an empty value:

    1764669600.123	203.0.113.7	0.001	200	11040	GET	https	d111111abcdef8.cloudfront.net ...

Nothing in a record names its fields, so logstat reads every field AWS documents, in
its order, unless told the configuration's list: `--format cloudfront_realtime
--log-format 'timestamp c-ip sc-status cs-method cs-uri-stem x-edge-result-type'`
(field names as the configuration names them, separated by spaces or commas).  The
fields are read as the standard logs' (formats/cloudfront.py): `timestamp` is seconds
since 1970 with milliseconds, the result types say who produced a status.

https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/real-time-logs.html
"""

from __future__ import annotations

import dataclasses
import re

import polars as pl

from logstat import schema
from logstat.errors import ExitCode, LogstatError
from logstat.formats import cloudfront
from logstat.formats.base import Detection
from logstat.formats.parser import Parser

# Every field a real-time log configuration can choose, in the order records hold them.
FIELDS = (
    "timestamp", "c-ip", "time-to-first-byte", "sc-status", "sc-bytes", "cs-method",
    "cs-protocol", "cs-host", "cs-uri-stem", "cs-bytes", "x-edge-location",
    "x-edge-request-id", "x-host-header", "time-taken", "cs-protocol-version", "c-ip-version",
    "cs-user-agent", "cs-referer", "cs-cookie", "cs-uri-query", "x-edge-response-result-type",
    "x-forwarded-for", "ssl-protocol", "ssl-cipher", "x-edge-result-type",
    "fle-encrypted-fields", "fle-status", "sc-content-type", "sc-content-len",
    "sc-range-start", "sc-range-end", "c-port", "x-edge-detailed-result-type", "c-country",
    "cs-accept-encoding", "cs-accept", "cache-behavior-path-pattern", "cs-headers",
    "cs-header-names", "cs-headers-count",
)  # fmt: skip
# the real-time names of the standard logs' fields
SAME_AS = {"cs-user-agent": "cs(User-Agent)", "cs-referer": "cs(Referer)", "cs-host": "cs(Host)",
           "cs-cookie": "cs(Cookie)"}  # fmt: skip


class RealtimeParser(cloudfront.CloudFrontParser):
    """Reads real-time records with one field list (no header to change it)."""

    def __init__(self, fields: tuple[str, ...] = FIELDS) -> None:
        super().__init__(tuple(SAME_AS.get(name, name) for name in fields))
        self.listed = fields

    def fresh(self) -> RealtimeParser:
        return RealtimeParser(self.listed)

    @property
    def description(self) -> str:
        every = self.listed == FIELDS
        return "cloudfront real-time log" + ("" if every else f" ({len(self.listed)} fields)")

    def columns(self) -> set[str]:
        return {"timestamp", *(cloudfront.column_of(SAME_AS.get(f, f)) for f in self.listed)}


def detect(sample: pl.Series) -> Detection | None:
    """Real-time records of every field: an epoch time with milliseconds first."""
    if not sample.str.contains(r"^[0-9]{9,10}\.[0-9]{1,3}\t").any():
        return None
    probe = RealtimeParser()
    parsed = probe.parse(pl.LazyFrame({schema.RAW_LINE: sample}), {"status"}).collect()
    records = int((parsed.get_column(schema.LINE_KIND) == schema.RECORD).sum())
    return Detection(probe.fresh(), records, len(sample)) if records else None


def make_parser(fields: str | None) -> Parser:
    """None or `all`: every field, in order; else the configuration's field list."""
    if fields is None or fields == "all":
        return RealtimeParser()
    listed = tuple(name for name in re.split(r"[\s,]+", fields) if name)
    unknown = [name for name in listed if name not in FIELDS]
    if "sc-status" not in listed or unknown:
        raise LogstatError(
            f"cloudfront_realtime: {fields!r} is no real-time field list with sc-status"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            + ", such as 'timestamp c-ip sc-status cs-method cs-uri-stem'",
            ExitCode.USAGE,
        )
    return RealtimeParser(listed)


FORMAT = dataclasses.replace(
    cloudfront.FORMAT,
    name="cloudfront_realtime",
    title="Amazon CloudFront real-time log (tab-separated, the configuration's fields)",
    layouts={"all": " ".join(FIELDS)},
    make_parser=make_parser,
    detect=detect,
)
