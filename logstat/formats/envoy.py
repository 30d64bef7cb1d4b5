"""Envoy access logs, and Istio's: format strings of `%COMMAND(arg)%` operators, text or JSON.

Envoy declares its default line as a format string, Istio its own text and JSON ones
(Istio's sidecars and gateways are Envoy), so each layout below is the vendor's own
string, compiled like an nginx or Apache format string; `--format envoy
--log-format '...'` reads a custom one.

    [2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100
    "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"

(one line).  `%RESPONSE_FLAGS%` (`UF`, `UH`, `NR`, `UF,URX`, `-` for none) says what
Envoy itself ran into; `%RESPONSE_CODE_DETAILS%` (Istio's formats) says who set the
status: `via_upstream` is the upstream's, anything else Envoy's (`produced_by`).
A JSON line is taken as Envoy's only with a `response_flags` key: `response_code`,
`method` and `path` alone are what many applications log too.

https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage
https://github.com/istio/istio/blob/master/pilot/pkg/model/telemetry_logging.go
"""

from __future__ import annotations

import dataclasses
import json
import re

import polars as pl

from logstat.formats.base import Detection, TemplateSyntax, template_format
from logstat.formats.template import (
    ISO_TIME_TEXT,
    NUMBER,
    STATUS_NUMBER,
    TOKEN,
    Converter,
    Field,
    JsonLayout,
    Literal,
    Token,
    context_of,
    missing,
    split_directives,
    split_target,
    to_integer,
    to_seconds,
    to_string,
    to_timestamp,
)

# `-` (no flag), or flags joined by commas: `UF,URX`; %RESPONSE_FLAGS_LONG% spells them out
FLAGS = r"-|[A-Za-z]+(?:,[A-Za-z]+)*"


def _address(column: str) -> Converter:
    """`10.44.1.23:46520`, `[::1]:80` -> the address without its port."""
    return lambda text: {column: missing(text.str.replace(r"^\[?(.*?)\]?:[0-9]+$", "${1}"))}


def _header(name: str) -> tuple[str, Converter, tuple[str, ...]]:
    """REQ(...) / RESP(...) headers: the ones with a canonical column, else a column of
    their own (x-request-id -> request_id, a response header -> response_...)."""
    lowered = name.lower()
    known: dict[str, tuple[str, Converter, tuple[str, ...]]] = {
        ":method": (TOKEN, to_string("method"), ("method",)),
        ":path": (TOKEN, split_target, ("path", "query")),
        "x-envoy-original-path?:path": (TOKEN, split_target, ("path", "query")),
        ":authority": (TOKEN, to_string("host"), ("host",)),
        "host": (TOKEN, to_string("host"), ("host",)),
        "user-agent": (TOKEN, to_string("user_agent"), ("user_agent",)),
        "referer": (TOKEN, to_string("referer"), ("referer",)),
        "x-forwarded-for": (TOKEN, to_string("http_x_forwarded_for"), ("http_x_forwarded_for",)),
        "x-request-id": (TOKEN, to_string("request_id"), ("request_id",)),
    }
    if lowered in known:
        return known[lowered]
    column = re.sub(r"\W+", "_", lowered).strip("_") or "header"
    return TOKEN, to_string(column), (column,)


def _milliseconds(column: str) -> Converter:
    """Whole milliseconds as seconds, without binary float noise (41239 -> 41.239)."""
    seconds = to_seconds(column, 1000)
    return lambda text: {column: seconds(text)[column].round(3)}


# operator -> (pattern or None for "by context", converter, columns)
# https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage
OPERATORS: dict[str, tuple[str | None, Converter, tuple[str, ...]]] = {
    "START_TIME": (ISO_TIME_TEXT, to_timestamp("%+"), ("timestamp",)),
    "PROTOCOL": (TOKEN, to_string("protocol"), ("protocol",)),
    "RESPONSE_CODE": (STATUS_NUMBER, to_integer("status"), ("status",)),
    "RESPONSE_FLAGS": (FLAGS, to_string("response_flags"), ("response_flags",)),
    "RESPONSE_FLAGS_LONG": (FLAGS, to_string("response_flags"), ("response_flags",)),
    # no white space in these: Envoy writes `_` for it
    "RESPONSE_CODE_DETAILS": (
        TOKEN,
        to_string("response_code_details"),
        ("response_code_details",),
    ),
    "CONNECTION_TERMINATION_DETAILS": (
        TOKEN,
        to_string("connection_termination_details"),
        ("connection_termination_details",),
    ),
    "BYTES_RECEIVED": (NUMBER, to_integer("bytes_received"), ("bytes_received",)),
    "BYTES_SENT": (NUMBER, to_integer("bytes_sent"), ("bytes_sent",)),
    "DURATION": (NUMBER, _milliseconds("request_time_s"), ("request_time_s",)),
    "UPSTREAM_HOST": (None, to_string("upstream_host"), ("upstream_host",)),
    "UPSTREAM_CLUSTER": (None, to_string("upstream_cluster"), ("upstream_cluster",)),
    "UPSTREAM_CLUSTER_RAW": (None, to_string("upstream_cluster"), ("upstream_cluster",)),
    "DOWNSTREAM_REMOTE_ADDRESS": (None, _address("client_ip"), ("client_ip",)),
    "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT": (None, to_string("client_ip"), ("client_ip",)),
    "DOWNSTREAM_DIRECT_REMOTE_ADDRESS": (None, _address("client_ip"), ("client_ip",)),
    "REQ_WITHOUT_QUERY": (None, to_string("path"), ("path",)),
}
# the columns produced_by reads, parsed whatever the report needs
PRODUCED_BY_READS = frozenset(
    {"status", "response_flags", "response_code_details", "upstream_host"}
)

DEFAULT = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" '
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
    '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
    '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"'
)
ISTIO = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" '
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "
    '"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% '
    '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
    '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% '
    "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
    "%REQUESTED_SERVER_NAME% %ROUTE_NAME%"
)
ISTIO_JSON = {
    "start_time": "%START_TIME%",
    "route_name": "%ROUTE_NAME%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "protocol": "%PROTOCOL%",
    "response_code": "%RESPONSE_CODE%",
    "response_flags": "%RESPONSE_FLAGS%",
    "response_code_details": "%RESPONSE_CODE_DETAILS%",
    "connection_termination_details": "%CONNECTION_TERMINATION_DETAILS%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "duration": "%DURATION%",
    "upstream_service_time": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
    "x_forwarded_for": "%REQ(X-FORWARDED-FOR)%",
    "user_agent": "%REQ(USER-AGENT)%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "authority": "%REQ(:AUTHORITY)%",
    "upstream_host": "%UPSTREAM_HOST%",
    "upstream_cluster": "%UPSTREAM_CLUSTER%",
    "upstream_local_address": "%UPSTREAM_LOCAL_ADDRESS%",
    "downstream_local_address": "%DOWNSTREAM_LOCAL_ADDRESS%",
    "downstream_remote_address": "%DOWNSTREAM_REMOTE_ADDRESS%",
    "requested_server_name": "%REQUESTED_SERVER_NAME%",
    "upstream_transport_failure_reason": "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
}
LAYOUTS = {
    "default": DEFAULT,  # Envoy's default format string
    "istio": ISTIO,  # Istio's accessLogEncoding TEXT
    "istio_json": json.dumps(ISTIO_JSON, separators=(",", ":")),  # accessLogEncoding JSON
}

_OPERATOR = re.compile(r"%([A-Z][A-Z0-9_]*)(?:\(([^)]*)\))?(?::([0-9]+))?%")


def _field(directive: str, name: str, argument: str | None) -> Field:
    if name in ("REQ", "RESP", "TRAILER") and argument is not None:
        pattern, convert, columns = _header(argument)
        if name == "RESP" and argument.lower() == "x-envoy-upstream-service-time":
            column = "upstream_service_time_s"
            pattern, convert, columns = NUMBER, _milliseconds(column), (column,)
        elif name != "REQ":
            column = f"response_{columns[0]}"
            pattern, convert, columns = TOKEN, to_string(column), (column,)
        return Field(directive, convert, None if pattern == TOKEN else pattern, columns)
    if name == "START_TIME" and argument:
        # a strftime of Envoy's own (%f, %3f ... are Envoy's): kept as text when polars
        # cannot read it
        if re.search(r"%[0-9]*f|%E", argument):
            return Field(directive, to_string("start_time"), None, ("start_time",))
        return Field(directive, to_timestamp(argument), None, ("timestamp",))
    known = OPERATORS.get(name)
    if known is None:
        column = name.lower()
        return Field(directive, to_string(column), None, (column,))
    return Field(directive, known[1], known[0], known[2])


def tokenize(template: str) -> list[Token]:
    """Split an Envoy format string into literal text and command operators."""
    found = split_directives(
        template.rstrip("\n"), _OPERATOR, lambda match: _field(match.group(0), *match.groups()[:2])
    )
    return [_stopped(found, index) for index in range(len(found))]


def _stopped(tokens: list[Token], index: int) -> Token:
    """A bare value right before text such as the `"` after `%PROTOCOL%`: in the fast
    regex it stops at that character, so the line reads in one pass."""
    token = tokens[index]
    if (
        not isinstance(token, Field)
        or token.pattern not in (None, TOKEN)
        or index + 1 == len(tokens)
        or context_of(tokens, index) != "token"
    ):
        return token
    after = tokens[index + 1]
    if not isinstance(after, Literal) or not after.text or after.text[0].isspace():
        return token
    stop = re.escape(after.text[0])
    return dataclasses.replace(token, pattern=TOKEN, common_pattern=rf"[^\s{stop}]+")


# Flags under which Envoy answered by itself (a route, a cluster, a connection or a
# limit failed, or a filter refused): the status is Envoy's
OWN_ANSWER = (
    "UH", "UF", "UO", "NR", "URX", "NC", "LH", "UT", "FI", "RL", "UAEX", "RLSE", "IH", "SI",
    "DPE", "UPE", "UMSDR", "RFCF", "NFCF", "OM", "DF", "DO",
)  # fmt: skip
# Flags of a reset or a cut connection: Envoy's status when it had nothing from the
# upstream yet (a 5xx), the upstream's when the response had started
RESETS = ("LR", "UR", "UC", "DT", "DC")
LONG_NAMES = {
    "NoHealthyUpstream": "UH", "UpstreamConnectionFailure": "UF", "UpstreamOverflow": "UO",
    "NoRouteFound": "NR", "UpstreamRetryLimitExceeded": "URX", "NoClusterFound": "NC",
    "FailedLocalHealthCheck": "LH", "UpstreamRequestTimeout": "UT", "FaultInjected": "FI",
    "RateLimited": "RL", "UnauthorizedExternalService": "UAEX", "RateLimitServiceError": "RLSE",
    "InvalidEnvoyRequestHeaders": "IH", "StreamIdleTimeout": "SI",
    "DownstreamProtocolError": "DPE", "UpstreamProtocolError": "UPE",
    "UpstreamMaxStreamDurationReached": "UMSDR", "ResponseFromCacheFilter": "RFCF",
    "NoFilterConfigFound": "NFCF", "OverloadManagerTerminated": "OM",
    "DnsResolutionFailed": "DF", "DropOverload": "DO", "LocalReset": "LR",
    "UpstreamRemoteReset": "UR", "UpstreamConnectionTermination": "UC",
    "DurationTimeout": "DT", "DownstreamConnectionTermination": "DC",
}  # fmt: skip


def _any_flag(flags: pl.Expr, names: tuple[str, ...]) -> pl.Expr:
    """Does the comma-separated list hold one of `names` (short or long)?"""
    spelled = [*names, *(long for long, short in LONG_NAMES.items() if short in names)]
    return flags.str.contains(rf"(?:^|,)(?:{'|'.join(spelled)})(?:,|$)").fill_null(False)


def produced_by(columns: set[str]) -> pl.Expr:
    """Who produced the status, from what Envoy logged about it.

    - %RESPONSE_CODE_DETAILS% (Istio logs it) says it outright: `via_upstream` is the
      upstream's status; any other detail (route_not_found, upstream_reset_before_
      response_started{connection_failure}, ext_authz_denied ...) names Envoy's own reply.
    - Else the flags: 0 (no response started) and a flag under which Envoy answers by
      itself (UH, UF, UO, NR, URX, UT, RL, UAEX ...) are Envoy's; a reset or cut
      connection (UR, UC, LR, DT, DC) is Envoy's with a 5xx, the upstream's otherwise
      (the upstream's headers had gone out before it);
    - no flag: the upstream's when an upstream host is logged, Envoy's (a direct
      response or redirect) when `%UPSTREAM_HOST%` is `-`, unknown when not logged.
    https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/response_code_details
    """
    status = pl.col("status")
    decided = (
        pl.when(status.is_null()).then(pl.lit("unknown")).when(status == 0).then(pl.lit("proxy"))
    )
    if "response_code_details" in columns:
        details = pl.col("response_code_details")
        decided = (
            decided.when(details == "via_upstream")
            .then(pl.lit("upstream"))
            .when(details.is_not_null())
            .then(pl.lit("proxy"))
        )
    if "response_flags" in columns:
        flags = pl.col("response_flags")
        decided = (
            decided.when(_any_flag(flags, OWN_ANSWER))
            .then(pl.lit("proxy"))
            .when(_any_flag(flags, RESETS))
            .then(pl.when(status >= 500).then(pl.lit("proxy")).otherwise(pl.lit("upstream")))
        )
    if "upstream_host" in columns:
        host = pl.col("upstream_host")
        return decided.when(host.is_null()).then(pl.lit("proxy")).otherwise(pl.lit("upstream"))
    return decided.otherwise(pl.lit("unknown"))


_TEMPLATE = template_format(
    name="envoy",
    title="Envoy / Istio access log (Envoy's default, Istio's text or JSON, or a format string)",
    vendors=("envoy",),
    syntax=TemplateSyntax(
        tokenize=tokenize, marker="%", layouts=LAYOUTS, status_directives="%RESPONSE_CODE%"
    ),
    produced_by=produced_by,
    produced_by_reads=PRODUCED_BY_READS,
)
ENVOY_KEY = '"response_flags"'  # a JSON line is Envoy's only with this key


def detect(sample: pl.Series) -> Detection | None:
    """Text layouts as any format string's; JSON lines only with Envoy's own key."""
    found = _TEMPLATE.detect(sample)
    if found is None or not isinstance(found.parser, JsonLayout):
        return found
    matched = found.parser.count_matches(
        sample.filter(sample.str.contains(ENVOY_KEY, literal=True))
    )
    return Detection(found.parser, matched, len(sample)) if matched else None


FORMAT = dataclasses.replace(_TEMPLATE, detect=detect)
