"""Caddy's structured logs: access entries (`log` directive), and its HTTP error entries.

Caddy 2 logs JSON through zap, one object per line, the request as an object:

    {"level":"info","ts":1646861401.5241024,"logger":"http.log.access.log0",
     "msg":"handled request","request":{"remote_ip":"127.0.0.1","remote_port":"41342",
     "client_ip":"127.0.0.1","proto":"HTTP/2.0","method":"GET","host":"localhost",
     "uri":"/","headers":{"User-Agent":["curl/7.82.0"]}},"bytes_read":0,"user_id":"",
     "duration":0.000929675,"size":10900,"status":200,"resp_headers":{"Server":["Caddy"]}}

(one line).  `ts` is seconds since 1970 (or the text `time_format` asks for),
`duration` seconds, `size` the response body's bytes.  A handler that fails (the
reverse proxy reaching no upstream, a file not found) is logged twice: an access
entry with the status the client got, and an entry of the `http.log.error` logger
with the same status, the error as `msg`, `err_id` and `err_trace` (the Caddy
function that failed: `reverseproxy.statusError`).  A file of access entries is read
as requests, its error and runtime entries as comments; a file of error entries alone
(the default logger's output) is read as those errors.

https://caddyserver.com/docs/caddyfile/directives/log
https://caddyserver.com/docs/logging
"""

from __future__ import annotations

import polars as pl

from logstat.errors import ExitCode, LogstatError
from logstat.formats import json_records
from logstat.formats.base import Detection, Format
from logstat.formats.json_records import JsonRecords, Key, TextOf
from logstat.formats.parser import Parser
from logstat.formats.template import (
    from_epoch_seconds,
    missing,
    split_target,
    to_integer,
    to_seconds,
    to_string,
    to_timestamp,
)

ACCESS_LOGGER = "http.log.access"  # and http.log.access.<name>
ERROR_LOGGER = "http.log.error"


def _time(text: pl.Expr) -> dict[str, pl.Expr]:
    """`ts`: seconds since 1970 (Caddy's default), else ISO 8601 text."""
    seconds = from_epoch_seconds(text)["timestamp"]
    return {"timestamp": pl.coalesce(seconds, to_timestamp("%+")(text)["timestamp"])}


def _trace(text: pl.Expr) -> dict[str, pl.Expr]:
    """`reverseproxy.statusError (reverseproxy.go:1269)` -> the function, without the
    line of Caddy's source it was on (that changes with every release)."""
    return {"error_trace": missing(text.str.replace(r" \([^)]*\)$", ""))}


def _request(name: str, convert: json_records.Converter, columns: tuple[str, ...]) -> Key:
    return Key(("request", name), convert, columns)


def _header(path: tuple[str, ...], column: str) -> Key:
    return Key(path, to_string(column), (column,), listed=True)


COMMON = (
    Key(("ts",), _time, ("timestamp",)),
    Key(("logger",), to_string("logger"), ("logger",), identifies=True),
    # client_ip (Caddy 2.7+) is the client behind trusted proxies; remote_ip the peer
    _request("client_ip", to_string("client_ip"), ("client_ip",)),
    _request("remote_ip", to_string("client_ip"), ("client_ip",)),
    _request("host", to_string("host"), ("host",)),
    _request("method", to_string("method"), ("method",)),
    _request("uri", split_target, ("path", "query")),
    _request("proto", to_string("protocol"), ("protocol",)),
    _header(("request", "headers", "User-Agent"), "user_agent"),
    _header(("request", "headers", "Referer"), "referer"),
    Key(("status",), to_integer("status"), ("status",)),
    Key(("duration",), to_seconds("request_time_s", 1), ("request_time_s",)),
)
ACCESS_KEYS = (
    *COMMON,
    Key(("size",), to_integer("bytes_sent"), ("bytes_sent",)),
    Key(("bytes_read",), to_integer("bytes_received"), ("bytes_received",)),
    Key(("user_id",), to_string("user_id"), ("user_id",)),
    # what produced_by reads: headers an upstream's answer brings along
    _header(("resp_headers", "Date"), "response_date"),
    _header(("resp_headers", "Content-Type"), "response_content_type"),
)
ERROR_KEYS = (
    *COMMON,
    Key(("msg",), to_string("error_message"), ("error_message",)),
    Key(("err_id",), to_string("error_id"), ("error_id",)),
    Key(("err_trace",), _trace, ("error_trace",)),
)


def _is_logger(text: TextOf, prefix: str) -> pl.Expr:
    logger = text("logger")
    return (logger == prefix) | logger.str.starts_with(prefix + ".")


def _any_logger(text: TextOf) -> pl.Expr:
    return text("logger").is_not_null()


ACCESS = JsonRecords(
    source="caddy",
    name="access",
    keys=ACCESS_KEYS,
    status=("status",),
    identify=lambda text: _is_logger(text, ACCESS_LOGGER),
    why_not="JSON object of no Caddy logger",
    comment=_any_logger,
    always=frozenset({"status", "bytes_sent", "response_date", "response_content_type"}),
)
ERRORS = JsonRecords(
    source="caddy",
    name="errors",
    keys=ERROR_KEYS,
    status=("status",),
    identify=lambda text: _is_logger(text, ERROR_LOGGER),
    why_not="JSON object of no Caddy logger",
    comment=_any_logger,
    always=frozenset({"status", "error_trace"}),
)
LAYOUTS = {"access": ACCESS, "errors": ERRORS}
MARKER = r'"logger"\s*:\s*"http\.log\.(?:access|error)'


def detect(sample: pl.Series) -> Detection | None:
    """Access entries make a file Caddy's access log; error entries alone its errors."""
    found = json_records.detect(ACCESS, sample, MARKER)
    if found is not None:
        return found
    return json_records.detect(ERRORS, sample, MARKER)


def make_parser(layout: str | None) -> Parser:
    if layout is None:
        return ACCESS
    if layout not in LAYOUTS:
        raise LogstatError(
            f"caddy: {layout!r} is no layout; known: {', '.join(LAYOUTS)}", ExitCode.USAGE
        )
    return LAYOUTS[layout]


def produced_by(columns: set[str]) -> pl.Expr:
    """Who produced the status: Caddy itself ("proxy") or an upstream it proxied to.

    - An error entry: Caddy's own status for an error a handler returned (the reverse
      proxy reaching no upstream: 502, 503, 504; a file not found: 404): proxy.
    - An access entry whose response headers hold `Date`: the reverse proxy copied an
      upstream's answer (Caddy's own responses get their Date only as they are sent,
      after the headers are logged): upstream.
    - An access entry of an error status with no body and neither `Date` nor
      `Content-Type`: the bare status Caddy writes for a handler's error when no
      `handle_errors` route answers: proxy.
    - Otherwise unknown.
    """
    status = pl.col("status")
    if "error_trace" in columns:
        return pl.when(status.is_null()).then(pl.lit("unknown")).otherwise(pl.lit("proxy"))
    date = pl.col("response_date")
    bare = (
        (status >= 400)
        & (pl.col("bytes_sent") == 0)
        & pl.col("response_content_type").is_null()
        & date.is_null()
    )
    return (
        pl.when(status.is_null())
        .then(pl.lit("unknown"))
        .when(date.is_not_null())
        .then(pl.lit("upstream"))
        .when(bare.fill_null(False))
        .then(pl.lit("proxy"))
        .otherwise(pl.lit("unknown"))
    )


FORMAT = Format(
    name="caddy",
    title="Caddy structured log (access entries, or http.log.error entries)",
    vendors=("caddy",),
    layouts={
        "access": "JSON lines of the http.log.access logger: request.*, status, size, duration",
        "errors": "JSON lines of the http.log.error logger: request.*, status, err_id, err_trace",
    },
    make_parser=make_parser,
    detect=detect,
    produced_by=produced_by,
    produced_by_reads=frozenset(
        {"status", "bytes_sent", "response_date", "response_content_type", "error_trace"}
    ),
)
