"""`logstat codes`: what a status code, an IIS status.substatus, a whole class, or a
value logged beside the status (HAProxy `CD--`, ALB error_reason) means.

Without a log source, every vendor's row is listed.  With one (`--source alb`), each
code is read the way a summary of that source reads it: once as the source's own status
(produced by the proxy, edge or load balancer) and once as a status passed on from the
server behind it, since the two readings differ (ALB's own 502 against a target's 502).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from logstat.errors import ExitCode, LogstatError
from logstat.status import details
from logstat.status.classes import CLASSES, class_named
from logstat.status.details import DetailReading
from logstat.status.producers import LAYER_NAMES, PASSES_ON, producer_label
from logstat.status.registry import (
    PROXY,
    UNKNOWN,
    UPSTREAM,
    Meaning,
    Registry,
    class_fallback,
    producer_chain,
)

_CODE = re.compile(r"(-?\d{1,4})(?:\.(\d{1,4}))?")


@dataclass(frozen=True)
class CodeTerm:
    """One thing asked about: a code (with an IIS sub-status) or a class."""

    text: str  # as given, normalised: "502", "500.19", "5xx"
    code: int | None = None
    substatus: int | None = None
    status_class: str | None = None  # "5xx"

    def codes(self, registry: Registry, vendors: Collection[str] | None) -> list[int]:
        """The codes this term covers: itself, or every code of the class that `vendors`
        (None: any vendor) register."""
        if self.code is not None:
            return [self.code]
        assert self.status_class is not None
        codes = CLASSES[self.status_class]
        return sorted(
            {
                row.code
                for row in registry.meanings()
                if row.code in codes and (vendors is None or row.vendor in vendors)
            }
        )


def parse_term(text: str) -> CodeTerm:
    """`502`, `000`, `-1`, `500.19` (IIS status.substatus) or a class `5xx`."""
    value = text.strip()
    found = _CODE.fullmatch(value)
    if found:
        substatus = int(found.group(2)) if found.group(2) is not None else None
        return CodeTerm(value, code=int(found.group(1)), substatus=substatus)
    name = class_named(value)
    # a class of codes: other and none have no codes to list
    if name is not None and name in CLASSES:
        return CodeTerm(name, status_class=name)
    raise LogstatError(
        f"codes: {text!r} is not a status code: give a code (502, 000), an IIS "
        "status.substatus (500.19), a class (1xx..5xx), or a value logged beside the "
        "status (HAProxy termination state CD--, ALB error_reason)",
        ExitCode.USAGE,
    )


@dataclass(frozen=True)
class Reading:
    """One meaning of one code: whose table, and (with a source) who produced the status."""

    term: str
    meaning: Meaning
    produced_by: str | None  # None: listed without a source
    by: str | None  # the producer in the source's words: "ALB", "target", "origin" ...


def _every_vendor(term: CodeTerm, registry: Registry) -> list[Reading]:
    """Every vendor's rows for the term (plain codes only, for a class)."""
    if term.status_class is not None:
        rows = [
            row
            for code in term.codes(registry, None)
            for row in registry.by_code(code)
            if row.substatus is None
        ]
        return [Reading(term.text, row, None, None) for row in rows]
    assert term.code is not None
    rows = registry.by_code(term.code)
    if term.substatus is not None:
        exact = [row for row in rows if row.substatus == term.substatus]
        # an unknown sub-status reads as its plain code, as in a summary
        rows = exact or [row for row in rows if row.substatus is None]
    return [Reading(term.text, row, None, None) for row in rows or [class_fallback(term.code)]]


def source_producers(source: str) -> tuple[str, ...]:
    """The producers a source's log can tell apart, for the readings shown."""
    return (PROXY, UPSTREAM) if source in PASSES_ON else (UNKNOWN,)


def _by_source(
    term: CodeTerm,
    registry: Registry,
    source: str,
    own: Sequence[str],
    user_vendors: Sequence[str],
) -> list[Reading]:
    chain = (*user_vendors, *own)
    readings = []
    for code in term.codes(registry, {*chain, "iana"}):
        text = term.text if term.code is not None else status_text(code)
        found = [
            (producer, registry.lookup(code, term.substatus, producer_chain(chain, own, producer)))
            for producer in source_producers(source)
        ]
        if term.status_class is not None and len({meaning for _, meaning in found}) == 1:
            # a class lists each code once where who produced it changes nothing
            readings.append(Reading(text, found[0][1], None, None))
            continue
        for producer, meaning in found:
            label = producer_label(source, producer) if producer != UNKNOWN else None
            readings.append(Reading(text, meaning, producer, label))
    return readings


def status_text(code: int) -> str:
    """000 for the pseudo-codes below 100, as logs print them."""
    return f"{code:03d}" if 0 <= code < 100 else str(code)


def explain(
    terms: Sequence[str],
    registry: Registry,
    source: tuple[str, Sequence[str]] | None = None,
    user_vendors: Sequence[str] = (),
) -> list[Reading | DetailReading]:
    """Readings for every term, in order.  `source` is (format name, its vendor tables).

    A term that some layer's table knows (`CD--`, `LambdaInvalidResponse`) is read
    from those tables (the source's own, with `source`); any other must be a code."""
    found: list[Reading | DetailReading] = []
    for text in terms:
        detail = details.readings(text.strip(), None if source is None else tuple(source[1]))
        if detail:
            found.extend(detail)
            continue
        elsewhere = details.readings(text.strip()) if source is not None else []
        if elsewhere:
            assert source is not None
            raise LogstatError(
                f"codes: {text.strip()!r} is a value of {elsewhere[0].label}, "
                f"which {source[0]} logs do not have",
                ExitCode.USAGE,
            )
        term = parse_term(text)
        if source is None:
            found.extend(_every_vendor(term, registry))
        else:
            name, own = source
            found.extend(_by_source(term, registry, name, own, user_vendors))
    return found


def describe_by(reading: Reading, source: str | None) -> str:
    """The `by` column: "ALB (own status)", "target (passed on by ALB)", or "-" (either)."""
    if reading.by is None or source is None:
        return "-"
    names = LAYER_NAMES.get(source)
    if reading.produced_by == UPSTREAM and names:
        return f"{reading.by} (passed on by {names[0]})"
    return f"{reading.by} (own status)"
