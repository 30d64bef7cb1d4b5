"""What a summary counts: the report options, and the columns and keys they read."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import polars as pl

from logstat import schema
from logstat.alerts import Rule
from logstat.errors import ExitCode, LogstatError
from logstat.filters import Duration, Filters
from logstat.status import classes
from logstat.status.details import LAYERS as DETAIL_LAYERS

# The columns the default summary reads; the pipeline parses nothing else (and, from
# formats that log a duration, the latency report's: schema.WITH_DURATION).
NEEDED = {
    "status",
    "substatus",
    "upstream_status",
    "timestamp",
    schema.DURATION,
}
STATUS_KEYS = ["source", "status", "substatus", "status_class", "upstream_status", "produced_by"]
TOP_KEYS = ["status", "status_class"]  # --top counts are kept (and bounded) per status
CLASS_ORDER = list(classes.ORDER)
PRODUCERS = ("proxy", "upstream", "unknown")

# --top: the fields drilled into by default, and every field that may be named
TOP_FIELDS = ("path", "client_ip", "host", "user_agent")
DRILLABLE = ("path", "client_ip", "host", "user_agent", "referer", "method", "query", "protocol")
FIELD_ALIASES = {"client": "client_ip", "agent": "user_agent", "ua": "user_agent"}
SLOWEST = 10  # the slowest requests listed without --top
MAX_BUCKETS = 100_000  # --every: a report nobody can read, and a lot of memory

BUCKET = "bucket"

# The status layers logged beside the HTTP status (status/details.py), with which rows
# say something.  Counted apart from STATUS_KEYS and only in frames that have the
# column, so formats that have none pay nothing.
LAYERS: dict[str, pl.Expr] = {name: layer.informative() for name, layer in DETAIL_LAYERS.items()}
LAYER_KEYS = ["source", "status"]  # + the layer's column: which status each value came with


@dataclass(frozen=True)
class ReportSettings:
    """What the report options ask for; the default is the plain summary."""

    filters: Filters = field(default_factory=Filters)
    every: Duration | None = None  # --every
    top: int = 0  # --top N (0: no drill-down)
    top_fields: tuple[str, ...] = TOP_FIELDS
    top_by: str | None = None  # class | status; None: the --status terms if any, else class
    by: str | None = None  # --by source|host|file; None: per source when several are read
    counts: bool = False  # fine counts by source/host/status for counters (Prometheus)
    rules: tuple[Rule, ...] = ()  # --fail-if
    # latency and bytes of this many paths with the most requests (0: none); None: --top N
    # when path is a --top field (the summary's), else none
    path_latency: int | None = None

    def needed(self) -> set[str]:
        """The parsed columns this report reads (drives the pipeline's projection)."""
        columns = set(NEEDED) | set(LAYERS) | self.filters.columns()
        if self.top:
            columns |= set(self.top_fields)
        if self.latency_paths():
            columns.add("path")  # on every line, not only for the slowest requests
        columns |= set(self.detail_keys()) - {"file"}
        return columns

    def detail_keys(self) -> list[str]:
        """Keys counted beside STATUS_KEYS (source is already one of them)."""
        keys = []
        if self.by in ("host", "file"):
            keys.append(self.by)
        if self.counts and "host" not in keys:
            keys.append("host")
        return keys

    def status_keys(self) -> list[str]:
        """The keys the selected records are counted by."""
        return STATUS_KEYS + self.detail_keys()

    def slowest(self) -> int:
        """How many of the slowest requests the latency report lists (--top N, else 10)."""
        return self.top or SLOWEST

    def latency_paths(self) -> int:
        """How many top paths the latency report shows (0: no figures per path)."""
        if self.path_latency is not None:
            return self.path_latency
        return self.top if "path" in self.drilled() else 0

    def drilled(self) -> tuple[str, ...]:
        """The fields --top counts values of (none without --top)."""
        return self.top_fields if self.top else ()


def parse_top_fields(values: Sequence[str]) -> tuple[str, ...]:
    """`--top-fields path,client` -> canonical column names (TOP_FIELDS when empty)."""
    names = [item.strip().lower() for value in values for item in value.split(",")]
    chosen = [FIELD_ALIASES.get(name, name) for name in names if name]
    for name in chosen:
        if name not in DRILLABLE:
            raise LogstatError(
                f"--top-fields: unknown field {name!r}; choose from "
                f"{', '.join(DRILLABLE)} (or client, agent)",
                ExitCode.USAGE,
            )
    return tuple(dict.fromkeys(chosen)) or TOP_FIELDS


def parse_choice(value: str | None, option: str, choices: Sequence[str]) -> str | None:
    if value is None:
        return None
    if value.lower() not in choices:
        raise LogstatError(
            f"{option} {value!r}: choose one of {', '.join(choices)}", ExitCode.USAGE
        )
    return value.lower()


def ensure_columns(frame: pl.DataFrame, columns: Iterable[str]) -> pl.DataFrame:
    """Add the columns a format does not have, as nulls of their canonical type."""
    missing = [column for column in dict.fromkeys(columns) if column not in frame.columns]
    return frame.with_columns(
        pl.lit(None, dtype=schema.COLUMNS.get(column, pl.String())).alias(column)
        for column in missing
    )
