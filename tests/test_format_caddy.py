"""Caddy's structured logs: access entries and http.log.error entries, who produced a
status, err_trace explained.

The fixtures in fixtures/caddy/ (their README names the sources) are compared with their
goldens in test_format_fixtures.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from logstat.formats import caddy
from logstat.status import load_registry
from logstat.status.details import DetailReading
from logstat.status.explain import explain
from tests.helpers import (
    FIXTURES,
    corpus_logs_read_by,
    data_files,
    detected_by_lines,
    parse_file,
    run_cli,
    write_log,
)

FIXTURE_LOGS = data_files(FIXTURES / "caddy")
REQUEST = {
    "remote_ip": "192.0.2.7",
    "client_ip": "198.51.100.4",
    "proto": "HTTP/1.1",
    "method": "GET",
    "host": "example.com",
    "uri": "/api/cart?id=3",
    "headers": {"User-Agent": ["curl/8.5.0"], "Referer": ["https://example.com/"]},
}


def access(status: int, size: int, headers: dict[str, list[str]], **fields: object) -> str:
    entry = {
        "level": "info",
        "ts": 1796205601.5,
        "logger": "http.log.access.log0",
        "msg": "handled request",
        "request": REQUEST,
        "duration": 0.25,
        "size": size,
        "status": status,
        "resp_headers": headers,
        **fields,
    }
    return json.dumps(entry)


def parse_lines(lines: list[str], tmp_path: Path) -> pl.DataFrame:
    return parse_file(write_log(tmp_path, lines, "access.log"))


DATE = {"Date": ["Wed, 02 Dec 2026 10:00:02 GMT"], "Server": ["Caddy"]}


@pytest.mark.parametrize(
    ("status", "size", "headers", "producer"),
    [
        (200, 512, DATE, "upstream"),  # the reverse proxy copied an upstream's answer
        (502, 157, {**DATE, "Content-Type": ["text/html"]}, "upstream"),
        (502, 0, {"Server": ["Caddy"]}, "proxy"),  # Caddy's bare error status
        (404, 0, {"Server": ["Caddy"], "Alt-Svc": ['h3=":443"']}, "proxy"),
        (502, 130, {"Server": ["Caddy"], "Content-Type": ["text/html"]}, "unknown"),
        (200, 10900, {"Server": ["Caddy"], "Content-Type": ["text/html"]}, "unknown"),
        (308, 0, {"Server": ["Caddy"], "Location": ["https://example.com/"]}, "unknown"),
    ],
)
def test_access_entries_say_who_produced_the_status(
    status: int, size: int, headers: dict[str, list[str]], producer: str, tmp_path: Path
) -> None:
    frame = parse_lines([access(status, size, headers)], tmp_path)
    assert frame["line_kind"].to_list() == ["record"]
    assert frame["produced_by"].to_list() == [producer]


def test_the_request_is_read_from_its_object(tmp_path: Path) -> None:
    [row] = parse_lines([access(200, 5, DATE)], tmp_path).to_dicts()
    assert row["client_ip"] == "198.51.100.4"  # client_ip before remote_ip
    assert (row["method"], row["path"], row["query"]) == ("GET", "/api/cart", "id=3")
    assert (row["user_agent"], row["referer"]) == ("curl/8.5.0", "https://example.com/")
    assert row["timestamp"].isoformat() == "2026-12-02T10:00:01.500000+00:00"
    assert row["request_time_s"] == 0.25


def test_iso_times_are_read_too(tmp_path: Path) -> None:
    line = access(200, 5, DATE, ts="2026-12-02T10:00:01.500Z")
    [row] = parse_lines([line], tmp_path).to_dicts()
    assert row["timestamp"].isoformat() == "2026-12-02T10:00:01.500000+00:00"


def test_other_loggers_are_comments_and_other_json_is_rejected(tmp_path: Path) -> None:
    lines = [
        access(200, 5, DATE),
        json.dumps({"level": "info", "ts": 1.0, "logger": "tls", "msg": "cleaning storage"}),
        json.dumps({"status": 200, "path": "/"}),  # an application's JSON
    ]
    frame = parse_lines(lines, tmp_path)
    assert frame["line_kind"].to_list() == ["record", "comment", "rejected"]
    assert frame["reject_reason"].to_list()[2] == "JSON object of no Caddy logger"


def test_a_file_of_error_entries_reads_them_as_caddys_statuses() -> None:
    log = FIXTURES / "caddy" / "errors.log"
    found = caddy.FORMAT.detect(pl.Series(log.read_text().splitlines()))
    assert found is not None and found.parser.description == "caddy errors"
    document = run_cli(log, "--json", in_process=True).summary
    by_status = {(row["status"], row["produced_by"]): row for row in document["statuses"]}
    assert by_status[502, "proxy"]["vendor"] == "caddy"
    traces = {row["value"]: row for row in document["layers"] if row["layer"] == "error_trace"}
    assert traces["reverseproxy.statusError"]["statuses"] == {"502": 1, "504": 1}


def test_codes_reads_error_traces() -> None:
    [reading] = explain(["reverseproxy.statusError"], load_registry())
    assert isinstance(reading, DetailReading) and reading.vendor == "caddy"
    assert reading.explained.source_url.startswith("https://github.com/caddyserver/")


@pytest.mark.parametrize("log", FIXTURE_LOGS, ids=lambda path: path.name)
def test_its_fixtures_are_detected_by_their_lines(log: Path) -> None:
    found = detected_by_lines(log)
    assert found is not None and (found.format.name, found.alternatives) == ("caddy", ())


def test_it_reads_no_line_of_other_formats_logs(corpus: Path) -> None:
    assert corpus_logs_read_by(caddy.FORMAT, corpus) == []
