"""--top: exact top-k paths, clients, hosts and user agents per status group, with
memory bounded by distinct keys and only the needed columns parsed."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstat.filters import parse_filters
from logstat.reading import pipeline
from logstat.reading.sources import expand
from logstat.report.model import TopGroup
from logstat.status import status_class
from logstat.summary import PartialSummary, ReportSettings, parse_top_fields
from logstat.summary import partial as partial_module
from tests.helpers import START, Record, reference_groups, run_cli, summarise, write_requests
from tests.strategies import records_strategy

FIELDS = ("path", "client_ip", "host", "user_agent", "method")


def check_group(group: TopGroup, members: list[Record], limit: int) -> None:
    assert group.count == len(members)
    for found in group.fields:
        values = Counter(getattr(record, found.field) for record in members)
        ranked = sorted(values.items(), key=lambda item: (-item[1], item[0]))[:limit]
        assert [(entry.value, entry.count) for entry in found.entries] == ranked
        assert found.distinct == len(values) and found.missing == 0
        assert found.others == len(members) - sum(count for _, count in ranked)
        for entry in found.entries:
            assert entry.share == round(entry.count / len(members), 6)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=records_strategy,
    limit=st.integers(1, 4),
    by=st.sampled_from(["selection", "class", "status"]),
    statuses=st.sampled_from([["5xx,499"], ["400-403", "2xx", "404"], []]),
)
def test_top_k_is_exact(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    records: list[Record],
    limit: int,
    by: str,
    statuses: list[str],
) -> None:
    monkeypatch.setattr(partial_module, "COMPACT_EVERY", 2)  # merge partial counts often
    filters = parse_filters(statuses=statuses)
    if by == "selection" and not filters.statuses:
        by = "class"
    top_by = None if by == "selection" or (by == "class" and not filters.statuses) else by
    log = write_requests(tmp_path / "access.log", records)
    chosen = ReportSettings(filters=filters, top=limit, top_fields=FIELDS, top_by=top_by)
    result = summarise([log], chosen, chunk_bytes=400)
    kept = [
        record
        for record in records
        if not filters.statuses
        or any(term.covers(record.status, status_class(record.status)) for term in filters.statuses)
    ]
    assert result.top is not None and result.top.by == by and result.top.limit == limit
    expected = reference_groups(kept, by, filters.statuses)
    assert [group.group for group in result.top.groups] == [label for label, _ in expected]
    for group, (_, members) in zip(result.top.groups, expected, strict=True):
        assert [found.field for found in group.fields] == list(FIELDS)
        check_group(group, members, limit)


def test_missing_fields_are_counted_not_ranked(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text('192.0.2.1 "GET /a HTTP/1.1" 500\n192.0.2.1 "GET /b HTTP/1.1" 500\n')
    chosen = ReportSettings(top=5, top_fields=("path", "host"))
    result = summarise([log], chosen, log_format='%h "%r" %>s')
    assert result.top is not None
    (group,) = result.top.groups
    path, host = group.fields
    assert [(entry.value, entry.count) for entry in path.entries] == [("/a", 1), ("/b", 1)]
    assert host.entries == [] and host.missing == 2 and host.distinct == 0 and host.others == 0


def test_memory_grows_with_distinct_keys_not_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(partial_module, "COMPACT_EVERY", 4)
    paths = [f"/p{number}" for number in range(5)]
    records = [
        Record(
            "h", "192.0.2.1", START + timedelta(seconds=index), "GET", paths[index % 5], 404, "x"
        )
        for index in range(3000)
    ]
    log = write_requests(tmp_path / "access.log", records)
    chosen = ReportSettings(top=3, top_fields=("path",))
    options = pipeline.Options(format="apache", chunk_bytes=2000)
    runs = pipeline.plan(expand([str(log)]), options)
    builder = PartialSummary(chosen)
    held = []
    for _, frame in pipeline.read(runs, options, chosen.needed()):
        builder.add(frame)
        held.append(builder.held_rows)
    assert len(held) > 50  # many chunks
    # one (status, path) row per distinct path and chunk, merged every 4 chunks
    assert max(held) <= 4 * (5 + 1 + 1 + 1)
    builder.add_files(runs)
    result = builder.summary()
    assert result.top is not None
    assert [entry.count for entry in result.top.groups[0].fields[0].entries] == [600, 600, 600]


def test_only_the_needed_columns_are_parsed(tmp_path: Path) -> None:
    records = [Record("h", "192.0.2.1", START, "GET", "/", 200, "agent")]
    log = write_requests(tmp_path / "access.log", records)
    options = pipeline.Options(format="apache")
    plain = ReportSettings()
    drilled = ReportSettings(top=3, top_fields=parse_top_fields(["path,agent"]))
    for chosen, present, absent in (
        (plain, set(), {"user_agent", "path", "client_ip", "host"}),
        (drilled, {"user_agent", "path"}, {"client_ip", "host"}),
    ):
        runs = pipeline.plan(expand([str(log)]), options)
        ((_, frame),) = list(pipeline.read(runs, options, chosen.needed()))
        assert present <= set(frame.columns) and not absent & set(frame.columns)


def test_top_field_names_and_aliases() -> None:
    assert parse_top_fields([]) == ("path", "client_ip", "host", "user_agent")
    assert parse_top_fields(["client,agent", "path", "ua"]) == ("client_ip", "user_agent", "path")


def test_report_is_summary_with_top_10(tmp_path: Path) -> None:
    records = [
        Record("h", f"192.0.2.{index % 12}", START, "GET", f"/p{index % 13}", 500, "x")
        for index in range(40)
    ]
    log = write_requests(tmp_path / "apache_access.log", records)
    _, summary_out, _ = run_cli("summary", str(log), "--json", in_process=True)
    _, report_out, _ = run_cli("report", str(log), "--json", in_process=True)
    _, none_out, _ = run_cli("report", str(log), "--top", "0", "--json", in_process=True)
    plain, report, none = json.loads(summary_out), json.loads(report_out), json.loads(none_out)
    assert plain["top"] is None and none == plain
    assert report["top"]["limit"] == 10 and report["top"]["by"] == "class"
    assert report | {"top": None} == plain
    path = report["top"]["groups"][0]["fields"][0]
    assert path["field"] == "path" and len(path["entries"]) == 10 and path["distinct"] == 13


def test_top_by_needs_top(tmp_path: Path) -> None:
    log = write_requests(tmp_path / "apache_access.log", [])
    code, _, err = run_cli("summary", str(log), "--top-by", "status", in_process=True)
    assert code == 2 and "--top" in err


def test_terminal_drill_down(tmp_path: Path) -> None:
    records = [
        Record("h", "192.0.2.1", START, "GET", "/[bold]x[/]", 500, "a"),
        Record("h", "192.0.2.1", START, "GET", "/[bold]x[/]", 502, "a"),
        Record("h", "192.0.2.2", START, "GET", "/other", 499, "a"),
        Record("h", "192.0.2.3", START, "GET", "/ok", 200, "a"),
    ]
    log = write_requests(tmp_path / "apache_access.log", records)
    code, out, _ = run_cli(
        "report",
        str(log),
        "--status",
        "5xx,499",
        "--top",
        "1",
        "--top-fields",
        "path",
        in_process=True,
    )
    assert code == 0
    assert (
        "Top path for 5xx (2 requests, 1 distinct)\n"
        "path         requests   share\n"
        "/[bold]x[/]         2  100.0%\n"
    ) in out
    assert "Top path for 499 (1 request, 1 distinct)\npath    requests   share\n/other" in out
