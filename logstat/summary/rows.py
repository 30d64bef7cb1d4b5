"""The report's tables from the summed counts: classes, statuses with their meanings,
upstream statuses, status layers, per-group tables and the finest counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from logstat.report.model import (
    Breakdown,
    ClassRow,
    CountRow,
    Group,
    LayerRow,
    StatusRow,
    UpstreamRow,
    status_text,
)
from logstat.status import tag
from logstat.status.details import explain as explain_detail
from logstat.summary.settings import CLASS_ORDER, PRODUCERS, ensure_columns


def total(counts: pl.DataFrame) -> int:
    return int(counts["count"].sum()) if counts.height else 0


def _producer_columns() -> list[pl.Expr]:
    return [
        pl.col("count").filter(pl.col("produced_by") == producer).sum().alias(producer)
        for producer in PRODUCERS
    ]


def share(count: int, total: int) -> float:
    return round(count / total, 6) if total else 0.0


def class_rows(counts: pl.DataFrame, total: int) -> list[ClassRow]:
    grouped = counts.group_by("status_class").agg(pl.col("count").sum(), *_producer_columns())
    by_class = {row["status_class"]: row for row in grouped.iter_rows(named=True)}
    rows = []
    for status_class in CLASS_ORDER:
        row = by_class.get(status_class)
        if row is None and status_class in ("other", "none"):
            continue  # shown only when present
        count = int(row["count"]) if row else 0
        rows.append(
            ClassRow(
                status_class=status_class,
                count=count,
                share=share(count, total),
                proxy=int(row["proxy"]) if row else 0,
                upstream=int(row["upstream"]) if row else 0,
                unknown=int(row["unknown"]) if row else 0,
            )
        )
    return rows


def status_table(
    counts: pl.DataFrame,
    chains: dict[str, tuple[str, ...]],
    own: Mapping[str, tuple[str, ...]],
    extra: Sequence[str] = (),
) -> pl.DataFrame:
    """Counts by (extra keys, source, status, substatus, produced_by), tagged once, most
    frequent first.  The producer is a key because it decides the meaning: ALB's own 502
    and a target's 502 that ALB passed on are two rows with two meanings."""
    keys = [*extra, "source", "status", "substatus", "status_class", "produced_by"]
    grouped = counts.group_by(keys).agg(pl.col("count").sum(), *_producer_columns())
    tagged = tag(grouped.lazy(), chains, produced_by="produced_by", own_vendors=own).collect()
    return tagged.sort(
        ["count", "source", "status", "substatus", "produced_by"],
        descending=[True, False, False, False, False],
        nulls_last=True,
    )


def status_rows(table: pl.DataFrame, total: int) -> list[StatusRow]:
    return [
        StatusRow(
            source=row["source"],
            status=row["status"],
            substatus=row["substatus"],
            status_class=row["status_class"],
            count=int(row["count"]),
            share=share(int(row["count"]), total),
            name=row["status_name"],
            meaning=row["status_meaning"],
            vendor=row["status_vendor"],
            registered=bool(row["status_registered"]),
            produced_by=row["produced_by"],
            proxy=int(row["proxy"]),
            upstream=int(row["upstream"]),
            unknown=int(row["unknown"]),
        )
        for row in table.iter_rows(named=True)
    ]


def upstream_rows(counts: pl.DataFrame, chains: dict[str, tuple[str, ...]]) -> list[UpstreamRow]:
    present = counts.filter(pl.col("upstream_status").is_not_null())
    if present.height == 0:
        return []
    grouped = present.group_by(["source", "upstream_status"]).agg(pl.col("count").sum())
    total = int(grouped["count"].sum())
    tagged = tag(
        grouped.lazy(), chains, status="upstream_status", substatus=None, prefix="upstream"
    ).collect()
    ordered = tagged.sort(["count", "source", "upstream_status"], descending=[True, False, False])
    return [
        UpstreamRow(
            source=row["source"],
            upstream_status=int(row["upstream_status"]),
            count=int(row["count"]),
            share=share(int(row["count"]), total),
            name=row["upstream_name"],
            meaning=row["upstream_meaning"],
            vendor=row["upstream_vendor"],
        )
        for row in ordered.iter_rows(named=True)
    ]


def layer_rows(counts: pl.DataFrame, name: str, total: int) -> list[LayerRow]:
    """One row per (source, value) of layer `name`, most requests first, with the
    statuses it came with and its meaning (looked up once per distinct value)."""
    grouped = (
        counts.sort(["count", "status"], descending=[True, False], nulls_last=True)
        .group_by(["source", name])
        .agg(pl.col("status"), pl.col("count").alias("counts"), pl.col("count").sum())
        .sort(["count", "source", name], descending=[True, False, False])
    )
    rows = []
    for row in grouped.iter_rows(named=True):
        label, meaning = _layer_meaning(name, row[name])
        rows.append(
            LayerRow(
                layer=name,
                source=row["source"],
                value=str(row[name]),
                count=int(row["count"]),
                share=share(int(row["count"]), total),
                name=label,
                meaning=meaning,
                statuses={
                    status_text(status): int(count)
                    for status, count in zip(row["status"], row["counts"], strict=True)
                },
            )
        )
    return rows


def _layer_meaning(name: str, value: int | str) -> tuple[str | None, str | None]:
    """(symbolic name, meaning) of one layer value; None where the tables do not know it."""
    found = explain_detail(name, value)
    return (None, None) if found is None else (found.name, found.meaning)


def breakdown(
    counts: pl.DataFrame,
    chains: dict[str, tuple[str, ...]],
    own: Mapping[str, tuple[str, ...]],
    by: str,
    total: int,
) -> Breakdown:
    """Class and status tables per value of `by`, busiest first."""
    sizes = (
        counts.group_by(by)
        .agg(pl.col("count").sum())
        .sort(["count", by], descending=[True, False], nulls_last=True)
    )
    extra = [] if by == "source" else [by]
    table = status_table(counts, chains, own, extra)
    groups = []
    for key, size in sizes.iter_rows():
        member = pl.col(by).is_null() if key is None else pl.col(by) == key
        groups.append(
            Group(
                key=key,
                records=int(size),
                share=share(int(size), total),
                classes=class_rows(counts.filter(member), int(size)),
                statuses=status_rows(table.filter(member), int(size)),
            )
        )
    return Breakdown(by=by, groups=groups)


def count_rows(counts: pl.DataFrame) -> list[CountRow]:
    keys = ["source", "host", "status_class", "status"]
    grouped = (
        ensure_columns(counts, ["host"])
        .group_by(keys)
        .agg(pl.col("count").sum())
        .sort(keys, nulls_last=True)
    )
    return [
        CountRow(
            source=row["source"],
            host=row["host"],
            status_class=row["status_class"],
            status=row["status"],
            count=int(row["count"]),
        )
        for row in grouped.iter_rows(named=True)
    ]
