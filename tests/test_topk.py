"""--top (and the dashboard's error paths) in bounded memory: exact while the distinct
values fit the budget, then approximate with a stated error that holds."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstat.dashboard import DashboardBuilder
from logstat.filters import parse_filters
from logstat.reading import pipeline
from logstat.reading.sources import expand
from logstat.report.model import TopField
from logstat.summary import PartialSummary, ReportSettings, topk
from logstat.summary.topk import COUNT, ERROR, TopCounts, distinct_estimate, water_level
from tests.helpers import (
    START,
    Record,
    frame_of,
    reference_groups,
    run_cli,
    summarise,
    write_requests,
)

SCHEMA = {"status": pl.Int16(), "path": pl.String()}
Pair = tuple[int, str]


def sketch(budget: int) -> TopCounts:
    return TopCounts(["status"], "path", SCHEMA, budget)


def chunk_counts(pairs: list[Pair]) -> pl.DataFrame:
    frame = pl.DataFrame(
        {"status": [status for status, _ in pairs], "path": [path for _, path in pairs]},
        schema=SCHEMA,
    )
    return frame.group_by("status", "path").agg(pl.len().alias(COUNT))


def check_bound(counts: TopCounts, truth: Counter[Pair]) -> None:
    """reported <= true <= reported + error, and every value above the error is kept."""
    kept = {(row[0], row[1]): row[2] for row in counts.counts().iter_rows()}
    errors = {row[0]: row[1] for row in counts.errors().select("status", ERROR).iter_rows()}
    assert set(kept) <= set(truth)
    for key, true in truth.items():
        reported, error = kept.get(key, 0), errors.get(key[0], 0)
        assert reported <= true <= reported + error, (key, reported, true, error)
        if true > error:
            assert key in kept
    for status in {status for status, _ in truth}:
        # fewer values than the hash sample: the distinct count is exact, else estimated
        hashes = counts.hashes().filter(pl.col("status") == status)
        distinct = len({key for key in truth if key[0] == status})
        if distinct < topk.SAMPLE:
            assert distinct_estimate(hashes) == distinct
        else:
            assert abs(distinct_estimate(hashes) - distinct) < distinct * 0.1
    for status, error in errors.items():
        total = sum(count for key, count in truth.items() if key[0] == status)
        counted = sum(count for key, count in kept.items() if key[0] == status)
        # the Misra-Gries bound: each reduction dropped at least (keep + 1) x its cut
        assert error <= (total - counted) / 2  # keep >= 1


pairs_strategy = st.lists(
    st.tuples(
        st.sampled_from([200, 404, 500]),
        # skewed: a few hot paths among many rare ones
        st.one_of(st.sampled_from(["/hot", "/warm"]), st.integers(0, 60).map(lambda n: f"/{n}")),
    ),
    max_size=400,
)


@settings(max_examples=60, deadline=None)
@given(
    pairs=pairs_strategy,
    budget=st.integers(1, 30),
    chunk=st.integers(1, 50),
    split=st.integers(0, 400),
)
def test_counts_stay_within_the_stated_error(
    pairs: list[Pair], budget: int, chunk: int, split: int
) -> None:
    truth = Counter(pairs)
    # two builders over two parts of the input, merged: as workers will be
    first, second = sketch(budget), sketch(budget)
    for builder, part in ((first, pairs[:split]), (second, pairs[split:])):
        for start in range(0, len(part), chunk):
            builder.add(chunk_counts(part[start : start + chunk]))
            # held: the kept counters (<= budget, or one per status), what was added
            # since (<= budget + a chunk), an error row per status, and the hashes of
            # the values (at most SAMPLE per status, taken when reducing)
            hashes = min(len(set(part[: start + chunk])), 3 * topk.SAMPLE)
            assert builder.held_rows <= 2 * budget + chunk + 2 * 3 + hashes
        check_bound(builder, Counter(part))
    first.merge(second)
    check_bound(first, truth)
    if len(truth) <= budget:  # it fits: exact
        assert first.errors().height == 0
        assert dict(Counter(pairs)) == {
            (row[0], row[1]): row[2] for row in first.counts().iter_rows()
        }


def test_long_values_are_bounded_by_bytes() -> None:
    """2 KB values: the byte budget, not the row budget, limits what is held."""
    counts = TopCounts(["status"], "path", SCHEMA, budget=10_000, budget_bytes=64 << 10)
    truth: Counter[Pair] = Counter()
    largest = 0
    for start in range(0, 3000, 30):
        pairs = [
            (200, ("/hot" if n % 3 == 0 else f"/{n}").ljust(2048, "x"))
            for n in range(start, start + 30)
        ]
        truth.update(pairs)
        added = chunk_counts(pairs)
        largest = max(largest, added.estimated_size())
        counts.add(added)
        assert counts.held_bytes <= 2 * (64 << 10) + largest
    assert counts.counts().height < 100  # of 2,001 distinct values
    check_bound(counts, truth)
    assert counts.errors()[ERROR].sum() > 0


def test_distinct_values_are_estimated_within_a_few_percent() -> None:
    """Past SAMPLE values, the k-minimum-values estimate, also over merged summaries."""
    first, second = sketch(100), sketch(100)
    for start in range(0, 60_000, 5_000):
        pairs = [(200 if n % 3 else 404, f"/{n % 50_000}") for n in range(start, start + 5_000)]
        (first if start % 2 else second).add(chunk_counts(pairs))
    first.merge(second)
    assert first.held_rows <= 2 * 100 + 2 * 1024 + 2 + 2  # counters kept and pending
    both = distinct_estimate(first.hashes())
    assert abs(both - 50_000) < 50_000 * 0.1  # 3 standard errors
    only_404 = distinct_estimate(first.hashes().filter(pl.col("status") == 404))
    true_404 = len({n % 50_000 for n in range(60_000) if n % 3 == 0})
    assert abs(only_404 - true_404) < true_404 * 0.1


def test_water_level_shares_the_budget() -> None:
    assert water_level([5, 100, 100], 105) == 50  # the small partition keeps all
    assert sum(min(size, water_level([5, 100, 100], 105)) for size in [5, 100, 100]) <= 105
    assert water_level([3, 4], 100) == 4
    assert water_level([10, 10, 10], 2) == 1  # at least one counter each


# --- through the report ----------------------------------------------------------


def distinct_records(count: int, hot: int = 0) -> list[Record]:
    """Every request from another client to another path, but every `hot`-th to /hot."""
    return [
        Record(
            "h",
            f"10.{number // 65536}.{number // 256 % 256}.{number % 256}",
            START + timedelta(seconds=number),
            "GET",
            "/hot" if hot and number % hot == 0 else f"/p{number}",
            404 if number % 5 == 0 else 200,
            "x",
        )
        for number in range(count)
    ]


def test_held_rows_stay_under_the_budget_whatever_the_cardinality(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(topk, "BUDGET", 40)
    monkeypatch.setattr(topk, "SAMPLE", 16)  # hashes kept per status for distinct
    records = distinct_records(3000, hot=7)
    log = write_requests(tmp_path / "access.log", records)
    chosen = ReportSettings(top=3, top_fields=("path", "client_ip"))
    options = pipeline.Options(format="apache", chunk_bytes=4000)
    runs = pipeline.plan(expand([str(log)]), options)
    builder = PartialSummary(chosen)
    held, largest_chunk = [], 0
    for _, frame in pipeline.read(runs, options, chosen.needed()):
        builder.add(frame)
        held.append(builder.held_rows)
        largest_chunk = max(largest_chunk, frame.height)
    assert len(held) > 50  # many chunks
    # per field: kept (<= 40) + added since (<= 40 + a chunk) + 2 error rows + hashes
    # (16 per status); the status and reject parts: a few rows per chunk, merged every
    # COMPACT_EVERY chunks
    assert max(held) <= 2 * (2 * 40 + largest_chunk + 2 + 2 * 16) + 64 * 4
    assert max(held) < len(records) / 3  # the distinct values are 6,000
    builder.add_files(runs)
    result = builder.summary()
    assert result.top is not None
    group = result.top.groups[0]
    assert group.group == "2xx"
    path = group.fields[0]
    assert path.error is not None and path.error < 100
    hot = sum(1 for record in records if record.path == "/hot" and record.status == 200)
    assert path.entries[0].value == "/hot"  # the only value that repeats
    assert hot - path.error <= path.entries[0].count <= hot
    assert path.missing == 0
    # estimated from 16 hashes: rough, but never more than the requests with a value
    for each in result.top.groups:
        for found in each.fields:
            assert len(found.entries) <= found.distinct <= each.count - found.missing
    assert path.others == group.count - path.entries[0].count - sum(
        entry.count for entry in path.entries[1:]
    )


def check_approximate(found: TopField, members: list[Record], size: int, limit: int) -> None:
    values = Counter(getattr(record, found.field) for record in members)
    error = found.error or 0
    if not error:  # exact: as without a budget
        ranked = sorted(values.items(), key=lambda item: (-item[1], item[0]))[:limit]
        assert [(entry.value, entry.count) for entry in found.entries] == ranked
        assert found.distinct == len(values)
    for entry in found.entries:
        assert entry.count <= values[entry.value] <= entry.count + error
    listed = {entry.value for entry in found.entries}
    floor = found.entries[-1].count if len(found.entries) == limit else 0
    for value, true in values.items():
        if value not in listed:
            assert true <= floor + error, (value, true, floor, error)
    # fewer values than the hash sample (1,024): the distinct count stays exact
    assert found.distinct == len(values) and found.missing == 0
    assert found.others == size - sum(entry.count for entry in found.entries)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=st.lists(
        st.builds(
            Record,
            host=st.just("h"),
            client_ip=st.sampled_from([f"192.0.2.{number}" for number in range(1, 40)]),
            moment=st.just(START),
            method=st.just("GET"),
            path=st.one_of(
                st.sampled_from(["/a", "/b"]), st.integers(0, 80).map(lambda n: f"/p{n}")
            ),
            status=st.sampled_from([200, 304, 404, 500, 503]),
            user_agent=st.just("x"),
        ),
        max_size=250,
    ),
    budget=st.integers(2, 40),
    limit=st.integers(1, 4),
    by=st.sampled_from(["class", "status", "selection"]),
)
def test_the_report_states_an_error_that_holds(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    records: list[Record],
    budget: int,
    limit: int,
    by: str,
) -> None:
    monkeypatch.setattr(topk, "BUDGET", budget)
    filters = parse_filters(statuses=["5xx,404,200-304"] if by == "selection" else [])
    top_by = None if by in ("selection", "class") else by
    log = write_requests(tmp_path / "access.log", records)
    chosen = ReportSettings(
        filters=filters, top=limit, top_fields=("path", "client_ip"), top_by=top_by
    )
    result = summarise([log], chosen, chunk_bytes=600)
    assert result.top is not None
    expected = reference_groups(records, by, filters.statuses)
    assert [group.group for group in result.top.groups] == [label for label, _ in expected]
    for group, (_, members) in zip(result.top.groups, expected, strict=True):
        assert group.count == len(members)
        for found in group.fields:
            check_approximate(found, members, group.count, limit)


def test_text_json_and_markdown_state_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(topk, "BUDGET", 20)
    log = write_requests(tmp_path / "access.log", distinct_records(400, hot=5))
    code, out, _ = run_cli(
        "report", str(log), "--top", "2", "--top-fields", "path", in_process=True
    )
    assert code == 0
    assert "about" in out and "Approximate" in out and "may be low by up to" in out
    code, out, _ = run_cli("report", str(log), "--top", "2", "--json", in_process=True)
    document = json.loads(out)
    fields = [found for group in document["top"]["groups"] for found in group["fields"]]
    assert any(found.get("error", 0) >= 1 for found in fields)
    # a field that fit (the one host) stays exact: no error key at all
    assert all("error" not in found for found in fields if found["field"] == "host")
    code, out, _ = run_cli("report", str(log), "--top", "2", "--markdown", in_process=True)
    assert "Approximate" in out


def test_small_inputs_stay_exact(tmp_path: Path) -> None:
    records = distinct_records(300)
    log = write_requests(tmp_path / "access.log", records)
    result = summarise([log], ReportSettings(top=3, top_fields=("path",)), chunk_bytes=500)
    assert result.top is not None
    for group in result.top.groups:
        assert all(found.error is None for found in group.fields)
    assert "error" not in json.dumps(result.to_json()["top"])


def test_dashboard_error_paths_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topk, "BUDGET", 30)
    monkeypatch.setattr(topk, "SAMPLE", 16)
    builder = DashboardBuilder(top=3)
    truth: Counter[str] = Counter()
    for start in range(0, 2000, 100):
        numbers = range(start, start + 100)
        paths = ["/hot" if number % 4 == 0 else f"/p{number}" for number in numbers]
        truth.update(paths)
        builder.add(
            frame_of(
                [(START, 404 if n % 2 else 502, p) for n, p in zip(numbers, paths, strict=True)]
            )
        )
        # minutes + kept (<= 30) and added since (<= 30 + a chunk), 2 error rows, and
        # hashes (16 per status)
        assert builder.held_rows <= 1 + 2 * 30 + 100 + 2 + 2 * 16
    data = builder.build([])
    error = data["error_paths_error"]
    assert error is not None and error >= 1
    (hot, *_) = data["error_paths"]
    assert hot["path"] == "/hot" and hot["errors"] <= 500 <= hot["errors"] + error
