"""Vendor-aware meanings of HTTP status codes, read from the CSV tables beside this module.

The same number means different things by source (nginx 499 is a client disconnect,
Esri 499 is "token required"), so every lookup names the vendors whose tables to try,
most specific first; IANA is always tried last, and a code nobody registered falls
back to a meaning derived from its class.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from logstat.status.classes import CLASSES, HIGHEST, LOWEST, status_class

if TYPE_CHECKING:
    import polars as pl  # loaded by tagging only: `logstat codes` starts without it


IANA = "iana"
CLASS_VENDOR = "class"
UNREGISTERED = "Unregistered"

# Who produced a status (the `produced_by` column): the proxy, edge or load balancer that
# wrote the log; the server behind it, whose answer was passed through; or nobody can tell.
PROXY, UPSTREAM, UNKNOWN = "proxy", "upstream", "unknown"
PRODUCERS = (PROXY, UPSTREAM, UNKNOWN)

# How the class fallback describes each class; also used by the vectorised `tag`.
# the end of the fallback sentence for a code in no class
OUTSIDE = f"the {LOWEST}-{HIGHEST} status range."
CLASS_PHRASES: dict[str, str] = {
    "1xx": "an informational reply",
    "2xx": "a success",
    "3xx": "a redirection",
    "4xx": "a client error",
    "5xx": "a server error",
}


@dataclass(frozen=True)
class Meaning:
    """What one status code (and IIS sub-status) means in one vendor's table."""

    code: int
    substatus: int | None
    vendor: str  # whose table: "nginx", "iana", "esri", ... or "class" for the class fallback
    name: str
    meaning: str
    status_class: str  # "1xx".."5xx" or "other" (codes outside 100-599, pseudo-codes)
    source_url: str  # "" for the class fallback
    registered: bool  # False for the class fallback


def fallback_meaning(code: int) -> str:
    """The sentence used for a code that no vendor table defines."""
    phrase = CLASS_PHRASES.get(status_class(code))
    if phrase is None:
        return f"No known vendor defines {code}, and it lies outside {OUTSIDE}"
    return f"No known vendor defines {code}; read it as {phrase} by its class."


def class_fallback(code: int) -> Meaning:
    """The unregistered meaning for `code`, derived only from its class."""
    return Meaning(
        code=code,
        substatus=None,
        vendor=CLASS_VENDOR,
        name=UNREGISTERED,
        meaning=fallback_meaning(code),
        status_class=status_class(code),
        source_url="",
        registered=False,
    )


def producer_chain(
    chain: Sequence[str], own: Sequence[str], produced_by: str | None
) -> tuple[str, ...]:
    """The vendor chain for a status produced by `produced_by`, most specific first.

    `chain` is the log's whole chain (the user's --vendor apps, then the log source's own
    vendor family); `own` is that family: the tables of the layer that wrote the log.  A
    vendor's own meaning belongs to statuses its layer produced: ALB 502 with no target
    status is ALB's "no usable response from the target", but a 502 the target answered
    and ALB passed on is the target's plain 502.  So:
    - upstream: the chain without the proxy's own tables (the --vendor apps, then IANA);
    - proxy: the proxy's own tables first, then the rest (an ALB 460 is ALB's even with
      --vendor esri);
    - unknown (or None): the chain as given, the user's apps first.
    """
    others = tuple(vendor for vendor in chain if vendor not in own)
    if produced_by == UPSTREAM:
        return others
    if produced_by == PROXY:
        return (*own, *others)
    return tuple(chain)


def _optional_int(text: str) -> int | None:
    return int(text) if text else None


def _read_table(filename: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


class Registry:
    """All vendors' status tables.  What is logged beside a status (IIS win32 codes,
    ALB reasons, HAProxy termination states) has tables of its own: status/details.py."""

    def __init__(self, meanings: Iterable[Meaning]) -> None:
        self._rows: dict[tuple[str, int, int | None], Meaning] = {}
        for meaning in meanings:
            self._rows[(meaning.vendor, meaning.code, meaning.substatus)] = meaning

    def lookup(self, code: int, substatus: int | None, vendors: Sequence[str]) -> Meaning:
        """Resolve `code` (and IIS `substatus`) for a log whose vendor chain is `vendors`.

        `vendors` is most specific first (the user's --vendor apps, then the log source's
        vendor family); IANA is appended.  An exact (code, substatus) row anywhere in the
        chain wins over a plain-code row, because a sub-status is more specific than any
        vendor order: IIS 500.30 is an ASP.NET Core Module row even when the chain lists
        core "iis" (which has a plain 500) first.  Then the first plain-code row in chain
        order, then the class fallback.  Never raises.
        """
        chain = [*vendors, IANA]
        if substatus is not None:
            for vendor in chain:
                exact = self._rows.get((vendor, code, substatus))
                if exact is not None:
                    return exact
        for vendor in chain:
            plain = self._rows.get((vendor, code, None))
            if plain is not None:
                return plain
        return class_fallback(code)

    def by_code(self, code: int) -> list[Meaning]:
        """Every vendor's rows for `code` (all sub-statuses): IANA first, then by vendor name."""
        found = [meaning for meaning in self._rows.values() if meaning.code == code]
        return sorted(found, key=_display_order)

    def meanings(self) -> list[Meaning]:
        """Every registered row, in display order."""
        return sorted(self._rows.values(), key=_display_order)

    def vendors(self) -> list[str]:
        """The vendor names the tables know, sorted (for validating --vendor)."""
        return sorted({vendor for vendor, _, _ in self._rows})


def _display_order(meaning: Meaning) -> tuple[bool, str, int, int]:
    substatus = -1 if meaning.substatus is None else meaning.substatus
    return (meaning.vendor != IANA, meaning.vendor, meaning.code, substatus)


@functools.cache
def load_registry() -> Registry:
    """The registry built from the CSV files shipped in this package (read once)."""
    meanings = [
        Meaning(
            code=int(row["code"]),
            substatus=_optional_int(row["substatus"]),
            vendor=row["vendor"],
            name=row["name"],
            meaning=row["meaning"],
            status_class=row["class"],
            source_url=row["source_url"],
            registered=True,
        )
        for row in _read_table("codes.csv")
    ]
    return Registry(meanings)


# Column names used only inside `tag`; the prefix keeps them clear of the caller's columns.
_SOURCE_KEY = "_logstat_tag_source"
_STATUS_KEY = "_logstat_tag_status"
_SUBSTATUS_KEY = "_logstat_tag_substatus"
_PRODUCER_KEY = "_logstat_tag_producer"
_OTHER_SOURCES = "_logstat_tag_other_sources"  # stands for every source not in the mapping
_FIELDS = ("name", "meaning", "vendor")


def _tier_column(tier: str, field: str) -> str:
    """Name of a looked-up field in the "exact" (sub-status) or "plain" table."""
    return f"_logstat_tag_{tier}_{field}"


_TABLES: dict[Hashable, tuple[Registry, tuple[pl.DataFrame, pl.DataFrame]]] = {}


def _tables(
    registry: Registry,
    vendors_by_source: Mapping[str, Sequence[str]],
    own_vendors: Mapping[str, Sequence[str]],
    producers: Sequence[str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`_resolved_tables`, made once per registry and chains: `tag` runs for every chunk
    of an export, and resolving every code for every chain cost each chunk 10 ms."""
    key = (id(registry), _frozen(vendors_by_source), _frozen(own_vendors), tuple(producers))
    known = _TABLES.get(key)
    if known is not None and known[0] is registry:
        return known[1]
    tables = _resolved_tables(registry, vendors_by_source, own_vendors, producers)
    if len(_TABLES) >= 64:  # a long-lived process tagging with many --vendor choices
        _TABLES.clear()
    _TABLES[key] = (registry, tables)
    return tables


def _frozen(mapping: Mapping[str, Sequence[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((name, tuple(values)) for name, values in mapping.items())


def _resolved_tables(
    registry: Registry,
    vendors_by_source: Mapping[str, Sequence[str]],
    own_vendors: Mapping[str, Sequence[str]],
    producers: Sequence[str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pre-resolve every registered code for every source's chain, as (exact, plain).

    `plain` is keyed by (source, producer, code); `exact` by (source, producer, code,
    substatus) for every sub-status some vendor in that source's chain registers.  The
    producer is one of `producers`, and the chain for it comes from `producer_chain`.  A row whose
    sub-status is not in `exact` resolves exactly like its plain code, so two left joins
    reproduce `Registry.lookup`.
    """
    import polars as pl

    chains: dict[str, Sequence[str]] = {**vendors_by_source, _OTHER_SOURCES: ()}
    exact: list[dict[str, object]] = []
    plain: list[dict[str, object]] = []
    registered = registry.meanings()
    for source, whole in chains.items():
        own = own_vendors.get(source, ())
        for producer in producers:
            chain = producer_chain(whole, own, producer)
            vendors = {*chain, IANA}
            keys = {(row.code, row.substatus) for row in registered if row.vendor in vendors}
            for code, substatus in keys:
                meaning = registry.lookup(code, substatus, chain)
                row: dict[str, object] = {
                    _SOURCE_KEY: source,
                    _PRODUCER_KEY: producer,
                    _STATUS_KEY: code,
                }
                if substatus is None:
                    plain.append(
                        row
                        | {
                            _tier_column("plain", field): getattr(meaning, field)
                            for field in _FIELDS
                        }
                    )
                else:
                    exact.append(
                        row
                        | {_SUBSTATUS_KEY: substatus}
                        | {
                            _tier_column("exact", field): getattr(meaning, field)
                            for field in _FIELDS
                        }
                    )
    keys_schema = {_SOURCE_KEY: pl.String, _PRODUCER_KEY: pl.String, _STATUS_KEY: pl.Int64}
    exact_schema = keys_schema | {_SUBSTATUS_KEY: pl.Int64}
    exact_schema |= {_tier_column("exact", field): pl.String for field in _FIELDS}
    plain_schema = keys_schema | {_tier_column("plain", field): pl.String for field in _FIELDS}
    return (
        pl.DataFrame(exact, schema=exact_schema),
        pl.DataFrame(plain, schema=plain_schema),
    )


def _fallback_meaning_expression(code: pl.Expr) -> pl.Expr:
    """`fallback_meaning` as an expression; the two must produce identical text."""
    import polars as pl

    ending: pl.Expr = pl.lit(f", and it lies outside {OUTSIDE}")
    for class_name, phrase in CLASS_PHRASES.items():
        codes = CLASSES[class_name]
        in_class = pl.lit(f"; read it as {phrase} by its class.")
        ending = (
            pl.when(code.is_between(codes.start, codes.stop - 1)).then(in_class).otherwise(ending)
        )
    return pl.concat_str(pl.lit("No known vendor defines "), code.cast(pl.String), ending)


def _left_join(frame: pl.LazyFrame, table: pl.DataFrame, keys: list[str]) -> pl.LazyFrame:
    # m:1 guarantees the row count; maintain_order="left" guarantees the row order.
    return frame.join(table.lazy(), on=keys, how="left", validate="m:1", maintain_order="left")


def tag(
    frame: pl.LazyFrame,
    vendors_by_source: Mapping[str, Sequence[str]],
    *,
    status: str = "status",
    substatus: str | None = "substatus",
    source: str = "source",
    prefix: str = "status",
    produced_by: str | None = None,
    own_vendors: Mapping[str, Sequence[str]] | None = None,
) -> pl.LazyFrame:
    """Add {prefix}_name, {prefix}_meaning, {prefix}_vendor (String) and {prefix}_registered
    (Boolean) for every row, resolving each row's (source, status, substatus) with
    Registry.lookup semantics, where the vendor chain is vendors_by_source[row's source]
    (a source missing from the mapping, or null, gets just IANA).

    Stays lazy and vectorised: a small pre-resolved table is joined on (source, code
    [, substatus]) and codes nobody registered get the class fallback through expressions.
    Rows with a null status get nulls.  Row order and row count are unchanged.  Pass
    substatus=None when there is no sub-status column (e.g. tagging `upstream_status`
    with prefix="upstream").

    With `produced_by` (a column of proxy / upstream / unknown) and `own_vendors` (per
    source, the vendor family of the layer that wrote the log), a row's chain is
    `producer_chain(chain, own, its producer)`: a status the upstream produced is not read
    in the proxy's dialect.  A null producer reads like "unknown".
    """
    import polars as pl

    exact_table, plain_table = _tables(
        load_registry(),
        vendors_by_source,
        own_vendors or {},
        PRODUCERS if produced_by else (UNKNOWN,),
    )
    source_text = pl.col(source).cast(pl.String)
    keyed = frame.with_columns(
        pl.when(source_text.is_in(list(vendors_by_source)))
        .then(source_text)
        .otherwise(pl.lit(_OTHER_SOURCES))
        .alias(_SOURCE_KEY),
        pl.col(status).cast(pl.Int64).alias(_STATUS_KEY),
        (
            pl.col(produced_by).cast(pl.String).fill_null(UNKNOWN)
            if produced_by
            else pl.lit(UNKNOWN)
        ).alias(_PRODUCER_KEY),
    )
    joined = _left_join(keyed, plain_table, [_SOURCE_KEY, _PRODUCER_KEY, _STATUS_KEY])
    temporary = list(plain_table.columns)
    # Exact (sub-status) answers are coalesced before plain ones, as in Registry.lookup.
    tiers = ["plain"]
    if substatus is not None:
        joined = joined.with_columns(pl.col(substatus).cast(pl.Int64).alias(_SUBSTATUS_KEY))
        joined = _left_join(
            joined, exact_table, [_SOURCE_KEY, _PRODUCER_KEY, _STATUS_KEY, _SUBSTATUS_KEY]
        )
        temporary += [column for column in exact_table.columns if column not in temporary]
        tiers.insert(0, "exact")

    code = pl.col(_STATUS_KEY)
    has_status = code.is_not_null()
    fallback = {
        "name": pl.lit(UNREGISTERED),
        "meaning": _fallback_meaning_expression(code),
        "vendor": pl.lit(CLASS_VENDOR),
    }
    outputs = [
        pl.coalesce(
            *(pl.col(_tier_column(tier, field)) for tier in tiers),
            pl.when(has_status).then(fallback[field]),
        ).alias(f"{prefix}_{field}")
        for field in _FIELDS
    ]
    found = pl.coalesce(*(pl.col(_tier_column(tier, "vendor")) for tier in tiers)).is_not_null()
    outputs.append(
        pl.when(has_status)
        .then(found)
        .otherwise(pl.lit(None, dtype=pl.Boolean))
        .alias(f"{prefix}_registered")
    )
    return joined.with_columns(outputs).drop(temporary)
