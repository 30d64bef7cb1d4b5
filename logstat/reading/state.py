"""Remember what earlier runs read, so that a cron run reads only the new lines.

`--state FILE` keeps, for every log file read, who the file is (device, inode
and a fingerprint of its first bytes) and how far it was read (whole lines
only, counted in decompressed bytes).  The next run with the same state file:

- reads a file that grew from where the last run stopped;
- follows rotation: a file renamed (`access.log` -> `access.log.1`) or
  compressed (`access.log.1` -> `access.log.2.gz`) is recognised by its inode
  or by the fingerprint of its decompressed first bytes, and the fingerprint
  wins: a file with a remembered inode but other first bytes is another file
  (ext4 hands a deleted file's inode to the next file created); its unread tail is
  read once and the new `access.log` from its start.  Rotated files are looked
  for among the inputs and beside the input they were first read as, under
  logrotate's names: the input's name, `.`, `-` or `_`, then a digit
  (`access.log.2.gz`, `access.log-20240105`).  A rotated file that no entry
  points to is read from its start only when it was written after everything
  the state saw of its log (created and rotated between two runs); one that
  starts like a file being read in this run is a copy in the making and waits
  for the next run;
- notices truncation (copytruncate: smaller than what was read, or other first
  bytes) and reads the file again from its start;
- leaves a partial last line (no newline yet) for the next run, except at the
  end of a compressed file, which is finished, and at the end of a rotated file
  (no longer under the name it was read as) that has not changed since a run
  that saw it rotated: its writer has moved on to the new log;
- opens nothing whose device, inode, size and modification time are unchanged,
  unless a plain file was not read to its end (a read that stopped on an error:
  it goes on from there; a partial last line: it is left again).

The state file is JSON (`logstat_state` is its format version):

    {"logstat_state": 1,
     "files": [{"path": "/var/log/nginx/access.log.1",  (where it was last seen)
                "origin": "/var/log/nginx/access.log",  (the input it was first read as)
                "device": 2049, "inode": 393231,
                "size": 52311, "mtime_ns": 1704448800123456789,  (before the last read)
                "fingerprint": "<sha256 hex>", "fingerprint_bytes": 4096,
                "compression": null,
                "offset": 52311,  (decompressed bytes of whole lines read)
                "lines": 210,  (lines read: the next one is line 211)
                "read_at": "2024-01-05T10:00:00Z"}]}

It is replaced atomically (temporary file, then rename) after the run's outputs
are written, and an exclusive lock on `FILE.lock` keeps two runs apart: a run
that fails leaves the previous state, so its lines are read again next time.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from logstat.errors import ExitCode, LogstatError
from logstat.formats import Choice
from logstat.outputs.atomic import atomic_output
from logstat.reading import detection
from logstat.reading.lines import Chunk, ReadProblems, read_chunks
from logstat.reading.object_state import SECTION as OBJECTS
from logstat.reading.object_state import ObjectLedger
from logstat.reading.runs import FileRun, Options
from logstat.reading.sources import MAGIC_OF, OpenedSource, Source, Vanished, open_source

STATE_VERSION = 1
# A file's identity: enough bytes that two logs never share them (each line has a
# time and a client), few enough to read cheaply; a shorter file is fingerprinted
# as far as it goes, and the fingerprint grows with the file.
FINGERPRINT_BYTES = 4096
LOCK_WAIT_S = 10.0


@dataclass
class Entry:
    """What the state file remembers about one log file."""

    path: str
    origin: str
    device: int
    inode: int
    size: int
    mtime_ns: int
    fingerprint: str
    fingerprint_bytes: int
    compression: str | None
    offset: int
    lines: int
    read_at: str

    @classmethod
    def from_json(cls, data: Any) -> Entry:
        """An entry of the state file; ValueError says what is wrong with a damaged one."""
        if not isinstance(data, dict):
            raise ValueError("an entry is not an object")
        names = [item.name for item in fields(cls)]
        missing = [name for name in names if name not in data]
        unknown = [name for name in data if name not in names]
        if missing or unknown:
            what = f"lacks {missing[0]!r}" if missing else f"has an unknown field {unknown[0]!r}"
            raise ValueError(f"an entry {what}")
        for name in _TEXT_FIELDS:
            if not isinstance(data[name], str):
                raise ValueError(f"{name!r} is not text")
        for name, lowest in _NUMBER_FIELDS.items():
            value = data[name]
            # bool is an int to Python, not to JSON
            if type(value) is not int or not lowest <= value <= _LARGEST:
                shown = repr(value)[:40]
                raise ValueError(f"{name!r} is {shown}, not a whole number from {lowest}")
        if not _SHA256.fullmatch(data["fingerprint"]):
            raise ValueError("'fingerprint' is not a SHA-256 in hex")
        if data["fingerprint_bytes"] > FINGERPRINT_BYTES:
            raise ValueError(f"'fingerprint_bytes' is more than {FINGERPRINT_BYTES}")
        if data["compression"] is not None and data["compression"] not in MAGIC_OF:
            raise ValueError(f"'compression' is {repr(data['compression'])[:40]}")
        return cls(**data)

    def unchanged(self, status: os.stat_result) -> bool:
        """Same file, same size, same modification time: nothing new to read."""
        return (self.device, self.inode, self.size, self.mtime_ns) == (
            status.st_dev,
            status.st_ino,
            status.st_size,
            status.st_mtime_ns,
        )

    def matches(self, head: bytes) -> bool:
        """Does a file that starts with `head` start as this one did?"""
        if len(head) < self.fingerprint_bytes:
            return False
        return _fingerprint(head[: self.fingerprint_bytes]) == self.fingerprint


_TEXT_FIELDS = ("path", "origin", "fingerprint", "read_at")
_NUMBER_FIELDS = {  # the smallest each may be (a file may be dated before 1970)
    "device": 0,
    "inode": 0,
    "size": 0,
    "mtime_ns": -(2**63),
    "fingerprint_bytes": 0,
    "offset": 0,
    "lines": 0,
}
_LARGEST = 2**63 - 1  # what a file offset or a line number can be
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Counted:
    """A stream that counts the bytes it returns."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data: bytes = self.stream.read(size)
        self.count += len(data)
        return data


def _is_read_error(error: BaseException) -> bool:
    # the errors lines.read_chunks turns into "stopped reading early"
    known = (EOFError, OSError, zlib.error, ValueError)
    return isinstance(error, known) or type(error).__name__ == "ZstdError"


@dataclass
class _Candidate:
    """A file this run may read: an input, or a rotated file beside one."""

    source: Source
    path: str  # absolute
    status: os.stat_result
    origin: str  # the input path (of this run or an earlier one) it belongs to
    _head: tuple[bytes, str | None] | None = None
    gone: bool = False  # deleted or rotated away between its listing and its opening

    @property
    def is_input(self) -> bool:
        return self.origin == self.path

    def head(self) -> bytes:
        return self._load()[0]

    def compression(self) -> str | None:
        return self._load()[1]

    def _load(self) -> tuple[bytes, str | None]:
        """The first FINGERPRINT_BYTES decompressed bytes (fewer when the file is shorter)."""
        if self._head is None:
            try:
                opened = open_source(self.source)
            except Vanished:
                self.gone = True
                self._head = (b"", None)
                return self._head
            data = b""
            try:
                while len(data) < FINGERPRINT_BYTES:
                    block = opened.stream.read(FINGERPRINT_BYTES - len(data))
                    if not block:
                        break
                    data += block
            except Exception as error:
                if not _is_read_error(error):
                    raise
            finally:
                opened.close()
            self._head = (data, opened.compression)
        return self._head


@dataclass
class Resume:
    """How one file is read under --state, and where reading ended.

    The pipeline calls `read_chunks` (runs.Resumed); `end_offset` stays None unless the file
    was read to its end, so a run cut short records nothing for it.
    """

    candidate: _Candidate
    origin: str
    previous: Entry | None  # what the state said about this file; None: a new file
    offset: int = 0
    lines: int = 0
    end_offset: int | None = None
    end_lines: int = 0
    compression: str | None = None
    finish: bool = False  # the last line counts even without its newline (_abandoned_tail)

    def read_chunks(
        self, opened: OpenedSource, problems: ReadProblems, chunk_bytes: int
    ) -> Iterator[Chunk]:
        if not self.same_file(opened, problems):
            return
        errors = len(problems.messages)
        try:
            position = opened.stream.seek(self.offset) if self.offset else 0
        except Exception as error:
            if not _is_read_error(error):
                raise
            problems.messages.append(f"cannot skip the {self.offset:,} bytes read before: {error}")
            return
        if position != self.offset:
            problems.messages.append(f"shorter than the {self.offset:,} bytes read before")
            return
        stream = _Counted(opened.stream)
        held = b""
        lines = 0
        for chunk in read_chunks(stream, problems, chunk_bytes):
            data = chunk.data
            if not data.endswith(b"\n"):  # only the last chunk: a partial last line
                cut = data.rfind(b"\n") + 1
                data, held = data[:cut], data[cut:]
            if data:
                lines += data.count(b"\n")
                yield Chunk(data, chunk.first_line_no + self.lines)
        complete = opened.compression is not None or self.finish
        finished = complete and len(problems.messages) == errors
        if held and finished:  # a compressed or abandoned file is complete: its last line too
            yield Chunk(held, self.lines + lines + 1)
            lines += 1
            held = b""
        self.compression = opened.compression
        self.end_offset = self.offset + stream.count - len(held)
        self.end_lines = self.lines + lines

    def same_file(self, opened: OpenedSource, problems: ReadProblems) -> bool:
        """Whether `opened` is the file planned (not one that took its name since)."""
        if not self.is_planned(os.fstat(opened.counter.raw.fileno())):
            problems.messages.append("replaced while being opened; left for the next run")
            return False
        return True

    def is_planned(self, status: os.stat_result) -> bool:
        expected = self.candidate.status
        return (status.st_dev, status.st_ino) == (expected.st_dev, expected.st_ino)

    def renamed(self) -> str | None:
        """Where the file planned is now when it was renamed beside its old name since it
        was planned (logrotate's rename), found by device and inode as the next run would
        find it; None when it is not there (deleted, compressed, moved away)."""
        inode = self.candidate.status.st_ino
        try:
            with os.scandir(os.path.dirname(self.candidate.path) or ".") as entries:
                for entry in entries:
                    with contextlib.suppress(OSError):
                        if entry.inode() == inode and self.is_planned(entry.stat()):
                            return entry.path
        except OSError:
            return None
        return None

    @property
    def has_lines(self) -> bool:
        """False for an empty file or a single partial line: nothing to read or detect yet."""
        head = self.candidate.head()
        return b"\n" in head or len(head) >= FINGERPRINT_BYTES

    def entry(self) -> Entry:
        """What the state file says about this file after the run."""
        assert self.end_offset is not None
        head = self.candidate.head()
        status = self.candidate.status
        return Entry(
            path=self.candidate.path,
            origin=self.origin,
            device=status.st_dev,
            inode=status.st_ino,
            size=status.st_size,
            mtime_ns=status.st_mtime_ns,
            fingerprint=_fingerprint(head),
            fingerprint_bytes=len(head),
            compression=self.compression,
            offset=self.end_offset,
            lines=self.end_lines,
            read_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        )


def resume_of(run: FileRun) -> Resume | None:
    """How `run` was read under --state (None: read whole, without one)."""
    return run.resume if isinstance(run.resume, Resume) else None


@dataclass
class _Plan:
    reads: list[Resume] = field(default_factory=list)
    kept: list[Entry] = field(default_factory=list)  # entries that stay as they are
    gone: list[Source] = field(default_factory=list)  # inputs deleted since they were listed
    # input path -> what may not have been read: the file last seen under its name was
    # found nowhere (rotated where logstat does not look, or deleted)
    lost: dict[str, str] = field(default_factory=dict)


class _Claims:
    """Which entry went to which candidate: each at most once."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self.free_entries = set(range(len(entries)))
        self.by_candidate: dict[str, int | None] = {}  # path -> entry index (None: none)

    def claim(self, index: int | None, candidate: _Candidate) -> None:
        if index is not None:
            self.free_entries.discard(index)
        self.by_candidate[candidate.path] = index

    def release(self, index: int, candidate: _Candidate) -> None:
        self.free_entries.add(index)
        del self.by_candidate[candidate.path]

    def decided(self, candidate: _Candidate) -> bool:
        return candidate.path in self.by_candidate


def _match(entries: list[Entry], sources: list[Source]) -> _Plan:
    """Pair this run's files with what the state remembers; see the module's docstring."""
    plan = _Plan()
    inputs = []
    for source in sources:
        candidate = _candidate(source)
        if candidate is None:
            plan.gone.append(source)  # its entries stay: its origin is no input of this run
        else:
            inputs.append(candidate)
    input_paths = {candidate.path: candidate for candidate in inputs}
    claims = _Claims(entries)
    # an entry and a file of the same inode but other content: the file was truncated in
    # place, or is a new file that got a deleted file's inode (ext4 reuses them at once).
    # The fingerprint decides: such a file is matched by content like any other, and is
    # only read from its start when no entry knows its first bytes.
    judged: set[tuple[int, str]] = set()
    # nothing read of them yet (empty, or one partial line) and changed since: their
    # first bytes may be in a copy (copytruncate) too short a fingerprint cannot find
    unread: list[Entry] = []
    # an entry that read nothing matches any file of its inode: when that inode went to a
    # copy of a file read before (copytruncate, and ext4 handing the deleted file's inode
    # on), the copy's content decides, once every file has been matched by identity
    blank: list[tuple[int, _Candidate, int]] = []  # ... and where its read goes in plan.reads

    def by_identity(candidates: list[_Candidate]) -> None:
        for candidate in candidates:
            status = candidate.status
            same_inode = [
                index
                for index in claims.free_entries
                if (entries[index].device, entries[index].inode) == (status.st_dev, status.st_ino)
            ]
            # Several entries may name one inode: a deleted file's, reused by a file the
            # state knows too.  The entry with the most evidence is the file's own: the
            # same size and time, else the longest fingerprint of its content (an entry
            # that read nothing matches any file, and would read it all again).
            same_inode.sort(
                key=lambda index: (
                    not entries[index].unchanged(status),
                    -entries[index].fingerprint_bytes,
                    -entries[index].offset,
                    index,
                )
            )
            for index in same_inode:
                entry = entries[index]
                if entry.unchanged(status) and _abandoned_tail(entry, candidate):
                    claims.claim(index, candidate)
                    plan.reads.append(_resume(candidate, entry, finish=True))
                elif entry.unchanged(status) and not _unread_past_offset(entry):
                    claims.claim(index, candidate)
                    plan.kept.append(_moved(entry, candidate))
                elif _continues(entry, candidate):
                    claims.claim(index, candidate)
                    if entry.fingerprint_bytes == 0:
                        blank.append((index, candidate, len(plan.reads)))
                    else:
                        plan.reads.append(_resume(candidate, entry))
                    if entry.offset == 0 and entry.origin in input_paths:
                        unread.append(entry)
                else:
                    judged.add((index, candidate.path))
                    continue
                break

    by_identity(inputs)
    missing = [entries[i] for i in claims.free_entries if entries[i].origin in input_paths]
    siblings = _siblings([*missing, *unread], input_paths)
    by_identity(siblings)
    for index, candidate, position in reversed(blank):  # (later positions first)
        if any(
            entries[other].offset > 0 and entries[other].matches(candidate.head())
            for other in claims.free_entries
        ):  # a copy of what another entry read: matched by content below
            claims.release(index, candidate)
            judged.add((index, candidate.path))
        else:
            plan.reads.insert(position, _resume(candidate, entries[index]))

    # Renamed and compressed, or copied (copytruncate): the same first bytes elsewhere.
    undecided = [c for c in (*inputs, *siblings) if not claims.decided(c)]
    remembered = sorted(
        (index for index in claims.free_entries if entries[index].offset > 0),
        key=lambda index: (-entries[index].fingerprint_bytes, -entries[index].offset),
    )
    for index in remembered:
        entry = entries[index]
        for candidate in undecided:
            if claims.decided(candidate) or (index, candidate.path) in judged:
                continue
            if not entry.matches(candidate.head()):
                continue
            claims.claim(index, candidate)
            if candidate.compression() is not None or candidate.status.st_size >= entry.offset:
                plan.reads.append(_resume(candidate, entry))
            else:  # a shorter copy: everything in it was read from the original
                plan.kept.append(entry)
            break
    # What is left: new inputs; and rotated files that no entry points to but
    # that were written after everything the state saw of their log: a file
    # created and rotated between two runs, or a copy of a file of which nothing
    # was read yet (its fingerprint is too short to find it).  A copy of a file
    # that is being read in this run is read by neither name: logrotate is
    # copying or compressing it, and the next run sees which one stays.
    newest: dict[str, int] = {}
    for entry in entries:
        newest[entry.origin] = max(newest.get(entry.origin, 0), entry.mtime_ns)
    claimed = [entries[index] for index in range(len(entries)) if index not in claims.free_entries]
    for candidate in (*inputs, *siblings):
        if claims.decided(candidate):
            continue
        if not candidate.is_input and candidate.status.st_mtime_ns < newest[candidate.origin]:
            continue  # rotated before the state saw this log: not ours to read
        claims.claim(None, candidate)
        copy = any(entry.offset > 0 and entry.matches(candidate.head()) for entry in claimed)
        if not copy:
            plan.reads.append(Resume(candidate, candidate.origin, None))

    # a file that went away while this run looked at it may be where an entry's lines
    # are now: its log's entries stay for the next run
    gone = {candidate.origin for candidate in (*inputs, *siblings) if candidate.gone}
    for index in sorted(claims.free_entries):
        origin = entries[index].origin
        if origin not in input_paths or origin in gone:  # not ours to forget (yet)
            plan.kept.append(entries[index])
        elif entries[index].path == origin:
            plan.lost[origin] = (
                f"the file read before under this name (to line {entries[index].lines:,}) "
                "was not found: lines written to it after the last run were not read "
                "(rotated files are looked for beside the log, or its symlink's target, "
                "as NAME.1, NAME-DATE ..., and among the inputs)"
            )
    # rotated files first: their lines are older
    plan.reads.sort(key=lambda resume: resume.candidate.is_input)
    return plan


def _candidate(source: Source) -> _Candidate | None:
    """The input as a candidate; None when it is gone since it was listed."""
    assert source.path is not None
    try:
        status = os.stat(source.path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise LogstatError(f"{source.name}: cannot open: {error.strerror or error}") from error
    path = os.path.abspath(source.path)
    return _Candidate(source, path, status, path)


def _continues(entry: Entry, candidate: _Candidate) -> bool:
    """The same file as the entry's, grown (or unchanged) since."""
    if candidate.compression() is None and candidate.status.st_size < entry.offset:
        return False
    return entry.matches(candidate.head())


def _resume(candidate: _Candidate, entry: Entry, finish: bool = False) -> Resume:
    return Resume(candidate, entry.origin, entry, entry.offset, entry.lines, finish=finish)


def _abandoned_tail(entry: Entry, candidate: _Candidate) -> bool:
    """A rotated file that ends in a line without its newline, and has not changed since
    a run that saw it rotated already: its writer moved on to the new log, so that line is
    finished as it is (as at the end of a compressed file).  The live log's last line keeps
    waiting, and so does a file the last run saw under the name it was first read as: the
    writer may not have reopened its log yet (logrotate renames, then tells it), and what
    it still holds of that line goes to the rotated file when it does."""
    rotated = candidate.path != entry.origin and entry.path != entry.origin
    return rotated and entry.compression is None and entry.offset < entry.size


def _unread_past_offset(entry: Entry) -> bool:
    """A plain file the last run did not read to its end: a partial last line, or a read
    that stopped early (an I/O error).  Unchanged since, it is read again from the offset,
    so the lines behind an error are not left until the file grows; a partial line
    costs its own bytes and is left again.  A compressed file's offset counts
    decompressed bytes, so its size says nothing of it."""
    return entry.compression is None and entry.offset < entry.size


def _moved(entry: Entry, candidate: _Candidate) -> Entry:
    return Entry(**{**asdict(entry), "path": candidate.path})


def _siblings(entries: list[Entry], inputs: dict[str, _Candidate]) -> list[_Candidate]:
    """Rotated files beside each entry's origin: its name, a separator, then a digit
    (access.log.1, access.log.2.gz, access.log-20240105), as logrotate names them."""
    found: dict[str, _Candidate] = {}
    known = {(c.status.st_dev, c.status.st_ino) for c in inputs.values()}
    for entry in entries:
        # an input that is a symlink (log/access.log -> ../real/access.log) is rotated
        # where its target is: look beside the link and beside the target
        places = {os.path.split(entry.origin): os.path.dirname(inputs[entry.origin].source.name)}
        target = os.path.realpath(entry.origin)
        places.setdefault(os.path.split(target), os.path.dirname(target))
        for (directory, name), shown in places.items():
            rotated = re.compile(re.escape(name) + r"[.\-_][0-9][\w.\-]*")
            try:
                names = sorted(os.listdir(directory))
            except OSError:
                continue
            for other in names:
                path = os.path.join(directory, other)
                if not rotated.fullmatch(other) or path in inputs or path in found:
                    continue
                try:
                    status = os.stat(path)
                except OSError:
                    continue
                if os.path.isfile(path) and (status.st_dev, status.st_ino) not in known:
                    known.add((status.st_dev, status.st_ino))
                    source = Source(os.path.join(shown, other), Path(path))
                    found[path] = _Candidate(source, path, status, entry.origin)
    return sorted(found.values(), key=lambda candidate: candidate.status.st_mtime_ns)


@dataclass
class Read:
    """One file (or object) a run reads under --state: from where, and what to say of it."""

    source: Source
    resume: Resume | None = None  # None: an object, read whole
    problems: list[str] = field(default_factory=list)


@dataclass
class Reads:
    files: list[Read]
    gone: list[Source]  # inputs deleted since they were listed

    def gone_runs(self, first_id: int) -> list[FileRun]:
        """The gone inputs as runs numbered from `first_id`: the summary lists them."""
        return [
            FileRun(first_id + index, source, None, problems=[Vanished.REASON], vanished=True)
            for index, source in enumerate(self.gone)
        ]


def _lost(lost: dict[str, str], path: str) -> list[str]:
    return [lost[path]] if path in lost else []


class StateFile:
    """A --state file, locked from `open` to `close`.

    `plan` chooses what to read and how far to skip; `commit` records what was
    read.  Use it as a context manager, or call `close` (the lock also ends
    with the process).
    """

    def __init__(self, path: Path, entries: list[Entry], lock: _FileLock | None) -> None:
        self.path = path
        self.entries = entries
        # other sections of the file, kept as they are: {"prometheus": {...}} (its counters)
        self.sections: dict[str, Any] = {}
        self.objects = ObjectLedger()  # the objects (s3://...) read, by folder
        self._lock = lock
        self._plan: _Plan | None = None
        self._since: datetime | None = None  # --since: older date folders are forgotten

    @classmethod
    def open(cls, path: Path, lock_wait_s: float | None = None) -> StateFile:
        # a symlinked state is its target: the lock beside it and the new file renamed
        # over it, not over the link (which would leave two states, each half right)
        path = Path(os.path.realpath(path))
        lock = _acquire(path, LOCK_WAIT_S if lock_wait_s is None else lock_wait_s)
        try:
            state = cls(path, _load(path), lock)
            state.sections = _sections(path)
            state.objects = ObjectLedger.load(state.sections.get(OBJECTS))
            return state
        except BaseException:
            lock.close()
            raise

    def plan(
        self,
        sources: list[Source],
        options: Options,
        earlier: dict[tuple[str, str], Choice] | None = None,
    ) -> list[FileRun]:
        """The files to read, each with where to start; unchanged files are left out.

        Objects (s3://...) are read whole, once: those the state has not seen.  `earlier`:
        formats detected before, lent as detection.plan lends them."""
        reads = self.reads(sources, options)
        runs = detection.plan([read.source for read in reads.files], options, earlier)
        for run, read in zip(runs, reads.files, strict=True):
            run.resume = read.resume
            run.problems.extend(read.problems)
        runs.extend(reads.gone_runs(len(runs)))
        return runs

    def reads(self, sources: list[Source], options: Options) -> Reads:
        """What to read, in the order to read it, before any format is detected: the
        files with where each starts (as `plan` reads them; an engine that detects the
        formats elsewhere sends these), then the inputs gone since they were listed."""
        objects = [source for source in sources if source.remote is not None]
        sources = [source for source in sources if source.remote is None]
        unread = [source for source in objects if not self.objects.read(source.name)]
        self._since = options.window.since if options.window is not None else None
        # what a pipe held is gone once read: there is no offset to come back to
        for source in sources:
            if source.once:
                what = "stdin" if source.path is None else f"{source.name} (not a regular file)"
                raise LogstatError(
                    f"--state reads files, not {what}: name the log files", ExitCode.USAGE
                )
        self._plan = _match(self.entries, sources)
        lost = self._plan.lost
        files = [
            Read(resume.candidate.source, resume, _lost(lost, resume.candidate.path))
            for resume in self._plan.reads
        ]
        files += [Read(source) for source in unread]
        return Reads(files, list(self._plan.gone))

    def commit(self, runs: list[FileRun]) -> None:
        """Write down what was read; call it after the outputs are safely written."""
        self.save(self.next_entries(runs), self.next_objects(runs))

    def next_objects(self, runs: list[FileRun]) -> ObjectLedger:
        """The objects read once `runs` are (a vanished one is looked for again)."""
        read = [run.source.name for run in runs if run.source.remote and not run.vanished]
        return self.objects.after(read, self._since)

    def next_entries(self, runs: list[FileRun]) -> list[Entry]:
        """What the state says once `runs` are read (`commit` writes it down)."""
        if self._plan is None:
            raise RuntimeError("commit before plan")
        entries: list[Entry] = []
        for run in runs:
            resume = resume_of(run)
            if resume is None:
                continue
            if resume.end_offset is not None:
                entries.append(resume.entry())
            elif resume.previous is not None:  # not read to the end: try again next run
                entries.append(resume.previous)
        taken = {(entry.device, entry.inode) for entry in entries}
        # a kept entry whose inode now belongs to a file read in this run is stale
        entries += [e for e in self._plan.kept if (e.device, e.inode) not in taken]
        entries.sort(key=lambda entry: (entry.origin, entry.path))
        return entries

    def save(self, entries: list[Entry], objects: ObjectLedger | None = None) -> None:
        if objects is not None:
            self.objects = objects
        if self.objects.folders:
            self.sections[OBJECTS] = self.objects.to_json()
        else:
            self.sections.pop(OBJECTS, None)
        document = {
            "logstat_state": STATE_VERSION,
            **self.sections,
            "files": [asdict(e) for e in entries],
        }
        with atomic_output(self.path) as handle:
            handle.write((json.dumps(document, indent=1) + "\n").encode())
        self.entries = entries
        self._plan = None

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()

    def __enter__(self) -> StateFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _load(path: Path) -> list[Entry]:
    """The entries of a state file.  Anything wrong with it is a one-line error, and the
    run stops before it could replace the file: a damaged state is kept for a person to
    look at (or to remove, which makes the next run read every file from its start)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []  # the first run
    except OSError as error:
        raise LogstatError(
            f"{path}: cannot read the state file: {error.strerror or error}"
        ) from error
    try:
        document = json.loads(data.decode("utf-8"))
        version = document.get("logstat_state") if isinstance(document, dict) else None
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested too deep
        version = None
    if version is None:
        raise LogstatError(f"{path}: not a logstat state file")
    if type(version) is not int or version != STATE_VERSION:
        raise LogstatError(
            f"{path}: state file format {repr(version)[:20]} is not one this logstat reads "
            f"({STATE_VERSION}); use another file or upgrade logstat"
        )
    items = document.get("files")
    if not isinstance(items, list):
        raise LogstatError(f"{path}: damaged state file ('files' is not a list)")
    entries = []
    for number, item in enumerate(items):
        try:
            entries.append(Entry.from_json(item))
        except ValueError as error:
            raise LogstatError(f"{path}: damaged state file (files[{number}]: {error})") from None
    return entries


def _sections(path: Path) -> dict[str, Any]:
    """The sections besides `files` that other parts of logstat keep in the state file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    return {key: value for key, value in document.items() if key not in ("logstat_state", "files")}


class _FileLock:
    def __init__(self, descriptor: int, path: Path, state: Path) -> None:
        self.descriptor: int | None = descriptor
        self.path = path
        self.state = state

    def close(self) -> None:
        if self.descriptor is not None:
            # a run that wrote no state (a first run that failed) leaves no lock file
            # either; removed while held, so a waiter sees it went (see _acquire)
            if not self.state.exists():
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            os.close(self.descriptor)  # closing drops the flock
            self.descriptor = None


def _acquire(path: Path, wait_s: float) -> _FileLock:
    """An exclusive lock on PATH.lock; waits up to `wait_s` for another run to finish."""
    lock_path = path.with_name(path.name + ".lock")
    descriptor = _open_lock(lock_path)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same_file(descriptor, lock_path):
                return _FileLock(descriptor, lock_path, path)
            # the holder removed the lock file as it let go: lock the new one
            os.close(descriptor)
            descriptor = _open_lock(lock_path)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(descriptor)
                raise LogstatError(
                    f"{path}: another logstat run is using this state file "
                    f"(waited {wait_s:g} s); try again later"
                ) from None
            time.sleep(0.05)


def _open_lock(lock_path: Path) -> int:
    try:
        return os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise LogstatError(f"{lock_path}: cannot lock: {error.strerror or error}") from error


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (held.st_dev, held.st_ino) == (found.st_dev, found.st_ino)
