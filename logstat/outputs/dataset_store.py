"""A dataset in object storage (`ingest --to s3://bucket/dataset/`): commit objects, no renames.

    ROOT/date=.../source=.../part-<base>-<run>-<n>.parquet   parts, under their final names
    ROOT/_logstat/commits/<sequence>.json                     one per run: the commit point
    ROOT/_logstat/runs/<base>-<run>.json                      a run writing (gone when it ends)

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

This module imports nothing of logstat's but its errors: the caller hands in an
fsspec filesystem (reading/objects.py makes them) and paths without the scheme.
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

COMMIT_VERSION = 1  # as dataset_commits.COMMIT_VERSION: one record format on disk and in stores
COMMITS = "_logstat/commits"
RUNS = "_logstat/runs"
_COMMIT = re.compile(r"([0-9]{10})\.json")
_RUN = re.compile(r"([0-9]{10})-([0-9a-f]{12})\.json")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _reason(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text


def commit_paths(fs: Any, root: str) -> list[tuple[int, str]]:
    """The commit objects, oldest first, with their sequence numbers."""
    try:
        names = fs.ls(f"{root}/{COMMITS}", detail=False)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        matched = _COMMIT.fullmatch(name.rstrip("/").rsplit("/", 1)[-1])
        if matched:
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


def committed_parts(fs: Any, root: str) -> list[dict[str, Any]]:
    """Every part some commit lists ({"path": relative to ROOT, "rows", "bytes"})."""
    documents = read_commits(fs, [path for _, path in commit_paths(fs, root)])
    parts = []
    for document in documents:
        for part in document.get("parts", []):
            if not isinstance(part, dict) or not isinstance(part.get("path"), str):
                raise LogstatError(f"{root}: damaged dataset commit (parts)")
            parts.append(part)
    return parts


def is_store_dataset(fs: Any, root: str) -> bool:
    """Whether ROOT holds commits (only a committed run makes a dataset)."""
    try:
        return bool(fs.ls(f"{root}/{COMMITS}", detail=False))
    except FileNotFoundError:
        return False


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
    _committed: int | None = None

    @classmethod
    def open(cls, fs: Any, root: str, url: str) -> StoreLedger:
        ledger = cls(fs, root.rstrip("/"), url)
        try:
            commits = commit_paths(fs, ledger.root)
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
            paths = [
                path for sequence, path in commit_paths(self.fs, self.root) if sequence <= self.base
            ]
            self._documents = read_commits(self.fs, paths)
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
        return path

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
