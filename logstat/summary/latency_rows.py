"""The latency report (report/latency_model.py) from the merged latency counts."""

from __future__ import annotations

from typing import Any

import polars as pl

from logstat.report.latency_model import (
    ClassDurations,
    Latency,
    PathCount,
    PathDurations,
    SlowRequest,
    StatusBytes,
    StatusDurations,
    TopPaths,
)
from logstat.summary.latency import (
    KEYS,
    MEASURE,
    MEASURES,
    QUANTILES,
    RELATIVE_ACCURACY,
    LatencyCounts,
    quantile_name,
    quantiles,
)
from logstat.summary.path_latency import KEYS as PATH_KEYS
from logstat.summary.path_latency import PATH, REQUESTS, SOURCE, PathLatency
from logstat.summary.settings import CLASS_ORDER

QUANTILE_NAMES = [quantile_name(quantile) for quantile in QUANTILES]


def latency_report(
    counts: LatencyCounts, paths: PathLatency | None = None, limit: int = 0
) -> Latency | None:
    """None when no selected record has a duration; per path for the `limit` paths with
    the most requests when `paths` were counted."""
    buckets, extremes = counts.buckets.table(), counts.extremes.table()
    if buckets is None:
        return None
    by_status = _durations(buckets, extremes, [*KEYS, MEASURE])
    negative = int(by_status["negative"].sum())
    measured = by_status.filter(pl.col("requests") > 0)
    if measured.height == 0 and not negative:
        return None
    # durations of different sources mean different things (ALB's request_processing_time
    # is not nginx's $request_time): by class, each source apart when there are several
    several = measured.get_column("source").n_unique() > 1
    class_keys = ["source"] if several else []
    by_class = _durations(buckets, extremes, [*class_keys, "status_class", MEASURE])
    order = {name: index for index, name in enumerate(MEASURES)}
    classes = {name: index for index, name in enumerate(CLASS_ORDER)}
    class_rows = sorted(
        by_class.filter(pl.col("requests") > 0).iter_rows(named=True),
        key=lambda row: (
            row.get("source") or "",
            classes.get(row["status_class"], len(classes)),
            order[row[MEASURE]],
        ),
    )
    status_rows = measured.sort(["source", "status", MEASURE], nulls_last=True).iter_rows(
        named=True
    )
    return Latency(
        relative_accuracy=RELATIVE_ACCURACY,
        negative=negative,
        by_class=[
            ClassDurations(
                source=row.get("source"),
                status_class=row["status_class"],
                measure=row[MEASURE],
                **_figures(row),
            )
            for row in class_rows
        ],
        by_status=sorted(
            (
                StatusDurations(
                    source=row["source"],
                    status=row["status"],
                    status_class=row["status_class"],
                    measure=row[MEASURE],
                    **_figures(row),
                )
                for row in status_rows
            ),
            key=lambda row: (row.source, row.status is None, row.status or 0, order[row.measure]),
        ),
        bytes_by_status=_bytes(counts),
        slowest=[
            SlowRequest(
                source=row["source"],
                timestamp=row["timestamp"],
                status=row["status"],
                path=row["path"],
                seconds=float(row["request_time_s"]),
            )
            for row in (counts.slowest.iter_rows(named=True) if counts.slowest is not None else [])
        ],
        top_paths=_top_paths(paths, limit, several) if paths is not None and limit else None,
    )


def _top_paths(state: PathLatency, limit: int, several: bool = False) -> TopPaths:
    """The top paths; each source's apart (rows with a `source`) when `several` sources
    log durations (as the table by class) or several logged the paths counted."""
    found = state.top(limit)
    paths, rows = [], []
    if found is not None:
        counts, buckets, extremes = found
        apart = several or len(state.sources) > 1
        order = {key: index for index, key in enumerate(counts.select(PATH_KEYS).iter_rows())}
        paths = [
            PathCount(
                source=row[SOURCE] if apart else None,
                path=row[PATH],
                requests=int(row[REQUESTS]),
                missed=int(row["missed"]),
                with_bytes=int(row["with_bytes"]),
                bytes=int(row["bytes"]),
            )
            for row in counts.iter_rows(named=True)
        ]
        if buckets is not None and buckets.height:
            durations = _durations(buckets, extremes, [*PATH_KEYS, MEASURE])
            measures = {name: index for index, name in enumerate(MEASURES)}
            measured = durations.filter(pl.col("requests") > 0).iter_rows(named=True)
            ranked = sorted(
                (
                    (
                        order[row[SOURCE], row[PATH]],
                        measures[row[MEASURE]],
                        PathDurations(
                            source=row[SOURCE] if apart else None,
                            path=row[PATH],
                            measure=row[MEASURE],
                            **_figures(row),
                        ),
                    )
                    for row in measured
                ),
                key=lambda item: item[:2],
            )
            rows = [row for *_, row in ranked]
    return TopPaths(limit=limit, error=state.error, paths=paths, by_path=rows)


def _durations(
    buckets: pl.DataFrame, extremes: pl.DataFrame | None, keys: list[str]
) -> pl.DataFrame:
    """Quantiles per group of `keys`, clamped to the exact smallest and largest (the
    sketch's estimate can pass them by up to its error), with the exact mean."""
    found = quantiles(buckets, keys)
    if extremes is None:
        return found.with_columns(
            pl.lit(None, dtype=pl.Float64).alias(name) for name in ("largest", "smallest", "mean")
        )
    exact = extremes.group_by(keys).agg(
        pl.col("largest").max(), pl.col("smallest").min(), pl.col("microseconds").sum()
    )
    joined = found.join(exact, on=keys, how="left", nulls_equal=True)
    return joined.with_columns(
        *(
            pl.col(name).clip(pl.col("smallest"), pl.col("largest")).alias(name)
            for name in QUANTILE_NAMES
        ),
        (pl.col("microseconds") / pl.col("requests") / 1_000_000).round(6).alias("mean"),
    )


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "requests": int(row["requests"]),
        **{name: row[name] for name in QUANTILE_NAMES},
        "max": row["largest"],
        "mean": row["mean"],
        "sum": round(row["microseconds"] / 1_000_000, 6),
    }


def _bytes(counts: LatencyCounts) -> list[StatusBytes]:
    table = counts.bytes.table()
    if table is None:
        return []
    ordered = table.sort(["source", "status"], nulls_last=True)
    return [
        StatusBytes(
            source=row["source"],
            status=row["status"],
            status_class=row["status_class"],
            requests=int(row["with_bytes"]),
            bytes=int(row["bytes"]),
            mean=round(int(row["bytes"]) / int(row["with_bytes"]), 1),
        )
        for row in ordered.iter_rows(named=True)
        if row["with_bytes"]
    ]
