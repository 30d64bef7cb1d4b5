"""nginx access logs: `log_format` strings in nginx `$variable` syntax."""

from __future__ import annotations

import re

import polars as pl

from logstat.formats.base import TemplateSyntax, template_format
from logstat.formats.template import (
    BRACKETED,
    DECIMAL,
    NUMBER,
    TOKEN,
    VALUE_LIST,
    Converter,
    Field,
    Literal,
    Token,
    from_epoch_seconds,
    from_request_line,
    from_status_list,
    split_target,
    to_integer,
    to_seconds,
    to_string,
    to_timestamp,
)

# variable -> (pattern or None for "by context", converter, columns it fills)
# https://nginx.org/en/docs/http/ngx_http_log_module.html and ngx_http_core_module.html#variables
VARIABLES: dict[str, tuple[str | None, Converter, tuple[str, ...]]] = {
    "remote_addr": (TOKEN, to_string("client_ip"), ("client_ip",)),
    "time_local": (BRACKETED, to_timestamp("%d/%b/%Y:%H:%M:%S %z"), ("timestamp",)),
    "time_iso8601": (TOKEN, to_timestamp("%Y-%m-%dT%H:%M:%S%#z"), ("timestamp",)),
    "msec": (r"\d+(?:\.\d+)?", from_epoch_seconds, ("timestamp",)),
    "request": (None, from_request_line, ("method", "path", "query", "protocol")),
    "request_method": (TOKEN, to_string("method"), ("method",)),
    "request_uri": (None, split_target, ("path", "query")),
    "uri": (None, to_string("path"), ("path",)),
    "args": (None, to_string("query"), ("query",)),
    "query_string": (None, to_string("query"), ("query",)),
    "server_protocol": (TOKEN, to_string("protocol"), ("protocol",)),
    "status": (NUMBER, to_integer("status"), ("status",)),
    "body_bytes_sent": (NUMBER, to_integer("bytes_sent"), ("bytes_sent",)),
    "bytes_sent": (NUMBER, to_integer("bytes_sent"), ("bytes_sent",)),
    "request_time": (DECIMAL, to_seconds("request_time_s", 1), ("request_time_s",)),
    "http_referer": (None, to_string("referer"), ("referer",)),
    "http_user_agent": (None, to_string("user_agent"), ("user_agent",)),
    "host": (TOKEN, to_string("host"), ("host",)),
    "http_host": (TOKEN, to_string("host"), ("host",)),
    "server_name": (TOKEN, to_string("host"), ("host",)),
    "upstream_status": (VALUE_LIST, from_status_list, ("upstream_status", "upstream_status_list")),
    "upstream_addr": (VALUE_LIST, to_string("upstream_addr"), ("upstream_addr",)),
    "upstream_response_time": (
        VALUE_LIST,
        to_string("upstream_response_time"),
        ("upstream_response_time",),
    ),
    "request_length": (NUMBER, to_integer("request_length", pl.Int64()), ("request_length",)),
}

COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" '
    '$status $body_bytes_sent "$http_referer" "$http_user_agent"'
)
LAYOUTS = {
    "combined": COMBINED,
    # the `main` format from the stock nginx.conf
    "main": COMBINED + ' "$http_x_forwarded_for"',
    # ingress-nginx's default `upstreaminfo`
    "upstreaminfo": COMBINED
    + " $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name]"
    " $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id",
}

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def tokenize(template: str) -> list[Token]:
    """Split an nginx log_format string into literal text and variables."""
    tokens: list[Token] = []
    position = 0
    for match in _VARIABLE.finditer(template):
        if match.start() > position:
            tokens.append(Literal(template[position : match.start()]))
        name = match.group(1) or match.group(2)
        tokens.append(_field(name))
        position = match.end()
    if position < len(template):
        tokens.append(Literal(template[position:]))
    return tokens


def _field(name: str) -> Field:
    known = VARIABLES.get(name)
    if known is None:
        # unknown variables (and $http_*, $sent_http_* headers) become string columns
        return Field(f"${name}", to_string(name), None, (name,))
    pattern, convert, columns = known
    return Field(f"${name}", convert, pattern, columns)


def produced_by(columns: set[str]) -> pl.Expr:
    """Who produced the status, from nginx's point of view.

    499/444 and the pseudo-codes 000/009 are nginx's own.  With `$upstream_status`
    logged: no upstream contacted (`-`) means nginx answered itself; an upstream
    502/504 is what nginx records when it could not connect or timed out, so it
    is nginx's too; a status equal to the upstream's was passed through; a
    different one was replaced by nginx (error_page, proxy_intercept_errors).
    """
    status = pl.col("status")
    upstream = pl.col("upstream_status")
    nginx_own = status.is_in([0, 9, 444, 499])
    if "upstream_status" not in columns:
        return pl.when(nginx_own).then(pl.lit("proxy")).otherwise(pl.lit("unknown"))
    return (
        pl.when(nginx_own | upstream.is_null())
        .then(pl.lit("proxy"))
        .when(upstream.is_in([502, 504]) & (status == upstream))
        .then(pl.lit("proxy"))
        .when(status == upstream)
        .then(pl.lit("upstream"))
        .otherwise(pl.lit("proxy"))
    )


FORMAT = template_format(
    name="nginx",
    title="nginx access log (log_format with $variables)",
    vendors=("nginx",),
    syntax=TemplateSyntax(tokenize=tokenize, marker="$", layouts=LAYOUTS),
    produced_by=produced_by,
)
