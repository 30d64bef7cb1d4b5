"""JSON access-log lines read by what their keys mean, whatever the keys are called.

nginx `escape=json` formats, Traefik's and many loggers' JSON write one object per
line under their own key names: `"status":"304"` or `"status":304`,
`"remote-ip"`, `"@timestamp"`, `"path"`.  The keys of a file's first lines are
matched, case-insensitively and with `-`, `_`, `.`, `@` ignored, against the usual
spellings of each role (status, time, method, path, ...); the file is then read
with a `JsonLayout` on the keys found, so the hot path is polars' JSON path
matching as for any JSON layout.  `--json-keys status=code,time=ts` names keys by
hand, for spellings not listed here.  Unknown keys are left alone; a line without
the status key is rejected with its reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import polars as pl

from logstat.errors import ExitCode, LogstatError
from logstat.formats.template import (
    CLF_TIME,
    CLF_TIME_TEXT,
    ISO_TIME_TEXT,
    Converter,
    Field,
    JsonLayout,
    from_epoch_seconds,
    from_request_line,
    split_target,
    to_integer,
    to_seconds,
    to_string,
    to_timestamp,
)

# role -> (spellings, normalized: lower case without - _ . @ and spaces; the converter)
ROLES: dict[str, tuple[tuple[str, ...], Converter | None]] = {
    "status": (
        (
            "status",
            "statuscode",
            "httpstatus",
            "httpstatuscode",
            "responsestatus",
            "responsecode",
            "responsestatuscode",
            "downstreamstatus",  # Traefik: what the client got
        ),
        to_integer("status"),
    ),
    "upstream_status": (("upstreamstatus", "originstatus"), to_integer("upstream_status")),
    "time": (
        (
            "time",
            "timestamp",
            "timelocal",
            "timeiso8601",
            "datetime",
            "date",
            "ts",
            "msec",
            "starttime",
            "startutc",  # Traefik
        ),
        None,  # decided from the values: CLF, ISO 8601 or a number of (milli)seconds
    ),
    "request": (("request", "requestline"), from_request_line),
    "method": (("method", "requestmethod", "httpmethod", "verb"), to_string("method")),
    "path": (
        ("path", "uri", "requesturi", "requestpath", "url", "requesturl"),
        split_target,  # a path may come with its query
    ),
    "query": (("query", "querystring", "args", "requestquery"), to_string("query")),
    "protocol": (
        ("protocol", "serverprotocol", "httpversion", "requestprotocol", "proto"),
        to_string("protocol"),
    ),
    "client": (
        (
            "remoteaddr",
            "remoteip",
            "clientip",
            "clientaddr",
            "client",
            "ip",
            "remoteaddress",
            "clienthost",  # Traefik
        ),
        to_string("client_ip"),
    ),
    "host": (("host", "httphost", "servername", "vhost", "requesthost"), to_string("host")),
    "user_agent": (
        ("useragent", "httpuseragent", "agent", "ua", "requestuseragent"),
        to_string("user_agent"),
    ),
    "referer": (("referer", "referrer", "httpreferer", "requestreferer"), to_string("referer")),
    "bytes": (
        ("bodybytessent", "bytessent", "bytes", "size", "responsesize", "downstreamcontentsize"),
        to_integer("bytes_sent"),
    ),
    "request_time": (("requesttime", "requesttimes"), to_seconds("request_time_s", 1)),
}
SAMPLE = 50  # lines whose keys are looked at


def normalize(key: str) -> str:
    return re.sub(r"[-_.@\s]", "", key).lower()


_SPELLINGS = {spelling: role for role, (spellings, _) in ROLES.items() for spelling in spellings}


def parse_mapping(text: str | None) -> dict[str, str]:
    """`status=code,time=ts` -> {"status": "code", "time": "ts"}; a usage error otherwise."""
    if not text:
        return {}
    mapping: dict[str, str] = {}
    for part in text.split(","):
        role, sign, key = part.partition("=")
        role = role.strip().replace("-", "_").lower()
        if not sign or not key.strip() or role not in ROLES:
            raise LogstatError(
                f"--json-keys {part.strip()!r}: expected ROLE=KEY with ROLE one of "
                f"{', '.join(ROLES)}",
                ExitCode.USAGE,
            )
        mapping[role] = key.strip()
    return mapping


def sample_keys(sample: pl.Series) -> tuple[list[str], dict[str, list[object]]]:
    """Top-level keys of the sample's JSON objects (in order of appearance), with values."""
    keys: dict[str, list[object]] = {}
    for line in sample.head(SAMPLE).to_list():
        if not line or not line.lstrip().startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                keys.setdefault(key, []).append(item)
    return list(keys), keys


def layout_from_sample(
    source: str, sample: pl.Series, mapping: Mapping[str, str] | None = None
) -> JsonLayout | None:
    """A JsonLayout reading the sample's keys by their meaning; None without a status key."""
    keys, values = sample_keys(sample)
    chosen: dict[str, str] = dict(mapping or {})
    for key in keys:
        if any(isinstance(value, dict | list) for value in values[key]):
            continue  # an object (Caddy's "request") is no value of a role
        role = _SPELLINGS.get(normalize(key))
        if role is not None and role not in chosen:
            chosen[role] = key
    if "status" not in chosen:
        return None
    fields: list[tuple[str, Field]] = []
    for role, key in chosen.items():
        convert = ROLES[role][1] or _time_converter(values.get(key, []))
        if convert is None:
            continue
        fields.append((key, Field(f"${role}", convert, None, _columns(role))))
    template = json.dumps({key: f"${role}" for role, key in chosen.items()})
    return JsonLayout(source, "json keys", template, tuple(fields), chosen["status"])


def _columns(role: str) -> tuple[str, ...]:
    return {
        "time": ("timestamp",),
        "request": ("method", "path", "query", "protocol"),
        "path": ("path", "query"),
        "client": ("client_ip",),
        "bytes": ("bytes_sent",),
        "request_time": ("request_time_s",),
    }.get(role, (role,))


def _time_converter(values: list[object]) -> Converter | None:
    """How the sample writes its times: CLF, ISO 8601, or a number of (milli, micro,
    nano)seconds since 1970 (told apart by size).  None: not a time logstat reads."""
    for value in values:
        if isinstance(value, int | float) or (
            isinstance(value, str) and re.fullmatch(r"\d+(?:\.\d+)?", value)
        ):
            return _epoch(float(value))
        if isinstance(value, str) and re.fullmatch(CLF_TIME_TEXT, value.strip("[]")):
            return _clf
        if isinstance(value, str) and re.fullmatch(ISO_TIME_TEXT, value):
            return to_timestamp("%+")
    return None


def _clf(text: pl.Expr) -> dict[str, pl.Expr]:
    return to_timestamp(CLF_TIME)(text.str.strip_chars("[]"))


def _epoch(number: float) -> Converter:
    scale = next(
        (scale for limit, scale in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)) if number >= limit), 1.0
    )

    def convert(text: pl.Expr) -> dict[str, pl.Expr]:
        return from_epoch_seconds((text.cast(pl.Float64, strict=False) / scale).cast(pl.String))

    return convert
