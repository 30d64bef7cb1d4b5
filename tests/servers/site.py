"""The static files both servers serve, and the log files a test reads back."""

from __future__ import annotations

import email.utils
import os
from dataclasses import dataclass
from pathlib import Path

INDEX = "index.html"
# a fixed modification time, so If-Modified-Since can name it exactly (nginx wants equality)
MODIFIED = 1_700_000_000
INDEX_BODY = b"<!doctype html><title>logstat</title><p>" + b"static page " * 20 + b"</p>\n"


def make_docroot(docroot: Path) -> None:
    docroot.mkdir(parents=True, exist_ok=True)
    index = docroot / INDEX
    index.write_bytes(INDEX_BODY)
    os.utime(index, (MODIFIED, MODIFIED))


def last_modified() -> str:
    """The index page's Last-Modified as an HTTP date."""
    return email.utils.formatdate(MODIFIED, usegmt=True)


@dataclass(frozen=True)
class AccessLog:
    """One access log a server writes, and how logstat must recognise it.

    `nickname` names the format in the server config; `template` is its format
    string (None: one the server defines itself, like nginx `combined`).
    `logstat_args` are the options logstat gets for this file (`--log-format`
    with the same string, for custom formats); `layout` is what logstat's
    detection must report.
    """

    file_name: str
    nickname: str
    template: str | None
    layout: str
    logstat_args: tuple[str, ...] = ()

    def lines(self, directory: Path) -> int:
        path = directory / self.file_name
        return path.read_bytes().count(b"\n") if path.exists() else 0
