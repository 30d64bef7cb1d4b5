"""Whether a regex reads its text one pass: the next byte always decides the way on.

The Rust regex engine polars uses captures with its one-pass engine only when, from
every point of the pattern, no two ways on accept the same next byte; otherwise the
capture falls back to a general engine, several times slower (an ALB line: 7.1 µs
against 2.6).  Nothing says which engine ran, so this builds the pattern's automaton
(Thompson's construction over bytes, from Python's parse of the same syntax) and
looks for two ways on that accept a common byte.  It covers what the AWS layouts are
written with: literals, ASCII classes, alternation, groups, greedy repeats, ^ and $.
Python's parser moves a prefix that every alternative shares out of them (`ab|ac` is
read as `a(?:b|c)`), so that one kind of ambiguity is not seen here.
"""

from __future__ import annotations

import re._constants as constants  # type: ignore[import-not-found]
import re._parser as parser  # type: ignore[import-not-found]
from dataclasses import dataclass, field

EVERY_BYTE = frozenset(range(256))
END = 256  # `$`: the end of the text, as if it were one more byte


@dataclass(eq=False)
class State:
    accepts: frozenset[int] = frozenset()  # bytes (or END) that lead to `next`
    next: State | None = None
    # states reached without reading a byte (a choice, a group, ^)
    free: list[State] = field(default_factory=list)


def _class(items: list[tuple[object, object]]) -> frozenset[int]:
    accepted: set[int] = set()
    negate = False
    for kind, value in items:
        if kind is constants.NEGATE:
            negate = True
        elif kind is constants.LITERAL:
            accepted.add(int(value))  # type: ignore[call-overload]
        elif kind is constants.RANGE:
            low, high = value  # type: ignore[misc]
            accepted.update(range(low, high + 1))
        elif kind is constants.CATEGORY and value is constants.CATEGORY_DIGIT:
            accepted.update(range(48, 58))
        else:
            raise NotImplementedError(f"class item {kind} {value}")
    return EVERY_BYTE - accepted if negate else frozenset(accepted)


def _build(items: list[tuple[object, object]], exit: State) -> State:
    """The states for `items`, in order, leading to `exit`; returns the entry."""
    entry = exit
    for kind, value in reversed(items):
        entry = _item(kind, value, entry)
    return entry


def _item(kind: object, value: object, exit: State) -> State:
    if kind is constants.LITERAL:
        return State(frozenset({int(value)}), exit)  # type: ignore[call-overload]
    if kind is constants.NOT_LITERAL:
        return State(EVERY_BYTE - {int(value)}, exit)  # type: ignore[call-overload]
    if kind is constants.ANY:
        return State(EVERY_BYTE - {10}, exit)
    if kind is constants.IN:
        return State(_class(value), exit)  # type: ignore[arg-type]
    if kind is constants.AT:
        if value is constants.AT_END:
            return State(frozenset({END}), exit)
        if value is constants.AT_BEGINNING:
            return State(free=[exit])
    if kind is constants.SUBPATTERN:
        return _build(list(value[-1]), exit)  # type: ignore[index]
    if kind is constants.BRANCH:
        _, alternatives = value  # type: ignore[misc]
        return State(free=[_build(list(items), exit) for items in alternatives])
    if kind is constants.MAX_REPEAT:
        least, most, items = value  # type: ignore[misc]
        items = list(items)
        entry = exit
        if most is constants.MAXREPEAT:
            loop = State()
            loop.free = [_build(items, loop), exit]
            entry = loop
        else:
            for _ in range(most - least):  # x{0,3}: (x(x(x)?)?)?
                entry = State(free=[_build(items, entry), exit])
        for _ in range(least):
            entry = _build(items, entry)
        return entry
    raise NotImplementedError(f"pattern item {kind} {value}")


def _reading(state: State) -> list[State]:
    """The states that read a byte (or END) first, from `state` without reading any."""
    found, seen, pending = [], set(), [state]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.accepts:
            found.append(current)
        pending.extend(current.free)
    return found


def ambiguities(pattern: str) -> list[str]:
    """Where two ways on accept the same byte: empty when the pattern is one-pass."""
    start = _build(list(parser.parse(pattern)), State())
    found: list[str] = []
    seen: set[int] = set()
    pending = [start]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        ways = _reading(current)
        for index, one in enumerate(ways):
            for other in ways[index + 1 :]:
                common = one.accepts & other.accepts
                if common and one.next is not other.next:
                    shown = [chr(byte) if byte < END else "$" for byte in sorted(common)[:5]]
                    found.append(f"two ways on accept {shown}")
        pending.extend(way.next for way in ways if way.next is not None)
    return found
