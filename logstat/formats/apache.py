"""Apache httpd access logs: `LogFormat` strings in mod_log_config `%` syntax."""

from __future__ import annotations

import re

import polars as pl

from logstat.formats.base import TemplateSyntax, template_format
from logstat.formats.template import (
    CLF_TIME,
    CLF_TIME_TEXT,
    DECIMAL,
    NUMBER,
    PATH_BEFORE_QUERY,
    STATUS_NUMBER,
    TOKEN,
    Converter,
    Field,
    Literal,
    Token,
    from_epoch_seconds,
    from_request_line,
    missing,
    to_integer,
    to_seconds,
    to_string,
    to_timestamp,
    unescape_quoted,
)

# directive letter -> (pattern or None for "by context", converter, columns)
# https://httpd.apache.org/docs/2.4/mod/mod_log_config.html#formats
DIRECTIVES: dict[str, tuple[str | None, Converter, tuple[str, ...]]] = {
    "h": (TOKEN, to_string("client_ip"), ("client_ip",)),
    "a": (TOKEN, to_string("client_ip"), ("client_ip",)),
    "l": (TOKEN, to_string("remote_logname"), ("remote_logname",)),
    "u": (TOKEN, to_string("remote_user"), ("remote_user",)),
    # %t writes its own brackets: [10/Oct/2000:13:55:36 -0700]
    "t": (rf"\[{CLF_TIME_TEXT}\]", to_timestamp("[" + CLF_TIME + "]"), ("timestamp",)),
    "r": (None, from_request_line, ("method", "path", "query", "protocol")),
    ">s": (STATUS_NUMBER, to_integer("status"), ("status",)),
    # %s is the status before internal redirects; kept apart from the final %>s
    "s": (STATUS_NUMBER, to_integer("original_status", pl.Int16()), ("original_status",)),
    "b": (NUMBER, to_integer("bytes_sent"), ("bytes_sent",)),
    "B": (NUMBER, to_integer("bytes_sent"), ("bytes_sent",)),
    "O": (NUMBER, to_integer("bytes_sent"), ("bytes_sent",)),
    "I": (NUMBER, to_integer("bytes_received", pl.Int64()), ("bytes_received",)),
    "D": (NUMBER, to_seconds("request_time_s", 1_000_000), ("request_time_s",)),
    "T": (DECIMAL, to_seconds("request_time_s", 1), ("request_time_s",)),
    "v": (TOKEN, to_string("host"), ("host",)),
    "V": (TOKEN, to_string("host"), ("host",)),
    "p": (NUMBER, to_integer("server_port", pl.Int32()), ("server_port",)),
    "m": (TOKEN, to_string("method"), ("method",)),
    "U": (None, to_string("path"), ("path",)),
    "H": (TOKEN, to_string("protocol"), ("protocol",)),
}


def unescape(text: pl.Expr) -> pl.Expr:
    r"""Apache writes `"` as `\"` and `\` as `\\` in logged values; `\xhh` bytes stay escaped."""
    return text.str.replace_all(r'\\(["\\])', "$1")


def _query(text: pl.Expr) -> dict[str, pl.Expr]:
    """%q is the query string with its leading '?', or empty."""
    return {"query": missing(text.str.strip_prefix("?"))}


def _header(name: str, letter: str) -> Field:
    """%{Name}i request header (and %{Name}o, %{Name}e, %{Name}n, %{Name}C)."""
    lowered = name.lower()
    if letter == "i" and lowered == "referer":
        return Field(f"%{{{name}}}i", to_string("referer"), None, ("referer",))
    if letter == "i" and lowered == "user-agent":
        return Field(f"%{{{name}}}i", to_string("user_agent"), None, ("user_agent",))
    if letter == "i" and lowered == "host":
        return Field(f"%{{{name}}}i", to_string("host"), None, ("host",))
    column = re.sub(r"\W+", "_", lowered).strip("_") or "value"
    prefix = {"i": "", "o": "response_", "e": "env_", "n": "note_", "C": "cookie_"}.get(letter, "")
    return Field(f"%{{{name}}}{letter}", to_string(prefix + column), None, (prefix + column,))


def _timed(argument: str, letter: str) -> Field:
    """%{ms}T / %{us}T durations and %{sec}t / %{msec}t / %{...}t times."""
    directive = f"%{{{argument}}}{letter}"
    if letter == "T":
        divisor = {"us": 1_000_000, "ms": 1_000}.get(argument, 1)
        return Field(directive, to_seconds("request_time_s", divisor), DECIMAL, ("request_time_s",))
    if argument in ("sec", "msec", "usec"):
        scale = {"sec": 1, "msec": 1_000, "usec": 1_000_000}[argument]

        def convert(text: pl.Expr) -> dict[str, pl.Expr]:
            return from_epoch_seconds((text.cast(pl.Float64, strict=False) / scale).cast(pl.String))

        return Field(directive, convert, r"\d+", ("timestamp",))
    if "%" in argument:
        strftime = argument.removeprefix("begin:").removeprefix("end:")
        return Field(directive, to_timestamp(strftime), None, ("timestamp",))
    return Field(directive, to_string("time_text"), None, ("time_text",))


_DIRECTIVE = re.compile(r"%(?:[<>]?)(?:!?\d+(?:,\d+)*)?(?:\{([^}]*)\})?([<>]?[a-zA-Z%])")


def tokenize(template: str) -> list[Token]:
    """Split an Apache LogFormat string into literal text and directives."""
    tokens: list[Token] = []
    position = 0
    for match in _DIRECTIVE.finditer(template):
        if match.start() > position:
            tokens.append(Literal(template[position : match.start()]))
        argument, letter = match.group(1), match.group(2)
        if match.group(0).startswith("%>") and letter == "s":
            letter = ">s"
        tokens.append(_directive(argument, letter, match.group(0)))
        position = match.end()
    if position < len(template):
        tokens.append(Literal(template[position:]))
    return unescape_quoted(_status_fallback(tokens), unescape)


def _directive(argument: str | None, letter: str, text: str) -> Token:
    if letter == "%":
        return Literal("%")
    if argument is not None and letter in "ioenC":
        return _header(argument, letter)
    if argument is not None and letter in "tT":
        return _timed(argument, letter)
    if letter == "q":
        return Field(text, _query, r"(?:\?\S*)?", ("query",))
    known = DIRECTIVES.get(letter)
    if known is None:
        column = "field_" + letter.strip("<>")
        return Field(text, to_string(column), None, (column,))
    pattern, convert, columns = known
    adjacent = PATH_BEFORE_QUERY if letter == "U" else None
    return Field(text, convert, pattern, columns, adjacent)


def _status_fallback(tokens: list[Token]) -> list[Token]:
    """A format with only %s (no %>s) logs the one status there is: use it as `status`."""
    fields = [token for token in tokens if isinstance(token, Field)]
    if any("status" in token.columns for token in fields):
        return tokens
    return [
        Field(token.directive, to_integer("status"), token.pattern, ("status",))
        if isinstance(token, Field) and token.columns == ("original_status",)
        else token
        for token in tokens
    ]


COMMON = '%h %l %u %t "%r" %>s %b'
COMBINED = COMMON + ' "%{Referer}i" "%{User-Agent}i"'
LAYOUTS = {
    "combined": COMBINED,
    "common": COMMON,
    "vhost_combined": '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
    # from the httpd docs: common behind the virtual host's name
    "vhost_common": '%v %h %l %u %t "%r" %>s %b',
    # combined behind the virtual host's name, without the port
    "vhost_name_combined": "%v " + COMBINED,
}

FORMAT = template_format(
    name="apache",
    title="Apache httpd access log (LogFormat with % directives)",
    vendors=("apache",),
    syntax=TemplateSyntax(
        tokenize=tokenize, marker="%", layouts=LAYOUTS, status_directives="%>s or %s"
    ),
    produced_by=lambda columns: pl.lit("unknown"),
)
