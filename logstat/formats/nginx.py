"""nginx access logs: `log_format` strings in nginx `$variable` syntax."""

from __future__ import annotations

import json
import re

import polars as pl

from logstat.formats.base import TemplateSyntax, template_format
from logstat.formats.template import (
    CLF_TIME,
    CLF_TIME_TEXT,
    DECIMAL,
    ISO_TIME_TEXT,
    NUMBER,
    PATH_BEFORE_QUERY,
    STATUS_NUMBER,
    TOKEN,
    VALUE_LIST,
    Converter,
    Field,
    Literal,
    Token,
    from_epoch_seconds,
    from_request_line,
    from_status_list,
    missing,
    split_target,
    to_integer,
    to_seconds,
    to_string,
    to_timestamp,
    unescape_quoted,
)

# A client field that holds a chain of addresses, as proxies log it:
# `10.0.0.2, 10.0.0.1, 127.0.0.1` or `"10.5.102.222, 199.96.1.1" 10.2.1.185`.
_ADDRESS = r'[^\s",]+'
_ADDRESSES = rf"{_ADDRESS}(?:,\s*{_ADDRESS})*"
# an unquoted forwarded list needs a comma, so `example.com 10.0.0.1` is no chain (vhost_combined)
ADDRESS_CHAIN = rf'(?:(?:"[^"]*"|{_ADDRESS}(?:,\s*{_ADDRESS})+)\s+)?{_ADDRESSES}'
# a host name or address, with or without port: never a list
HOST = r'[^\s",]+'
_CHAIN_PARTS = r'^(?:"?(.*?)"?,?\s+)?([^\s",]+)$'


def from_address_chain(text: pl.Expr) -> dict[str, pl.Expr]:
    """The last address is the peer nginx saw (client_ip); any before it are forwarded_for."""
    chain = missing(text)
    # a single address (most lines) is the client as it is: only chains need the regex
    listed = pl.when(chain.str.contains(r'[\s",]')).then(chain)
    return {
        "client_ip": pl.coalesce(
            listed.str.extract(_CHAIN_PARTS, 2), pl.when(listed.is_null()).then(chain)
        ),
        "forwarded_for": missing(listed.str.extract(_CHAIN_PARTS, 1)),
    }


def _nothing(text: pl.Expr) -> dict[str, pl.Expr]:
    return {}


# variable -> (pattern or None for "by context", converter, columns it fills)
# https://nginx.org/en/docs/http/ngx_http_log_module.html and ngx_http_core_module.html#variables
VARIABLES: dict[str, tuple[str | None, Converter, tuple[str, ...]]] = {
    "remote_addr": (ADDRESS_CHAIN, from_address_chain, ("client_ip", "forwarded_for")),
    "remote_user": (None, to_string("remote_user"), ("remote_user",)),
    "time_local": (CLF_TIME_TEXT, to_timestamp(CLF_TIME), ("timestamp",)),
    "time_iso8601": (ISO_TIME_TEXT, to_timestamp("%+"), ("timestamp",)),
    "msec": (r"\d+(?:\.\d+)?", from_epoch_seconds, ("timestamp",)),
    "request": (None, from_request_line, ("method", "path", "query", "protocol")),
    "request_method": (TOKEN, to_string("method"), ("method",)),
    "request_uri": (None, split_target, ("path", "query")),
    "uri": (None, to_string("path"), ("path",)),
    "is_args": (r"\??", _nothing, ()),
    "args": (None, to_string("query"), ("query",)),
    "query_string": (None, to_string("query"), ("query",)),
    "server_protocol": (TOKEN, to_string("protocol"), ("protocol",)),
    "status": (STATUS_NUMBER, to_integer("status"), ("status",)),
    "body_bytes_sent": (NUMBER, to_integer("bytes_sent"), ("bytes_sent",)),
    "bytes_sent": (NUMBER, to_integer("bytes_sent"), ("bytes_sent",)),
    "request_length": (NUMBER, to_integer("request_length", pl.Int64()), ("request_length",)),
    "request_time": (DECIMAL, to_seconds("request_time_s", 1), ("request_time_s",)),
    "http_referer": (None, to_string("referer"), ("referer",)),
    "http_user_agent": (None, to_string("user_agent"), ("user_agent",)),
    "http_x_forwarded_for": (None, to_string("http_x_forwarded_for"), ("http_x_forwarded_for",)),
    "host": (HOST, to_string("host"), ("host",)),
    "http_host": (HOST, to_string("host"), ("host",)),
    "server_name": (HOST, to_string("host"), ("host",)),
    "upstream_status": (VALUE_LIST, from_status_list, ("upstream_status", "upstream_status_list")),
    "upstream_addr": (VALUE_LIST, to_string("upstream_addr"), ("upstream_addr",)),
    # one value per upstream tried, like $upstream_status: kept as logged
    **{
        name: (VALUE_LIST, to_string(name), (name,))
        for name in (
            "upstream_response_time",
            "upstream_connect_time",
            "upstream_header_time",
            "upstream_response_length",
            "upstream_bytes_received",
            "upstream_bytes_sent",
            "upstream_cache_status",
        )
    },
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
    # combined behind the virtual host, as multi-site configs often write it
    "vhost_combined": "$host " + COMBINED,
    # not nginx's: the Common Log Format, read only in files of nginx's own layouts
    # (a file of nothing else is Apache's)
    "common": '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent',
    # escape=json lines whose keys are the variables' names; others need --log-format
    "json": json.dumps(
        {name: f"${name}" for name in VARIABLES if name != "is_args"}, separators=(",", ":")
    ),
}

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def unescape(text: pl.Expr) -> pl.Expr:
    r"""nginx writes `"` as `\x22` and `\` as `\x5C` in logged values; other bytes stay escaped."""
    # \x22 first: an escaped backslash followed by "x22" must come out as `\x22`; both
    # cases of \x5C in one pass, so a `\` it restores never starts another escape
    return text.str.replace_all(r"\x22", '"', literal=True).str.replace_all(r"\\x5[Cc]", "\\")


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
    return unescape_quoted(tokens, unescape)


def _field(name: str) -> Field:
    known = VARIABLES.get(name)
    if known is None:
        # unknown variables (and $http_*, $sent_http_* headers) become string columns
        return Field(f"${name}", to_string(name), None, (name,))
    pattern, convert, columns = known
    adjacent = PATH_BEFORE_QUERY if name == "uri" else None
    # most lines log one address; with no comma or quote in it, ADDRESS_CHAIN takes
    # no forwarded prefix either, so the fast regex reads just that (template.py)
    common = _ADDRESS if pattern == ADDRESS_CHAIN else None
    return Field(f"${name}", convert, pattern, columns, adjacent, common)


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
    title="nginx access log (log_format with $variables, or escape=json lines)",
    vendors=("nginx",),
    syntax=TemplateSyntax(
        tokenize=tokenize, marker="$", layouts=LAYOUTS, fallbacks=frozenset({"common"})
    ),
    produced_by=produced_by,
)
