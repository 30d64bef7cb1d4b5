"""Record filters (--since/--until/--status/--path/--host/--method/--source).

The command line's strings are parsed once into a `Filters` value, which builds
one polars expression applied to every chunk before counting.  Parsing is
strict: anything malformed is a usage error that names the option and value.

Times: absolute ISO dates or times (`2024-05-01`, `2024-05-01T10:00`,
`2024-05-01 10:00:00+02:00`; no offset means the report's zone, --tz, which is
the machine's local zone unless given), or a duration before now (`90s`, `30m`,
`2h`, `7d`, `2w`).  `--since` is
inclusive, `--until` exclusive.  A record without a timestamp never matches a
time filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

import polars as pl

from logstat.errors import ExitCode, LogstatError
from logstat.status.classes import class_named

# unit -> seconds; "m" is minutes (as in polars and cron-minded speech), there are no months
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_CODE = re.compile(r"^\d{1,4}$")
_RANGE = re.compile(r"^(\d{1,4})\s*-\s*(\d{1,4})$")


def usage(message: str) -> LogstatError:
    return LogstatError(message, ExitCode.USAGE)


@dataclass(frozen=True)
class Duration:
    """A positive length of time as the user wrote it (`5m`) and in seconds."""

    text: str
    seconds: int

    @property
    def polars(self) -> str:
        """The same length in polars' duration language (for `dt.truncate`)."""
        return f"{self.seconds}s"


def parse_duration(text: str, option: str) -> Duration:
    found = _DURATION.match(text)
    if not found or int(found.group(1)) == 0:
        raise usage(
            f"{option} {text!r}: expected a positive number and a unit "
            f"({', '.join(UNITS)}), e.g. 5m, 1h, 1d"
        )
    number, unit = int(found.group(1)), found.group(2).lower()
    return Duration(f"{number}{unit}", number * UNITS[unit])


def parse_moment(text: str, option: str, now: datetime, zone: tzinfo = UTC) -> datetime:
    """An absolute ISO date/time (in `zone` unless it has an offset), or a duration before
    `now`; as a UTC instant."""
    if _DURATION.match(text):
        return now - timedelta(seconds=parse_duration(text, option).seconds)
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise usage(
            f"{option} {text!r}: expected an ISO date or time (2024-05-01, "
            "2024-05-01T10:00, 2024-05-01T10:00+02:00) or a time before now (2h, 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)  # a time skipped by DST: as `date -d` reads it
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class StatusTerm:
    """One `--status` item: a code (499), a class (5xx, other, none) or a range (400-403)."""

    text: str
    low: int | None = None  # code or range bounds, inclusive
    high: int | None = None
    status_class: str | None = None

    @property
    def kind(self) -> str:
        if self.status_class is not None:
            return "class"
        return "status" if self.low == self.high else "range"

    def expression(self, status: pl.Expr, status_class: pl.Expr) -> pl.Expr:
        """True where a row's status (or its class) is covered by this term."""
        if self.status_class is not None:
            return status_class == self.status_class
        assert self.low is not None and self.high is not None
        return status.is_between(self.low, self.high).fill_null(False)

    def covers(self, status: int | None, status_class: str) -> bool:
        """The same test in Python, for small result tables and reference tests."""
        if self.status_class is not None:
            return status_class == self.status_class
        assert self.low is not None and self.high is not None
        return status is not None and self.low <= status <= self.high


def parse_status_terms(
    values: Iterable[str], option: str = "--status", where: str | None = None
) -> tuple[StatusTerm, ...]:
    """`5xx,499,400-403` (values may be repeated options) -> terms, in the order given.

    A bad item is a usage error starting with `where` (default: the option and value).
    """
    terms: list[StatusTerm] = []
    for value in values:
        for item in value.split(","):
            terms.append(_status_term(item.strip(), where or f"{option} {value!r}"))
    return tuple(dict.fromkeys(terms))


def _status_term(text: str, where: str) -> StatusTerm:
    if _CODE.match(text):
        return StatusTerm(text, int(text), int(text))
    ranged = _RANGE.match(text)
    if ranged:
        low, high = int(ranged.group(1)), int(ranged.group(2))
        if low > high:
            raise usage(f"{where}: the range {text!r} runs backwards")
        return StatusTerm(f"{low}-{high}", low, high)
    named = class_named(text)
    if named is not None:
        return StatusTerm(named, status_class=named)
    raise usage(
        f"{where}: {text!r} is not a status code (499), a class (5xx, other, none) "
        "or a range (400-403)"
    )


def any_term(terms: Sequence[StatusTerm], status: pl.Expr, status_class: pl.Expr) -> pl.Expr:
    return pl.any_horizontal(term.expression(status, status_class) for term in terms)


def _words(values: Iterable[str]) -> tuple[str, ...]:
    """Comma-separated (and repeatable) option values, trimmed, without empties or repeats."""
    items = (item.strip() for value in values for item in value.split(","))
    return tuple(dict.fromkeys(item for item in items if item))


@dataclass(frozen=True)
class Filters:
    """What the user asked to keep; empty means every record."""

    since: datetime | None = None
    until: datetime | None = None
    statuses: tuple[StatusTerm, ...] = ()
    path: str | None = None  # a regular expression (Rust regex syntax), searched anywhere
    hosts: tuple[str, ...] = ()  # exact, case-insensitive
    methods: tuple[str, ...] = ()  # exact, upper-cased
    sources: tuple[str, ...] = ()  # format names

    @property
    def active(self) -> bool:
        return self.expression() is not None

    def columns(self) -> set[str]:
        """The parsed columns the filters read (for the pipeline's projection)."""
        needed = set()
        if self.since or self.until:
            needed.add("timestamp")
        if self.path is not None:
            needed.add("path")
        if self.hosts:
            needed.add("host")
        if self.methods:
            needed.add("method")
        if self.statuses:
            needed.add("status")
        return needed

    def expression(self) -> pl.Expr | None:
        """One predicate over a chunk's records, or None when nothing is filtered."""
        parts: list[pl.Expr] = []
        timestamp = pl.col("timestamp")
        if self.since is not None:
            parts.append(timestamp >= self.since)
        if self.until is not None:
            parts.append(timestamp < self.until)
        if self.statuses:
            parts.append(any_term(self.statuses, pl.col("status"), pl.col("status_class")))
        if self.path is not None:
            parts.append(pl.col("path").str.contains(self.path))
        if self.hosts:
            parts.append(pl.col("host").str.to_lowercase().is_in([h.lower() for h in self.hosts]))
        if self.methods:
            parts.append(pl.col("method").str.to_uppercase().is_in(list(self.methods)))
        if self.sources:
            parts.append(pl.col("source").is_in(list(self.sources)))
        if not parts:
            return None
        # a record missing a filtered field (null) does not match
        return pl.all_horizontal(parts).fill_null(False)

    def apply(self, records: pl.DataFrame) -> pl.DataFrame:
        predicate = self.expression()
        return records if predicate is None else records.filter(predicate)


def parse_filters(
    *,
    since: str | None = None,
    until: str | None = None,
    statuses: Sequence[str] = (),
    path: str | None = None,
    hosts: Sequence[str] = (),
    methods: Sequence[str] = (),
    sources: Sequence[str] = (),
    known_sources: Iterable[str] | None = None,
    now: datetime | None = None,
    zone: tzinfo = UTC,
) -> Filters:
    """The command line's filter options -> Filters; a usage error names a bad value.

    `zone` is where times without an offset are read (--tz)."""
    moment = now or datetime.now(UTC)
    start = parse_moment(since, "--since", moment, zone) if since else None
    end = parse_moment(until, "--until", moment, zone) if until else None
    if start is not None and end is not None and start >= end:
        raise usage(f"--since {since!r} is not before --until {until!r}")
    if path is not None:
        _check_regex(path)
    source_names = _words(sources)
    if known_sources is not None:
        known = set(known_sources)
        for name in source_names:
            if name not in known:
                raise usage(f"--source {name!r}: unknown format; known: {', '.join(sorted(known))}")
    return Filters(
        since=start,
        until=end,
        statuses=parse_status_terms(statuses),
        path=path,
        hosts=_words(hosts),
        methods=tuple(method.upper() for method in _words(methods)),
        sources=source_names,
    )


def _check_regex(pattern: str) -> None:
    """polars (Rust) regex syntax differs from Python's: ask polars itself."""
    try:
        pl.select(pl.lit("").str.contains(pattern)).item()
    except pl.exceptions.PolarsError as error:
        detail = str(error).split("error:")[-1].strip().splitlines()[0]
        raise usage(f"--path {pattern!r}: not a valid regular expression ({detail})") from None


__all__ = [
    "Duration",
    "Filters",
    "StatusTerm",
    "any_term",
    "parse_duration",
    "parse_filters",
    "parse_moment",
    "parse_status_terms",
]
