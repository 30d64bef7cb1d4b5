"""The status classes, written once: 1xx..5xx for the codes 100-599, `other` for any
other number logged (000, 9999 ...), `none` when no status was logged at all.

Plain Python (no polars): `logstat codes` and option parsing use it before any log is
read; schema.status_class_expression is the same rule over a column.
"""

from __future__ import annotations

# class name -> the codes in it
CLASSES: dict[str, range] = {
    f"{first}xx": range(first * 100, (first + 1) * 100) for first in range(1, 6)
}
LOWEST = min(codes.start for codes in CLASSES.values())  # 100
HIGHEST = max(codes.stop for codes in CLASSES.values()) - 1  # 599
OTHER = "other"  # a number outside LOWEST..HIGHEST
NONE = "none"  # no status logged
ORDER = (*CLASSES, OTHER, NONE)  # how the views list them


def status_class(code: int | None) -> str:
    """Return "1xx".."5xx" for 100-599, "none" for None and "other" for anything else."""
    if code is None:
        return NONE
    if LOWEST <= code <= HIGHEST:
        return f"{code // 100}xx"
    return OTHER


def class_named(text: str) -> str | None:
    """The class `text` names ("5XX" -> "5xx", "other", "none"), or None."""
    name = text.strip().lower()
    return name if name in ORDER else None
