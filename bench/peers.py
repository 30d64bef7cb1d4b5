"""The bare polars programs logstat is compared with, run as `python -m bench peer NAME ...`.

They are what a person would write by hand for one known layout (nginx
`combined`, an AWS ALB log): no detection, no rejects, no meanings.  Each prints
status counts as JSON so the benchmark can check that it counted the same thing.
"""

from __future__ import annotations

import json
import sys

# The status after the quoted request: one regex, as a hand-written scan would use.
STATUS_REGEX = r'^\S+ \S+ \S+ \[[^\]]*\] "[^"]*" (\d{3}) '
# An ALB entry's elb_status_code: the ninth space-separated field, before any quote.
ALB_STATUS_REGEX = r"^\S+ \S+ \S+ \S+ \S+ \S+ \S+ \S+ (\d{3}) "
# Every field of a combined line, converted to the same types as logstat's export.
COMBINED_REGEX = (
    r"^(?<client_ip>\S+) \S+ (?<remote_user>\S+) \[(?<time>[^\]]*)\] "
    r'"(?<method>\S+) (?<target>\S+) (?<protocol>[^"]*)" (?<status>\d{3}) (?<bytes>\d+|-) '
    r'"(?<referer>[^"]*)" "(?<user_agent>[^"]*)"'
)


def status_scan(path: str, regex: str = STATUS_REGEX) -> None:
    import polars as pl

    counts = (
        pl.scan_lines(path)
        .select(pl.col("line").str.extract(regex, 1).cast(pl.Int16).alias("status"))
        .group_by("status")
        .len()
        .collect(engine="streaming")
    )
    _print_counts(counts.iter_rows())


def alb_status_scan(path: str) -> None:
    status_scan(path, ALB_STATUS_REGEX)


def full_parse(path: str, output: str) -> None:
    import polars as pl

    fields = pl.col("line").str.extract_groups(COMBINED_REGEX)
    (
        pl.scan_lines(path)
        .select(fields.alias("fields"))
        .unnest("fields")
        .with_columns(
            pl.col("time").str.to_datetime("%d/%b/%Y:%H:%M:%S %z", time_unit="us"),
            pl.col("status").cast(pl.Int16),
            pl.col("bytes").cast(pl.Int64, strict=False),
            pl.col("target").str.extract(r"^([^?]*)", 1).alias("path"),
            pl.col("target").str.extract(r"\?(.*)$", 1).alias("query"),
        )
        .sink_parquet(output, compression="zstd")
    )
    counts = pl.scan_parquet(output).group_by("status").len().collect()
    _print_counts(counts.iter_rows())


def _print_counts(rows: object) -> None:
    counts = {str(status): int(count) for status, count in rows}  # type: ignore[attr-defined]
    sys.stdout.write(json.dumps(counts) + "\n")


PEERS = {
    "polars-status": status_scan,
    "polars-alb-status": alb_status_scan,
    "polars-parse": full_parse,
}
