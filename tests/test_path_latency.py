"""Latency and bytes per top path: exact (or within the sketch's error) and split-proof
while the paths fit the budget; past it, bounded, with every count within the stated
error and figures that describe only the requests counted."""

from __future__ import annotations

import json
import random
from collections import Counter
from importlib import resources

import jsonschema
import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat import schema
from logstat.report.latency_model import Latency, TopPaths
from logstat.report.latency_text import latency_tables
from logstat.report.model import SCHEMA_RESOURCE, _plain
from logstat.summary.latency import RELATIVE_ACCURACY, bucket_figures, measured_durations
from logstat.summary.latency_rows import _top_paths
from logstat.summary.path_latency import PathLatency
from tests.helpers import FIXTURES, REPORT_FIXTURES, run_cli

# the schema of `latency` alone, its references resolved in the whole schema's $defs
SCHEMA = json.loads(resources.files("logstat").joinpath(SCHEMA_RESOURCE).read_text("utf-8"))
LATENCY_SCHEMA = jsonschema.Draft202012Validator(
    {**SCHEMA["properties"]["latency"], "$defs": SCHEMA["$defs"]}
)
EXAMPLES = settings(max_examples=50, deadline=None)
REQUEST = st.tuples(
    st.integers(0, 30),  # path number: a few busy paths and a tail (skewed below)
    st.one_of(st.none(), st.integers(0, 600_000).map(lambda ms: ms / 1000)),
    st.one_of(st.none(), st.integers(0, 10_000)),
)


def records(requests: list[tuple[int, float | None, int | None]]) -> pl.DataFrame:
    """Selected records as the summary sees them (with a target phase for half)."""
    return pl.DataFrame(
        {
            "path": [f"/p{number * number // 30}" for number, _, _ in requests],
            schema.DURATION: [seconds for _, seconds, _ in requests],
            "target_processing_time_s": [
                None if seconds is None or index % 2 else seconds / 2
                for index, (_, seconds, _) in enumerate(requests)
            ],
            "bytes_sent": [sent for _, _, sent in requests],
        },
        schema={
            "path": pl.String(),
            schema.DURATION: pl.Float64(),
            "target_processing_time_s": pl.Float64(),
            "bytes_sent": pl.Int64(),
        },
    )


def top_of(
    frame: pl.DataFrame, parts: int, seed: int, limit: int = 50, **budget: int
) -> tuple[TopPaths, int]:
    """The top paths of `frame` cut into `parts` merged in a random order, and the most
    rows any state held."""
    bounds = sorted(random.Random(seed).randrange(frame.height + 1) for _ in range(parts - 1))
    pieces, held = [], 0
    for start, end in zip([0, *bounds], [*bounds, frame.height], strict=True):
        state = PathLatency(**budget)
        for chunk in frame.slice(start, end - start).iter_slices(7):
            state.add(chunk)
            held = max(held, state.held_rows)
        pieces.append(state)
    random.Random(seed).shuffle(pieces)
    merged = PathLatency(**budget)
    for piece in pieces:
        merged.merge(piece)
        held = max(held, merged.held_rows)
    return _top_paths(merged, limit), held


@EXAMPLES
@given(
    requests=st.lists(REQUEST, min_size=1, max_size=250),
    parts=st.integers(1, 6),
    seed=st.integers(0, 2**32),
)
def test_within_budget_any_split_equals_one_pass_and_the_exact_figures(
    requests: list[tuple[int, float | None, int | None]], parts: int, seed: int
) -> None:
    frame = records(requests)
    top, _ = top_of(frame, parts, seed)
    assert (top, 0) == (top_of(frame, 1, 0)[0], top.error)
    truth = frame.group_by("path").agg(
        pl.len().alias("requests"),
        pl.col("bytes_sent").sum().alias("bytes"),
        pl.col("bytes_sent").count().alias("with_bytes"),
    )
    assert all(row.missed == 0 for row in top.paths)
    assert {row.path: (row.requests, row.bytes, row.with_bytes) for row in top.paths} == {
        path: (count, sent, logged) for path, count, sent, logged in truth.iter_rows()
    }
    counts = [row.requests for row in top.paths]
    assert counts == sorted(counts, reverse=True)
    for row in top.by_path:
        values = frame.filter(pl.col("path") == row.path)[row.measure].drop_nulls().to_numpy()
        assert row.requests == values.size and row.max == values.max()
        for name, quantile in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            true = float(np.quantile(values, quantile, method="lower"))
            assert abs(getattr(row, name) - true) <= RELATIVE_ACCURACY * true * (1 + 1e-9) + 1e-12


@EXAMPLES
@given(
    requests=st.lists(REQUEST, min_size=1, max_size=400),
    parts=st.integers(1, 6),
    seed=st.integers(0, 2**32),
    paths=st.integers(1, 6),
    rows=st.integers(1, 60),
)
def test_past_the_budget_counts_stay_within_the_error_and_figures_are_of_those_counted(
    requests: list[tuple[int, float | None, int | None]],
    parts: int,
    seed: int,
    paths: int,
    rows: int,
) -> None:
    frame = records(requests)
    top, held = top_of(frame, parts, seed, paths=paths, rows=rows)
    true = Counter(frame["path"].to_list())
    # twice each budget between reductions (2 x 2 measures of extremes a path), or one
    # path's buckets when they alone pass the rows
    buckets, _ = bucket_figures(measured_durations(frame, ["path"]), ["path"])
    widest = int(buckets.group_by("path").len()["len"].max() or 0)  # type: ignore[arg-type]
    assert held <= 6 * paths + 2 * rows + widest
    assert top.error <= len(requests)
    for row in top.paths:
        # each path's own bound, within the state's
        assert row.requests <= true[row.path] <= row.requests + row.missed
        assert row.missed <= top.error
    shown = {row.path for row in top.paths}
    for path, count in true.items():
        # a path missing from the list had no more requests than the error allows, or
        # was crowded out by as many paths with more requests counted
        assert path in shown or count <= top.error or len(shown) == 50
    for row in top.by_path:
        values = frame.filter(pl.col("path") == row.path)[row.measure].drop_nulls()
        assert row.requests <= values.len() and row.max <= values.max()  # type: ignore[operator]
    if top.error == 0:  # nothing was dropped: as exact as within budget
        assert top == top_of(frame, 1, 0)[0]


def test_a_busy_path_among_many_rare_ones_is_counted_within_the_error() -> None:
    """12,000 requests, 1 in 4 to /busy, the others to 9,000 paths, held for 20 paths."""
    count = 12_000
    frame = pl.DataFrame(
        {
            "path": ["/busy" if index % 4 == 0 else f"/rare/{index}" for index in range(count)],
            schema.DURATION: [0.001 * (index % 50) for index in range(count)],
            "bytes_sent": [100] * count,
        }
    )
    top, held = top_of(frame, 3, 1, limit=3, paths=20, rows=2_000)
    [busy, *_] = top.paths
    # held from the start in every part: known to be whole, though rare paths were dropped
    assert (busy.path, busy.requests, busy.missed) == ("/busy", 3000, 0)
    assert 0 < top.error <= count // 21  # requests / (paths held + 1)
    assert held <= 6 * 20 + 2 * 2_000


def test_the_report_shows_the_top_paths_in_every_view() -> None:
    log = str(FIXTURES / "alb" / "requests.log")
    code, out, _ = run_cli(log, "--top", "2", "--json", in_process=True)
    assert code == 0
    top = json.loads(out)["latency"]["top_paths"]
    assert top["limit"] == 2 and top["error"] == 0 and len(top["paths"]) <= 2
    assert {row["measure"] for row in top["by_path"]} >= {"request_time_s"}
    _, text, _ = run_cli(log, "--top", "2", in_process=True)
    assert "Latency by path" in text and "Requests and bytes by path" in text
    _, markdown, _ = run_cli(log, "--top", "2", "--markdown", in_process=True)
    assert "## Latency by path" in markdown
    # without --top, or with --top over other fields: nothing per path
    _, plain, _ = run_cli(log, "--json", in_process=True)
    assert "top_paths" not in json.loads(plain)["latency"]
    _, others, _ = run_cli(log, "--json", "--top", "2", "--top-fields", "client", in_process=True)
    assert "top_paths" not in json.loads(others)["latency"]
    # logs without durations: no latency at all
    vhosts_log = str(REPORT_FIXTURES / "apache_vhosts.log")
    _, vhosts, _ = run_cli(vhosts_log, "--json", "--top", "2", in_process=True)
    assert "latency" not in json.loads(vhosts)


def test_past_the_budget_the_views_say_what_was_not_counted() -> None:
    """Held for 3 paths: the JSON (valid against the schema) and the text say which
    counts may be short, and by how much."""
    requests = [(index % 13 if index % 3 else 0, 0.001 * (index % 40), 10) for index in range(300)]
    frame = records(requests)
    top, _ = top_of(frame, 4, 2, limit=5, paths=3)
    assert top.error > 0 and any(row.missed for row in top.paths)
    latency = Latency(RELATIVE_ACCURACY, 0, [], [], [], [], top_paths=top)
    document = json.loads(json.dumps(_plain(latency)))  # as --json writes it
    LATENCY_SCHEMA.validate(document)
    text = "\n".join(
        "\n".join(["  ".join(row) for row in table["rows"]] + [table["note"] or ""])
        for table in latency_tables(latency)
    )
    assert "<= " in text and "figures describe the requests counted" in text


@EXAMPLES
@given(
    requests=st.lists(st.tuples(REQUEST, st.sampled_from(["alb", "nginx"])), max_size=300),
    parts=st.integers(1, 6),
    seed=st.integers(0, 2**32),
    paths=st.sampled_from([3, 1_000]),
)
def test_each_source_has_its_own_top_paths_within_the_same_bounds(
    requests: list[tuple[tuple[int, float | None, int | None], str]],
    parts: int,
    seed: int,
    paths: int,
) -> None:
    """Two sources: a (source, path) is counted as a path is, each source's `limit`
    busiest apart, most requests first; within budget, exact, whatever the split."""
    frame = records([request for request, _ in requests]).with_columns(
        pl.Series("source", [source for _, source in requests], dtype=pl.String)
    )
    top, _ = top_of(frame, parts, seed, limit=4, paths=paths)
    true = Counter(zip(frame["source"].to_list(), frame["path"].to_list(), strict=True))
    sources = [row.source or "" for row in top.paths]
    assert sources == sorted(sources) and all(sources.count(name) <= 4 for name in sources)
    for name in set(sources):
        counts = [row.requests for row in top.paths if (row.source or "") == name]
        assert counts == sorted(counts, reverse=True)
    apart = len({source for _, source in requests}) > 1
    for row in top.paths:
        assert (row.source is not None) == apart
        count = true[row.source or frame["source"][0], row.path]
        assert row.requests <= count <= row.requests + row.missed and row.missed <= top.error
    if top.error == 0:
        assert top == top_of(frame, 1, 0, limit=4, paths=paths)[0]
        for name in {source for source, _ in true}:
            busiest = sorted(count for (source, _), count in true.items() if source == name)
            assert [row.requests for row in top.paths if (row.source or name) == name] == (
                busiest[::-1][:4]
            )
