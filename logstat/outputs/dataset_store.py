"""A dataset in object storage (`ingest --to s3://bucket/dataset/`): commit objects, no renames.

    ROOT/date=.../source=.../part-<base>-<run>-<n>.parquet   parts, under their final names
    ROOT/_logstat/commits/<sequence>.json                     one per run: the commit point
    ROOT/_logstat/runs/<base>-<run>.json                      a run writing (gone when it ends)
    ROOT/_logstat/checkpoints/<sequence>.json                 the commits up to it, in one

Object stores have no atomic rename and no lock, so a run writes its parts where they
stay, then creates one small commit object that lists them, only if no object of
that name exists yet (S3's If-None-Match: *).  Readers count only the parts some
commit lists; a part no commit lists is an orphan of a run that failed or died.

`base` is the newest sequence when the run began: it plans from the commits up to
it and commits as base + 1.  Two runs at once: the second to commit finds its name
taken, fails and adds nothing (it planned without the first one's rows).  So a run
whose base is below the newest sequence can never commit any more, and its parts,
found through its run object, are removed by the next run that looks (at its start,
and after its own commit, which makes a run killed just before it dead).

A dataset fed every 5 minutes has 100,000 commits in a year: fetching them all would
make every run slow to start.  So every CHECKPOINT_EVERY commits, the run that
committed writes a checkpoint: every part the commits up to its own list, and the
newest of each of their other sections (the files and objects read).  A reader
fetches the newest checkpoint and the commits after it, listed from it on.  A
checkpoint only repeats commits, which stay: a run killed before writing one leaves
the next run to write it.

This module imports nothing of logstat's but its errors and the stores' listing from a
key (reading/object_pages.py): the caller hands in an fsspec filesystem
(reading/objects.py makes them) and paths without the scheme.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from logstat.errors import LogstatError
from logstat.reading import object_pages

COMMIT_VERSION = 1  # as dataset_commits.COMMIT_VERSION: one record format on disk and in stores
COMMITS = "_logstat/commits"
RUNS = "_logstat/runs"
CHECKPOINTS = "_logstat/checkpoints"
CHECKPOINT_EVERY = 100  # commits: a reader fetches a checkpoint and fewer commits than this
CHECKPOINT_VERSION = 1
_COMMIT = re.compile(r"([0-9]{10})\.json")
_RUN = re.compile(r"([0-9]{10})-([0-9a-f]{12})\.json")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _reason(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text


def commit_paths(fs: Any, root: str, start: int = 0) -> list[tuple[int, str]]:
    """The commit objects from sequence `start` on, oldest first, with their sequence
    numbers: listed from there when the store can (a year of commits is 100 pages)."""
    return _sequenced(fs, f"{root}/{COMMITS}", start)


def newest_checkpoint(fs: Any, root: str, upto: int | None = None) -> tuple[int, str | None]:
    """The newest checkpoint at or before sequence `upto` (any when None): (0, None) when
    there is none."""
    found = [
        item for item in _sequenced(fs, f"{root}/{CHECKPOINTS}") if upto is None or item[0] <= upto
    ]
    return found[-1] if found else (0, None)


def _sequenced(fs: Any, folder: str, start: int = 0) -> list[tuple[int, str]]:
    """The objects of `folder` named for a sequence number, from `start` on, in order."""
    names = object_pages.names_from(fs, folder, f"{start:010d}.json") if start else None
    try:
        if names is None:
            names = fs.ls(folder, detail=False)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        matched = _COMMIT.fullmatch(name.rstrip("/").rsplit("/", 1)[-1])
        if matched and int(matched[1]) >= start:
            found.append((int(matched[1]), name))
    return sorted(found)


def read_commits(fs: Any, paths: list[str]) -> list[dict[str, Any]]:
    """The commit documents, fetched together (many small objects, one round trip each
    at once, not in sequence), in the order given."""
    if not paths:
        return []
    try:
        contents = fs.cat(paths, on_error="raise")
    except Exception as error:
        raise LogstatError(
            f"{paths[0]}: cannot read the dataset's commits: {_reason(error)}"
        ) from error
    documents = []
    for path in paths:
        try:
            document = json.loads(contents[path])
        except ValueError as error:
            raise LogstatError(f"{path}: cannot read the dataset's commit: {error}") from error
        if not isinstance(document, dict) or document.get("logstat_commit") != COMMIT_VERSION:
            raise LogstatError(
                f"{path}: not a dataset commit this logstat reads (format {COMMIT_VERSION})"
            )
        documents.append(document)
    return documents


def committed_documents(
    fs: Any, root: str, upto: int | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """What the commits up to sequence `upto` (every one when None) say, oldest first:
    the newest checkpoint at or before it as one document, then the commits after it;
    and that checkpoint's sequence (0: none)."""
    checkpoint, path = newest_checkpoint(fs, root, upto)
    documents = [] if path is None else [_read_checkpoint(fs, path, checkpoint)]
    later = [
        path
        for sequence, path in commit_paths(fs, root, checkpoint)
        if sequence > checkpoint and (upto is None or sequence <= upto)
    ]
    return checkpoint, documents + read_commits(fs, later)


def _read_checkpoint(fs: Any, path: str, sequence: int) -> dict[str, Any]:
    """A checkpoint, as one document of the commits it holds."""
    try:
        document = json.loads(fs.cat_file(path))
    except Exception as error:
        raise LogstatError(
            f"{path}: cannot read the dataset's checkpoint: {_reason(error)}"
        ) from error
    if (
        not isinstance(document, dict)
        or document.get("logstat_checkpoint") != CHECKPOINT_VERSION
        or document.get("sequence") != sequence
        or not isinstance(document.get("sections"), dict)
    ):
        raise LogstatError(
            f"{path}: not a dataset checkpoint this logstat reads (format {CHECKPOINT_VERSION})"
        )
    return {**document["sections"], "parts": document.get("parts", [])}


def checkpoint_of(documents: list[dict[str, Any]], sequence: int) -> dict[str, Any]:
    """The checkpoint of the commits up to `sequence`, from what they say (oldest first)."""
    sections: dict[str, Any] = {}
    parts: list[Any] = []
    for document in documents:
        parts += document.get("parts", [])
        sections.update(
            (name, value) for name, value in document.items() if name not in _PER_COMMIT
        )
    return {
        "logstat_checkpoint": CHECKPOINT_VERSION,
        "sequence": sequence,
        "written_at": _now(),
        "sections": sections,
        "parts": parts,
    }


# what each commit says of itself alone; its other sections are the newest word
_PER_COMMIT = frozenset(
    {"logstat_commit", "run", "committed_at", "rows", "parts", "append", "ranges"}
)


def committed_parts(fs: Any, root: str) -> list[dict[str, Any]]:
    """Every part some commit lists ({"path": relative to ROOT, "rows", "bytes"})."""
    _, documents = committed_documents(fs, root)
    parts = []
    for document in documents:
        for part in document.get("parts", []):
            if not isinstance(part, dict) or not isinstance(part.get("path"), str):
                raise LogstatError(f"{root}: damaged dataset commit (parts)")
            parts.append(part)
    return parts


def is_store_dataset(fs: Any, root: str) -> bool:
    """Whether ROOT holds commits (only a committed run makes a dataset)."""
    return newest_checkpoint(fs, root)[1] is not None or bool(commit_paths(fs, root))


@dataclass
class StoreParts:
    """Part files written to their final keys (a whole object appears on close)."""

    fs: Any
    root: str

    def open(self, relative: str) -> IO[bytes]:
        handle: IO[bytes] = self.fs.open(f"{self.root}/{relative}", "wb")
        return handle

    def finish(self, handle: IO[bytes]) -> None:
        handle.close()  # the upload completes here

    def discard(self, handle: IO[bytes]) -> None:
        abort = getattr(handle, "discard", None)  # fsspec: abort a multipart upload
        with contextlib.suppress(Exception):
            if abort is not None:
                abort()
            else:
                handle.close()

    def remove(self, relatives: list[str]) -> None:
        with contextlib.suppress(Exception):
            if relatives:
                self.fs.rm([f"{self.root}/{relative}" for relative in relatives])

    def location(self, relative: str) -> str:
        return f"{self.root}/{relative}"


@dataclass
class StoreLedger:
    """A store dataset's commits for one writing run: open, write parts, commit, close."""

    fs: Any
    root: str  # bucket/prefix, no scheme, no trailing /
    url: str  # as the user wrote it, for messages
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    base: int = 0
    _documents: list[dict[str, Any]] | None = None
    _checkpoint: int = 0  # the sequence of the checkpoint _documents start with (0: none)
    _committed: int | None = None

    @classmethod
    def open(cls, fs: Any, root: str, url: str) -> StoreLedger:
        ledger = cls(fs, root.rstrip("/"), url)
        try:
            commits = commit_paths(fs, ledger.root, newest_checkpoint(fs, ledger.root)[0])
            ledger.base = commits[-1][0] if commits else 0
            ledger.remove_dead_runs(ledger.base)
            fs.pipe_file(ledger._run_path(), json.dumps({"started_at": _now()}).encode())
        except LogstatError:
            raise
        except Exception as error:
            raise LogstatError(f"{url}: cannot write the dataset: {_reason(error)}") from error
        return ledger

    def _run_path(self) -> str:
        return f"{self.root}/{RUNS}/{self.base:010d}-{self.run}.json"

    def part_prefix(self) -> str:
        """How this run's part names start: its base sequence and run."""
        return f"part-{self.base:010d}-{self.run}"

    def parts(self) -> StoreParts:
        return StoreParts(self.fs, self.root)

    def location(self, relative: str) -> str:
        """A part's URL."""
        return f"{self.url.rstrip('/')}/{relative}"

    def documents(self) -> list[dict[str, Any]]:
        """The commits up to this run's base (what it plans from), oldest first."""
        if self._documents is None:
            self._checkpoint, self._documents = committed_documents(self.fs, self.root, self.base)
        return self._documents

    def files(self) -> list[dict[str, Any]] | None:
        files = self.section("files")
        if files is not None and not isinstance(files, list):
            raise LogstatError(f"{self.url}: damaged dataset commit (files)")
        return files

    def section(self, name: str) -> Any:
        for document in reversed(self.documents()):
            if name in document:
                return document[name]
        return None

    def commit(self, record: dict[str, Any]) -> str:
        """Create this run's commit object, only if no run took its sequence meanwhile."""
        sequence = self.base + 1
        path = f"{self.root}/{COMMITS}/{sequence:010d}.json"
        document = {
            "logstat_commit": COMMIT_VERSION,
            "run": self.run,
            "committed_at": _now(),
            **record,
        }
        data = (json.dumps(document, indent=1) + "\n").encode()
        try:
            self.fs.pipe_file(path, data, mode="create")
        except FileExistsError:
            raise LogstatError(
                f"{self.url}: another logstat ingest committed to this dataset meanwhile; "
                "nothing was added (run again)"
            ) from None
        except Exception as error:
            raise LogstatError(f"{self.url}: cannot commit: {_reason(error)}") from error
        self._committed = sequence
        self._write_checkpoint(sequence, document)
        return path

    def _write_checkpoint(self, sequence: int, document: dict[str, Any]) -> None:
        """After CHECKPOINT_EVERY commits since the last checkpoint, a new one; failing
        to write it loses nothing (the commits stay), so it fails quietly."""
        with contextlib.suppress(Exception):
            documents = self.documents()  # read before writing parts, or now
            if sequence - self._checkpoint < CHECKPOINT_EVERY:
                return
            checkpoint = checkpoint_of([*documents, document], sequence)
            path = f"{self.root}/{CHECKPOINTS}/{sequence:010d}.json"
            self.fs.pipe_file(path, (json.dumps(checkpoint) + "\n").encode())

    def move_in(self) -> None:
        """Nothing to move: the parts are where they stay.  This run's own record goes,
        and so do the parts of runs that can no longer commit (one killed before its
        commit planned from the same base as this one)."""
        assert self._committed is not None
        with contextlib.suppress(Exception):
            self.fs.rm(self._run_path())
        with contextlib.suppress(LogstatError):
            self.remove_dead_runs(self._committed)

    def keep_only(self, listed: list[str]) -> None:
        """Remove this run's parts not among `listed` (the relative paths to commit)."""
        keep = set(listed)
        own = f"{self.part_prefix()}-"
        try:
            stored = self.fs.find(self.root)
        except FileNotFoundError:
            return
        extra = [
            path
            for path in stored
            if path.rsplit("/", 1)[-1].startswith(own) and path[len(self.root) + 1 :] not in keep
        ]
        if extra:
            try:
                self.fs.rm(extra)
            except Exception as error:
                raise LogstatError(
                    f"{self.url}: cannot write the dataset: {_reason(error)}"
                ) from error

    def abandon(self, written: list[str], complete: bool = True) -> None:
        """A run that failed before its commit (or had nothing to commit): the parts it
        knows of go now.  When they may not be all (`complete` False: cluster tasks wrote
        some), its record stays, so that a later run removes the rest once a commit makes
        this run dead."""
        if self._committed is not None:
            return
        self.parts().remove(written)
        if complete:
            with contextlib.suppress(Exception):
                self.fs.rm(self._run_path())

    def remove_dead_runs(self, newest: int) -> None:
        """Remove the parts and records of runs that began before sequence `newest` and
        did not commit: they never will (their sequence is taken)."""
        try:
            names = self.fs.ls(f"{self.root}/{RUNS}", detail=False)
        except FileNotFoundError:
            return
        dead: dict[str, str] = {}
        for name in names:
            matched = _RUN.fullmatch(name.rstrip("/").rsplit("/", 1)[-1])
            if matched and int(matched[1]) < newest:
                dead[f"part-{matched[1]}-{matched[2]}-"] = name
        if not dead:
            return
        committed = {part["path"] for part in committed_parts(self.fs, self.root)}
        try:
            stored = self.fs.find(self.root)
        except FileNotFoundError:
            stored = []
        orphans = [
            path
            for path in stored
            if path.rsplit("/", 1)[-1].startswith(tuple(dead))
            and path[len(self.root) + 1 :] not in committed
        ]
        try:
            if orphans:
                self.fs.rm(orphans)
            self.fs.rm(list(dead.values()))
        except Exception as error:
            raise LogstatError(f"{self.url}: cannot clean the dataset: {_reason(error)}") from error

    def close(self) -> None:
        pass
