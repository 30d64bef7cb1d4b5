"""HAProxy's termination state (`CD--`, `SC--`, `sH--`): how and when a session ended.

Its first character says what ended the session (the client, the server, HAProxy, a
timeout), its second in which phase (request, queue, connect, headers, data); HTTP
logs add two about the persistence cookie.  The manual explains the common
pairs of the first two (haproxy_termination_states.csv); any other pair is read
from its two characters (haproxy_termination_flags.csv), and so is the cookie part.
https://docs.haproxy.org/2.6/configuration.html#8.5
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources

_STATE = re.compile(r"[A-Za-z-]{2}(?:[A-Za-z-]{2})?")
NORMAL = "--"


@dataclass(frozen=True)
class Flags:
    """The tables: documented pairs, and each character's meaning by its position."""

    states: dict[str, tuple[str, str]]  # pair -> (meaning, source_url)
    flags: dict[tuple[int, str], tuple[str, str]]  # (position 1-4, flag) -> (meaning, url)


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@functools.cache
def tables() -> Flags:
    states = {
        row["state"]: (row["meaning"], row["source_url"])
        for row in _rows("haproxy_termination_states.csv")
    }
    flags = {
        (int(row["position"]), row["flag"]): (row["meaning"], row["source_url"])
        for row in _rows("haproxy_termination_flags.csv")
    }
    return Flags(states, flags)


def explain(value: str) -> tuple[str, str] | None:
    """(meaning, source_url) of a termination state; None when it is not one."""
    if not _STATE.fullmatch(value):
        return None
    found = tables()
    parts = [found.flags.get((position, flag)) for position, flag in enumerate(value, start=1)]
    if any(part is None for part in parts):
        return None
    session = found.states.get(value[:2])
    if session is None:
        ended, phase = parts[0], parts[1]
        assert ended is not None and phase is not None
        session = (f"{ended[0][0].upper()}{ended[0][1:]}, {phase[0]}.", ended[1])
    meaning, source_url = session
    if len(value) == 4 and value[2:] != NORMAL:
        cookie = "; ".join(part[0] for part in parts[2:] if part is not None)
        meaning = f"{meaning} {cookie[0].upper()}{cookie[1:]}."
    return meaning, source_url
