"""Lines a log transport wrapped: what a container runtime, journald or syslog writes
around a server's own line, and the server's own messages among its access lines.

An `Envelope` says how to recognise a wrapped line, where the server's line is in it
(after a header cut by one anchored regex, or under a JSON key), the envelope's own
time, and whether an entry continues in the next one (runtimes split long lines):

- Docker's json-file driver: `{"log":"<line>\\n","stream":"stdout","time":"..."}`; an
  entry whose `log` has no line end continues in the next one.
- CRI (containerd, CRI-O; Kubernetes' /var/log/pods): `<RFC 3339 time> stdout F <line>`,
  `P` for a part that continues in the next entry.
- journald: `journalctl -o json` (`MESSAGE`, `__REALTIME_TIMESTAMP` in microseconds) and
  `-o export` (`KEY=value` lines, a blank line between entries: `MESSAGE=` holds the
  line, the other fields are read as comments).
- syslog: an RFC 5424 or BSD header, or an ISO time with a host and a `tag[pid]:`
  (`journalctl -o short-iso`, rsyslog's file output).

Detection (formats.detect) tries the lines as they are and, when most of them are one
envelope's, unwrapped: a file of nginx lines in Docker's json-file is then nginx, read
through a `Wrapped` parser.  HAProxy, which always logs through syslog, cuts the
header itself (its lines may or may not have one).  A `Wrapped` parser gives every
line back as it was logged, fills `timestamp` from the envelope where the server's
line has none, and counts the server's notices and an envelope's own lines (a
continued part, journald's other fields) as comments: no requests, nothing wrong.
The header regexes have no groups, so the regex engine runs them without its slower
capture engines, and the layouts' own regexes stay one-pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from logstat import schema
from logstat.formats.parser import Parser

_LOGGED = "_envelope_logged"  # the line as logged, while the layouts read it unwrapped
_TIME = "_envelope_time"
_OWN = "_envelope_own"  # a line of the envelope's own (a continued part, a field)
_PART = "_envelope_part"  # an entry's part of the line
_GROUP = "_envelope_group"  # the entries of one line

RFC3339 = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})"
)


def _iso_time(text: pl.Expr) -> pl.Expr:
    return text.str.to_datetime("%+", strict=False, time_unit="us").dt.convert_time_zone("UTC")


@dataclass(frozen=True)
class Envelope:
    name: str
    title: str  # as the file's description says it: "in Docker json-file"
    looks: str  # regex: a line wrapped by this envelope
    header: str | None = None  # regex anchored at the start: the header to cut
    message: Callable[[pl.Expr], pl.Expr] | None = None  # the line inside, when not cut
    time: Callable[[pl.Expr], pl.Expr] | None = None  # the raw line -> the envelope's time
    continues: Callable[[pl.Expr], pl.Expr] | None = None  # the raw line -> a part that goes on
    own: str | None = None  # regex: the envelope's own lines (journald's other fields)
    # the time of a line is the one the envelope's lines before it gave (journald export)
    time_carried: bool = field(default=False)

    def inner(self, line: pl.Expr) -> pl.Expr:
        """The server's line (null on the envelope's own lines)."""
        if self.message is not None:
            return self.message(line)
        assert self.header is not None
        return line.str.replace(self.header, "")


def _json_string(key: str) -> Callable[[pl.Expr], pl.Expr]:
    return lambda line: line.str.json_path_match(f"$.{key}")


def _docker_message(line: pl.Expr) -> pl.Expr:
    return _json_string("log")(line).str.strip_suffix("\n").str.strip_suffix("\r")


def _docker_continues(line: pl.Expr) -> pl.Expr:
    """No line end at the end of `log`: read from the text (Docker writes `log` then
    `stream`; a quote inside a JSON string is escaped), not by parsing the JSON again."""
    return ~line.str.contains(r'\\n"\s*,\s*"stream"')


def _docker_time(line: pl.Expr) -> pl.Expr:
    """`time`, Docker's last key, read from the end of the line."""
    return _iso_time(line.str.extract(r'"time"\s*:\s*"([^"\\]*)"\s*\}\s*$', 1))


def _journal_json_time(line: pl.Expr) -> pl.Expr:
    micros = _json_string("__REALTIME_TIMESTAMP")(line).cast(pl.Int64, strict=False)
    return micros.cast(schema.TIMESTAMP)


def _export_message(line: pl.Expr) -> pl.Expr:
    return pl.when(line.str.starts_with("MESSAGE=")).then(line.str.slice(len("MESSAGE=")))


def _export_time(line: pl.Expr) -> pl.Expr:
    micros = pl.when(line.str.starts_with("__REALTIME_TIMESTAMP=")).then(
        line.str.slice(len("__REALTIME_TIMESTAMP=")).cast(pl.Int64, strict=False)
    )
    return micros.cast(schema.TIMESTAMP)


# A priority (<134>), then an RFC 5424 header (1 TIME HOST APP PID MSGID SD), or a BSD or
# ISO time with an optional host and a `tag[pid]:`; or the tag alone, as HAProxy's manual
# prints its examples.  None of these can start an access line.
_PRIORITY = r"(?:<[0-9]{1,3}>)?"
_RFC5424 = r"1 [^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ (?:-|(?:\[(?:[^\]\\]|\\.)*\])+) "
_SYSLOG_TIME = (
    r"(?:[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9:]+)?)"
)
_TAG = r"[^ :\[]+(?:\[[0-9]+\])?: "
# the header when a line may have one or not (HAProxy's own reading): the tag optional
SYSLOG_IF_ANY = (
    rf"^{_PRIORITY}(?:{_RFC5424}|{_SYSLOG_TIME} (?:(?:[^ ]+ )?{_TAG})?|[^ :\[]+\[[0-9]+\]: )?"
)
# a syslog header for certain (`journalctl -o short-iso`, rsyslog's files): the tag too
_SYSLOG_HEADER = (
    rf"^{_PRIORITY}(?:{_RFC5424}|{_SYSLOG_TIME} (?:[^ ]+ )?{_TAG}|[^ :\[]+\[[0-9]+\]: )"
)


def _syslog_time(line: pl.Expr) -> pl.Expr:
    """The ISO time of an RFC 5424 or short-iso header (a BSD time has no year: none)."""
    iso = line.str.extract(rf"^(?:<[0-9]{{1,3}}>)?(?:1 )?({RFC3339}) ", 1)
    return _iso_time(iso.str.replace(r"([+-][0-9]{2})([0-9]{2})$", "${1}:${2}"))


DOCKER = Envelope(
    "docker",
    "Docker json-file",
    looks=r'^\{\s*"log"\s*:\s*"',
    message=_docker_message,
    time=_docker_time,
    continues=_docker_continues,
)
CRI = Envelope(
    "cri",
    "CRI (containerd, CRI-O)",
    looks=rf"^{RFC3339} (?:stdout|stderr) [FP] ",
    header=rf"^{RFC3339} (?:stdout|stderr) [FP] ",
    time=lambda line: _iso_time(line.str.extract(rf"^({RFC3339}) ", 1)),
    continues=lambda line: line.str.contains(rf"^{RFC3339} (?:stdout|stderr) P "),
)
JOURNAL_JSON = Envelope(
    "journal-json",
    "journalctl -o json",
    looks=r'^\{.*"__REALTIME_TIMESTAMP" ?: ?"[0-9]+".*"MESSAGE" ?:',
    message=_json_string("MESSAGE"),
    time=_journal_json_time,
)
JOURNAL_EXPORT = Envelope(
    "journal-export",
    "journalctl -o export",
    looks=r"^(?:__CURSOR|__REALTIME_TIMESTAMP|__MONOTONIC_TIMESTAMP|_BOOT_ID|MESSAGE)=",
    message=_export_message,
    time=_export_time,
    own=r"^[A-Z_][A-Z0-9_]*=",
    time_carried=True,
)
SYSLOG = Envelope(
    "syslog",
    "syslog",
    looks=_SYSLOG_HEADER,
    header=_SYSLOG_HEADER,
    time=_syslog_time,
)
# in the order detection tries them: the most specific first
ENVELOPES = (DOCKER, CRI, JOURNAL_JSON, JOURNAL_EXPORT, SYSLOG)
# the share of sample lines an envelope must wrap to be taken for the file's
MOST = 0.5


def find(sample: pl.Series) -> Envelope | None:
    """The envelope that wraps most of the sample's lines (more than half), if any."""
    if not len(sample):
        return None
    counts = [(int(sample.str.contains(envelope.looks).sum()), envelope) for envelope in ENVELOPES]
    count, envelope = max(counts, key=lambda pair: pair[0])
    return envelope if count > MOST * len(sample) else None


def unwrap(lines: pl.Series, envelope: Envelope | str) -> pl.Series:
    """The server's lines inside the envelope, continued parts joined (what detection
    looks at); a bare regex is a header cut from each line."""
    if isinstance(envelope, str):
        return lines.str.replace(envelope, "")
    frame = _joined(pl.DataFrame({schema.RAW_LINE: lines}), envelope, "")
    return frame.filter(~pl.col(_OWN)).get_column(schema.RAW_LINE).drop_nulls()


def _joined(frame: pl.DataFrame, envelope: Envelope, pending: str) -> pl.DataFrame:
    """The frame with `line` the server's line (parts joined on the last one, `pending`
    text carried from the chunk before first), `_OWN` on the envelope's own lines."""
    line = pl.col(schema.RAW_LINE)
    inner = envelope.inner(line)
    own = inner.is_null()
    if envelope.own is not None:
        own = own | (line.str.contains(envelope.own) & inner.is_null())
    if envelope.continues is None:
        return frame.with_columns(inner.alias(schema.RAW_LINE), own.alias(_OWN))
    goes_on = envelope.continues(line).fill_null(False)
    # the entries of one line: each line's group is the number of complete lines before it;
    # the text carried from the chunk before goes in front of the chunk's first entry
    first = pl.int_range(pl.len()) == 0
    parts = frame.with_columns(
        pl.when(first).then(pl.lit(pending) + inner).otherwise(inner).alias(_PART),
        (~goes_on).cast(pl.UInt32).cum_sum().shift(1, fill_value=0).alias(_GROUP),
        goes_on.alias(_OWN),
        own.alias(_OWN + "_field"),
    )
    joined = pl.col(_PART).str.join("").over(_GROUP)
    return parts.with_columns(
        pl.when(pl.col(_OWN)).then(None).otherwise(joined).alias(schema.RAW_LINE),
        (pl.col(_OWN) | pl.col(_OWN + "_field")).alias(_OWN),
    ).drop(_PART, _GROUP, _OWN + "_field")


@dataclass
class Wrapped:
    """A parser for lines inside an envelope (or behind a bare header regex); implements
    `Parser`."""

    parser: Parser
    envelope: Envelope | str  # a bare regex: a header cut from each line (HAProxy's)
    notices: str | None = None  # regex: the server's own messages, read as comments
    _pending: str = ""  # a part continued into the next chunk

    @property
    def keeps_state(self) -> bool:
        carries = isinstance(self.envelope, Envelope) and (
            self.envelope.continues is not None or self.envelope.time_carried
        )
        return self.parser.keeps_state or carries

    @property
    def description(self) -> str:
        if isinstance(self.envelope, Envelope):
            return f"{self.parser.description} in {self.envelope.title}"
        return self.parser.description

    def columns(self) -> set[str]:
        timed = isinstance(self.envelope, Envelope) and self.envelope.time is not None
        return self.parser.columns() | ({"timestamp"} if timed else set())

    def parse(self, lines: pl.LazyFrame, needed: set[str] | None = None) -> pl.LazyFrame:
        line = pl.col(schema.RAW_LINE)
        # an envelope inside another (HAProxy's syslog header inside Docker's JSON): each
        # keeps its own copy of the line as it came
        logged = _LOGGED + str(sum(name.startswith(_LOGGED) for name in lines.collect_schema()))
        if isinstance(self.envelope, str):
            cut = lines.with_columns(line.alias(logged), line.str.replace(self.envelope, ""))
            own = pl.lit(False)
        else:
            cut = self._unwrapped(lines, logged)
            own = pl.col(_OWN)
        parsed = self.parser.parse(cut, needed)
        kind, reason = pl.col(schema.LINE_KIND), pl.col(schema.REJECT_REASON)
        comment = own
        if self.notices is not None:
            comment = comment | ((kind == schema.REJECTED) & line.str.contains(self.notices))
        restored = [
            pl.col(logged).alias(schema.RAW_LINE),
            pl.when(comment).then(pl.lit(schema.COMMENT)).otherwise(kind).alias(schema.LINE_KIND),
            pl.when(comment).then(None).otherwise(reason).alias(schema.REJECT_REASON),
        ]
        columns = parsed.collect_schema()
        if _TIME in columns and (needed is None or "timestamp" in needed):
            # the server's own time first: the envelope's is when the line was written
            own_time = [pl.col("timestamp")] if "timestamp" in columns else []
            record = pl.col(schema.LINE_KIND) == schema.RECORD
            time = pl.coalesce(*own_time, pl.col(_TIME))
            restored.append(pl.when(record).then(time).alias("timestamp"))
        own_columns = (logged,) if isinstance(self.envelope, str) else (logged, _TIME, _OWN)
        return parsed.with_columns(restored).drop([name for name in own_columns if name in columns])

    def _unwrapped(self, lines: pl.LazyFrame, logged: str) -> pl.LazyFrame:
        envelope = self.envelope
        assert isinstance(envelope, Envelope)
        frame = lines.collect()
        line = pl.col(schema.RAW_LINE)
        timed = frame.with_columns(line.alias(logged))
        if envelope.time is not None:
            time = envelope.time(line)
            if envelope.time_carried:
                time = time.forward_fill()
            timed = timed.with_columns(time.alias(_TIME))
        joined = _joined(timed, envelope, self._pending)
        if envelope.continues is not None:
            self._pending = _trailing_part(joined, envelope, self._pending, logged)
        # the envelope's own lines are blank to the server's parser, then comments
        return joined.with_columns(
            pl.when(pl.col(_OWN)).then(pl.lit("")).otherwise(line).alias(schema.RAW_LINE)
        ).lazy()


def _trailing_part(frame: pl.DataFrame, envelope: Envelope, pending: str, logged: str) -> str:
    """The text of the parts at the chunk's end that continue in the next chunk (with
    `pending`, carried into this one, when no line of this chunk ended)."""
    assert envelope.continues is not None
    raw = pl.col(logged)
    goes_on = envelope.continues(raw).fill_null(False)
    tail = frame.select(goes_on.alias("on"), envelope.inner(raw).alias("text"))
    ends = tail.with_row_index().filter(~pl.col("on"))
    start = int(ends["index"][-1]) + 1 if ends.height else 0
    carried = "" if ends.height else pending
    return carried + "".join(text or "" for text in tail["text"][start:].to_list())
