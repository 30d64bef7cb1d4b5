"""Hypothesis strategies for requests, and renderers that write them as each server would.

A `Request` is what happened (client, time with the server's UTC offset, request
line, status, bytes, headers).  A `Renderer` turns it into the log line a given
server writes, applying that server's own escaping, and says which column
values logstat should read back from that line.  The property tests render
requests, parse the lines through the public pipeline and compare field by
field; the fuzz and invariant tests use the same material.

Escaping, by server (what `expected` accounts for):

* nginx escapes `"`, `\\`, control bytes and every byte >= 0x7f as `\\xHH`
  (upper-case hex) in every logged variable (ngx_http_log_escape).  logstat
  undoes `\\x22` and `\\x5C` inside quoted fields; other bytes stay escaped.
* Apache escapes `"` as `\\"`, `\\` as `\\\\`, `\\b \\n \\r \\t \\v` by name and other
  control or non-ASCII bytes as `\\xhh` (lower-case hex) in `%r`, `%U`, `%q` and
  headers (ap_escape_logitem).  logstat undoes `\\"` and `\\\\`; the rest stays.

A new format gets a renderer here; `test_every_format_has_a_renderer` fails
until it does.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import strategies as st

from tests.helpers import START, Record

# Pieces that have broken log parsers and terminals: quotes and backslashes (and
# text that looks like an escape), spaces, percent signs, non-ASCII, control
# characters, ANSI escapes, rich markup, spreadsheet formulas.
HOSTILE_PIECES = (
    '"',
    "\\",
    '\\"',
    "\\\\",
    "\\x22",
    "\\x5c",
    "\\x5C",
    "\\n",
    " ",
    "  ",
    '" "',
    '"-"',
    "%",
    "%22",
    "%00",
    "%%",
    "é",
    "日本語",
    "😀",
    "\u202e",
    "\u2028",
    "\x00",
    "\x07",
    "\t",
    "\n",
    "\r",
    "\x7f",
    "\x85",
    "\x1b[31m",
    "\x1b[0m",
    "\x1b]8;;http://evil.example/\x1b\\",
    "[bold]",
    "[/bold]",
    "[/]",
    "[link=http://evil.example]",
    "]",
    "[",
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example")',
    "+1",
    "-1",
    "@SUM(A1)",
    "-",
    "?",
    "#",
)

METHODS = ("GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "CONNECT")
PROTOCOLS = ("HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/3.0")
# statuses logstat must keep apart: nginx's own 444/499 and pseudo-code 000, edge 52x
NOTABLE_STATUSES = (
    0,
    200,
    204,
    206,
    301,
    304,
    400,
    401,
    403,
    404,
    444,
    451,
    499,
    500,
    502,
    503,
    504,
    520,
    522,
)
# every UTC offset in use, in quarter hours (Nepal +05:45, Chatham +12:45, Kiribati +14:00)
OFFSETS = tuple(
    timezone(timedelta(minutes=minutes)) for minutes in range(-12 * 60, 14 * 60 + 1, 15)
)


def hostile_text(max_pieces: int = 6) -> st.SearchStrategy[str]:
    """Text made of hostile pieces and arbitrary unicode (no surrogates)."""
    piece = st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=6))
    return st.lists(piece, max_size=max_pieces).map("".join)


@dataclass(frozen=True)
class Request:
    """One request as it happened; renderers decide how a server writes it."""

    client_ip: str
    timestamp: datetime  # aware: the offset is the server's local one
    method: str
    path: str  # as the client sent it: starts with "/", holds no "?"
    query: str | None  # after the "?"; None: no "?" at all
    protocol: str | None  # None: an HTTP/0.9-style request line without one
    status: int | None  # None: the server logged "-"
    bytes_sent: int
    referer: str | None  # None: no header
    user_agent: str | None
    host: str
    upstream_statuses: tuple[int, ...] = ()  # proxies: one per upstream tried
    request_time: float = 0.0  # seconds, millisecond precision

    @property
    def target(self) -> str:
        return self.path if self.query is None else f"{self.path}?{self.query}"

    @property
    def request_line(self) -> str:
        line = f"{self.method} {self.target}"
        return line if self.protocol is None else f"{line} {self.protocol}"


def client_ips() -> st.SearchStrategy[str]:
    return st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)


def timestamps(
    min_year: int = 1971, max_year: int = 2099, offsets: Iterable[timezone] = OFFSETS
) -> st.SearchStrategy[datetime]:
    """Whole seconds in a random UTC offset (access logs keep no fraction)."""
    return st.datetimes(
        min_value=datetime(min_year, 1, 1),
        max_value=datetime(max_year, 12, 31),
        timezones=st.sampled_from(tuple(offsets)),
    ).map(lambda moment: moment.replace(microsecond=0))


def methods() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(METHODS), st.from_regex(r"[A-Z][A-Z_-]{0,11}", fullmatch=True))


def statuses() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(NOTABLE_STATUSES), st.integers(100, 599), st.integers(0, 999))


def hostnames() -> st.SearchStrategy[str]:
    label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
    return st.lists(label, min_size=1, max_size=3).map(".".join)


_TRAILING_PROTOCOL = re.compile(r" [A-Za-z]+/[0-9.]+$")


def quoted_safe_text(max_pieces: int = 6) -> st.SearchStrategy[str]:
    """Hostile but printable ASCII without `"` or `\\`: for logs whose escaping is undocumented."""
    pieces = [
        piece
        for piece in HOSTILE_PIECES
        if piece.isascii() and piece.isprintable() and not set(piece) & set('"\\')
    ]
    alphabet = st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\')
    piece = st.one_of(st.sampled_from(pieces), st.text(alphabet, max_size=6))
    return st.lists(piece, max_size=max_pieces).map("".join)


@st.composite
def requests(
    draw: st.DrawFn,
    text: st.SearchStrategy[str] | None = None,
    protocols: st.SearchStrategy[str | None] | None = None,
) -> Request:
    """A request with hostile path, query, referer and user agent."""
    text = hostile_text() if text is None else text
    if protocols is None:
        protocols = st.one_of(st.sampled_from(PROTOCOLS), st.none())
    protocol = draw(protocols)
    path = "/" + draw(text).replace("?", "")
    if protocol is None and _TRAILING_PROTOCOL.search(path):
        # "GET /a HTTP/1.0" is ambiguous when the client sent no protocol: skip it
        path = path.rstrip("0123456789./") or "/"
        if _TRAILING_PROTOCOL.search(path):
            path = "/"
    return Request(
        client_ip=draw(client_ips()),
        timestamp=draw(timestamps()),
        method=draw(methods()),
        path=path,
        query=draw(st.one_of(st.none(), text.filter(bool))),
        protocol=protocol,
        status=draw(statuses()),
        bytes_sent=draw(st.integers(0, 2**40)),
        referer=draw(st.one_of(st.none(), text)),
        user_agent=draw(st.one_of(st.none(), text)),
        host=draw(hostnames()),
        upstream_statuses=tuple(draw(st.lists(statuses(), max_size=3))),
        request_time=draw(st.integers(0, 10**7)) / 1000,
    )


# --- what each server writes ------------------------------------------------------


def nginx_escape(text: str) -> str:
    """ngx_http_log_escape: `"`, `\\`, control bytes and bytes >= 0x7f as \\xHH."""
    return "".join(
        f"\\x{byte:02X}" if byte in (0x22, 0x5C) or byte < 0x20 or byte >= 0x7F else chr(byte)
        for byte in text.encode("utf-8")
    )


def nginx_read(text: str) -> str:
    """What logstat reads back from a quoted nginx field: `\\x22` and `\\x5C` undone."""
    return re.sub(r"\\x(22|5C)", lambda match: chr(int(match.group(1), 16)), nginx_escape(text))


_APACHE_NAMED = {0x08: "\\b", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v"}


def apache_escape(text: str) -> str:
    """ap_escape_logitem: `\\"`, `\\\\`, named control escapes, other bytes as \\xhh."""
    out = []
    for byte in text.encode("utf-8"):
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif byte in _APACHE_NAMED:
            out.append(_APACHE_NAMED[byte])
        elif byte < 0x20 or byte >= 0x7F:
            out.append(f"\\x{byte:02x}")
        else:
            out.append(chr(byte))
    return "".join(out)


def apache_read(text: str) -> str:
    """What logstat reads back from an Apache field: `\\"` and `\\\\` undone, the rest escaped."""
    return re.sub(r'\\(["\\])', r"\1", apache_escape(text))


def absent(text: str | None) -> str | None:
    """Access logs write a missing value as `-` (or an empty quoted string): null."""
    return None if text in (None, "", "-") else text


# --- renderers ----------------------------------------------------------------------

Expected = dict[str, Any]


@dataclass(frozen=True)
class Renderer:
    """How one server (and layout) writes a Request, and what logstat should read back."""

    format: str  # logstat format name
    layout: str | None  # passed as --log-format; None: let detection pick the layout
    render: Callable[[Request], str]
    expected: Callable[[Request], Expected]
    header: tuple[str, ...] = ()  # lines before the records (W3C directives)
    # what this server can log; narrower than `requests()` where the format demands
    strategy: st.SearchStrategy[Request] = field(default_factory=requests)

    @property
    def name(self) -> str:
        return f"{self.format}-{self.layout or 'auto'}"

    def document(self, batch: Iterable[Request]) -> str:
        return "".join(line + "\n" for line in (*self.header, *map(self.render, batch)))


def utc_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def clf_time(moment: datetime) -> str:
    """[10/Oct/2000:13:55:36 -0700] without the brackets, in the server's offset."""
    return moment.strftime("%d/%b/%Y:%H:%M:%S %z")


def _request_fields(request: Request, read: Callable[[str], str]) -> Expected:
    return {
        "method": request.method,
        "path": read(request.path),
        "query": None if request.query is None else read(request.query),
        "protocol": request.protocol,
    }


def _nginx_status(status: int | None) -> str:
    return "-" if status is None else f"{status:03d}"


def nginx_combined(request: Request) -> str:
    return (
        f"{request.client_ip} - - [{clf_time(request.timestamp)}] "
        f'"{nginx_escape(request.request_line)}" {_nginx_status(request.status)} '
        f'{request.bytes_sent} "{nginx_escape(request.referer or "-")}" '
        f'"{nginx_escape(request.user_agent or "-")}"'
    )


def nginx_combined_expected(request: Request) -> Expected:
    return {
        "client_ip": request.client_ip,
        "timestamp": utc_second(request.timestamp),
        **_request_fields(request, nginx_read),
        "status": request.status,
        "bytes_sent": request.bytes_sent,
        "referer": absent(nginx_read(request.referer or "-")),
        "user_agent": absent(nginx_read(request.user_agent or "-")),
    }


def nginx_vhost(request: Request) -> str:
    return f"{request.host} {nginx_combined(request)}"


def nginx_vhost_expected(request: Request) -> Expected:
    return {**nginx_combined_expected(request), "host": request.host}


def nginx_upstreaminfo(request: Request) -> str:
    upstream = ", ".join(f"{status:03d}" for status in request.upstream_statuses) or "-"
    addresses = ", ".join("10.0.0.1:8080" for _ in request.upstream_statuses) or "-"
    times = ", ".join("0.001" for _ in request.upstream_statuses) or "-"
    return (
        f"{nginx_combined(request)} 512 {request.request_time:.3f} [default-app-80] [] "
        f"{addresses} {times} {times} {upstream} 5f3e0a6c1d2b4e8f"
    )


def nginx_upstreaminfo_expected(request: Request) -> Expected:
    return {
        **nginx_combined_expected(request),
        "upstream_status": request.upstream_statuses[-1] if request.upstream_statuses else None,
        "request_time_s": round(request.request_time, 3),
    }


def _apache_status(status: int | None) -> str:
    return "-" if status is None else str(status)


def apache_common(request: Request) -> str:
    # %b writes "-" for no bytes
    return (
        f"{request.client_ip} - - [{clf_time(request.timestamp)}] "
        f'"{apache_escape(request.request_line)}" {_apache_status(request.status)} '
        f"{request.bytes_sent or '-'}"
    )


def apache_common_expected(request: Request) -> Expected:
    return {
        "client_ip": request.client_ip,
        "timestamp": utc_second(request.timestamp),
        **_request_fields(request, apache_read),
        "status": request.status,
        "bytes_sent": request.bytes_sent or None,
    }


def _apache_headers(request: Request) -> str:
    return f'"{apache_escape(request.referer or "-")}" "{apache_escape(request.user_agent or "-")}"'


def _apache_headers_expected(request: Request) -> Expected:
    return {
        "referer": absent(apache_read(request.referer or "-")),
        "user_agent": absent(apache_read(request.user_agent or "-")),
    }


def apache_combined(request: Request) -> str:
    return f"{apache_common(request)} {_apache_headers(request)}"


def apache_combined_expected(request: Request) -> Expected:
    return {**apache_common_expected(request), **_apache_headers_expected(request)}


def apache_vhost_combined(request: Request) -> str:
    # %v:%p ... %O: bytes including headers, written as a number even when 0
    common = (
        f"{request.client_ip} - - [{clf_time(request.timestamp)}] "
        f'"{apache_escape(request.request_line)}" {_apache_status(request.status)} '
        f"{request.bytes_sent}"
    )
    return f"{request.host}:443 {common} {_apache_headers(request)}"


def apache_vhost_combined_expected(request: Request) -> Expected:
    return {
        **apache_combined_expected(request),
        "bytes_sent": request.bytes_sent,
        "host": request.host,
    }


def apache_requests() -> st.SearchStrategy[Request]:
    """Apache sometimes logs `-` for the status (a request that never got one)."""
    return st.tuples(requests(), st.booleans()).map(
        lambda pair: replace(pair[0], status=None) if pair[1] else pair[0]
    )


def aws_requests() -> st.SearchStrategy[Request]:
    """AWS logs the request line and user agent quoted; it documents no escaping for them."""
    return requests(text=quoted_safe_text(), protocols=st.sampled_from(PROTOCOLS))


def aws_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def aws_address(address: str, port: int, bracketed: bool) -> str:
    """`1.2.3.4:80`; IPv6 as `[2001:db8::1]:80` or, as some logs have it, unbracketed."""
    return f"[{address}]:{port}" if ":" in address and bracketed else f"{address}:{port}"


def _aws_status(status: int | None) -> str:
    return "-" if status is None else f"{status:03d}"


def _aws_request(request: Request, scheme: str) -> str:
    port = 443 if scheme == "https" else 80
    return f"{request.method} {scheme}://{request.host}:{port}{request.target} {request.protocol}"


def _upstream(request: Request) -> int | None:
    return request.upstream_statuses[-1] if request.upstream_statuses else None


TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2"


def alb_entry(request: Request) -> str:
    upstream = _upstream(request)
    target = "10.0.0.1:80" if upstream is not None else "-"
    https = request.bytes_sent % 2 == 0  # vary the listener without another draw
    kind, scheme = ("https", "https") if https else ("http", "http")
    tls = "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2" if https else "- -"
    return (
        f"{kind} {aws_time(request.timestamp)} app/my-lb/50dc6c495c0c9188 "
        f"{aws_address(request.client_ip, 2817, https)} {target} 0.000 0.001 0.000 "
        f"{_aws_status(request.status)} {_aws_status(upstream)} 34 {request.bytes_sent} "
        f'"{_aws_request(request, scheme)}" "{request.user_agent or "-"}" {tls} '
        f'{TARGET_GROUP} "Root=1-58337262-36d228ad5d99923122bbe354" '
        f'"{request.host if https else "-"}" "-" 0 {aws_time(request.timestamp)} "forward" "-" "-" '
        f'"{target}" "{_aws_status(upstream)}" "-" "-"'
    )


def aws_expected(request: Request) -> Expected:
    return {
        "client_ip": request.client_ip,
        "timestamp": utc_second(request.timestamp),
        **_request_fields(request, str),
        "host": request.host,
        "status": request.status,
        "upstream_status": _upstream(request),
        "bytes_sent": request.bytes_sent,
        "user_agent": absent(request.user_agent),
    }


def elb_entry(request: Request) -> str:
    upstream = _upstream(request)
    backend = "10.0.0.1:80" if upstream is not None else "-"
    return (
        f"{aws_time(request.timestamp)} my-loadbalancer "
        f"{aws_address(request.client_ip, 2817, request.bytes_sent % 2 == 0)} {backend} "
        f"0.000073 0.001048 0.000057 {_aws_status(request.status)} {_aws_status(upstream)} "
        f'0 {request.bytes_sent} "{_aws_request(request, "http")}" '
        f'"{request.user_agent or "-"}" - -'
    )


def _no_controls(text: str) -> bool:
    return not any(ord(character) < 0x20 or 0x7F <= ord(character) < 0xA0 for character in text)


def iis_text(spaces: bool) -> st.SearchStrategy[str]:
    """IIS writes UTF-8 and never quotes: no control characters, no spaces unless `spaces`."""
    pieces = [
        piece
        for piece in HOSTILE_PIECES
        if _no_controls(piece) and (spaces or " " not in piece) and "+" not in piece
    ]
    excluded = ("Cc", "Cs", *(() if spaces else ("Zs", "Zl", "Zp")))
    alphabet = st.characters(exclude_categories=excluded, exclude_characters="+")
    piece = st.one_of(st.sampled_from(pieces), st.text(alphabet, max_size=6))
    return st.lists(piece, max_size=6).map("".join)


@st.composite
def iis_requests(draw: st.DrawFn) -> Request:
    """A request as IIS can log it: a 3-digit status, a user agent whose spaces become +."""
    request = draw(requests(text=iis_text(spaces=False)))
    return replace(
        request,
        status=draw(st.integers(100, 599)),
        user_agent=draw(st.one_of(st.none(), iis_text(spaces=True))),
    )


IIS_FIELDS = (
    "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
)
IIS_HEADER = (
    "#Software: Microsoft Internet Information Services 10.0",
    "#Version: 1.0",
    "#Date: 2024-01-01 00:00:00",
    f"#Fields: {IIS_FIELDS}",
)


def iis_entry(request: Request) -> str:
    moment = request.timestamp.astimezone(UTC)
    return (
        f"{moment:%Y-%m-%d %H:%M:%S} 10.0.0.5 {request.method} {request.path} "
        f"{request.query or '-'} 443 - {request.client_ip} "
        f"{(request.user_agent or '-').replace(' ', '+')} {request.referer or '-'} "
        f"{request.status} 0 0 {int(request.request_time * 1000)}"
    )


def iis_expected(request: Request) -> Expected:
    return {
        "client_ip": request.client_ip,
        "timestamp": utc_second(request.timestamp),
        "method": request.method,
        "path": request.path,
        "query": absent(request.query),
        "status": request.status,
        "substatus": 0,
        "win32_status": 0,
        "user_agent": absent(request.user_agent),
        "referer": absent(request.referer),
    }


def _uri_text() -> st.SearchStrategy[str]:
    """A request URI holds no line break (HTTP forbids one); anything else may be in it."""
    return hostile_text().map(lambda text: text.replace("\n", "").replace("\r", ""))


@st.composite
def cloudflare_requests(draw: st.DrawFn) -> Request:
    """Logpush records of the years Cloudflare exists: unix nanoseconds then have 19 digits.

    (logstat tells seconds, ms, µs and ns apart by the number of digits.)
    """
    request = draw(requests(text=_uri_text()))
    return replace(
        request,
        timestamp=draw(timestamps(min_year=2002)),
        user_agent=draw(st.one_of(st.none(), hostile_text())),
        referer=draw(st.one_of(st.none(), hostile_text())),
    )


def cloudflare_entry(request: Request) -> str:
    """One Logpush NDJSON record; the timestamp as RFC 3339 or unix nanoseconds."""
    moment = request.timestamp.astimezone(UTC)
    start: str | int = (
        moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if request.bytes_sent % 2
        else int(moment.timestamp()) * 1_000_000_000
    )
    record = {
        "ClientIP": request.client_ip,
        "ClientRequestHost": request.host,
        "ClientRequestMethod": request.method,
        "ClientRequestURI": request.target,
        "ClientRequestProtocol": request.protocol or "HTTP/1.0",
        "ClientRequestUserAgent": request.user_agent or "",
        "ClientRequestReferer": request.referer or "",
        "EdgeResponseStatus": request.status,
        "OriginResponseStatus": _upstream(request) or 0,
        "EdgeResponseBytes": request.bytes_sent,
        "EdgeStartTimestamp": start,
        "RayID": "7d3f1a2b3c4d5e6f",
    }
    return json.dumps(record, ensure_ascii=request.bytes_sent % 3 == 0)


def cloudflare_expected(request: Request) -> Expected:
    return {
        "client_ip": request.client_ip,
        "timestamp": utc_second(request.timestamp),
        "host": request.host,
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "protocol": request.protocol or "HTTP/1.0",
        "status": request.status,
        "upstream_status": _upstream(request) or None,
        "bytes_sent": request.bytes_sent,
        "user_agent": absent(request.user_agent),
        "referer": absent(request.referer),
    }


def haproxy_escape(text: str, header: bool = False) -> str:
    """HAProxy's log encoding (manual 8.6): bytes outside 32-126, `#` and `"` as #XX,
    and `{`, `|`, `}` too inside captured headers."""
    special = {0x22, 0x23} | ({0x7B, 0x7C, 0x7D} if header else set())
    return "".join(
        f"#{byte:02X}" if byte in special or byte < 0x20 or byte >= 0x7F else chr(byte)
        for byte in text.encode("utf-8")
    )


def haproxy_read(text: str) -> str:
    """What logstat reads back from HAProxy's request line: #22 and #23 undone."""
    return re.sub(r"#(22|23)", lambda match: chr(int(match.group(1), 16)), haproxy_escape(text))


# (termination state, server): a server answered, HAProxy answered, no server at all
HAPROXY_ENDINGS = (("----", "srv1"), ("SC--", "srv1"), ("sH--", "srv2"), ("PR--", "<NOSRV>"))


def _haproxy_ending(request: Request) -> tuple[str, str]:
    return HAPROXY_ENDINGS[request.bytes_sent % len(HAPROXY_ENDINGS)]


def haproxy_httplog(request: Request) -> str:
    """`option httplog`, in UTC (HAProxy logs local time with no offset: logstat reads UTC);
    every other line captures the Host and User-Agent headers."""
    state, server = _haproxy_ending(request)
    moment = request.timestamp.astimezone(UTC)
    milliseconds = round(request.request_time * 1000)
    captures = ""
    if request.bytes_sent % 3:
        agent = haproxy_escape(request.user_agent or "", header=True)
        captures = f"{{{request.host}|{agent}}} "
    return (
        f"{request.client_ip}:{request.bytes_sent % 65536} "
        f"[{moment.strftime('%d/%b/%Y:%H:%M:%S')}.000] web~ app/{server} "
        f"0/0/1/{milliseconds}/{milliseconds} {-1 if request.status is None else request.status} "
        f"{request.bytes_sent} - - {state} 1/1/0/0/0 0/0 {captures}"
        f'"{haproxy_escape(request.request_line)}"'
    )


def haproxy_expected(request: Request) -> Expected:
    state, server = _haproxy_ending(request)
    agent = haproxy_escape(request.user_agent or "", header=True)
    return {
        "client_ip": request.client_ip,
        "timestamp": utc_second(request.timestamp),
        **_request_fields(request, haproxy_read),
        "status": -1 if request.status is None else request.status,
        "bytes_sent": request.bytes_sent,
        "request_time_s": round(request.request_time * 1000) / 1000,
        "termination_state": state,
        "server": server,
        "captured_request_headers": f"{request.host}|{agent}" if request.bytes_sent % 3 else None,
    }


ENVOY_FLAGS = ("-", "UF,URX", "NR", "DC", "UpstreamConnectionFailure")


def _envoy_flags(request: Request) -> str:
    return ENVOY_FLAGS[request.bytes_sent % len(ENVOY_FLAGS)]


@st.composite
def envoy_requests(draw: st.DrawFn) -> Request:
    """Envoy writes values as they came, unescaped: the :path header holds no space or
    quote (HTTP forbids them), the user agent no `"`; every request has a protocol."""
    token = st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"?'),
        max_size=12,
    )
    request = draw(requests(text=quoted_safe_text(), protocols=st.sampled_from(PROTOCOLS)))
    return replace(
        request,
        path="/" + draw(token),
        query=draw(st.one_of(st.none(), token.filter(bool))),
        method=draw(st.sampled_from(METHODS)),
    )


def envoy_default(request: Request) -> str:
    """Envoy's default format string."""
    moment = request.timestamp.astimezone(UTC)
    milliseconds = round(request.request_time * 1000)
    upstream = "-" if _envoy_flags(request) == "NR" else "10.0.2.1:80"
    return (
        f"[{moment.strftime('%Y-%m-%dT%H:%M:%S')}.000Z] "
        f'"{request.request_line}" {request.status if request.status is not None else 0} '
        f"{_envoy_flags(request)} 0 {request.bytes_sent} {milliseconds} - "
        f'"-" "{request.user_agent or "-"}" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" '
        f'"{request.host}" "{upstream}"'
    )


def envoy_expected(request: Request) -> Expected:
    flags = _envoy_flags(request)
    return {
        "timestamp": utc_second(request.timestamp),
        **_request_fields(request, str),
        "status": request.status if request.status is not None else 0,
        "bytes_sent": request.bytes_sent,
        "request_time_s": round(request.request_time * 1000) / 1000,
        "user_agent": absent(request.user_agent),
        "host": request.host,
        "response_flags": None if flags == "-" else flags,
    }


CLOUDFRONT_FIELDS = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status "
    "cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id "
    "x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "
    "x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port "
    "time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end"
)
CLOUDFRONT_HEADER = ("#Version: 1.0", f"#Fields: {CLOUDFRONT_FIELDS}")
# (result type, detailed result type, who produced the status)
CLOUDFRONT_RESULTS = (
    ("Hit", "Hit", "proxy"),
    ("Miss", "Miss", "upstream"),
    ("Error", "OriginConnectError", "proxy"),
    ("Error", "Error", "unknown"),
)


@st.composite
def cloudfront_requests(draw: st.DrawFn) -> Request:
    """CloudFront URL-encodes what it logs: no tab, space or `%` reaches a field as is."""
    token = st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="?%"),
        min_size=1,
        max_size=12,
    )
    agent = st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="%"),
        max_size=20,
    )
    request = draw(requests(protocols=st.sampled_from(PROTOCOLS)))
    return replace(
        request,
        path="/" + draw(token),
        query=draw(st.one_of(st.none(), token)),
        method=draw(st.sampled_from(METHODS)),
        user_agent=draw(st.one_of(st.none(), agent.filter(lambda text: text.strip() == text))),
        status=draw(st.integers(0, 999)),
        timestamp=draw(timestamps(min_year=2000)),
    )


def cloudfront_entry(request: Request) -> str:
    result, detailed, _ = CLOUDFRONT_RESULTS[request.bytes_sent % len(CLOUDFRONT_RESULTS)]
    moment = request.timestamp.astimezone(UTC)
    agent = (request.user_agent or "-").replace(" ", "%20") or "-"
    fields = [
        moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S"), "FRA56-P2",
        str(request.bytes_sent), request.client_ip, request.method,
        "d111111abcdef8.cloudfront.net", request.path, f"{request.status:03d}", "-", agent,
        request.query or "-", "-", result, "SOX4xwn4XV6Q4rgb7XiVGOHms==", request.host,
        "https", "23", f"{request.request_time:.3f}", "-", "TLSv1.3", "TLS_AES_128_GCM_SHA256",
        result, request.protocol or "HTTP/1.1", "-", "-", "50123", "0.001", detailed,
        "text/html", "78", "-", "-",
    ]  # fmt: skip
    return "\t".join(fields)


def cloudfront_expected(request: Request) -> Expected:
    _, detailed, producer = CLOUDFRONT_RESULTS[request.bytes_sent % len(CLOUDFRONT_RESULTS)]
    return {
        "timestamp": utc_second(request.timestamp),
        "client_ip": request.client_ip,
        "method": request.method,
        "path": request.path,
        "query": absent(request.query),  # a query of just `-` is logged as none is
        "protocol": request.protocol,
        "status": request.status,
        "bytes_sent": request.bytes_sent,
        "user_agent": absent(request.user_agent),
        "host": request.host,
        "edge_detailed_result_type": detailed,
        "produced_by": producer if request.status else "proxy",
    }


def traefik_entry(request: Request) -> str:
    """Traefik's JSON access log: the server's status as OriginStatus (0: none asked)."""
    moment = request.timestamp.astimezone(UTC)
    record = {
        "ClientHost": request.client_ip,
        "DownstreamContentSize": request.bytes_sent,
        "DownstreamStatus": request.status,
        "Duration": round(request.request_time * 1000) * 1_000_000,
        "OriginStatus": _upstream(request) or 0,
        "RequestHost": request.host,
        "RequestMethod": request.method,
        "RequestPath": request.target,
        "RequestProtocol": request.protocol or "HTTP/1.0",
        "RouterName": "shop@docker",
        "StartUTC": moment.strftime("%Y-%m-%dT%H:%M:%S.000000000Z"),
        "request_User-Agent": request.user_agent or "",
        "request_Referer": request.referer or "",
    }
    return json.dumps(record, ensure_ascii=request.bytes_sent % 3 == 0)


def traefik_expected(request: Request) -> Expected:
    return {
        **cloudflare_expected(request),
        "request_time_s": round(request.request_time * 1000) / 1000,
    }


def caddy_entry(request: Request) -> str:
    """Caddy's access entry: the request as an object, headers as lists, ts in seconds."""
    headers = {
        name: [value]
        for name, value in (("User-Agent", request.user_agent), ("Referer", request.referer))
        if value
    }
    record = {
        "level": "info",
        "ts": request.timestamp.timestamp(),
        "logger": "http.log.access.log0",
        "msg": "handled request",
        "request": {
            "remote_ip": request.client_ip,
            "proto": request.protocol or "HTTP/1.0",
            "method": request.method,
            "host": request.host,
            "uri": request.target,
            "headers": headers,
        },
        "duration": round(request.request_time, 3),
        "size": request.bytes_sent,
        "status": request.status,
    }
    return json.dumps(record, ensure_ascii=request.bytes_sent % 3 == 0)


def caddy_expected(request: Request) -> Expected:
    expected = cloudflare_expected(request)
    del expected["upstream_status"]
    return {**expected, "request_time_s": round(request.request_time, 3)}


def google_lb_entry(request: Request) -> str:
    """A Cloud Logging entry of Google's load balancer: the backend's status passed on."""
    http = {
        "requestMethod": request.method,
        "requestUrl": f"https://{request.host}{request.target}",
        "status": request.status,
        "responseSize": str(request.bytes_sent),
        "userAgent": request.user_agent or "",
        "referer": request.referer or "",
        "remoteIp": request.client_ip,
        "latency": f"{round(request.request_time, 3)}s",
        "protocol": request.protocol or "HTTP/1.0",
    }
    record = {
        "httpRequest": http,
        "jsonPayload": {"statusDetails": "response_sent_by_backend"},
        "resource": {"type": "http_load_balancer"},
        "timestamp": request.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    return json.dumps(record, ensure_ascii=request.bytes_sent % 3 == 0)


def google_lb_expected(request: Request) -> Expected:
    return {**caddy_expected(request), "host": request.host.split(":")[0]}


def cloudfront_realtime_entry(request: Request) -> str:
    """A real-time record of every field, in AWS's order (`-` where the test has none)."""
    from logstat.formats.cloudfront_realtime import FIELDS

    result, detailed, _ = CLOUDFRONT_RESULTS[request.bytes_sent % len(CLOUDFRONT_RESULTS)]
    values = {
        "timestamp": f"{request.timestamp.timestamp():.3f}",
        "c-ip": request.client_ip,
        "sc-status": str(request.status),
        "sc-bytes": str(request.bytes_sent),
        "cs-method": request.method,
        "cs-host": "d111111abcdef8.cloudfront.net",
        "cs-uri-stem": request.path,
        "x-host-header": request.host,
        "time-taken": f"{request.request_time:.3f}",
        "cs-protocol-version": request.protocol or "HTTP/1.1",
        "cs-user-agent": (request.user_agent or "-").replace(" ", "%20") or "-",
        "cs-uri-query": request.query or "-",
        "x-edge-result-type": result,
        "x-edge-detailed-result-type": detailed,
    }
    return "\t".join(values.get(name, "-") for name in FIELDS)


def cloudfront_realtime_expected(request: Request) -> Expected:
    expected = cloudfront_expected(request)
    expected["timestamp"] = request.timestamp.astimezone(UTC)
    return expected


def azure_front_door_entry(request: Request) -> str:
    """A Front Door access record: the origin's status passed on (errorInfo NoError)."""
    properties = {
        "httpMethod": request.method,
        "httpVersion": request.protocol or "HTTP/1.0",
        "requestUri": f"https://{request.host}{request.target}",
        "responseBytes": str(request.bytes_sent),
        "userAgent": request.user_agent or "",
        "referer": request.referer or "",
        "clientIp": request.client_ip,
        "timeTaken": f"{round(request.request_time, 3)}",
        "httpStatusCode": str(request.status),
        "cacheStatus": "MISS",
        "errorInfo": "NoError",
    }
    record = {
        "time": request.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "category": "FrontDoorAccessLog",
        "properties": properties,
    }
    return json.dumps(record, ensure_ascii=request.bytes_sent % 3 == 0)


def azure_app_gateway_entry(request: Request) -> str:
    """An Application Gateway v2 access record: the backend's status passed on."""
    properties = {
        "clientIP": request.client_ip,
        "httpMethod": request.method,
        "originalRequestUriWithArgs": request.target,
        "userAgent": request.user_agent or "",
        "httpStatus": request.status,
        "httpVersion": request.protocol or "HTTP/1.0",
        "sentBytes": request.bytes_sent,
        "timeTaken": round(request.request_time, 3),
        "serverStatus": str(request.status),
        "originalHost": request.host,
        "error_info": "ERRORINFO_NO_ERROR",
    }
    record = {
        "timeStamp": request.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "category": "ApplicationGatewayAccessLog",
        "properties": properties,
    }
    return json.dumps(record, ensure_ascii=request.bytes_sent % 3 == 0)


def azure_app_gateway_expected(request: Request) -> Expected:
    expected = caddy_expected(request)
    del expected["referer"]
    return expected


RENDERERS: list[Renderer] = [
    Renderer("nginx", "combined", nginx_combined, nginx_combined_expected),
    Renderer("nginx", "vhost_combined", nginx_vhost, nginx_vhost_expected),
    Renderer("nginx", "upstreaminfo", nginx_upstreaminfo, nginx_upstreaminfo_expected),
    Renderer(
        "apache", "combined", apache_combined, apache_combined_expected, strategy=apache_requests()
    ),
    Renderer("apache", "common", apache_common, apache_common_expected, strategy=apache_requests()),
    Renderer(
        "apache",
        "vhost_combined",
        apache_vhost_combined,
        apache_vhost_combined_expected,
        strategy=apache_requests(),
    ),
    Renderer("alb", None, alb_entry, aws_expected, strategy=aws_requests()),
    Renderer("elb", None, elb_entry, aws_expected, strategy=aws_requests()),
    Renderer("iis", None, iis_entry, iis_expected, header=IIS_HEADER, strategy=iis_requests()),
    Renderer(
        "cloudflare", "json", cloudflare_entry, cloudflare_expected, strategy=cloudflare_requests()
    ),
    Renderer("haproxy", "httplog", haproxy_httplog, haproxy_expected, strategy=apache_requests()),
    Renderer("envoy", "default", envoy_default, envoy_expected, strategy=envoy_requests()),
    Renderer(
        "cloudfront",
        None,
        cloudfront_entry,
        cloudfront_expected,
        header=CLOUDFRONT_HEADER,
        strategy=cloudfront_requests(),
    ),
    Renderer("traefik", None, traefik_entry, traefik_expected, strategy=cloudflare_requests()),
    Renderer("caddy", None, caddy_entry, caddy_expected, strategy=cloudflare_requests()),
    Renderer(
        "google_lb", None, google_lb_entry, google_lb_expected, strategy=cloudflare_requests()
    ),
    Renderer(
        "azure_front_door",
        None,
        azure_front_door_entry,
        google_lb_expected,
        strategy=cloudflare_requests(),
    ),
    Renderer(
        "azure_app_gateway",
        None,
        azure_app_gateway_entry,
        azure_app_gateway_expected,
        strategy=cloudflare_requests(),
    ),
    Renderer(
        "cloudfront_realtime",
        None,
        cloudfront_realtime_entry,
        cloudfront_realtime_expected,
        strategy=cloudfront_requests(),
    ),
]


def renderers_for(format_name: str) -> list[Renderer]:
    return [renderer for renderer in RENDERERS if renderer.format == format_name]


# --- reading lines back through the public pipeline -----------------------------------


def parse_back(path: Path, format_name: str | None, layout: str | None = None) -> pl.DataFrame:
    """Every line of `path` as logstat's pipeline parses it (all columns), in line order."""
    from logstat.reading import pipeline
    from logstat.reading.sources import expand

    options = pipeline.Options(format=format_name, log_format=layout)
    runs = pipeline.plan(expand([str(path)]), options)
    frames = [frame for _, frame in pipeline.read(runs, options, None)]
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, how="diagonal_relaxed").sort("line_no")


# --- logs and runs for the robustness tests ---------------------------------------------


def nginx_lines(count: int, seed: int = 0, status: int | None = None) -> bytes:
    """`count` varied nginx combined lines (varied, so compression leaves real work)."""
    chooser = random.Random(seed)
    statuses = (200, 200, 200, 304, 404, 499, 502)
    lines = []
    for index in range(count):
        moment = datetime(2024, 3, 1, tzinfo=timezone(timedelta(hours=1))) + timedelta(
            seconds=index
        )
        lines.append(
            f"192.0.2.{chooser.randrange(1, 255)} - - [{clf_time(moment)}] "
            f'"GET /item/{chooser.randrange(10**9)}?page={chooser.randrange(100)} HTTP/1.1" '
            f"{status or chooser.choice(statuses)} {chooser.randrange(10**6)} "
            f'"https://example.com/{chooser.randrange(10**6)}" "Mozilla/5.0 (X11; Linux x86_64)"\n'
        )
    return "".join(lines).encode()


# Requests for the report tests, written as Apache vhost_combined lines (helpers.Record)
records_strategy = st.lists(
    st.builds(
        Record,
        host=st.sampled_from(["shop.example.com", "api.example.com", "Static.Example.com"]),
        client_ip=st.sampled_from([f"192.0.2.{number}" for number in range(1, 9)]),
        moment=st.integers(0, 3 * 86400 - 1).map(
            lambda seconds: START + timedelta(seconds=seconds)
        ),
        method=st.sampled_from(["GET", "POST", "PUT"]),
        path=st.sampled_from(["/", "/a", "/b", "/api/v1/x", "/api/v2/y", "/c|d", "/e`f"]),
        status=st.sampled_from([200, 201, 301, 304, 400, 403, 404, 499, 500, 502, 503, 504]),
        user_agent=st.sampled_from(["curl/8", "Mozilla/5.0 (X11)", "bot [bold]x[/]"]),
    ),
    min_size=0,
    max_size=120,
)


# --- access lines with hostile edits (the fast regexes' and folding's tests) ---------

# valid nginx and Apache lines of several layouts
ACCESS_LINES = [
    '203.0.113.9 - - [01/Mar/2026:01:00:00 +0100] "GET /search?q=\\x22kids\\x22&p=3 HTTP/1.1" '
    '200 127 "https://shop.example.com/cart" "Mozilla/5.0 (X11; Linux x86_64)"',
    '2001:db8::7a3f - alice [28/Feb/2026:19:00:00 -0500] "POST /api/v1/orders/42 HTTP/2.0" '
    '499 0 "-" "curl/8.5.0"',
    '10.0.0.2, 10.0.0.1 - - [01/Mar/2026:01:00:00 +0000] "GET / HTTP/1.0" 304 - "-" "-"',
    '"10.5.1.2, 199.96.1.1" 10.2.1.185 - - [01/Mar/2026:01:00:00 +0000] "GET /a HTTP/1.1" '
    '200 5 "-" "ua \\"quoted\\""',
    'shop.example.com:443 198.51.100.7 - - [01/Mar/2026:01:00:00 +0100] "HEAD /x HTTP/1.1" '
    '200 0 "-" "Go-http-client/2.0" 0.003',
    '198.51.100.7 - - [01/Mar/2026:01:00:00 +0100] "-" 400 0 "-" "-"',
    '198.51.100.7 - - [01/Mar/2026:01:00:00 +0100] "\\x16\\x03\\x01" 400 157 "-" "-"',
]
LINE_EDITS = [
    '"',
    "\t",
    "\u00a0",
    ",",
    "\\",
    "\u0663",
    "  ",
    " ",
    '\\"',
    "-",
    "]",
    "[",
    "\u2003",
    "?",
]


@st.composite
def hostile_lines(draw: st.DrawFn) -> str:
    line = draw(st.sampled_from(ACCESS_LINES))
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(line)))
        if draw(st.booleans()):
            line = line[:position] + draw(st.sampled_from(LINE_EDITS)) + line[position:]
        else:
            line = line[:position] + line[position + 1 :]
    return line
