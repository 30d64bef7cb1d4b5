"""--state over object storage: which objects were read.

Objects never change once written (a log shipper writes a new key for each batch),
so nothing is read twice if the state remembers the keys read, by folder: the folder
once, then its keys.  No watermark stands in for the keys: ALB nodes deliver the same
5-minute interval at different times, and load balancers sharing a folder interleave
in key order, so "every key up to K was read" does not follow from reading K.

A run with --since lists no date folder that ends before it (see objects.py), and
forgets the keys of such folders: a cron job run with `--since 2d` keeps two days of
keys, however long it runs.  An object rewritten under a key that was read is not
read again.

The section is kept in the state file beside the local files' entries, and in an
ingest dataset's commits, so a dataset without --state adds each object once too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from logstat.errors import LogstatError
from logstat.reading.objects import folder_end

SECTION = "objects"  # the state file's and the dataset commit's key
VERSION = 1


def _split(url: str) -> tuple[str, str]:
    folder, _, key = url.rpartition("/")
    return folder, key


@dataclass
class ObjectLedger:
    folders: dict[str, set[str]] = field(default_factory=dict)  # folder URL -> keys read

    @classmethod
    def load(cls, document: Any) -> ObjectLedger:
        """From a state or commit section (None: nothing read yet); damaged: one-line error."""
        if document is None:
            return cls()
        try:
            if document["version"] != VERSION:
                raise ValueError(f"version {document['version']!r}")
            folders = {
                str(name): {str(key) for key in keys} for name, keys in document["folders"].items()
            }
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise LogstatError(f"damaged {SECTION!r} section in the state: {error}") from error
        return cls(folders)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "folders": {name: sorted(keys) for name, keys in sorted(self.folders.items())},
        }

    def read(self, url: str) -> bool:
        name, key = _split(url)
        return key in self.folders.get(name, ())

    def after(self, read: Iterable[str], since: datetime | None = None) -> ObjectLedger:
        """The ledger once `read` (URLs read in full this run) are remembered, without
        the date folders that end before `since` (they are no longer listed)."""
        folders = {name: set(keys) for name, keys in self.folders.items()}
        for url in read:
            name, key = _split(url)
            folders.setdefault(name, set()).add(key)
        if since is not None:
            for name in list(folders):
                end = folder_end(name)
                if end is not None and end <= since:
                    del folders[name]
        return ObjectLedger(folders)
