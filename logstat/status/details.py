"""The status layers logged beside the HTTP status, each explained by a table of its own.

IIS logs the Windows error behind a response (sc-win32-status), ALB why it answered
by itself (error_reason) and its desync verdict (classification_reason), HAProxy how
and when the session ended (termination_state), Envoy what it ran into
(response_flags) and who ended the stream (response_code_details), CloudFront how
its edge served a request (edge_detailed_result_type), Caddy which of its functions
failed (error_trace), Google's load balancer why it answered as it did
(status_details), Azure Front Door and Application Gateway what went wrong (error info).
A `DetailLayer`
names the column, who writes it, which of its values say something, and how a value
is explained; the summary counts each layer by value and status, every view shows the
counts with their meanings (Layer details), and `logstat codes CD--` answers from the
same tables.  Each table is a CSV beside this module, with the vendor's address per row.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from logstat.status import termination

if TYPE_CHECKING:
    import polars as pl  # loaded by the summary only: `logstat codes` starts without it


@dataclass(frozen=True)
class Explained:
    """What one logged value means."""

    name: str | None  # a symbolic name where the value is a number (ERROR_FILE_NOT_FOUND)
    meaning: str
    source_url: str


@dataclass(frozen=True)
class DetailLayer:
    column: str  # the canonical (or format) column: win32_status, termination_state ...
    vendor: str  # whose values these are: the status table family of the log source
    label: str  # the field as its vendor names it: "HAProxy termination_state"
    says: str  # what its values tell, for the titles of its table
    informative: Callable[[], pl.Expr]  # which values say something (win32 0 says nothing)
    explain: Callable[[str], Explained | None]  # a value as logged -> its meaning
    asked: bool = True  # `logstat codes VALUE` looks it up (not numbers: they are codes)


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@functools.cache
def _table(filename: str, key: str) -> dict[str, Explained]:
    return {
        row[key]: Explained(row.get("name") or None, row["meaning"], row["source_url"])
        for row in _rows(filename)
    }


def _lookup(filename: str, key: str) -> Callable[[str], Explained | None]:
    return lambda value: _table(filename, key).get(value)


def _termination(value: str) -> Explained | None:
    found = termination.explain(value)
    return None if found is None else Explained(None, *found)


@functools.cache
def _envoy_flags() -> dict[str, Explained]:
    """Envoy's response flags by short name (UF) and by long name (UpstreamConnectionFailure)."""
    found = {}
    for row in _rows("envoy_response_flags.csv"):
        explained = Explained(None, row["meaning"], row["source_url"])
        found[row["flag"]] = found[row["long_name"]] = explained
    return found


def _envoy(value: str) -> Explained | None:
    """`UF` or `UF,URX`: each flag's meaning, in the order logged."""
    flags = [_envoy_flags().get(flag) for flag in value.split(",")]
    if not flags or any(flag is None for flag in flags):
        return None
    if len(flags) == 1 and flags[0] is not None:
        return flags[0]
    parts = [
        f"{name}: {flag.meaning}"
        for name, flag in zip(value.split(","), flags, strict=True)
        if flag
    ]
    return Explained(None, " ".join(parts), flags[0].source_url if flags[0] else "")


def _envoy_detail(value: str) -> Explained | None:
    """`upstream_reset_before_response_started{connection_termination}`: the detail's
    meaning, with what Envoy added in braces or brackets after its name."""
    name, bracket, rest = value.partition("{") if "{" in value else value.partition("[")
    found = _table("envoy_response_code_details.csv", "detail").get(name)
    if found is None or not bracket:
        return found
    return Explained(None, f"{found.meaning} Envoy adds: {rest.rstrip('}]')}.", found.source_url)


def _not_via_upstream() -> pl.Expr:
    """`via_upstream` is the normal course: every other detail says why Envoy answered."""
    import polars as pl

    details = pl.col("response_code_details")
    return details.is_not_null() & (details != "via_upstream")


def _present(column: str) -> Callable[[], pl.Expr]:
    def informative() -> pl.Expr:
        import polars as pl

        return pl.col(column).is_not_null()

    return informative


def _win32_error() -> pl.Expr:
    """0 is ERROR_SUCCESS: no error to explain."""
    import polars as pl

    return pl.col("win32_status").is_not_null() & (pl.col("win32_status") != 0)


def _not_plain_delivery() -> pl.Expr:
    """A hit or a miss is the normal course of a CDN: every other type says something."""
    import polars as pl

    plain = ["Hit", "RefreshHit", "Miss", "OriginShieldHit"]
    return (
        ~pl.col("edge_detailed_result_type").is_in(plain)
        & pl.col("edge_detailed_result_type").is_not_null()
    )


def _an_error(column: str, none: str) -> Callable[[], pl.Expr]:
    """Values other than the one that says no error happened."""

    def informative() -> pl.Expr:
        import polars as pl

        return pl.col(column).is_not_null() & (pl.col(column) != none)

    return informative


def _backend_failure() -> pl.Expr:
    """A response the backend sent, or one from the cache, is the normal course."""
    import polars as pl

    normal = ["response_sent_by_backend", "response_from_cache", "response_from_cache_validated"]
    details = pl.col("status_details")
    return details.is_not_null() & ~details.is_in(normal)


def _abnormal_end() -> pl.Expr:
    """`--` (and `----`): a normal end says nothing beside the status."""
    import polars as pl

    return pl.col("termination_state").str.slice(0, 2) != termination.NORMAL


# In the order the views list them.
LAYERS: dict[str, DetailLayer] = {
    layer.column: layer
    for layer in (
        DetailLayer(
            "win32_status",
            "iis",
            "IIS sc-win32-status",
            "the Windows error behind the response",
            _win32_error,
            _lookup("win32.csv", "code"),
            asked=False,
        ),
        DetailLayer(
            "error_reason",
            "alb",
            "ALB error_reason",
            "why the load balancer could not serve the request",
            _present("error_reason"),
            _lookup("alb_error_reasons.csv", "reason"),
        ),
        DetailLayer(
            "classification_reason",
            "alb",
            "ALB classification_reason",
            "desync mitigation's verdict",
            _present("classification_reason"),
            _lookup("alb_classification_reasons.csv", "reason"),
        ),
        DetailLayer(
            "termination_state",
            "haproxy",
            "HAProxy termination_state",
            "what ended the session, and when",
            _abnormal_end,
            _termination,
        ),
        DetailLayer(
            "edge_detailed_result_type",
            "cloudfront",
            "CloudFront x-edge-detailed-result-type",
            "how the edge served the request, or why it failed",
            _not_plain_delivery,
            _lookup("cloudfront_result_types.csv", "type"),
        ),
        DetailLayer(
            "response_flags",
            "envoy",
            "Envoy %RESPONSE_FLAGS%",
            "what Envoy itself ran into",
            _present("response_flags"),  # `-` (no flag) is read as null
            _envoy,
        ),
        DetailLayer(
            "response_code_details",
            "envoy",
            "Envoy %RESPONSE_CODE_DETAILS%",
            "who ended the stream, and why",
            _not_via_upstream,
            _envoy_detail,
        ),
        DetailLayer(
            "error_trace",
            "caddy",
            "Caddy err_trace",
            "the Caddy function whose error set the status",
            _present("error_trace"),
            _lookup("caddy_error_traces.csv", "trace"),
        ),
        DetailLayer(
            "status_details",
            "google_lb",
            "Google LB statusDetails",
            "why the load balancer answered as it did",
            _backend_failure,
            _lookup("google_lb_status_details.csv", "detail"),
        ),
        DetailLayer(
            "front_door_error_info",
            "azure_front_door",
            "Azure Front Door errorInfo",
            "what went wrong while Front Door handled the request",
            _an_error("front_door_error_info", "NoError"),
            _lookup("azure_front_door_error_info.csv", "error"),
        ),
        DetailLayer(
            "app_gateway_error_info",
            "azure_app_gateway",
            "Azure Application Gateway error_info",
            "why the gateway could not complete the request",
            _an_error("app_gateway_error_info", "ERRORINFO_NO_ERROR"),
            _lookup("azure_app_gateway_error_info.csv", "error"),
        ),
    )
}


def explain(layer: str, value: object) -> Explained | None:
    """The meaning of one value of a layer; None where its table does not know it."""
    return LAYERS[layer].explain(str(value))


@dataclass(frozen=True)
class DetailReading:
    """One answer of `logstat codes` for a layer's value (`CD--`, `UF`, ...)."""

    term: str
    layer: str
    vendor: str
    label: str
    explained: Explained


def readings(term: str, vendors: tuple[str, ...] | None = None) -> list[DetailReading]:
    """Every layer whose table explains `term` (of those whose vendor is in `vendors`)."""
    found = []
    for layer in LAYERS.values():
        if not layer.asked or (vendors is not None and layer.vendor not in vendors):
            continue
        explained = layer.explain(term)
        if explained is not None:
            found.append(DetailReading(term, layer.column, layer.vendor, layer.label, explained))
    return found
