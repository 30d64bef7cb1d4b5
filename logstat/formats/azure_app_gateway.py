"""Azure Application Gateway access logs (`ApplicationGatewayAccessLog`, v2 and v1).

One resource-log record per line, the request under `properties`: `httpStatus` is what
the client got, `serverStatus` what the backend answered (v2), `error_info` why the
gateway could not complete a request (`ERRORINFO_UPSTREAM_NO_LIVE` ...,
`ERRORINFO_NO_ERROR` when it could), explained under Layer details
(status/azure_app_gateway_error_info.csv).  `timeTaken` is seconds in v2 (`timeStamp`)
and milliseconds in v1 (`time`).

https://learn.microsoft.com/en-us/azure/application-gateway/monitor-application-gateway-reference
"""

from __future__ import annotations

import polars as pl

from logstat.formats import json_records
from logstat.formats.azure import CATEGORY, field
from logstat.formats.base import Format
from logstat.formats.json_records import JsonRecords, Key, TextOf
from logstat.formats.template import split_target, to_integer, to_string, to_timestamp

CATEGORIES = ("ApplicationGatewayAccessLog",)


KEYS = (
    Key(("timeStamp",), to_timestamp("%+"), ("timestamp",)),
    Key(("time",), to_timestamp("%+"), ("timestamp",)),
    CATEGORY,
    field("clientIP", to_string("client_ip"), ("client_ip",)),
    field("httpMethod", to_string("method"), ("method",)),
    # v2: the client's target whole; requestUri is its path, requestQuery its query (in
    # v1 requestQuery holds the gateway's own routing notes instead)
    field("originalRequestUriWithArgs", split_target, ("path", "query")),
    field("requestUri", split_target, ("path", "query")),
    field("requestQuery", to_string("request_query"), ("request_query",)),
    field("originalHost", to_string("host"), ("host",)),
    field("host", to_string("host"), ("host",)),
    field("httpVersion", to_string("protocol"), ("protocol",)),
    field("httpStatus", to_integer("status"), ("status",)),
    field("serverStatus", to_integer("upstream_status"), ("upstream_status",)),
    field("sentBytes", to_integer("bytes_sent"), ("bytes_sent",)),
    field("timeTaken", to_string("time_taken"), ("time_taken", "request_time_s")),
    field("userAgent", to_string("user_agent"), ("user_agent",)),
    field("error_info", to_string("app_gateway_error_info"), ("app_gateway_error_info",)),
    field("serverRouted", to_string("server_routed"), ("server_routed",)),
    field("WAFMode", to_string("waf_mode"), ("waf_mode",)),
    field("transactionId", to_string("transaction_id"), ("transaction_id",)),
    Key(("ruleName",), to_string("rule_name"), ("rule_name",)),
    Key(("backendPoolName",), to_string("backend_pool"), ("backend_pool",)),
)
PRODUCED_BY_READS = frozenset({"status", "upstream_status", "app_gateway_error_info"})


def _identify(text: TextOf) -> pl.Expr:
    return text("category").is_in(CATEGORIES)


def _request_time() -> dict[str, pl.Expr]:
    """`timeTaken` as seconds: v2 records (the ones with `error_info`) log seconds, v1
    records milliseconds."""
    taken = pl.col("time_taken").cast(pl.Float64, strict=False)
    v2 = pl.col("app_gateway_error_info").is_not_null()
    return {"request_time_s": pl.when(v2).then(taken).otherwise((taken / 1000).round(6))}


PARSER = JsonRecords(
    source="azure_app_gateway",
    name="access log",
    keys=KEYS,
    status=("properties", "httpStatus"),
    identify=_identify,
    why_not="JSON object of no Application Gateway access log",
    always=PRODUCED_BY_READS | {"time_taken"},
    derive=_request_time,
)
MARKER = r'"ApplicationGatewayAccessLog"'


def produced_by(columns: set[str]) -> pl.Expr:
    """Who produced the status, from `error_info` and `serverStatus`.

    An `error_info` other than `ERRORINFO_NO_ERROR` (no live backend, the backend
    closing the connection or timing out, a malformed request, the client leaving) is
    the gateway's own status (`proxy`).  With no error, the backend's `serverStatus`
    equal to the status is the backend's answer passed on (`upstream`); a different one,
    or none (a redirect or a WAF block at the gateway), the gateway's.  v1 records log
    neither: unknown.
    """
    status, error = pl.col("status"), pl.col("app_gateway_error_info")
    server = pl.col("upstream_status")
    return (
        pl.when(status.is_null() | error.is_null())
        .then(pl.lit("unknown"))
        .when(error != "ERRORINFO_NO_ERROR")
        .then(pl.lit("proxy"))
        .when(server == status)
        .then(pl.lit("upstream"))
        .otherwise(pl.lit("proxy"))
    )


FORMAT = Format(
    name="azure_app_gateway",
    title="Azure Application Gateway access log (resource-log JSON records, one per line)",
    vendors=("azure_app_gateway",),
    layouts={"json": "records of category ApplicationGatewayAccessLog: properties.httpStatus ..."},
    make_parser=json_records.parser_maker(PARSER),
    detect=json_records.detector(PARSER, MARKER),
    produced_by=produced_by,
    produced_by_reads=PRODUCED_BY_READS,
)
