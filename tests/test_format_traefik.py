"""Traefik's JSON access log: DownstreamStatus and OriginStatus, who produced a status.

The fixtures in fixtures/traefik/ (their README names the sources) are compared with
their goldens in test_format_fixtures.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from logstat.formats import traefik
from tests.helpers import (
    FIXTURES,
    corpus_logs_read_by,
    data_files,
    detected_by_lines,
    parse_file,
    run_cli,
    write_log,
)

FIXTURE_LOGS = data_files(FIXTURES / "traefik")
BASE = {
    "ClientHost": "192.0.2.10",
    "DownstreamContentSize": 100,
    "DownstreamStatus": 200,
    "Duration": 2815263,
    "OriginContentSize": 100,
    "OriginDuration": 2601311,
    "OriginStatus": 200,
    "RequestHost": "shop.example.com",
    "RequestMethod": "GET",
    "RequestPath": "/cart?id=42",
    "RequestProtocol": "HTTP/1.1",
    "RouterName": "shop@docker",
    "StartUTC": "2026-12-02T10:00:00.123456789Z",
}


def entry(**changes: object) -> str:
    values = {**BASE, **changes}
    return json.dumps({key: value for key, value in values.items() if value is not None})


def parse_lines(lines: list[str], tmp_path: Path) -> pl.DataFrame:
    return parse_file(write_log(tmp_path, lines, "access.log"))


@pytest.mark.parametrize(
    ("status", "origin", "origin_size", "producer", "upstream"),
    [
        (200, 200, 100, "upstream", 200),  # passed on
        (502, 502, 166, "upstream", 502),  # the server's own 502
        (302, 0, 0, "proxy", None),  # a redirect middleware: no server asked
        (404, 0, 0, "proxy", None),  # no router matched
        (502, 502, 11, "proxy", None),  # Traefik's "Bad Gateway": connection refused
        (504, 504, 15, "proxy", None),  # Traefik's "Gateway Timeout"
        (503, 503, 20, "proxy", None),  # "no available server\n"
        (499, 499, 21, "proxy", None),  # "Client Closed Request"
        (500, 503, 2000, "proxy", 503),  # Traefik changed the server's status
        (502, 502, None, "unknown", 502),  # the body size is not logged
        (200, None, None, "unknown", None),  # OriginStatus is not logged
    ],
)
def test_origin_status_says_who_produced_the_status(
    status: int,
    origin: int | None,
    origin_size: int | None,
    producer: str,
    upstream: int | None,
    tmp_path: Path,
) -> None:
    line = entry(DownstreamStatus=status, OriginStatus=origin, OriginContentSize=origin_size)
    frame = parse_lines([line], tmp_path)
    assert frame["line_kind"].to_list() == ["record"]
    assert frame["produced_by"].to_list() == [producer]
    assert frame["upstream_status"].to_list() == [upstream]


def test_values_are_read_as_written(tmp_path: Path) -> None:
    frame = parse_lines([entry(Duration=30001873412, DownstreamStatus="404")], tmp_path)
    [row] = frame.to_dicts()
    assert row["status"] == 404  # a number or its text
    assert row["request_time_s"] == 30.001873412  # nanoseconds
    assert (row["path"], row["query"]) == ("/cart", "id=42")
    assert row["timestamp"].isoformat() == "2026-12-02T10:00:00.123456+00:00"


def test_other_json_and_other_lines_are_rejected_with_a_reason(tmp_path: Path) -> None:
    lines = [
        entry(),
        json.dumps({"DownstreamStatus": 200}),  # no other Traefik key: not Traefik's record
        '{"DownstreamStatus": 200, "RouterName": }',  # broken
        'time="2026-12-02T11:00:05+01:00" level=info msg="Configuration loaded"',
    ]
    frame = parse_lines(lines, tmp_path)
    assert frame["line_kind"].to_list() == ["record", "rejected", "rejected", "rejected"]
    assert frame["reject_reason"].to_list()[1:] == [
        "JSON object without Traefik's access-log fields",
        "invalid JSON",
        "not a JSON object on one line",
    ]


def test_an_applications_json_with_a_status_is_not_traefiks() -> None:
    app = [json.dumps({"time": "2026-12-02T10:00:00Z", "status": 200, "path": "/"})] * 3
    assert traefik.FORMAT.detect(pl.Series(app)) is None


def test_traefiks_own_statuses_are_read_with_its_table() -> None:
    document = run_cli(FIXTURES / "traefik" / "access.json", "--json", in_process=True).summary
    by_status = {(row["status"], row["produced_by"]): row for row in document["statuses"]}
    assert by_status[502, "proxy"]["vendor"] == "traefik"
    assert by_status[502, "upstream"]["vendor"] == "iana"
    assert by_status[499, "proxy"]["name"] == "Client Closed Request"


@pytest.mark.parametrize("log", FIXTURE_LOGS, ids=lambda path: path.name)
def test_its_fixtures_are_detected_by_their_lines(log: Path) -> None:
    """Traefik's exact keys win over the nginx reading of JSON keys by their meaning."""
    found = detected_by_lines(log)
    assert found is not None and (found.format.name, found.alternatives) == ("traefik", ())


def test_it_reads_no_line_of_other_formats_logs(corpus: Path) -> None:
    assert corpus_logs_read_by(traefik.FORMAT, corpus) == []
