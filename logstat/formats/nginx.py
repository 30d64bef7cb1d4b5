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
    Steps,
    Stepwise,
    Token,
    from_epoch_seconds,
    from_request_line,
    from_status_list,
    missing,
    split_target,
    to_integer,
    to_seconds,
    to_string,
    to_summed_seconds,
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


def _chain_listed(chain: pl.Expr) -> pl.Expr:
    # a single address (most lines) is the client as it is: only chains need the regex
    return pl.when(chain.str.contains(r'[\s",]')).then(chain)


def _chain_parts(chain: pl.Expr, listed: pl.Expr) -> dict[str, pl.Expr]:
    return {
        "client_ip": pl.coalesce(
            listed.str.extract(_CHAIN_PARTS, 2), pl.when(listed.is_null()).then(chain)
        ),
        "forwarded_for": missing(listed.str.extract(_CHAIN_PARTS, 1)),
    }


def _address_chain_at_once(text: pl.Expr) -> dict[str, pl.Expr]:
    chain = missing(text)
    return _chain_parts(chain, _chain_listed(chain))


def _address_chain_in_steps(text: pl.Expr, name: str) -> tuple[Steps, dict[str, pl.Expr]]:
    chain, listed = pl.col(f"{name}_chain"), pl.col(f"{name}_listed")
    steps = [{f"{name}_chain": missing(text)}, {f"{name}_listed": _chain_listed(chain)}]
    return steps, _chain_parts(chain, listed)


# The last address is the peer nginx saw (client_ip); any before it are forwarded_for.
from_address_chain = Stepwise(_address_chain_at_once, _address_chain_in_steps)


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
    # one value per upstream tried, like $upstream_status: kept as logged, and the times
    # summed over the attempts as a part of the request's duration (latency_model.py)
    **{
        name: (VALUE_LIST, to_summed_seconds(name, f"{name}_s"), (name, f"{name}_s"))
        for name in ("upstream_response_time", "upstream_connect_time", "upstream_header_time")
    },
    **{
        name: (VALUE_LIST, to_string(name), (name,))
        for name in (
            "upstream_response_length",
            "upstream_bytes_received",
            "upstream_bytes_sent",
            "upstream_cache_status",
        )
    },
    # Traefik's access log (below): not nginx variables, named so its layout can be written
    # https://doc.traefik.io/traefik/observability/access-logs/
    "traefik_request_count": (r"\d+", to_integer("request_count", pl.Int64()), ("request_count",)),
    "traefik_router": (None, to_string("router_name"), ("router_name",)),
    "traefik_server_url": (None, to_string("server_url"), ("server_url",)),
    "traefik_duration_ms": (r"\d+", to_seconds("request_time_s", 1_000), ("request_time_s",)),
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
    # Traefik's Common Log Format: combined, then the requests Traefik received since it
    # started, the router, the backend server's URL and the request's duration in ms
    "traefik": COMBINED
    + ' $traefik_request_count "$traefik_router" "$traefik_server_url" ${traefik_duration_ms}ms',
    # not nginx's: the Common Log Format, read only in files of nginx's own layouts
    # (a file of nothing else is Apache's)
    "common": '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent',
    # escape=json lines whose keys are the variables' names; others need --log-format
    "json": json.dumps(
        {
            name: f"${name}"
            for name in VARIABLES
            if name != "is_args" and not name.startswith("traefik_")
        },
        separators=(",", ":"),
    ),
}

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


_ESCAPES = [r"\x22", r"\x5C", r"\x5c"]
_ESCAPED = ['"', "\\", "\\"]


def unescape(text: pl.Expr) -> pl.Expr:
    r"""nginx writes `"` as `\x22` and `\` as `\x5C` in logged values; other bytes stay escaped."""
    # one pass, left to right: a `\` it restores never starts another escape, so an escaped
    # backslash followed by "x22" comes out as `\x22` (one pass costs half of two)
    return text.str.replace_many(_ESCAPES, _ESCAPED)


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


# Logged per upstream attempt beside $upstream_status, they tell whether the last attempt
# got a valid answer: a header time, or body bytes, mean nginx read the upstream's header;
# a `-` header time, or no byte received at all, mean it did not.  (Bytes received alone
# prove nothing: an invalid header is received too, and nginx then sends its own 502.)
ANSWER_EVIDENCE = ("upstream_header_time", "upstream_bytes_received", "upstream_response_length")


def _last_attempt(column: str) -> pl.Expr:
    """The value of the last attempt in a per-attempt list (`0.001, - : 0.004` -> `0.004`)."""
    return pl.col(column).str.extract(r"(\S+)\s*$", 1)


def _last_attempt_evidence(columns: set[str]) -> tuple[pl.Expr, pl.Expr]:
    """(answered, unanswered): where the logged variables show that the last upstream
    attempt did, or did not, get a valid response header.  Both False where nothing says.
    A lone `-` header time is read as null like every `-`, which a JSON log without the
    key gives too, so only a `-` in a list of attempts counts."""
    answered: list[pl.Expr] = [pl.lit(False)]
    unanswered: list[pl.Expr] = [pl.lit(False)]
    if "upstream_header_time" in columns:
        header_time = _last_attempt("upstream_header_time")
        answered.append(header_time.str.contains(r"^\d"))
        unanswered.append(header_time == "-")
    if "upstream_response_length" in columns:
        answered.append(_last_attempt("upstream_response_length").cast(pl.Int64, strict=False) > 0)
    if "upstream_bytes_received" in columns:
        received = _last_attempt("upstream_bytes_received").cast(pl.Int64, strict=False)
        unanswered.append(received == 0)
    return (
        pl.any_horizontal(item.fill_null(False) for item in answered),
        pl.any_horizontal(item.fill_null(False) for item in unanswered),
    )


def produced_by(columns: set[str]) -> pl.Expr:
    """Who produced the status, with nginx's semantics of `$upstream_status`.

    `$upstream_status` logs one entry per upstream attempt (`502, 200`), groups after an
    internal redirect to another upstream group are joined by ` : `, and `-` is an attempt
    that got no response.  The last entry of the last group is the attempt whose answer
    the client got (`upstream_status`, null for `-`).
    - 000, 009 and 444 are nginx's own (no server sends them);
    - no upstream contacted (`-`), or the last attempt got no response: nginx answered
      itself (499 when the client hung up, 500 ...);
    - a status other than the last attempt's: nginx replaced it (error_page,
      proxy_intercept_errors);
    - 502 or 504 equal to the last attempt's: nginx records these for its own connect
      errors, invalid headers and timeouts, and an upstream may send them too.
      $upstream_header_time and $upstream_response_length tell an answered attempt
      (upstream), a `-` header time or $upstream_bytes_received 0 an unanswered one
      (proxy); with none of them logged, unknown;
    - any other status equal to the last attempt's was passed through: upstream.
    Without `$upstream_status` only nginx's own codes are known; 499 is then unknown too,
    since an application behind nginx may send it (ArcGIS "token required").
    https://nginx.org/en/docs/http/ngx_http_upstream_module.html#var_upstream_status
    """
    status = pl.col("status")
    nginx_own = status.is_in([0, 9, 444])
    if "upstream_status" not in columns:
        return pl.when(nginx_own).then(pl.lit("proxy")).otherwise(pl.lit("unknown"))
    last = pl.col("upstream_status")
    answered, unanswered = _last_attempt_evidence(columns)
    gateway_error = status.is_in([502, 504])
    return (
        pl.when(status.is_null())
        .then(pl.lit("unknown"))
        .when(nginx_own | last.is_null() | (status != last))
        .then(pl.lit("proxy"))
        .when(~gateway_error | answered)
        .then(pl.lit("upstream"))
        .when(unanswered)
        .then(pl.lit("proxy"))
        .otherwise(pl.lit("unknown"))
    )


FORMAT = template_format(
    name="nginx",
    title="nginx access log (log_format with $variables, or escape=json lines)",
    vendors=("nginx",),
    syntax=TemplateSyntax(
        tokenize=tokenize,
        marker="$",
        layouts=LAYOUTS,
        fallbacks=frozenset({"common"}),
        status_directives="$status",
        json_by_keys=True,
    ),
    produced_by=produced_by,
    produced_by_reads=frozenset({"status", "upstream_status", *ANSWER_EVIDENCE}),
)
