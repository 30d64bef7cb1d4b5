"""A `summary --json` document read back as a Summary (what `logstat diff` compares).

The document is told apart from a log by its content, not its name: it is one JSON
object whose first key is "schema_version" (Summary.to_json writes it first).  A JSON
lines access log starts with a request's object instead.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from logstat.errors import LogstatError
from logstat.report.model import JSON_SCHEMA_VERSION, Summary

_OPENING = re.compile(rb'\A\s*\{\s*"schema_version"\s*:')
_PEEK = 4096  # bytes read to tell a summary from a log


def is_summary_file(path: str) -> bool:
    """Whether `path` is a regular file holding a `summary --json` document."""
    file = Path(path)
    try:
        if not file.is_file():
            return False
        with file.open("rb") as handle:
            return bool(_OPENING.match(handle.read(_PEEK)))
    except OSError:
        return False


def read_summary(path: str) -> Summary:
    """The Summary a `summary --json` file holds; a one-line LogstatError if it does not."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LogstatError(f"{path}: not a summary JSON document: {error}") from error
    return summary_from_json(data, path)


def summary_from_json(data: Any, name: str = "summary") -> Summary:
    """`Summary.to_json()`'s document as a Summary again."""
    if not isinstance(data, dict) or data.get("schema_version") != JSON_SCHEMA_VERSION:
        version = data.get("schema_version") if isinstance(data, dict) else None
        raise LogstatError(
            f"{name}: not a logstat summary of schema_version {JSON_SCHEMA_VERSION} "
            f"(schema_version {version!r})"
        )
    try:
        return typing.cast(Summary, _build(Summary, data))
    except (KeyError, TypeError, ValueError) as error:
        raise LogstatError(f"{name}: not a logstat summary: {_reason(error)}") from error


def _reason(error: Exception) -> str:
    return f"missing {error}" if isinstance(error, KeyError) else str(error)


def _build(kind: Any, value: Any) -> Any:
    """`value` (plain JSON) as the type `kind` names: dataclasses, lists, dicts, times."""
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        chosen = [item for item in typing.get_args(kind) if item is not type(None)]
        return _build(chosen[0], value)
    if origin is list:
        return [_build(typing.get_args(kind)[0], item) for item in _checked(value, list)]
    if origin is dict:
        item_kind = typing.get_args(kind)[1]
        return {str(key): _build(item_kind, item) for key, item in _checked(value, dict).items()}
    if kind is datetime:
        return datetime.fromisoformat(_checked(value, str).replace("Z", "+00:00"))
    if isinstance(kind, type) and is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        given = _checked(value, dict)
        return kind(
            **{
                item.name: _build(hints[item.name], given[item.name])
                for item in fields(kind)
                if item.name in given or not _has_default(item)
            }
        )
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind in (int, str, bool) and type(value) is kind:
        return value
    if kind is Any:
        return value
    raise TypeError(f"expected {getattr(kind, '__name__', kind)}, found {value!r:.40}")


def _checked(value: Any, kind: type) -> Any:
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}, found {value!r:.40}")
    return value


def _has_default(item: Any) -> bool:
    from dataclasses import MISSING

    return item.default is not MISSING or item.default_factory is not MISSING
