"""Microsoft IIS W3C extended logs: each line's fields are named by a `#Fields` directive.

IIS writes a header block (`#Software`, `#Version`, `#Date`, `#Fields`) at the top
of every file and again after each restart or configuration change, and a new
`#Fields` line may list other fields than the last one: the lines after it follow
the new list.  So a parser keeps, from one chunk of a file to the next, the
directives in effect, and reads each line with the field list above it.  A line
is split into fields on spaces with polars (IIS writes `+` for spaces inside
values), each field list becoming a set of `list.get` expressions.

Log shippers often drop the header.  Lines with no `#Fields` above them are read
with a few field lists IIS writes by default or that collectors document (the
IIS default, IIS 6/7 defaults, all fields, ...): each line takes the first list
whose field count fits and whose date, time, method and status positions hold a
date, a time, a method and a status.

https://learn.microsoft.com/en-us/windows/win32/http/w3c-logging
https://www.w3.org/TR/WD-logfile.html
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from logstat import schema
from logstat.errors import ExitCode, LogstatError
from logstat.formats.base import Detection, Format
from logstat.formats.parser import Parser
from logstat.formats.template import (
    Converter,
    missing,
    split_target,
    to_integer,
    to_seconds,
    to_string,
)

# The IIS 8.5+ default field set, and what a file without `#Fields` is first read as.
DEFAULT_FIELDS = (
    "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
)

# Field lists for files without a `#Fields` line, tried in this order.  Besides the
# IIS defaults these are the layouts Elastic's and Datadog's IIS pipelines accept.
# https://github.com/elastic/integrations/blob/main/packages/iis/data_stream/access/elasticsearch/ingest_pipeline/default.yml
HEADERLESS: dict[str, str] = {
    "default": DEFAULT_FIELDS,
    "default+bytes": DEFAULT_FIELDS.replace("time-taken", "sc-bytes cs-bytes time-taken"),
    # IIS 7 default: no cs(Referer)
    "iis7": DEFAULT_FIELDS.replace(" cs(Referer)", ""),
    # IIS 6 default: s-sitename first, no cs(Referer), no time-taken
    "iis6": "date time s-sitename s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username "
    "c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status",
    "cookie+host": DEFAULT_FIELDS.replace("cs(Referer)", "cs(Cookie) cs-host"),
    "computername": DEFAULT_FIELDS.replace("s-ip", "s-computername s-ip"),
    "sitename+host": "date time s-sitename cs-method cs-uri-stem cs-uri-query s-port "
    "cs-username c-ip cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus "
    "sc-win32-status sc-bytes cs-bytes time-taken",
    "sitename+version": "date time s-sitename s-ip cs-method cs-uri-stem cs-uri-query s-port "
    "cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) sc-status sc-substatus "
    "sc-win32-status sc-bytes cs-bytes time-taken",
    "sitename+computername+host": "date time s-sitename s-computername s-ip cs-method "
    "cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) cs-host "
    "sc-status sc-substatus sc-win32-status time-taken",
    # every W3C field IIS offers, in the order IIS writes them
    "all": "date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port "
    "cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status "
    "sc-substatus sc-win32-status sc-bytes cs-bytes time-taken",
    # the IIS FTP service's default
    "ftp": "date time c-ip cs-username s-ip s-port cs-method cs-uri-stem sc-status "
    "sc-win32-status sc-substatus x-session x-fullpath",
}
# A headerless line may carry fields after the known ones: X-Forwarded-For (a custom
# field many sites add last), then anything else, kept as logged in this column.
UNLISTED = "unlisted_fields"

# FTP service commands, as IIS FTP logs them in cs-method (IIS 4/5 prefix a session: [2]USER).
FTP_METHOD = (
    r"^(?:\[\d+\]\S*|USER|PASS|ACCT|CWD|XCWD|CDUP|XCUP|QUIT|REIN|PORT|PASV|EPRT|EPSV|TYPE|STRU"
    r"|MODE|RETR|STOR|STOU|APPE|ALLO|REST|RNFR|RNTO|ABOR|DELE|RMD|XRMD|MKD|XMKD|PWD|XPWD|LIST"
    r"|NLST|MLSD|MLST|SITE|SYST|STAT|HELP|NOOP|FEAT|OPTS|AUTH|PBSZ|PROT|SIZE|MDTM|HOST|CLNT"
    r"|ControlChannelOpened|ControlChannelClosed|DataChannelOpened|DataChannelClosed)$"
)
# fields only the FTP service writes
FTP_FIELDS = {"x-session", "x-fullpath"}
# #Software values of IIS proper, which never quotes a field (it writes + for spaces);
# other W3C writers (IIS Advanced Logging, Oracle Web Cache, Incapsula) quote fields.
PLAIN_SOFTWARE = re.compile(r"Microsoft (?:Internet Information S|HTTP Server API)", re.I)
DIRECTIVE = r"^#(?:Software|Version|Date|Start-Date|End-Date|Fields|Remark|GMT-Offset)\s*:"
DATE = r"^\d{4}-\d{2}-\d{2}$"
TIME = r"^\d{2}:\d{2}:\d{2}(?:\.\d+)?$"
QUOTED_TOKEN = r'"(?:[^"]|"")*"|[^ ]+'

# what a headerless line's fields must look like, where they can be checked
CHECKS = {
    "date": DATE,
    "time": TIME,
    "method": r"^[A-Za-z][A-Za-z0-9_-]*$",
    "status": r"^\d{3}$",
    "ftp status": r"^(?:\d{3}|-)$",
    "number": r"^(?:\d+|-)$",
    "version": r"^(?:[A-Z]+/[\d.]+|-)$",
}
CHECKED_FIELDS = {
    "date": "date",
    "time": "time",
    "cs-method": "method",
    "sc-status": "status",
    "sc-substatus": "number",
    "sc-win32-status": "number",
    "time-taken": "number",
    "s-port": "number",
    "sc-bytes": "number",
    "cs-bytes": "number",
    "cs-version": "version",
}
HEADERLESS_REASON = "no #Fields header, and the line fits none of the known IIS field lists"


def _plus_to_space(column: str) -> Converter:
    """IIS writes spaces inside a value as `+`."""
    return lambda text: {column: missing(text).str.replace_all("+", " ", literal=True)}


# W3C field (lower case) -> converter to canonical columns.  Any other field becomes a
# string column named after it (`s-sitename` -> s_sitename, `cs(Cookie)` -> cs_cookie).
FIELDS: dict[str, Converter] = {
    "c-ip": to_string("client_ip"),
    "cs-method": to_string("method"),
    "cs-uri-stem": to_string("path"),
    "cs-uri-query": to_string("query"),
    "cs-uri": split_target,  # W3C writers other than IIS: stem and query in one field
    "cs-version": to_string("protocol"),
    "cs-host": to_string("host"),
    "cs(host)": to_string("host"),
    "sc-status": to_integer("status"),
    "sc-substatus": to_integer("substatus"),
    "sc-win32-status": to_integer("win32_status"),
    "sc-bytes": to_integer("bytes_sent"),
    "bytes": to_integer("bytes_sent"),
    "time-taken": to_seconds("request_time_s", 1000),  # IIS logs milliseconds
    "timetakenms": to_seconds("request_time_s", 1000),  # IIS Advanced Logging
    "cs(user-agent)": _plus_to_space("user_agent"),
    "cs(referer)": to_string("referer"),
    "cs(referrer)": to_string("referer"),
    "x-forwarded-for": to_string("http_x_forwarded_for"),
    "cs(x-forwarded-for)": to_string("http_x_forwarded_for"),
}
CANONICAL_FROM_FIELDS = {
    "client_ip",
    "method",
    "path",
    "query",
    "protocol",
    "host",
    "status",
    "substatus",
    "win32_status",
    "bytes_sent",
    "request_time_s",
    "user_agent",
    "referer",
    "timestamp",
}
# standard IIS fields that become extra columns: always offered to exports
STANDARD_EXTRAS = {
    "s_sitename",
    "s_computername",
    "s_ip",
    "s_port",
    "cs_username",
    "cs_cookie",
    "cs_bytes",
    "http_x_forwarded_for",
    "ftp_status",
    UNLISTED,
}
ALWAYS = {"status", "substatus"}  # what produced_by reads


def column_name(field: str) -> str:
    """The column a W3C field that has no canonical meaning becomes."""
    return re.sub(r"[^a-z0-9]+", "_", field.lower()).strip("_") or "field"


def field_columns(field: str) -> set[str]:
    """Columns one W3C field fills."""
    lowered = field.lower()
    if lowered in ("date", "time"):
        return {"timestamp"}
    converter = FIELDS.get(lowered)
    if converter is None:
        return {column_name(field)}
    return set(converter(pl.lit("")))


@dataclass(frozen=True)
class Segment:
    """How the lines below a header are read."""

    fields: tuple[str, ...] | None  # None: no #Fields seen, try the headerless lists
    quoted: bool  # fields may be "quoted with spaces" (not IIS proper)
    ftp: bool  # the IIS FTP service wrote it


@dataclass(frozen=True)
class Reading:
    """One field list a line can be read with, in one chunk."""

    fields: tuple[str, ...]
    quoted: bool
    ftp: bool
    name: str | None  # headerless list name; None for a #Fields list
    extended: bool = False  # headerless: more fields follow (X-Forwarded-For, then any)

    def position(self, field: str) -> int | None:
        """Where a field (lower case) is in the list; field names are case-insensitive."""
        lowered = [name.lower() for name in self.fields]
        return lowered.index(field) if field in lowered else None


def _segment(fields: tuple[str, ...] | None, software: str | None) -> Segment:
    quoted = software is not None and PLAIN_SOFTWARE.search(software) is None
    ftp = (software is not None and "FTP" in software.upper()) or bool(
        fields and FTP_FIELDS & {field.lower() for field in fields}
    )
    return Segment(fields, quoted, ftp)


class IisParser:
    """Reads one IIS W3C file; keeps the directives in effect from chunk to chunk."""

    keeps_state: ClassVar[bool] = True

    def __init__(self, fields: tuple[str, ...] | None = None) -> None:
        self._fields = fields
        self._custom: set[str] = set()  # columns from non-standard fields seen
        # the directives in effect at the end of the detection sample: for a file read
        # on from the middle (--state), which starts below its header
        self._resume: tuple[Segment, str | None, str | None] | None = None
        self._start()

    def _start(self) -> None:
        """Forget what was read: the file is (read again) from its start."""
        self._segment = _segment(self._fields, None)
        self._software: str | None = None
        self._date: str | None = None
        self._last_line_no = 0
        self._field_lists: set[tuple[str, ...]] = set()
        self._headerless_used: set[str] = set()
        self._ftp = False
        self._quoted = False

    def fresh(self) -> IisParser:
        """A parser for a file from its start, knowing the columns this one has seen."""
        parser = IisParser(self._fields)
        parser._custom = set(self._custom)
        parser._resume = (self._segment, self._software, self._date)
        return parser

    @property
    def description(self) -> str:
        notes = []
        if self._headerless_used:
            names = [name for name in HEADERLESS if name in self._headerless_used]
            if names == ["default"]:
                notes.append("no #Fields header: assumed the IIS default fields")
            else:
                notes.append(f"no #Fields header: read as IIS field lists {', '.join(names)}")
        if len(self._field_lists) > 1:
            notes.append(f"{len(self._field_lists)} different #Fields lists")
        if self._quoted:
            notes.append("quoted fields: not written by IIS itself")
        if self._ftp:
            notes.append("FTP log: sc-status holds FTP reply codes, kept as ftp_status")
        return "iis w3c" + (f" ({'; '.join(notes)})" if notes else "")

    def columns(self) -> set[str]:
        return CANONICAL_FROM_FIELDS | STANDARD_EXTRAS | self._custom

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        if "line_no" not in lines.collect_schema():
            lines = lines.with_columns(
                pl.int_range(1, pl.len() + 1, dtype=pl.UInt64).alias("line_no")
            )
        frame = lines.collect()
        if frame.height == 0:
            return _empty(frame).lazy()
        first, last = int(frame["line_no"][0]), int(frame["line_no"][-1])
        if first <= self._last_line_no:
            self._start()
        elif self._last_line_no == 0 and first > 1 and self._resume is not None:
            self._segment, self._software, self._date = self._resume
        self._last_line_no = last
        line = pl.col(schema.RAW_LINE)
        directives = frame.filter(line.str.starts_with("#")).select("line_no", schema.RAW_LINE)
        segments, segment_starts, dates, date_starts = self._walk(directives)
        segment = latest(segment_starts, list(range(len(segments))), pl.UInt32())
        line_date = latest(date_starts, dates, pl.String())
        parsed = frame.with_columns(segment.alias("_segment"), line_date.alias("_directive_date"))
        # only segments with data lines are read: a header block's own segments hold none
        data = ~line.str.starts_with("#") & (line.str.strip_chars() != "")
        with_data = set(parsed.filter(data)["_segment"].unique().to_list())
        found = _readings(segments, with_data)
        readings = found.readings
        for reading in readings:
            if reading.name is None:
                self._field_lists.add(reading.fields)
                self._custom |= {
                    column for field in reading.fields for column in field_columns(field)
                } - CANONICAL_FROM_FIELDS
        wanted = None if needed is None else needed | ALWAYS
        built = _Build(found, wanted)
        parsed = parsed.with_columns(built.tokens())
        parsed = _read(
            parsed.with_columns(built.choose().alias("_reading")).with_columns(*built.checks()),
            built,
        )
        used = parsed.select("_reading", "_ftp", schema.LINE_KIND).filter(
            pl.col(schema.LINE_KIND) == schema.RECORD
        )
        for index in used["_reading"].unique().drop_nulls().to_list():
            reading = readings[index]
            if reading.name is not None:
                self._headerless_used.add(reading.name)
            self._quoted |= reading.quoted
        self._ftp |= bool(used["_ftp"].any())
        helpers = [name for name in parsed.columns if name.startswith("_")]
        return parsed.drop(helpers).lazy()

    def _walk(
        self, directives: pl.DataFrame
    ) -> tuple[list[Segment], list[int], list[str | None], list[int]]:
        """The segments and #Date values the chunk's directives start (one loop per directive)."""
        segments = [self._segment]
        segment_starts: list[int] = []
        dates: list[str | None] = [self._date]
        date_starts: list[int] = []
        fields, software = self._segment.fields, self._software
        for line_no, text in directives.iter_rows():
            name, _, value = text[1:].partition(":")
            name = name.strip().lower()
            if name == "fields":
                fields = tuple(value.split())
            elif name == "software":
                software = value.strip()
            elif name in ("date", "start-date"):
                found = re.match(r"\s*(\d{4}-\d{2}-\d{2})\b", value)
                dates.append(found.group(1) if found else None)
                date_starts.append(line_no)
                continue
            else:
                continue
            segments.append(_segment(fields, software))
            segment_starts.append(line_no)
        self._segment, self._software, self._date = segments[-1], software, dates[-1]
        return segments, segment_starts, dates, date_starts


def _read(checked: pl.DataFrame, built: _Build) -> pl.DataFrame:
    """The checked lines with their values, kind and reject reason.

    The values are converted on every line, and the few lines that are not records
    (directives, rejects) are then given none rather than the misplaced fields of a
    bad line; their kind and reason are worked out on them alone.  Blanking every
    output with a when/then, and formatting a reason on every line, made a chunk with
    one reject pay again for its whole width (as formats/apart.py explains)."""
    valid = pl.col("_valid")
    ftp = (pl.col("_ftp_line") & valid).alias("_ftp")
    outputs = built.outputs()
    if checked.get_column("_valid").all():
        return checked.with_columns(
            pl.lit(schema.RECORD).alias(schema.LINE_KIND),
            pl.lit(None, dtype=pl.String).alias(schema.REJECT_REASON),
            ftp,
        ).with_columns(outputs)
    kinds, reasons, _ = built.bookkeeping()
    found = checked.with_row_index(_ROW).filter(~valid).select(_ROW, kinds, reasons)
    rows = found.get_column(_ROW)
    kind = pl.repeat(schema.RECORD, checked.height, dtype=pl.String, eager=True)
    reason = pl.repeat(None, checked.height, dtype=pl.String, eager=True)
    values = checked.with_columns(
        kind.scatter(rows, found.get_column(schema.LINE_KIND)).alias(schema.LINE_KIND),
        reason.scatter(rows, found.get_column(schema.REJECT_REASON)).alias(schema.REJECT_REASON),
        ftp,
    ).with_columns(outputs)
    # a line that is not read gets no values, not the misplaced fields of a bad line
    names = [output.meta.output_name() for output in outputs]
    return values.with_columns(values.get_column(name).scatter(rows, None) for name in names)


_ROW = "_row"  # a line's place in its chunk


def latest(starts: list[int], values: Sequence[object], dtype: pl.DataType) -> pl.Expr:
    """Per line, the value set by the last directive at or above it (values[0]: before any)."""
    table = pl.Series(values, dtype=dtype)
    if not starts:
        return pl.lit(table[0], dtype=dtype)
    index = pl.lit(pl.Series(starts, dtype=pl.UInt64)).search_sorted(
        pl.col("line_no"), side="right"
    )
    return pl.lit(table).gather(index)


@dataclass
class Readings:
    """The distinct field lists a chunk's lines can be read with."""

    readings: list[Reading]
    segments: list[Segment]
    direct: list[int | None]  # per segment: its #Fields reading; None: headerless or unread
    # no #Fields above them: segment indexes, by whether the FTP service wrote them
    headerless_segments: dict[bool, list[int]] = dataclasses.field(default_factory=dict)
    positions: dict[Reading, int] = dataclasses.field(default_factory=dict)

    def index(self, reading: Reading) -> int:
        if reading not in self.positions:
            self.positions[reading] = len(self.readings)
            self.readings.append(reading)
        return self.positions[reading]

    def headerless(self, ftp: bool) -> list[int]:
        """Candidates for lines with no #Fields above them, in the order they are tried."""
        exact = [
            Reading(tuple(fields.split()), False, ftp, name) for name, fields in HEADERLESS.items()
        ]
        # with more fields than listed: the longest list that fits accounts for most
        extended = sorted(
            (Reading(reading.fields, False, ftp, reading.name, True) for reading in exact),
            key=lambda reading: -len(reading.fields),
        )
        return [self.index(reading) for reading in exact + extended]


def _readings(segments: list[Segment], with_data: set[int]) -> Readings:
    found = Readings([], segments, [])
    for index, segment in enumerate(segments):
        if index not in with_data:
            found.direct.append(None)
        elif segment.fields is None:
            found.direct.append(None)
            found.headerless_segments.setdefault(segment.ftp, []).append(index)
        else:
            reading = Reading(segment.fields, segment.quoted, segment.ftp, None)
            found.direct.append(found.index(reading))
    for ftp in found.headerless_segments:
        found.headerless(ftp)  # registered before any expression reads `readings`
    return found


def first_true(pairs: list[tuple[pl.Expr, pl.Expr]], dtype: pl.DataType | None = None) -> pl.Expr:
    """The value of the first pair whose condition holds; null when none does."""
    result = pl.lit(None, dtype=dtype)
    for condition, value in reversed(pairs):
        result = pl.when(condition).then(value).otherwise(result)
    return result


class _Build:
    """Expressions that read a chunk's lines with its field lists."""

    def __init__(self, found: Readings, wanted: set[str] | None) -> None:
        self.found = found
        self.readings = found.readings
        self.wanted = wanted
        self.tokens_column = pl.col("_tokens")
        self.count = self.tokens_column.list.len()
        self.reading_index = pl.col("_reading")
        self._checks: dict[tuple[str, int], pl.Expr] = {}

    def tokens(self) -> pl.Expr:
        line = pl.col(schema.RAW_LINE)
        # IIS never writes an empty field (it writes -), so runs of spaces are one separator
        plain = line.str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
        quoted_segments = [
            index for index, segment in enumerate(self.found.segments) if segment.quoted
        ]
        if not quoted_segments:
            return plain.alias("_tokens")
        quoted = line.str.extract_all(QUOTED_TOKEN)
        return (
            pl.when(pl.col("_segment").is_in(quoted_segments))
            .then(quoted)
            .otherwise(plain)
            .alias("_tokens")
        )

    def token(self, reading: Reading, index: int) -> pl.Expr:
        text = self.tokens_column.list.get(index, null_on_oob=True)
        if not reading.quoted:
            return text
        quoted = text.str.starts_with('"') & text.str.ends_with('"') & (text.str.len_chars() > 1)
        inner = text.str.slice(1, text.str.len_chars() - 2).str.replace_all('""', '"', literal=True)
        return pl.when(quoted).then(inner).otherwise(text)

    def _check(self, kind: str, index: int) -> pl.Expr:
        """Does field `index` look like a `kind` (date, time, method, status, number)?"""
        key = (kind, index)
        if key not in self._checks:
            text = self.tokens_column.list.get(index, null_on_oob=True)
            self._checks[key] = text.str.contains(CHECKS[kind]).fill_null(False)
        return self._checks[key]

    def _fits(self, reading: Reading) -> pl.Expr:
        """A headerless line fits a field list: its count, and the fields that can be checked."""
        size = len(reading.fields)
        fits = self.count > size if reading.extended else self.count == size
        for index, field in enumerate(reading.fields):
            kind = CHECKED_FIELDS.get(field)
            if field == "sc-status" and reading.name == "ftp":
                kind = "ftp status"  # an FTP session's housekeeping lines log no reply code
            if kind is not None:
                fits = fits & self._check(kind, index)
        if reading.name == "ftp":
            fits = fits & self._ftp_line(reading)
        return fits

    def choose(self) -> pl.Expr:
        """Per line, the index of the field list it is read with (null: none fits)."""
        segment = pl.col("_segment")
        chosen = pl.lit(pl.Series(self.found.direct, dtype=pl.UInt32)).gather(segment)
        for ftp, headerless in self.found.headerless_segments.items():
            candidates = self.found.headerless(ftp)
            pick = first_true(
                [
                    (self._fits(self.readings[index]), pl.lit(index, dtype=pl.UInt32))
                    for index in candidates
                ],
                pl.UInt32(),
            )
            chosen = pl.when(segment.is_in(headerless)).then(pick).otherwise(chosen)
        # directives are no records, whatever they look like
        return pl.when(~pl.col(schema.RAW_LINE).str.starts_with("#")).then(chosen)

    def _values(self, reading: Reading) -> dict[str, pl.Expr]:
        """Column -> expression for a line read with `reading`; the first field wins."""
        values: dict[str, pl.Expr] = {}
        lowered = [field.lower() for field in reading.fields]
        for index, field in enumerate(lowered):
            if field in ("date", "time"):
                continue
            converter = FIELDS.get(field)
            if field == "cs(user-agent)" and reading.quoted:
                converter = to_string("user_agent")  # quoted: a space is a space, + is +
            if converter is None:
                converter = to_string(column_name(reading.fields[index]))
            for column, expression in converter(self.token(reading, index)).items():
                values.setdefault(column, expression)
        if "time" in lowered:
            time = self.token(reading, lowered.index("time"))
            date = (
                self.token(reading, lowered.index("date"))
                if "date" in lowered
                else pl.col("_directive_date")  # IIS 4-6 FTP and some sites log no date
            )
            # W3C extended logs are written in UTC
            values["timestamp"] = (date + pl.lit(" ") + time).str.to_datetime(
                "%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us", time_zone="UTC"
            )
        if reading.extended:
            size = len(reading.fields)
            forwarded = self.tokens_column.list.get(size, null_on_oob=True)
            values.setdefault("http_x_forwarded_for", missing(forwarded))
            values[UNLISTED] = missing(self.tokens_column.list.slice(size + 1).list.join(" "))
        if "status" in values:
            # FTP reply codes are no HTTP statuses: kept apart, so they are not counted as such
            ftp = pl.col("_ftp_line")
            values["ftp_status"] = pl.when(ftp).then(values["status"])
            values["status"] = pl.when(~ftp).then(values["status"])
        return values

    def _ftp_line(self, reading: Reading) -> pl.Expr:
        position = reading.position("cs-method")
        if reading.ftp:
            return pl.lit(True)
        if position is None:
            return pl.lit(False)
        return self.token(reading, position).str.contains(FTP_METHOD).fill_null(False)

    def _by_reading(
        self, value: Callable[[Reading], pl.Expr | None]
    ) -> list[tuple[pl.Expr, pl.Expr]]:
        pairs = []
        for index, reading in enumerate(self.readings):
            expression = value(reading)
            if expression is not None:
                pairs.append((self.reading_index == index, expression))
        return pairs

    def outputs(self) -> list[pl.Expr]:
        by_column: dict[str, list[tuple[pl.Expr, pl.Expr]]] = {}
        for index, reading in enumerate(self.readings):
            for column, expression in self._values(reading).items():
                if self.wanted is None or column in self.wanted:
                    by_column.setdefault(column, []).append(
                        (self.reading_index == index, expression)
                    )
        result = [first_true(pairs).alias(column) for column, pairs in by_column.items()]
        result += [
            pl.lit(None, dtype=schema.COLUMNS[column]).alias(column)
            for column in sorted(ALWAYS - set(by_column))
        ]
        return result

    def checks(self) -> list[pl.Expr]:
        """Helper columns: does the line fit its field list, is it valid, an FTP command?"""
        line = pl.col(schema.RAW_LINE)
        blank = line.str.contains(r"^\s*$")
        # a #Fields list is exact: a line with another number of fields is not read
        expected = first_true(
            self._by_reading(
                lambda reading: pl.lit(len(reading.fields)) if reading.name is None else None
            ),
            pl.Int32(),
        )
        status = first_true(
            self._by_reading(
                lambda reading: (
                    None
                    if (position := reading.position("sc-status")) is None
                    else missing(self.token(reading, position))
                )
            ),
            pl.String(),
        )
        # at most four digits, as every format reads a status: a longer number is no
        # HTTP status, and 200000 would not even fit the status column
        bad_status = ~status.str.contains(r"^(?:\d{1,4}|-)$").fill_null(True)
        fits = self.reading_index.is_not_null() & (expected.is_null() | (self.count == expected))
        ftp = first_true(self._by_reading(self._ftp_line), pl.Boolean()).fill_null(False)
        return [
            expected.alias("_expected"),
            fits.alias("_fits"),
            (~blank & fits & ~bad_status).alias("_valid"),
            blank.alias("_blank"),
            ftp.alias("_ftp_line"),
        ]

    def bookkeeping(self) -> list[pl.Expr]:
        """line_kind, reject_reason, and whether a record is an FTP command (for description)."""
        directive = pl.col(schema.RAW_LINE).str.starts_with("#")
        valid, fits = pl.col("_valid"), pl.col("_fits")
        kind = (
            pl.when(directive)
            .then(pl.lit(schema.COMMENT))
            .when(valid)
            .then(pl.lit(schema.RECORD))
            .otherwise(pl.lit(schema.REJECTED))
        )
        reason = (
            pl.when(directive | valid)
            .then(pl.lit(None, dtype=pl.String))
            .when(pl.col("_blank"))
            .then(pl.lit("empty line"))
            .when(self.reading_index.is_null())
            .then(pl.lit(HEADERLESS_REASON))
            .when(~fits)
            .then(pl.format("has {} fields, #Fields lists {}", self.count, pl.col("_expected")))
            .otherwise(pl.lit("sc-status is not a status (a number of at most four digits)"))
        )
        return [
            kind.alias(schema.LINE_KIND),
            reason.alias(schema.REJECT_REASON),
            (pl.col("_ftp_line") & valid).alias("_ftp"),
        ]


def _empty(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(None, dtype=pl.String).alias(schema.LINE_KIND),
        pl.lit(None, dtype=pl.String).alias(schema.REJECT_REASON),
        *(pl.lit(None, dtype=schema.COLUMNS[column]).alias(column) for column in ALWAYS),
    )


def detect(sample: pl.Series) -> Detection | None:
    """IIS if sample lines parse as W3C records or are W3C directives."""
    # W3C files hold directives, and every header-less layout starts with the date:
    # a cheap look first keeps detection fast over thousands of small files of other formats
    if not sample.str.contains(r"^(?:#|\d{4}-\d{2}-\d{2} )").any():
        return None
    # CloudFront writes W3C directives too, naming x-edge-* fields IIS never logs
    if sample.str.contains(r"^#Fields:.* x-edge-").any():
        return None
    probe = IisParser()
    parsed = probe.parse(pl.LazyFrame({schema.RAW_LINE: sample}), {"status"}).collect()
    records = int((parsed[schema.LINE_KIND] == schema.RECORD).sum())
    directives = int(sample.str.contains(DIRECTIVE).sum())
    has_fields = bool(sample.str.starts_with("#Fields:").any())
    if records == 0 and not has_fields:
        return None
    return Detection(probe.fresh(), records + directives, len(sample))


def make_parser(layout_or_fields: str | None) -> Parser:
    """No argument: read #Fields from the file; a HEADERLESS name or a field list: start with it."""
    if layout_or_fields is None:
        return IisParser()
    fields = HEADERLESS.get(layout_or_fields, layout_or_fields)
    listed = tuple(fields.removeprefix("#Fields:").split())
    if len(listed) < 2:
        raise LogstatError(
            f"iis: {layout_or_fields!r} is neither a known field list ({', '.join(HEADERLESS)}) "
            "nor a #Fields line such as 'date time cs-method cs-uri-stem sc-status'",
            ExitCode.USAGE,
        )
    return IisParser(listed)


def produced_by(columns: set[str]) -> pl.Expr:
    """Who produced the status, from IIS's point of view.

    IIS is usually the origin, and its log cannot tell the server from the
    application, so the answer is "unknown" except where a sub-status is
    documented as a proxy module's own: 502.3-502.7 (ARR could not reach or use
    the backend; 502.5 is also ASP.NET Core Module's failed backend process) and
    400.601-400.606 (ARR rejected the client's request).
    https://learn.microsoft.com/en-us/troubleshoot/developer/webapps/iis/www-administration-management/http-status-code
    """
    if "substatus" not in columns:
        return pl.lit("unknown")
    status, substatus = pl.col("status"), pl.col("substatus")
    proxy_module = ((status == 502) & substatus.is_between(3, 7)) | (
        (status == 400) & substatus.is_between(601, 606)
    )
    return pl.when(proxy_module).then(pl.lit("proxy")).otherwise(pl.lit("unknown"))


FORMAT = Format(
    name="iis",
    title="Microsoft IIS W3C extended log (#Fields directives; headerless files too)",
    vendors=("iis", "iis_arr", "iis_ancm", "exchange", "microsoft"),
    layouts=dict(HEADERLESS),
    make_parser=make_parser,
    detect=detect,
    produced_by=produced_by,
)
