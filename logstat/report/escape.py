"""Text from a log made safe for a terminal or a report: control characters as escapes.

Apart from the views so that an error line (cli/messages.py) needs no rich."""

from __future__ import annotations

import re

# C0/C1 controls, tab and newline too (a log field must not start a line of the report),
# and the Unicode line separators and bidi overrides that would reorder what follows
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def safe(value: object) -> str:
    """Text from a log, with control characters shown as escapes."""
    return _CONTROL.sub(_escape, str(value))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
