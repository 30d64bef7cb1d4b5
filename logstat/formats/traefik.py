"""Traefik access logs in JSON (`accessLog.format: json`), Traefik v2 and v3.

One object per line, keys named by Traefik's access-log middleware:

    {"ClientHost":"192.0.2.10","DownstreamContentSize":11,"DownstreamStatus":502,
     "Duration":1623417,"OriginContentSize":11,"OriginDuration":1488263,"OriginStatus":502,
     "RequestHost":"shop.example.com","RequestMethod":"GET","RequestPath":"/cart",
     "RequestProtocol":"HTTP/1.1","RouterName":"shop@docker","ServiceName":"shop@docker",
     "ServiceURL":"http://172.18.0.3:8080","StartUTC":"2026-12-02T10:00:00.123456789Z",...}

(one line).  `DownstreamStatus` is what the client got, `OriginStatus` what the
service's server answered: 0 when no server was asked (a redirect, no matching
router, a middleware that refused), so Traefik produced the status.  Traefik's own
reverse-proxy errors are written where the server's answer would be, so a 502 or 504
Traefik made up has the same OriginStatus; it is told by its body, Traefik's status
text (`Bad Gateway`, 11 bytes).  `Duration` and `OriginDuration` are nanoseconds.
Traefik's Common Log Format is read by the nginx format's `traefik` layout.

https://doc.traefik.io/traefik/observability/access-logs/
https://github.com/traefik/traefik/blob/master/pkg/middlewares/accesslog/logdata.go
"""

from __future__ import annotations

import polars as pl

from logstat.formats import json_records
from logstat.formats.base import Format
from logstat.formats.json_records import JsonRecords, Key
from logstat.formats.template import (
    missing,
    split_target,
    to_integer,
    to_seconds,
    to_string,
    to_timestamp,
)


def _key(name: str, convert: json_records.Converter, columns: tuple[str, ...]) -> Key:
    return Key((name,), convert, columns, identifies=name in IDENTIFYING)


def _origin_status(text: pl.Expr) -> dict[str, pl.Expr]:
    """OriginStatus 0 is no server's answer: no upstream status, but kept as logged."""
    origin = missing(text).cast(pl.Int16, strict=False)
    return {"upstream_status": pl.when(origin != 0).then(origin), "origin_status": origin}


def _nanoseconds(column: str) -> json_records.Converter:
    """Go's time.Duration, whole nanoseconds, as seconds without binary float noise."""
    seconds = to_seconds(column, 1e9)
    return lambda text: {column: seconds(text)[column].round(9)}


# keys only Traefik's records hold beside DownstreamStatus
IDENTIFYING = ("OriginStatus", "RouterName", "Duration", "RequestMethod")
TIMES = ("StartUTC", "StartLocal")  # the first present is the request's start
KEYS = (
    *(_key(name, to_timestamp("%+"), ("timestamp",)) for name in TIMES),
    _key("ClientHost", to_string("client_ip"), ("client_ip",)),
    _key("RequestHost", to_string("host"), ("host",)),
    _key("RequestMethod", to_string("method"), ("method",)),
    _key("RequestPath", split_target, ("path", "query")),
    _key("RequestProtocol", to_string("protocol"), ("protocol",)),
    _key("RequestScheme", to_string("scheme"), ("scheme",)),
    _key("DownstreamStatus", to_integer("status"), ("status",)),
    _key("OriginStatus", _origin_status, ("upstream_status", "origin_status")),
    _key("DownstreamContentSize", to_integer("bytes_sent"), ("bytes_sent",)),
    _key("OriginContentSize", to_integer("origin_content_size"), ("origin_content_size",)),
    _key("Duration", _nanoseconds("request_time_s"), ("request_time_s",)),
    _key("OriginDuration", _nanoseconds("origin_time_s"), ("origin_time_s",)),
    _key("RouterName", to_string("router_name"), ("router_name",)),
    _key("ServiceName", to_string("service_name"), ("service_name",)),
    _key("ServiceURL", to_string("service_url"), ("service_url",)),
    _key("RetryAttempts", to_integer("retry_attempts", pl.Int64()), ("retry_attempts",)),
    _key("entryPointName", to_string("entry_point"), ("entry_point",)),
    # headers, logged when accessLog.fields.headers keeps them
    _key("request_User-Agent", to_string("user_agent"), ("user_agent",)),
    _key("request_Referer", to_string("referer"), ("referer",)),
)
PRODUCED_BY_READS = frozenset({"status", "origin_status", "origin_content_size"})


def _identify(text: json_records.TextOf) -> pl.Expr:
    return pl.any_horizontal(text(name).is_not_null() for name in IDENTIFYING)


PARSER = JsonRecords(
    source="traefik",
    name="json",
    keys=KEYS,
    status=("DownstreamStatus",),
    identify=_identify,
    why_not="JSON object without Traefik's access-log fields",
    always=PRODUCED_BY_READS,
    derive=lambda: {"upstream_status": pl.when(~_own_body()).then(pl.col("upstream_status"))},
)
# a cheap look before decoding: Traefik's status key, quoted
MARKER = r'"DownstreamStatus"\s*:'


# Traefik's own answers from its reverse proxy and load balancer, by status: the body
# it writes (the status text; "no available server" and a line end for 503).
# https://github.com/traefik/traefik/blob/master/pkg/proxy/httputil/proxy.go
# https://github.com/traefik/traefik/blob/master/pkg/server/service/loadbalancer/wrr/wrr.go
OWN_BODIES = {
    499: len("Client Closed Request"),
    500: len("Internal Server Error"),
    502: len("Bad Gateway"),
    503: len("no available server\n"),
    504: len("Gateway Timeout"),
}


def _own_body() -> pl.Expr:
    """OriginStatus is one Traefik writes when forwarding fails, with the body it writes
    then: no server's answer."""
    origin, size = pl.col("origin_status"), pl.col("origin_content_size")
    own = pl.lit(False)
    for code, length in OWN_BODIES.items():
        own = own | ((origin == code) & (size == length))
    return own.fill_null(False)


def produced_by(columns: set[str]) -> pl.Expr:
    """Who produced the status: Traefik ("proxy") or the service's server ("upstream").

    - OriginStatus 0: no server answered (a redirect, no router, a middleware refused):
      Traefik's.
    - OriginStatus unlike DownstreamStatus: Traefik replaced the server's status.
    - The same status, one Traefik writes when forwarding fails (499, 500, 502, 503,
      504) with Traefik's own body size: Traefik's; with OriginContentSize not logged,
      unknown; otherwise the server's status passed on.
    - No OriginStatus logged: unknown.
    """
    status = pl.col("status")
    origin = pl.col("origin_status")
    size = pl.col("origin_content_size")
    return (
        pl.when(status.is_null() | origin.is_null())
        .then(pl.lit("unknown"))
        .when((origin == 0) | (origin != status))
        .then(pl.lit("proxy"))
        .when(_own_body())
        .then(pl.lit("proxy"))
        .when(status.is_in(list(OWN_BODIES)) & size.is_null())
        .then(pl.lit("unknown"))
        .otherwise(pl.lit("upstream"))
    )


FORMAT = Format(
    name="traefik",
    title="Traefik JSON access log (accessLog.format: json)",
    vendors=("traefik",),
    layouts={"json": "one JSON object per line: " + ", ".join(key.path[0] for key in KEYS)},
    make_parser=json_records.parser_maker(PARSER),
    detect=json_records.detector(PARSER, MARKER),
    produced_by=produced_by,
    produced_by_reads=PRODUCED_BY_READS,
)
