"""The log formats logstat reads, and detection of a file's format.

The order of FORMATS breaks detection ties: nginx and Apache write the same
`combined` lines, and nginx comes first because it is the more common server
today; a file path naming the server (`/var/log/apache2/...`) overrides it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from logstat import schema
from logstat.errors import ExitCode, LogstatError
from logstat.formats import (
    alb,
    apache,
    azure_app_gateway,
    azure_front_door,
    caddy,
    cloudflare,
    cloudfront,
    cloudfront_realtime,
    elb,
    envoy,
    google_lb,
    haproxy,
    iis,
    json_keys,
    nginx,
    traefik,
)
from logstat.formats import envelope as envelopes
from logstat.formats.base import Detection, Format
from logstat.formats.parser import Parser
from logstat.status.chains import VendorChains

FORMATS: list[Format] = [
    nginx.FORMAT,
    apache.FORMAT,
    alb.FORMAT,
    elb.FORMAT,
    iis.FORMAT,
    cloudflare.FORMAT,
    haproxy.FORMAT,
    envoy.FORMAT,
    cloudfront.FORMAT,
    traefik.FORMAT,
    caddy.FORMAT,
    google_lb.FORMAT,
    azure_front_door.FORMAT,
    azure_app_gateway.FORMAT,
    cloudfront_realtime.FORMAT,
]
BY_NAME = {format.name: format for format in FORMATS}

SAMPLE_LINES = 200

# words in a file path that name the server that wrote it
PATH_HINTS = {
    "nginx": ("nginx",),
    "apache": ("apache", "httpd"),
    # S3 object names: ..._elasticloadbalancing_<region>_app.<lb>... for ALB
    "alb": ("_app.",),
    "elb": ("elasticloadbalancing",),
    "iis": ("iis", "w3svc", "u_ex"),
    "cloudflare": ("cloudflare", "logpush"),
    "haproxy": ("haproxy",),
    "envoy": ("envoy", "istio"),
    "cloudfront": ("cloudfront",),
    "traefik": ("traefik",),
    "caddy": ("caddy",),
    "google_lb": ("http_load_balancer", "loadbalancing"),
    "azure_front_door": ("frontdoor", "microsoft.cdn"),
    "azure_app_gateway": ("applicationgateway",),
    "cloudfront_realtime": ("realtime", "real-time", "kinesis"),
}


@dataclass(frozen=True)
class Choice:
    """The format chosen for one file."""

    format: Format
    detection: Detection
    alternatives: tuple[str, ...] = ()  # formats that matched as well
    like: str | None = None  # a file detected before, whose format this is (pipeline.plan)

    @property
    def summary(self) -> str:
        text = f"{self.detection.parser.description}, {self.detection.confidence}"
        if self.like is not None:
            text = f"{self.detection.parser.description}, as detected in {self.like}"
        return text + self.caveat

    @property
    def caveat(self) -> str:
        """What the summary adds when the lines fit other formats as well ("" when not)."""
        if not self.alternatives:
            return ""
        return f" (same lines as {', '.join(self.alternatives)}: use --format to choose)"


def get(name: str) -> Format:
    try:
        return BY_NAME[name]
    except KeyError:
        raise LogstatError(
            f"unknown format {name!r}; known formats: {', '.join(BY_NAME)} (see `logstat formats`)",
            ExitCode.USAGE,
        ) from None


def read_again(name: str | None, lines: pl.Series, column: str) -> pl.Series:
    """`column` of these records of format `name`, read again from their `lines` as when
    they were parsed (Format.reads_again); nulls when the format cannot, or has no such
    column."""
    format = BY_NAME.get(name) if name is not None else None
    dtype = schema.COLUMNS[column]
    parser = format.make_parser(None) if format is not None and format.reads_again else None
    if parser is None or column not in parser.columns():
        return pl.Series(column, [None] * lines.len(), dtype=dtype)
    parsed = parser.parse(pl.LazyFrame({schema.RAW_LINE: lines}), {column})
    return parsed.select(pl.col(column).cast(dtype)).collect().to_series()


def vendor_chains(chosen: tuple[str, ...] = ()) -> VendorChains:
    """Every format's status tables, after the --vendor ones (`chosen`, checked):
    status/chains.py puts the chains together."""
    return VendorChains({format.name: format.vendors for format in FORMATS}, chosen)


def sample_lines(lines: pl.Series) -> pl.Series:
    """The first non-empty lines, the material detection works on."""
    return lines.filter(lines.str.strip_chars() != "").head(SAMPLE_LINES)


def detect(sample: pl.Series, path: str) -> Choice | None:
    """The format that matches most sample lines (of those, that reads most lines whole,
    with no fields left over); None when none matches any.  Lines that a container
    runtime, journald or syslog wrapped (formats/envelope.py) are read inside their
    envelope when that reads more of them than the lines as they are."""
    plain = _detect(sample, path)
    if plain is not None and plain.detection.matched == len(sample):
        return plain
    found = _inside_envelope(sample, lambda inner: _detect(inner, path))
    if found is None or (plain is not None and _share(plain) >= _share(found)):
        return plain
    return found


def _share(choice: Choice) -> float:
    """The share of the lines looked at that a reading reads (inside an envelope: of the
    lines inside it)."""
    return choice.detection.matched / max(choice.detection.sampled, 1)


def _inside_envelope(
    sample: pl.Series, choose: Callable[[pl.Series], Choice | None]
) -> Choice | None:
    """`choose` on the lines inside the sample's envelope, its parser wrapped in it."""
    wrapper = envelopes.find(sample)
    if wrapper is None:
        return None
    chosen = choose(envelopes.unwrap(sample, wrapper))
    if chosen is None:
        return None
    detection = dataclasses.replace(
        chosen.detection, parser=envelopes.Wrapped(chosen.detection.parser, wrapper)
    )
    return dataclasses.replace(chosen, detection=detection)


def _detect(sample: pl.Series, path: str) -> Choice | None:
    found = [(format, format.detect(sample)) for format in FORMATS]
    matches = [(format, detection) for format, detection in found if detection is not None]
    if not matches:
        return None
    # a reading of JSON keys by their likely meaning gives way to a format that knows them
    most = max(
        (detection.matched, detection.whole, not detection.guessed) for _, detection in matches
    )
    tied = [
        (format, detection)
        for format, detection in matches
        if (detection.matched, detection.whole, not detection.guessed) == most
    ]
    lowered = path.lower()
    hinted = [
        pair for pair in tied if any(word in lowered for word in PATH_HINTS.get(pair[0].name, ()))
    ]
    format, detection = (hinted or tied)[0]
    others = tuple(other.name for other, _ in tied if other is not format)
    return Choice(format, detection, () if hinted else others)


def explicit(format_name: str | None, log_format: str | None, sample: pl.Series) -> Choice:
    """The user chose the format (--format) or gave a format string (--log-format)."""
    if format_name is None:
        assert log_format is not None
        format_name = _syntax_of(log_format)
    format = get(format_name)
    parser: Parser
    if log_format is None:
        detection = format.detect(sample)
        if detection is not None:
            return Choice(format, detection)
        wrapped = _inside_envelope(sample, lambda inner: _told(format, inner))
        if wrapped is not None:
            return wrapped
        parser = format.make_parser(None)
    else:
        parser = format.make_parser(log_format)
    matched = _records(parser, sample)
    wrapper = envelopes.find(sample)
    if wrapper is not None:
        # a format string for the lines inside a container runtime's or syslog's envelope
        inside = _records(envelopes.Wrapped(parser, wrapper), sample)
        if inside > matched:
            return Choice(
                format, Detection(envelopes.Wrapped(parser, wrapper), inside, len(sample))
            )
    return Choice(format, Detection(parser, matched, len(sample)))


def _records(parser: Parser, sample: pl.Series) -> int:
    """How many sample lines `parser` reads as records."""
    if not len(sample):
        return 0
    parsed = parser.parse(pl.LazyFrame({"line": sample}))
    return int(parsed.select((pl.col("line_kind") == "record").sum()).collect().item())


def _told(format: Format, sample: pl.Series) -> Choice | None:
    detection = format.detect(sample)
    return None if detection is None else Choice(format, detection)


def by_json_keys(
    format_name: str | None, log_format: str | None, mapping_text: str, sample: pl.Series
) -> Choice | None:
    """--json-keys: JSON access lines whose keys the user names (ROLE=KEY,...), the
    usual spellings found for the rest; None for a file with no JSON object to read."""
    mapping = json_keys.parse_mapping(mapping_text)
    if log_format is not None or format_name not in (None, "nginx"):
        raise LogstatError(
            "--json-keys reads JSON access lines (as nginx escape=json writes them); "
            "it does not go with --log-format or another --format",
            ExitCode.USAGE,
        )
    format = get("nginx")
    layout = json_keys.layout_from_sample(format.name, sample, mapping)
    if layout is None:
        if not json_keys.sample_keys(sample)[0]:
            return None
        raise LogstatError(
            "--json-keys: no status key found in the first lines; name it, e.g. status=code",
            ExitCode.USAGE,
        )
    return Choice(format, Detection(layout, layout.count_matches(sample), len(sample)))


def _syntax_of(log_format: str) -> str:
    """nginx format strings use $variables; Apache's use % directives."""
    for format in FORMATS:
        marker = {"nginx": "$", "apache": "%"}.get(format.name)
        if marker and marker in log_format:
            return format.name
    raise LogstatError(
        "--log-format needs nginx $variables or Apache % directives; "
        "or pass --format NAME to say which server wrote it",
        ExitCode.USAGE,
    )


__all__ = [
    "BY_NAME",
    "FORMATS",
    "Choice",
    "Detection",
    "Format",
    "Parser",
    "detect",
    "get",
    "vendor_chains",
]
