"""`--json` as text: exactly `json.dumps(value, indent=2)`, written faster.

The standard library indents with its pure-Python encoder, value by value:
about 2 s for the 100,000 entries of `files` when a directory of that many logs
is read.  Here consecutive objects with the same keys (the `files` entries,
table rows) are written together, column by column: a column of strings or
integers in one C-level pass (strings by json's own C escaper), other columns
value by value, and each object from a %-template of its keys.  The tests
compare the result with `json.dumps(value, indent=2)` on arbitrary JSON values.
"""

from __future__ import annotations

import json
from itertools import groupby
from json.encoder import encode_basestring_ascii
from typing import Any

OMIT_NONE = "omit_none"  # field metadata: left out of the JSON when None (a field that is rare)
INDENT = "  "
SCALARS = frozenset({str, int, float, bool, type(None)})


def dumps_indented(value: Any) -> str:
    """`json.dumps(value, indent=2)`, as text."""
    return _value(value, 0)


def _value(value: Any, level: int) -> str:
    """One value as the indented encoder writes it `level` deep."""
    kind = type(value)
    if kind is list:
        return _list(value, level) if value else "[]"
    if kind is dict and all(type(key) is str for key in value):
        return _objects(tuple(value), [value], level)[0]
    # scalars, tuples, and objects with keys that are not strings (json turns them
    # into strings): the standard encoder, indented to this level
    return json.dumps(value, indent=2).replace("\n", "\n" + INDENT * level)


def _list(items: list[Any], level: int) -> str:
    pad = "\n" + INDENT * (level + 1)
    if set(map(type, items)) <= SCALARS:
        return "[" + pad + ("," + pad).join(_column(items, level + 1)) + "\n" + INDENT * level + "]"
    texts: list[str] = []
    # runs of objects with the same keys are written together
    for keys, run in groupby(items, key=_keys):
        if keys is None or not all(type(key) is str for key in keys):
            texts.extend(_value(item, level + 1) for item in run)
        else:
            texts.extend(_objects(keys, list(run), level + 1))
    return "[" + pad + ("," + pad).join(texts) + "\n" + INDENT * level + "]"


def _keys(item: Any) -> tuple[Any, ...] | None:
    return tuple(item) if type(item) is dict else None


def _objects(keys: tuple[str, ...], rows: list[dict[str, Any]], level: int) -> list[str]:
    """Objects with these keys, in this order, each written `level` deep."""
    if not keys:
        return ["{}"] * len(rows)
    pad = "\n" + INDENT * (level + 1)
    template = (
        "{"
        + pad
        + ("," + pad).join(encode_basestring_ascii(key).replace("%", "%%") + ": %s" for key in keys)
        + "\n"
        + INDENT * level
        + "}"
    )
    columns = [_column([row[key] for row in rows], level + 1) for key in keys]
    return [template % values for values in zip(*columns, strict=True)]


def _column(values: list[Any], level: int) -> list[str]:
    """The values of one key of several objects, as JSON text."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return list(map(encode_basestring_ascii, values))
    if kinds == {int}:  # exactly int: bools are written true/false
        return list(map(int.__repr__, values))
    if kinds == {str, type(None)}:
        return ["null" if value is None else encode_basestring_ascii(value) for value in values]
    if kinds == {int, type(None)}:
        return ["null" if value is None else int.__repr__(value) for value in values]
    if kinds == {type(None)}:
        return ["null"] * len(values)
    if kinds <= SCALARS:  # floats, bools, mixed
        return [json.dumps(value) for value in values]
    return [_value(value, level) for value in values]
