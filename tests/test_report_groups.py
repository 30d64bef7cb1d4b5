"""--by source|host|file, and per-source tables by default when several sources are read."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from logstat.report.model import Summary
from logstat.status import status_class
from logstat.summary import ReportSettings
from tests.helpers import REPO, START, Record, run_cli, summarise, write_requests
from tests.strategies import records_strategy

NGINX_SAMPLE = REPO / "samples" / "nginx-access.log"


def check_groups_add_up(result: Summary) -> None:
    assert result.groups is not None
    groups = result.groups.groups
    assert sum(group.records for group in groups) == result.totals.selected
    for group in groups:
        assert sum(row.count for row in group.classes) == group.records
        assert sum(row.count for row in group.statuses) == group.records
    for row in result.classes:
        assert row.count == sum(
            other.count
            for group in groups
            for other in group.classes
            if other.status_class == row.status_class
        )
    sizes = [group.records for group in groups]
    assert sizes == sorted(sizes, reverse=True)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=records_strategy)
def test_by_host_matches_the_reference(tmp_path: Path, records: list[Record]) -> None:
    log = write_requests(tmp_path / "access.log", records)
    result = summarise([log], ReportSettings(by="host"))
    assert result.groups is not None and result.groups.by == "host"
    expected = Counter((record.host, record.status) for record in records)
    found = Counter(
        {
            (group.key, row.status): row.count
            for group in result.groups.groups
            for row in group.statuses
        }
    )
    assert found == expected
    for group in result.groups.groups:
        members = [record for record in records if record.host == group.key]
        assert {row.status_class: row.count for row in group.classes if row.count} == Counter(
            status_class(record.status) for record in members
        )
    if records:
        check_groups_add_up(result)


def test_by_file(tmp_path: Path) -> None:
    first = write_requests(
        tmp_path / "a.log", [Record("h", "192.0.2.1", START, "GET", "/", 200, "x")]
    )
    second = write_requests(
        tmp_path / "b.log",
        [Record("h", "192.0.2.1", START, "GET", "/", status, "x") for status in (500, 404)],
    )
    result = summarise([first, second], ReportSettings(by="file"))
    assert result.groups is not None
    assert [(group.key, group.records) for group in result.groups.groups] == [
        (str(second), 2),
        (str(first), 1),
    ]
    check_groups_add_up(result)


def test_a_format_without_hosts_has_one_unnamed_group() -> None:
    result = summarise([NGINX_SAMPLE], ReportSettings(by="host"), format="nginx")
    assert result.groups is not None
    ((group),) = result.groups.groups
    assert group.key is None and group.records == 600


def test_several_sources_are_reported_per_source_by_default(tmp_path: Path) -> None:
    apache = write_requests(
        tmp_path / "apache_access.log",
        [Record("h", "192.0.2.1", START, "GET", "/", status, "x") for status in (499, 200, 200)],
    )
    code, out, _ = run_cli(str(NGINX_SAMPLE), str(apache), "--json", in_process=True)
    data = json.loads(out)
    assert code == 0 and data["groups"]["by"] == "source"
    assert [(group["key"], group["records"]) for group in data["groups"]["groups"]] == [
        ("nginx", 600),
        ("apache", 3),
    ]
    # the same code means different things by source: nginx's 499 vs nobody's for Apache
    apache_statuses = data["groups"]["groups"][1]["statuses"]
    assert {row["status"]: row["vendor"] for row in apache_statuses}[499] == "class"
    code, out, _ = run_cli(str(NGINX_SAMPLE), str(apache), in_process=True)
    assert "\nBy class\n" in out  # the total first
    assert "\nsource nginx (600 requests): by class\n" in out
    assert "\nsource apache (3 requests): by status\n" in out
    # one source: no split unless asked for
    code, out, _ = run_cli(str(apache), "--json", in_process=True)
    assert json.loads(out)["groups"] is None


def test_by_host_in_the_terminal(tmp_path: Path) -> None:
    records = [
        Record("shop.example.com", "192.0.2.1", START, "GET", "/", 200, "x"),
        Record("api.example.com", "192.0.2.1", START, "GET", "/", 502, "x"),
        Record("api.example.com", "192.0.2.1", START, "GET", "/", 502, "x"),
    ]
    log = write_requests(tmp_path / "apache_access.log", records)
    code, out, _ = run_cli(str(log), "--by", "host", in_process=True)
    assert code == 0
    assert out.index("host api.example.com (2 requests): by class") < out.index(
        "host shop.example.com (1 request): by class"
    )
