"""Tables and lines that fit a terminal's width, without cutting a word.

A table wider than the terminal is narrowed in steps, each tried only when the one
before cannot fit: wrap the columns of prose (meanings) and of log values (paths,
user agents) at spaces; fold a name column into the meaning beside it
("Not Found: Nothing exists ..."); leave out the least useful columns one by one,
each table naming its own, with a note under the table saying which.  A word of
prose is never cut; a log value longer than its column (a path with no space) is
broken after a `/`, `?`, `&` ... where it can be, as nothing else could show it.

The plain and the rich view share this layout and differ only in what they draw
between columns (`Frame`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

PROSE = "prose"  # our own words: wrapped at spaces, a word is never cut
DATA = "data"  # from the log: wrapped at spaces, a longer value is broken
READABLE = 24  # a wrapped column is not made narrower than this while a column can go
SMALLEST = 8  # ... nor, when nothing else helps, narrower than this
_BREAK_AFTER = "/?&=;,:.-_"  # where a long log value is best broken


@dataclass(frozen=True)
class Frame:
    """What a view draws around cells: `between` two columns, `outside` the table."""

    between: int
    outside: int

    def width(self, widths: Sequence[int]) -> int:
        return sum(widths) + self.between * max(len(widths) - 1, 0) + self.outside


PLAIN = Frame(between=2, outside=0)  # two spaces between columns
BOXED = Frame(between=3, outside=4)  # rich's "│ cell │ cell │"


@dataclass(frozen=True)
class Layout:
    """How to narrow one table: the kind of each wrappable column (by header), the
    columns that may be left out (least useful first), and a (name, meaning) pair
    of columns that may be shown as one."""

    wrap: dict[str, str] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    merge: tuple[str, str] | None = None


@dataclass
class Fitted:
    headers: list[list[str]]  # each header as its lines
    rows: list[list[list[str]]]  # each cell as its lines
    widths: list[int]
    right_aligned: frozenset[int]
    left_out: list[str]  # headers of the columns not shown


@dataclass
class _Column:
    header: str
    cells: list[str]
    right: bool
    kind: str | None  # PROSE, DATA or None (never wrapped)

    @property
    def natural(self) -> int:
        return max(len(text) for text in [self.header, *self.cells])

    def floor(self, readable: int, break_words: bool) -> int:
        """The narrowest this column may be made: never below its longest header word,
        nor, unless words may be broken, below its longest word."""
        if self.kind is None:
            return self.natural
        texts = [self.header] if self.kind == DATA or break_words else [self.header, *self.cells]
        longest_word = max(len(word) for text in texts for word in text.split(" "))
        return min(self.natural, max(longest_word, readable))


def fit_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right_aligned: frozenset[int],
    layout: Layout,
    width: int | None,
    frame: Frame,
) -> Fitted:
    """The table's columns, widths and wrapped cells within `width` (None: no limit)."""
    columns = [
        _Column(
            header, [row[index] for row in rows], index in right_aligned, layout.wrap.get(header)
        )
        for index, header in enumerate(headers)
    ]
    natural = [column.natural for column in columns]
    if width is None or frame.width(natural) <= width:
        return _wrapped(columns, natural, [])
    attempts = list(_narrower(columns, layout))
    for candidate, left_out in attempts:
        widths = _widths(candidate, width, frame, READABLE, False)
        if widths is not None:
            return _wrapped(candidate, widths, left_out)
    # a very narrow terminal: every column that may go is gone, and prose is made
    # narrower than is comfortable, down to its longest word, then breaking words
    candidate, left_out = attempts[-1]
    for break_words in (False, True):
        widths = _widths(candidate, width, frame, SMALLEST, break_words)
        if widths is not None:
            return _wrapped(candidate, widths, left_out, break_words)
    # wider than the terminal whatever is done: the narrowest there is
    narrowest = [column.floor(SMALLEST, True) for column in candidate]
    return _wrapped(candidate, narrowest, left_out, True)


def _narrower(columns: list[_Column], layout: Layout) -> Iterator[tuple[list[_Column], list[str]]]:
    """The table, then narrower versions of it: each step leaves out one more column,
    and with its name column shown as part of the meaning where that helps."""
    present = {column.header for column in columns}
    droppable = [header for header in layout.drop if header in present]
    for count in range(len(droppable) + 1):
        left_out = droppable[:count]
        kept = [column for column in columns if column.header not in left_out]
        yield kept, left_out
        merged = _merged(kept, layout.merge)
        if merged is not None:
            yield merged, left_out


def _merged(columns: list[_Column], pair: tuple[str, str] | None) -> list[_Column] | None:
    """`name` and `meaning` as one column, "name: meaning" (None: not both there)."""
    headers = [column.header for column in columns]
    if pair is None or pair[0] not in headers or pair[1] not in headers:
        return None
    name = columns[headers.index(pair[0])]
    meaning = columns[headers.index(pair[1])]
    cells = [_joined(named, meant) for named, meant in zip(name.cells, meaning.cells, strict=True)]
    both = _Column(f"{pair[0]}: {pair[1]}", cells, False, PROSE)
    return [both if column is meaning else column for column in columns if column is not name]


def _joined(name: str, meaning: str) -> str:
    if name in ("", "-"):
        return meaning
    if meaning in ("", "-"):
        return name
    return f"{name}: {meaning}"


def _widths(
    columns: list[_Column], width: int, frame: Frame, readable: int, break_words: bool
) -> list[int] | None:
    """Each column's width: fixed ones as they are, wrapped ones between their floor
    and their natural width, sharing what is left; None when even the floors do not fit."""
    widths = [column.floor(readable, break_words) for column in columns]
    spare = width - frame.width(widths)
    if spare < 0:
        return None
    # give the spare width, one column at a time, to the wrapped column furthest from
    # its natural width (so that a long meaning gets most of it)
    while spare > 0:
        short = [
            (column.natural - widths[index], index)
            for index, column in enumerate(columns)
            if widths[index] < column.natural
        ]
        if not short:
            break
        _, index = max(short)
        widths[index] += 1
        spare -= 1
    return widths


def _wrapped(
    columns: list[_Column], widths: list[int], left_out: list[str], break_words: bool = False
) -> Fitted:
    rows = []
    for index in range(len(columns[0].cells) if columns else 0):
        rows.append(
            [
                wrap(column.cells[index], widths[number], column.kind == DATA or break_words)
                if column.kind
                else [column.cells[index]]
                for number, column in enumerate(columns)
            ]
        )
    headers = [
        wrap(column.header, widths[number], False) if column.kind else [column.header]
        for number, column in enumerate(columns)
    ]
    right = frozenset(number for number, column in enumerate(columns) if column.right)
    return Fitted(headers, rows, widths, right, left_out)


def wrap(text: str, width: int, break_long: bool = True) -> list[str]:
    """`text` in lines of at most `width`, broken at spaces; a longer word is broken
    (after one of _BREAK_AFTER where it can be) when `break_long`, else left whole."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) <= width:
            line += " " + word
            continue
        if line:
            lines.append(line)
        while break_long and len(word) > width:
            cut = _cut(word, width)
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    lines.append(line)
    return lines


def _cut(word: str, width: int) -> int:
    """Where to break a word longer than `width`: after the last _BREAK_AFTER
    character in its first `width` characters, if that keeps half the line."""
    best = max(word.rfind(character, 0, width) for character in _BREAK_AFTER) + 1
    return best if best > width // 2 else width


def wrap_line(line: str, width: int | None) -> list[str]:
    """A line of the report in lines of at most `width`; the lines after the first are
    indented two more than it, so a wrapped file entry still reads as one."""
    if width is None or len(line) <= width:
        return [line]
    indent = " " * (len(line) - len(line.lstrip(" ")))
    more = indent + "  "
    # the first line has the shorter indent: rewrap it wider when that fits more
    first = wrap(line[len(indent) :], width - len(indent))[0]
    rest = line[len(indent) + len(first) :].lstrip(" ")
    lines = [first, *(wrap(rest, width - len(more)) if rest else [])]
    return [indent + lines[0], *(more + part for part in lines[1:])]
