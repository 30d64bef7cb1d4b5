"""Azure Front Door access logs (Standard/Premium `FrontDoorAccessLog`, and classic).

One resource-log record per line (a diagnostic setting archiving to a storage
account), the request under `properties`:

    {"time":"2026-12-02T10:00:03.1234567Z","category":"FrontDoorAccessLog",
     "properties":{"httpMethod":"GET","requestUri":"https://www.contoso.com:443/cart",
     "httpStatusCode":"502","errorInfo":"OriginConnectionError","cacheStatus":"MISS",
     "clientIp":"203.0.113.7","timeTaken":"0.051",...}}

(one line).  `httpStatusCode` is what the client got (0 when the origin timed out,
499 when the client left); `errorInfo` (`ErrorInfo` in classic logs) says what went
wrong, `NoError` when nothing did, and so who produced the status (`produced_by`); its
values are explained under Layer details (status/azure_front_door_error_info.csv).

https://learn.microsoft.com/en-us/azure/frontdoor/monitor-front-door-reference
"""

from __future__ import annotations

import polars as pl

from logstat.formats import json_records
from logstat.formats.azure import CATEGORY, TIMES, field
from logstat.formats.base import Format
from logstat.formats.json_records import JsonRecords, TextOf
from logstat.formats.template import split_url, to_integer, to_seconds, to_string

CATEGORIES = ("FrontDoorAccessLog", "FrontdoorAccessLog")  # Standard/Premium, classic
KEYS = (
    *TIMES,
    CATEGORY,
    field("clientIp", to_string("client_ip"), ("client_ip",)),
    field("clientIP", to_string("client_ip"), ("client_ip",)),
    field("httpMethod", to_string("method"), ("method",)),
    field("requestUri", split_url, ("host", "path", "query")),
    field("hostName", to_string("host"), ("host",)),
    field("httpVersion", to_string("protocol"), ("protocol",)),
    field("httpStatusCode", to_integer("status"), ("status",)),
    field("responseBytes", to_integer("bytes_sent"), ("bytes_sent",)),
    field("timeTaken", to_seconds("request_time_s", 1), ("request_time_s",)),
    field("userAgent", to_string("user_agent"), ("user_agent",)),
    field("referer", to_string("referer"), ("referer",)),
    field("referrer", to_string("referer"), ("referer",)),
    field("errorInfo", to_string("front_door_error_info"), ("front_door_error_info",)),
    field("ErrorInfo", to_string("front_door_error_info"), ("front_door_error_info",)),
    field("cacheStatus", to_string("cache_status"), ("cache_status",)),
    field("pop", to_string("pop"), ("pop",)),
    field("originName", to_string("origin_name"), ("origin_name",)),
    field("routeName", to_string("route_name"), ("route_name",)),
    field("trackingReference", to_string("tracking_reference"), ("tracking_reference",)),
)
PRODUCED_BY_READS = frozenset({"status", "front_door_error_info", "cache_status"})


def _identify(text: TextOf) -> pl.Expr:
    return text("category").is_in(CATEGORIES)


PARSER = JsonRecords(
    source="azure_front_door",
    name="access log",
    keys=KEYS,
    status=("properties", "httpStatusCode"),
    identify=_identify,
    why_not="JSON object of no Front Door access log (category FrontDoorAccessLog)",
    always=PRODUCED_BY_READS,
)
MARKER = r'"httpStatusCode"\s*:'


CACHE_SERVED = ("HIT", "REMOTE_HIT")  # answered from Front Door's cache


def produced_by(columns: set[str]) -> pl.Expr:
    """Who produced the status, from `errorInfo` and `cacheStatus`.

    Status 0 (the origin timed out) and any `errorInfo` but `NoError` (no connection to
    the origin, a TLS or DNS failure, a blocked client, the client leaving: 499) are Front
    Door's own (`proxy`).  With `NoError`, a cache hit or a request the Rules Engine or a
    signed URL answered (`N/A`) is Front Door's too; any other request went to the
    origin and carries its status (`upstream`).  No `errorInfo` logged: unknown.
    """
    status, error = pl.col("status"), pl.col("front_door_error_info")
    cache = pl.col("cache_status")
    return (
        pl.when(status.is_null())
        .then(pl.lit("unknown"))
        .when(status == 0)
        .then(pl.lit("proxy"))
        .when(error.is_null())
        .then(pl.lit("unknown"))
        .when(error != "NoError")
        .then(pl.lit("proxy"))
        .when(cache.is_in([*CACHE_SERVED, "N/A"]).fill_null(False))
        .then(pl.lit("proxy"))
        .otherwise(pl.lit("upstream"))
    )


FORMAT = Format(
    name="azure_front_door",
    title="Azure Front Door access log (resource-log JSON records, one per line)",
    vendors=("azure_front_door",),
    layouts={"json": "records of category FrontDoorAccessLog: properties.httpStatusCode ..."},
    make_parser=json_records.parser_maker(PARSER),
    detect=json_records.detector(PARSER, MARKER),
    produced_by=produced_by,
    produced_by_reads=PRODUCED_BY_READS,
)
