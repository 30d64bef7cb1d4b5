"""The line under a table that names the `logstat lines` command behind its rows: the
summary's own command (cli/drilldown.py) plus the row's filters."""

from __future__ import annotations

import shlex

# What --path's regex dialect (Rust's regex crate, as polars runs it) gives a meaning
# to: regex_syntax::is_meta_character.  A backslash before any of them is a literal.
REGEX_CHARACTERS = frozenset("\\.+*?()|[]{}^$#&-~")


def lines_note(command: str | None, *words: str, behind: str = "a row") -> str | None:
    """The command that prints the lines behind a table's rows: the summary's own
    `logstat lines` plus the row's filters (upper-case words stand for a row's value)."""
    if command is None:
        return None
    return f"Lines behind {behind}: {command} {shlex.join(words)}"


def exact_path(path: str) -> str:
    """A --path regex that matches `path` and nothing else: --path is searched anywhere
    in the path, so anchored, and with every regex character escaped.  A character that
    is not printable is written as its code (\\x{1b}), so the note stays one clean line."""
    escaped = "".join(
        "\\" + character
        if character in REGEX_CHARACTERS
        else character
        if character.isprintable()
        else f"\\x{{{ord(character):x}}}"
        for character in path
    )
    return f"^{escaped}$"


def path_rows_note(command: str | None, source: str | None, path: str, *filters: str) -> str | None:
    """The note under a table with a row per path (and per source when `source` is
    given): the command for its first row, since a path must be escaped to be matched
    alone, which a placeholder cannot show.  `filters` are the table's own (its status
    group)."""
    source_words = ["--source", source] if source is not None else []
    return lines_note(
        command,
        *source_words,
        *filters,
        "--path",
        exact_path(path),
        behind="the first row (for another row, its path between ^ and $ with \\ before each"
        " of \\.+*?()|[]{}^$#&-~)",
    )
