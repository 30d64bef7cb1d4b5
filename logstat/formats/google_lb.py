"""Google Cloud external Application Load Balancer (HTTP(S) Load Balancing) request logs.

Cloud Logging writes one LogEntry per sampled request; a log sink to Cloud Storage
(or `gcloud logging read --format=json` flattened to one entry per line) gives
NDJSON lines:

    {"httpRequest":{"requestMethod":"GET","requestUrl":"https://shop.example.com/cart",
     "status":502,"responseSize":"270","userAgent":"curl/8.5.0","remoteIp":"203.0.113.7",
     "latency":"0.012813s","protocol":"HTTP/1.1"},"jsonPayload":{"@type":"type.googleapis.com/
     google.cloud.loadbalancing.type.LoadBalancerLogEntry","statusDetails":
     "failed_to_connect_to_backend"},"resource":{"type":"http_load_balancer",...},
     "timestamp":"2026-12-02T10:00:00.123456Z",...}

(one line).  `httpRequest.status` is what the client got; `jsonPayload.statusDetails`
says why: `response_sent_by_backend` is the backend's status passed on, a failure
such as `backend_connection_closed_before_data_sent_to_client` the load balancer's
own (`produced_by`); the values are explained under Layer details
(status/google_lb_status_details.csv).  `latency` is seconds with an `s` suffix.

https://cloud.google.com/load-balancing/docs/https/https-logging-monitoring
"""

from __future__ import annotations

import polars as pl

from logstat.formats import json_records
from logstat.formats.base import Format
from logstat.formats.json_records import JsonRecords, Key, TextOf
from logstat.formats.template import (
    missing,
    split_url,
    to_integer,
    to_string,
    to_timestamp,
)

LOAD_BALANCER = "http_load_balancer"  # resource.type of the external Application LB
ENTRY_TYPE = "loadbalancing.type.LoadBalancerLogEntry"  # jsonPayload.@type ends so


def _latency(text: pl.Expr) -> dict[str, pl.Expr]:
    """Cloud Logging's Duration: `0.012813s`."""
    seconds = missing(text).str.strip_suffix("s").cast(pl.Float64, strict=False)
    return {"request_time_s": seconds}


def _http(name: str, convert: json_records.Converter, columns: tuple[str, ...]) -> Key:
    return Key(("httpRequest", name), convert, columns)


KEYS = (
    Key(("timestamp",), to_timestamp("%+"), ("timestamp",)),
    _http("remoteIp", to_string("client_ip"), ("client_ip",)),
    _http("requestMethod", to_string("method"), ("method",)),
    _http("requestUrl", split_url, ("host", "path", "query")),
    _http("protocol", to_string("protocol"), ("protocol",)),
    _http("status", to_integer("status"), ("status",)),
    _http("responseSize", to_integer("bytes_sent"), ("bytes_sent",)),
    _http("requestSize", to_integer("bytes_received"), ("bytes_received",)),
    _http("latency", _latency, ("request_time_s",)),
    _http("userAgent", to_string("user_agent"), ("user_agent",)),
    _http("referer", to_string("referer"), ("referer",)),
    _http("serverIp", to_string("server_ip"), ("server_ip",)),
    _http("cacheHit", to_string("cache_hit"), ("cache_hit",)),
    Key(("jsonPayload", "statusDetails"), to_string("status_details"), ("status_details",)),
    Key(("jsonPayload", "@type"), to_string("entry_type"), ("entry_type",), identifies=True),
    Key(
        ("jsonPayload", "enforcedSecurityPolicy", "outcome"),
        to_string("security_policy_outcome"),
        ("security_policy_outcome",),
    ),
    Key(("resource", "type"), to_string("resource_type"), ("resource_type",), identifies=True),
    Key(
        ("resource", "labels", "backend_service_name"),
        to_string("backend_service"),
        ("backend_service",),
    ),
    Key(("resource", "labels", "url_map_name"), to_string("url_map"), ("url_map",)),
    Key(("trace",), to_string("trace"), ("trace",)),
)
PRODUCED_BY_READS = frozenset({"status", "status_details"})


def _identify(text: TextOf) -> pl.Expr:
    return (text("resource.type") == LOAD_BALANCER) | text("jsonPayload.@type").str.ends_with(
        ENTRY_TYPE
    )


PARSER = JsonRecords(
    source="google_lb",
    name="cloud logging",
    keys=KEYS,
    status=("httpRequest", "status"),
    identify=_identify,
    why_not="JSON object of no Google Cloud load balancer (resource.type http_load_balancer)",
    always=PRODUCED_BY_READS,
)
MARKER = r'"httpRequest"\s*:'


# The details under which the backend's response (or its start) reached the client:
# the status is the backend's.  Cache answers are the load balancer's (Cloud CDN).
BACKENDS = (
    "response_sent_by_backend",
    "backend_connection_closed_after_partial_response_sent",
    "client_disconnected_after_partial_response",
    "websocket_closed",
)


def produced_by(columns: set[str]) -> pl.Expr:
    """Who produced the status, from `statusDetails`.

    `response_sent_by_backend`, and the failures that cut a backend's response after it
    had started, are the backend's status (`upstream`); any other detail (a failure to
    reach or pick a backend, a timeout, a Cloud Armor refusal, a cache answer) the load
    balancer's (`proxy`); no detail logged: unknown.
    https://cloud.google.com/load-balancing/docs/https/troubleshooting-ext-https-lbs
    """
    status, details = pl.col("status"), pl.col("status_details")
    return (
        pl.when(status.is_null() | details.is_null())
        .then(pl.lit("unknown"))
        .when(details.is_in(BACKENDS))
        .then(pl.lit("upstream"))
        .otherwise(pl.lit("proxy"))
    )


FORMAT = Format(
    name="google_lb",
    title="Google Cloud HTTP(S) Load Balancing request logs (Cloud Logging JSON, one per line)",
    vendors=("google_lb",),
    layouts={"json": "LogEntry lines: httpRequest.*, jsonPayload.statusDetails, resource.*"},
    make_parser=json_records.parser_maker(PARSER),
    detect=json_records.detector(PARSER, MARKER),
    produced_by=produced_by,
    produced_by_reads=PRODUCED_BY_READS,
)
