"""HAProxy access logs: `option httplog`, `option httpslog`, `option httplog clf`, and
`log-format` strings in HAProxy's `%` variable syntax.

HAProxy declares its log formats as log-format strings (configuration manual 8.2.3,
8.2.4), so each layout below is HAProxy's own string, compiled like an nginx or
Apache format string; `--format haproxy --log-format '...'` reads a custom one.

    127.0.0.1:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 \
        200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"

HAProxy logs through syslog, so a line usually carries a syslog header first
(`Feb  6 12:14:14 localhost haproxy[14389]: `, RFC 5424, a bare `<134>`, an ISO
time): `ENVELOPE` cuts it before the line is read.  Its own event messages in the
same log (`Proxy www started.`, `Server be/s1 is DOWN ...`, TLS handshake errors)
are no requests and are counted as comments.

`%t`/`%tr` write the proxy host's local time without an offset; logstat reads them
as UTC (run HAProxy with TZ=UTC, or log `%trg`, to have true instants).

Captured headers (`{...}`) are kept as logged: HAProxy prints one block per
direction that captures, so a single block is read as the request headers.
Who produced the status comes from the termination state (`produced_by`).

https://docs.haproxy.org/2.6/configuration.html#8.2.3
https://docs.haproxy.org/2.6/configuration.html#8.2.6
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from logstat.formats import envelope
from logstat.formats.base import TemplateSyntax, template_format
from logstat.formats.template import (
    CLF_TIME,
    CLF_TIME_TEXT,
    Converter,
    Field,
    Literal,
    Token,
    from_epoch_seconds,
    from_request_line,
    missing,
    split_target,
    to_integer,
    to_string,
    to_timestamp,
)

# %t / %tr: 06/Feb/2009:12:14:14.655, the host's local time with no offset (read as UTC);
# very old versions wrote no milliseconds
LOCAL_TIME_TEXT = r"[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3})?"
LOCAL_TIME = "%d/%b/%Y:%H:%M:%S%.f"
# timers, counters and sizes: -1 when not measured, a leading + with `option logasap`
# (Ta, B) or after a redispatch (retries)
COUNT = r"\+?-?[0-9]+"
STATUS = r"-?[0-9]{1,4}"  # -1: no status (the client left while queued or connecting)
TERMINATION = r"[A-Za-z-]{2}"
TERMINATION_COOKIE = r"[A-Za-z-]{4}"
# %hr / %hs: `{Host|User-Agent}`, printed only when the frontend captures headers, each
# with the space after it (absorbed here, so a line reads in one pass either way)
HEADER_BLOCK = r"\{[^{}]*\} "
# %hrl / %hsl (CLF): one quoted value per captured header, each after a space (absorbed
# here: at the end of the line, where syslog daemons may strip the space)
HEADER_LIST = r'(?: "[^"]*")*'


def _local_time(text: pl.Expr) -> dict[str, pl.Expr]:
    return {
        "timestamp": missing(text).str.to_datetime(
            LOCAL_TIME, strict=False, time_unit="us", time_zone="UTC"
        )
    }


def _count(column: str) -> Converter:
    """A number HAProxy may prefix with `+`; -1 (not measured) becomes null."""

    def convert(text: pl.Expr) -> dict[str, pl.Expr]:
        number = missing(text).str.strip_prefix("+").cast(pl.Int64, strict=False)
        return {column: pl.when(number >= 0).then(number)}

    return convert


def _milliseconds(column: str) -> Converter:
    """A timer in milliseconds as seconds; -1 (not measured) becomes null."""

    def convert(text: pl.Expr) -> dict[str, pl.Expr]:
        count = _count(column)(text)[column]
        return {column: (count / 1000).round(3)}  # whole ms: no binary float noise

    return convert


def _status(text: pl.Expr) -> dict[str, pl.Expr]:
    return {"status": missing(text).cast(pl.Int16, strict=False)}


def _braced(column: str) -> Converter:
    """`{a|b} ` -> `a|b`; no block (nothing captured) -> null.  Kept as logged (`|`
    separates the headers; HAProxy writes one inside a value as #7C)."""
    return lambda text: {column: missing(text.str.strip_chars_end(" ").str.slice(1).str.head(-1))}


def _two_blocks(text: pl.Expr) -> dict[str, pl.Expr]:
    """`%hr %hs`: `{request} {response} `; a single block is the request's (a frontend
    that captures only response headers would need its own --log-format)."""
    blocks = text.str.extract_groups(r"^\{([^{}]*)\} (?:\{([^{}]*)\} )?$")
    return {
        "captured_request_headers": missing(blocks.struct.field("1")),
        "captured_response_headers": missing(blocks.struct.field("2")),
    }


def _address_and_port(text: pl.Expr) -> dict[str, pl.Expr]:
    """`10.0.1.2:33317`, `2001:db8::1:33317`, `unix:1` -> the address and the port."""
    parts = missing(text).str.extract_groups(r"^(.*):([0-9]+)$")
    return {
        "client_ip": parts.struct.field("1"),
        "client_port": parts.struct.field("2").cast(pl.Int32, strict=False),
    }


def _listed(column: str) -> Converter:
    """` "a" "b"` (CLF captures) as logged, without the space before it."""
    return lambda text: {column: missing(text.str.strip_chars_start(" "))}


def _query(text: pl.Expr) -> dict[str, pl.Expr]:
    """%HQ is the query string with its leading '?', or empty."""
    return {"query": missing(text.str.strip_prefix("?"))}


# kind of value, for the Q (quote) flag: HAProxy quotes strings and addresses,
# never numbers, dates or the termination state
STRING, ADDRESS, PLAIN = "string", "address", "plain"


class Variable(NamedTuple):
    pattern: str | None  # None: by what follows it in the format string
    convert: Converter
    columns: tuple[str, ...]
    kind: str = PLAIN


def _text(column: str, kind: str = STRING, convert: Converter | None = None) -> Variable:
    return Variable(None, convert or to_string(column), (column,), kind)


def _number(column: str, convert: Callable[[str], Converter] = _count) -> Variable:
    return Variable(COUNT, convert(column), (column,))


def _port(column: str) -> Variable:
    return Variable(None, to_integer(column, pl.Int32()), (column,))


def _time(pattern: str, convert: Converter) -> Variable:
    return Variable(pattern, convert, ("timestamp",))


def _captures(pattern: str, convert: Callable[[str], Converter], column: str) -> Variable:
    return Variable(pattern, convert(column), (column,))


CLF_TIMESTAMP = to_timestamp(CLF_TIME)
REQUEST_PARTS = ("method", "path", "query", "protocol")
# https://docs.haproxy.org/2.6/configuration.html#8.2.6 (the table of variables)
# variables written side by side that read in one pass only together (see _joined)
JOINED = {("ci", ":", "cp"): "ci:cp", ("hr", " ", "hs"): "hr hs", ("hrl", " ", "hsl"): "hrl hsl"}
VARIABLES: dict[str, Variable] = {
    "ci:cp": Variable(None, _address_and_port, ("client_ip", "client_port")),
    "hr hs": Variable(
        f"(?:{HEADER_BLOCK}(?:{HEADER_BLOCK})?)?",
        _two_blocks,
        ("captured_request_headers", "captured_response_headers"),
    ),
    # CLF: where the request's values end and the response's begin is not written
    "hrl hsl": _captures(HEADER_LIST, _listed, "captured_headers"),
    "ci": _text("client_ip", ADDRESS),
    "cp": Variable(COUNT, to_integer("client_port", pl.Int32()), ("client_port",)),
    "t": _time(LOCAL_TIME_TEXT, _local_time),  # accept date
    "tr": _time(LOCAL_TIME_TEXT, _local_time),  # the request's date
    "trg": _time(CLF_TIME_TEXT, CLF_TIMESTAMP),
    "trl": _time(CLF_TIME_TEXT, CLF_TIMESTAMP),
    "T": _time(CLF_TIME_TEXT, CLF_TIMESTAMP),
    "Tl": _time(CLF_TIME_TEXT, CLF_TIMESTAMP),
    "Ts": _time(r"[0-9]+", from_epoch_seconds),
    "ms": Variable(r"[0-9]+", to_integer("accept_ms", pl.Int32()), ("accept_ms",)),
    "ft": _text("frontend"),  # with `~` after it for a TLS listener
    "f": _text("frontend"),
    "b": _text("backend"),
    "s": _text("server"),  # <NOSRV>: none chosen; <STATS>, <CACHE>: HAProxy's own
    # the request's life in HAProxy, logged in milliseconds (8.4 "Timing events")
    "TR": _number("request_read_s", _milliseconds),
    "Tw": _number("queue_wait_s", _milliseconds),
    "Tc": _number("connect_time_s", _milliseconds),
    "Tr": _number("response_time_s", _milliseconds),
    "Ta": _number("request_time_s", _milliseconds),
    "Tt": _number("session_time_s", _milliseconds),
    "Th": _number("handshake_time_s", _milliseconds),
    "Ti": _number("idle_time_s", _milliseconds),
    "Tq": _number("request_wait_s", _milliseconds),
    "Td": _number("data_time_s", _milliseconds),
    "Tu": _number("client_time_s", _milliseconds),
    "ST": Variable(STATUS, _status, ("status",)),
    "B": _number("bytes_sent"),
    "U": _number("bytes_received"),
    "CC": _text("request_cookie"),
    "CS": _text("response_cookie"),
    "ts": Variable(TERMINATION, to_string("termination_state"), ("termination_state",)),
    "tsc": Variable(TERMINATION_COOKIE, to_string("termination_state"), ("termination_state",)),
    "ac": _number("process_connections"),
    "fc": _number("frontend_connections"),
    "bc": _number("backend_connections"),
    "sc": _number("server_connections"),
    "rc": _number("retries"),
    "sq": _number("server_queue"),
    "bq": _number("backend_queue"),
    "hr": _captures(f"(?:{HEADER_BLOCK})?", _braced, "captured_request_headers"),
    "hs": _captures(f"(?:{HEADER_BLOCK})?", _braced, "captured_response_headers"),
    "hrl": _captures(HEADER_LIST, _listed, "captured_request_headers"),
    "hsl": _captures(HEADER_LIST, _listed, "captured_response_headers"),
    "r": Variable(None, from_request_line, REQUEST_PARTS, STRING),
    "HM": _text("method"),
    "HP": Variable(None, split_target, ("path", "query"), STRING),
    "HPO": _text("path"),
    "HQ": _text("query", convert=_query),
    "HU": Variable(None, split_target, ("path", "query"), STRING),
    "HV": _text("protocol"),
    "H": _text("log_host"),
    "ID": _text("unique_id"),
    "si": _text("server_ip", ADDRESS),
    "sp": _port("server_port"),
    "fi": _text("frontend_ip", ADDRESS),
    "fp": _port("frontend_port"),
    "bi": _text("backend_source_ip", ADDRESS),
    "bp": _port("backend_source_port"),
    "sslv": _text("ssl_protocol"),
    "sslc": _text("ssl_cipher"),
    "pid": Variable(r"[0-9]+", to_integer("pid"), ("pid",)),
    "rt": Variable(r"[0-9]+", to_integer("request_counter"), ("request_counter",)),
    "lc": Variable(r"[0-9]+", to_integer("log_counter"), ("log_counter",)),
}
BLOCKS = ("hr", "hs", "hr hs")  # their pattern takes the space after them
LISTS = ("hrl", "hsl", "hrl hsl")  # their pattern takes the space before them
# the columns produced_by reads, parsed whatever the report needs
PRODUCED_BY_READS = frozenset({"status", "termination_state", "server"})
# what a field in no known shape may hold, by what follows it: `%b/%s`, `%ci:%cp`
FREE_TEXT = r"\S+"
QUOTED_TEXT = r'[^"]*'  # inside the quotes of the Q flag

HTTPLOG = (
    "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC "
    "%CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"
)
LAYOUTS = {
    # the strict equivalents HAProxy's manual gives for its options (8.2.3, 8.2.4)
    "httplog": HTTPLOG,
    "httpslog": HTTPLOG
    + " %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed]"
    " %[ssl_fc_sni]/%sslv/%sslc",
    "clf": '%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta '
    "%tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl",
    # TCP frontends log no HTTP status: their sessions are records with none, as
    # classic ELB's TCP listener entries are, so a shared log's lines all count
    "tcplog": "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq",
}

# %name, %{flags}name, %[sample expression], %% (a percent sign); names are alphanumeric
_VARIABLE = re.compile(r"%(?:\{([^}]*)\})?(?:\[([^\]]*)\]|([A-Za-z0-9]+)|(%))")


@dataclass
class _Piece:
    """A variable of a log-format string, before its neighbours decide its pattern."""

    directive: str
    name: str  # a VARIABLES key, or "" for a sample expression
    sample: str | None
    quoted: bool


def _pieces(template: str) -> list[str | _Piece]:
    """Literal text and variables, with the Q flag (quote strings) applied: `%{+Q}o`
    sets it for every variable after it, `%{+Q}r` / `%{-Q}ci` for one."""
    # the configuration file escapes spaces and quotes: `log-format %ci\ %cp`
    template = template.replace("\\ ", " ").replace('\\"', '"')
    pieces: list[str | _Piece] = []
    quote_all = False
    position = 0
    for match in _VARIABLE.finditer(template):
        if match.start() > position:
            pieces.append(template[position : match.start()])
        position = match.end()
        flags, sample, name, percent = match.groups()
        if percent:
            pieces.append("%")
            continue
        quoted = quote_all
        for flag in (flags or "").split(","):
            if flag.strip() in ("+Q", "Q"):
                quoted = True
            elif flag.strip() == "-Q":
                quoted = False
        if name == "o":  # carries its flags to the variables after it; writes nothing
            quote_all = quoted
            position = len(match.string) - len(match.string[position:].lstrip(" "))
            continue
        pieces.append(_Piece(match.group(0), name or "", sample, quoted))
    if position < len(template):
        pieces.append(template[position:])
    return _joined(pieces)


def _joined(pieces: list[str | _Piece]) -> list[str | _Piece]:
    """Variables in JOINED as one field.  `%ci:%cp`: an IPv6 client holds colons too,
    and the port is only known to follow the last one; `%hr %hs`: a single block
    could be either.  Read apart, each choice waits for later text, which takes the
    regex engine off its fast one-pass path."""
    joined: list[str | _Piece] = []
    index = 0
    while index < len(pieces):
        window = pieces[index : index + 3]
        match window:
            case [_Piece() as first, str() as between, _Piece() as last] if (
                (first.name, between, last.name) in JOINED
                and not _written_quoted(first)
                and not _written_quoted(last)
            ):
                name = JOINED[first.name, between, last.name]
                directive = first.directive + between + last.directive
                joined.append(_Piece(directive, name, None, False))
                index += 3
            case _:
                joined.append(window[0])
                index += 1
    return joined


def _written_quoted(piece: _Piece) -> bool:
    """The Q flag quotes strings and addresses only."""
    known = VARIABLES.get(piece.name)
    return piece.quoted and (known is None or known.kind in (STRING, ADDRESS))


def _sample_column(expression: str) -> str:
    """`ssl_fc_err,hex` -> ssl_fc_err; `capture.req.hdr(0)` -> capture_req_hdr_0."""
    fetch = expression.split(",")[0]
    return re.sub(r"\W+", "_", fetch).strip("_").lower() or "sample"


def _field(piece: _Piece, following: str) -> list[Token]:
    """The tokens of one variable: its field, in quotes when the Q flag applies to it."""
    if piece.sample is not None:
        known = _text(_sample_column(piece.sample))
    else:
        known = VARIABLES.get(piece.name) or _text("field_" + piece.name.lower())
    pattern, convert, columns, kind = known
    quoted = piece.quoted and kind in (STRING, ADDRESS)
    common = None
    if quoted:
        # HAProxy writes `"` as #22 and never escapes with a backslash: a quoted value
        # ends at the next quote, whatever comes before it
        pattern = QUOTED_TEXT
        convert = _unescaped(convert)
    elif pattern is None:
        # up to the text that follows: `%b/%s` stops at the slash, `%ci:%cp` at the colon
        stop = following[:1]
        if stop and not stop.isspace():
            pattern = FREE_TEXT
            common = rf"[^\s{re.escape(stop)}]+"
        else:
            pattern = FREE_TEXT
    field = Field(piece.directive, convert, pattern, columns, None, common)
    if quoted:
        return [Literal('"'), field, Literal('"')]
    return [field]


def tokenize(template: str) -> list[Token]:
    """Split an HAProxy log-format string into literal text and variables."""
    pieces = _pieces(template)
    tokens: list[Token] = []
    for index, piece in enumerate(pieces):
        if isinstance(piece, str):
            text = piece
            before = pieces[index - 1] if index else None
            after = pieces[index + 1] if index + 1 < len(pieces) else None
            # the captures' patterns take the space beside them, since they may be absent
            if isinstance(before, _Piece) and before.name in BLOCKS:
                text = text.removeprefix(" ")
            if isinstance(after, _Piece) and after.name in LISTS:
                text = text.removesuffix(" ")
            if text:
                tokens.append(Literal(text))
            continue
        after = pieces[index + 1] if index + 1 < len(pieces) else ""
        tokens.extend(_field(piece, after if isinstance(after, str) else ""))
    return _merge_literals(tokens)


def _merge_literals(tokens: list[Token]) -> list[Token]:
    """Adjacent literals as one: a quote added for the Q flag beside the format's own text."""
    merged: list[Token] = []
    for token in tokens:
        if isinstance(token, Literal) and merged and isinstance(merged[-1], Literal):
            merged[-1] = Literal(merged[-1].text + token.text)
        else:
            merged.append(token)
    return merged


def _unescaped(convert: Converter) -> Converter:
    return lambda text: convert(unescape(text))


def unescape(text: pl.Expr) -> pl.Expr:
    """HAProxy writes `"` as #22 and `#` as #23 in logged text (8.6), `{|}` as #7B #7C #7D
    in captured headers; other bytes outside 32-126 stay escaped as #XX."""
    for code, character in (("#22", '"'), ("#7B", "{"), ("#7C", "|"), ("#7D", "}")):
        text = text.str.replace_all(code, character, literal=True)
    return text.str.replace_all("#23", "#", literal=True)  # last: `#2322` is `#22` as text


# A syslog header before HAProxy's message, if any (HAProxy logs through syslog; its
# manual prints its examples with the tag alone): cut before the line is read.
ENVELOPE = envelope.SYSLOG_IF_ANY
# HAProxy's own messages in the same log: proxies starting and stopping, servers going
# up and down, the error log format of failed TLS handshakes (8.2.5)
NOTICES = (
    r"^(?:Proxy [^ ]+ (?:started|stopped|paused|resumed)"
    r"|(?:Stopping|Pausing|Resuming) (?:frontend|backend|proxy|peers) "
    r"|(?:Server|Backup Server|Health check for (?:backup )?server) [^ ]+/[^ ]+ "
    r"|backend [^ ]+ has no server available"
    r"|Connect from [^ ]+ to "
    r"|[^ ]+:[0-9]+ \[[^\]]*\] [^ ]+/[^ ]+: "
    # on stderr, its console messages: `[WARNING]  (1234) : Proxy web stopped ...`
    r"|\[(?:NOTICE|WARNING|ALERT)\] +\([0-9]+\) : )"
)


def produced_by(columns: set[str]) -> pl.Expr:
    """Who produced the status, from HAProxy's termination state (manual 8.5).

    The state's second character is the phase the session was in when it ended:
    before the server's response headers (R request, Q queue, C connect, H headers,
    T tarpit) no server answered, so HAProxy made the status up (503 after `SC`,
    504 after `sH`, 400/408 after `CR`/`cR`); in the data phase (D, L) or at a
    normal end (`--`) the server's headers had been passed on, so the status is the
    server's, whatever ended the session afterwards.  A first character P, L, R or I
    is HAProxy blocking or answering by itself.  No server at all (`<NOSRV>`, or an
    applet such as `<STATS>` or `<CACHE>`), and -1 (no status), are HAProxy's.
    https://docs.haproxy.org/2.6/configuration.html#8.5
    """
    status = pl.col("status")
    if "termination_state" not in columns:
        return pl.when(status == -1).then(pl.lit("proxy")).otherwise(pl.lit("unknown"))
    state = pl.col("termination_state")
    ended_by, phase = state.str.slice(0, 1), state.str.slice(1, 1)
    no_server = (
        pl.col("server").str.starts_with("<").fill_null(False)
        if "server" in columns
        else pl.lit(False)
    )
    return (
        pl.when(status.is_null())
        .then(pl.lit("unknown"))
        .when((status == -1) | no_server)
        .then(pl.lit("proxy"))
        .when(state.is_null())
        .then(pl.lit("unknown"))
        .when(phase.is_in(["R", "Q", "C", "H", "T"]))
        .then(pl.lit("proxy"))
        .when(phase.is_in(["D", "L"]))
        .then(pl.lit("upstream"))
        .when(ended_by.is_in(["P", "L", "R", "I"]))
        .then(pl.lit("proxy"))
        .otherwise(pl.lit("upstream"))
    )


FORMAT = template_format(
    name="haproxy",
    title="HAProxy log (option httplog, httpslog, httplog clf, or a log-format string)",
    vendors=("haproxy",),
    syntax=TemplateSyntax(
        tokenize=tokenize,
        marker="%",
        layouts=LAYOUTS,
        status_directives="%ST",
        envelope=ENVELOPE,
        notices=NOTICES,
    ),
    produced_by=produced_by,
    produced_by_reads=PRODUCED_BY_READS,
)
