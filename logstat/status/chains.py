"""Which status tables a log's codes are read with: its vendor chain.

Per log source, most specific first: the applications named with --vendor, then
the source's own tables (nginx, alb ...), then IANA (Registry.lookup adds it).  A
status the server behind a proxy produced is read without the proxy's own tables
(producer_chain): a target's 502 is not ALB's 502.  The formats say which tables
are each source's own (formats.vendor_chains); the chain is put together here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from logstat.errors import ExitCode, LogstatError


def chosen_vendors(vendors: Sequence[str]) -> tuple[str, ...]:
    """--vendor names, lower-cased and checked against the tables (no polars needed)."""
    from logstat.status.registry import load_registry

    known = set(load_registry().vendors())
    chosen = tuple(vendor.lower() for vendor in vendors)
    for vendor in chosen:
        if vendor not in known:
            raise LogstatError(
                f"unknown vendor {vendor!r}; known: {', '.join(sorted(known))}", ExitCode.USAGE
            )
    return chosen


@dataclass(frozen=True)
class VendorChains:
    """Per log source, its own tables; and the --vendor tables read before them."""

    own: Mapping[str, tuple[str, ...]]
    chosen: tuple[str, ...] = ()

    @property
    def chains(self) -> dict[str, tuple[str, ...]]:
        """Per source, what its own statuses are read with (what `tag` takes)."""
        return {source: (*self.chosen, *own) for source, own in self.own.items()}

    @property
    def upstream(self) -> dict[str, tuple[str, ...]]:
        """Per source, what the statuses of the server behind it are read with: plain
        HTTP and the --vendor apps, never the proxy's dialect."""
        return {source: self.chosen for source in self.own}

    def only(self, sources: Iterable[str]) -> VendorChains:
        """The chains of these sources alone (those a summary read)."""
        wanted = set(sources)
        return VendorChains(
            {source: own for source, own in self.own.items() if source in wanted}, self.chosen
        )
