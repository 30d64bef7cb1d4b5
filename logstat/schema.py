"""The canonical columns every format's parser produces, with their dtypes.

Missing values are null, never "-" or 0.  `conform` is the single place that
turns a parser's partial frame into this shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from logstat.status.classes import HIGHEST, LOWEST, NONE, OTHER

if TYPE_CHECKING:
    from collections.abc import Iterable

TIMESTAMP = pl.Datetime("us", "UTC")

# name -> dtype, in output order.  The README's schema table mirrors this.
COLUMNS: dict[str, pl.DataType] = {
    "source": pl.String(),  # format name: nginx, apache, iis, alb, elb, cloudflare
    "file": pl.String(),
    "line_no": pl.UInt64(),  # 1-based physical line in the (decompressed) file
    "timestamp": TIMESTAMP,
    "client_ip": pl.String(),
    "host": pl.String(),
    "method": pl.String(),
    "path": pl.String(),
    "query": pl.String(),
    "protocol": pl.String(),
    "status": pl.Int16(),  # what the client got
    "status_class": pl.String(),  # 1xx..5xx, other (000, 9999 ...), none (no status logged)
    "upstream_status": pl.Int16(),  # what the server behind the proxy answered (last attempt)
    "upstream_status_list": pl.String(),  # every attempt as logged, e.g. "502, 504"
    "substatus": pl.Int32(),  # IIS sc-substatus
    "win32_status": pl.Int64(),  # IIS sc-win32-status
    "error_reason": pl.String(),  # ALB error_reason
    "classification": pl.String(),  # ALB desync classification
    "bytes_sent": pl.Int64(),
    "request_time_s": pl.Float64(),
    "user_agent": pl.String(),
    "referer": pl.String(),
}

# The parts of the duration some formats log apart (format extras; the latency report's
# measures, latency_model.MEASURE_LABELS), in seconds.  Exports type them as here, and
# every dataset part keeps them (null where its format logs none).
DURATION_PARTS: dict[str, pl.DataType] = {
    name: pl.Float64()
    for name in (
        "request_processing_time_s",  # ALB/ELB
        "target_processing_time_s",  # ALB
        "backend_processing_time_s",  # classic ELB
        "response_processing_time_s",  # ALB/ELB
        "response_time_s",  # HAProxy Tr
        "upstream_service_time_s",  # Envoy
        "upstream_connect_time_s",  # nginx
        "upstream_header_time_s",  # nginx
        "upstream_response_time_s",  # nginx
        "origin_time_s",  # Traefik
        "origin_response_time_s",  # Cloudflare
        "time_to_first_byte_s",  # CloudFront
    )
}

# The request's duration; the latency report reads WITH_DURATION beside it, from the
# formats that log one only (pipeline: `with_duration`), so that a summary of logs
# without durations parses none of them.
DURATION = "request_time_s"
WITH_DURATION = frozenset({"bytes_sent", "path", *DURATION_PARTS})
# Of those, what only the slowest requests show: a format whose lines read alone read
# the same (formats.Format.reads_again) gives it for those few lines, read again
# (formats.read_again), not for every line (an ALB's path costs a seventh of its parse).
SLOWEST_ONLY = frozenset({"path"})


def with_duration(
    needed: set[str] | None, parsed: set[str], reads_again: bool = False
) -> set[str] | None:
    """`needed` plus WITH_DURATION when it asks for DURATION and the format (its
    `parsed` columns) logs one; without SLOWEST_ONLY, unless `needed` names them, when
    the format reads a line again (`reads_again`)."""
    if needed is None or DURATION not in needed or DURATION not in parsed:
        return needed
    added = WITH_DURATION - SLOWEST_ONLY if reads_again else WITH_DURATION
    return needed | (added & parsed)


# Added by status tagging, after parsing.
ANNOTATIONS: dict[str, pl.DataType] = {
    "status_name": pl.String(),
    "status_meaning": pl.String(),
    "status_vendor": pl.String(),  # whose table the meaning came from
    "produced_by": pl.String(),  # proxy / upstream / unknown
}


def export_columns(extras: Iterable[str]) -> dict[str, pl.DataType]:
    """An exported row's columns (export, ingest's dataset): canonical columns,
    annotations, then the format-specific extras (durations as DURATION_PARTS types them,
    the others as strings)."""
    columns: dict[str, pl.DataType] = {**COLUMNS, **ANNOTATIONS}
    for name in sorted(set(extras) - set(columns)):
        columns[name] = DURATION_PARTS.get(name, pl.String())
    return columns


# Bookkeeping columns a parser adds next to the canonical ones.
LINE_KIND = "line_kind"  # record / comment / blank / rejected
REJECT_REASON = "reject_reason"
RAW_LINE = "line"
# fields a line holds after its layout's last one (null: none): read, but counted
TRAILING_FIELDS = "trailing_fields"
FILE_ID = "file_id"
# in a frame of lines folded by their text (reading/folding.py): how many lines each row
# stands for; a frame without it has one row per line
WEIGHT = "lines_alike"

RECORD = "record"
COMMENT = "comment"
BLANK = "blank"  # empty or white space only: neither a record nor a reject
REJECTED = "rejected"


def conform(frame: pl.LazyFrame, columns: Iterable[str] | None = None) -> pl.LazyFrame:
    """Cast `frame` to the canonical dtypes, add missing columns as nulls, keep order.

    Extra columns (bookkeeping, format-specific) are kept after the canonical ones.
    """
    wanted = list(COLUMNS) if columns is None else list(columns)
    present = frame.collect_schema()
    expressions = []
    for name in wanted:
        dtype = COLUMNS.get(name) or ANNOTATIONS.get(name) or DURATION_PARTS[name]
        if name in present:
            value = pl.col(name).cast(dtype, strict=False)
            if dtype == TIMESTAMP:
                # outside years 1-9999 (year 1 at +01:00 is year 0 in UTC) no datetime holds it
                value = pl.when(value.dt.year().is_between(1, 9999)).then(value).alias(name)
            expressions.append(value)
        else:
            expressions.append(pl.lit(None, dtype=dtype).alias(name))
    extras = [pl.col(name) for name in present if name not in wanted]
    return frame.select(*expressions, *extras)


def status_class_expression(status: pl.Expr) -> pl.Expr:
    """1xx..5xx for 100-599, 'other' for any other number, 'none' when nothing was logged:
    status/classes.py's status_class over a column."""
    return (
        pl.when(status.is_null())
        .then(pl.lit(NONE))
        .when(status.is_between(LOWEST, HIGHEST))
        .then((status // 100).cast(pl.String) + pl.lit("xx"))
        .otherwise(pl.lit(OTHER))
    )
