"""Google Cloud load balancer request logs: httpRequest, statusDetails and who produced a
status; statusDetails explained.

The fixture in fixtures/google_lb/ (its README names the sources) is compared with its
golden in test_format_fixtures.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from logstat.formats import google_lb
from logstat.status import load_registry
from logstat.status.details import DetailReading
from logstat.status.explain import explain
from tests.helpers import (
    FIXTURES,
    corpus_logs_read_by,
    detected_by_lines,
    parse_file,
    run_cli,
    write_log,
)

LOG = FIXTURES / "google_lb" / "requests.json"


def entry(status: int, details: str | None, **http: object) -> str:
    request = {
        "requestMethod": "GET",
        "requestUrl": "https://shop.example.com:8443/api/cart?id=3",
        "status": status,
        "responseSize": "332",
        "remoteIp": "203.0.113.7",
        "latency": "0.250s",
        **http,
    }
    payload = {} if details is None else {"statusDetails": details}
    return json.dumps(
        {
            "httpRequest": request,
            "jsonPayload": payload,
            "resource": {"type": "http_load_balancer"},
            "timestamp": "2026-12-02T10:00:00.5Z",
        }
    )


@pytest.mark.parametrize(
    ("status", "details", "producer"),
    [
        (200, "response_sent_by_backend", "upstream"),
        (502, "response_sent_by_backend", "upstream"),  # the backend's own 502
        (200, "client_disconnected_after_partial_response", "upstream"),
        (502, "failed_to_connect_to_backend", "proxy"),
        (502, "backend_connection_closed_before_data_sent_to_client", "proxy"),
        (503, "failed_to_pick_backend", "proxy"),
        (504, "backend_timeout", "proxy"),
        (403, "denied_by_security_policy", "proxy"),
        (200, "response_from_cache", "proxy"),
        (200, None, "unknown"),
    ],
)
def test_status_details_say_who_produced_the_status(
    status: int, details: str | None, producer: str, tmp_path: Path
) -> None:
    frame = parse_file(write_log(tmp_path, [entry(status, details)], "requests.json"))
    assert frame["line_kind"].to_list() == ["record"]
    assert frame["produced_by"].to_list() == [producer]


def test_the_request_url_and_latency_are_read(tmp_path: Path) -> None:
    [row] = parse_file(write_log(tmp_path, [entry(200, None)], "requests.json")).to_dicts()
    assert (row["host"], row["path"], row["query"]) == ("shop.example.com", "/api/cart", "id=3")
    assert row["request_time_s"] == 0.25
    assert row["bytes_sent"] == 332
    assert row["timestamp"].isoformat() == "2026-12-02T10:00:00.500000+00:00"


def test_other_resources_http_requests_are_not_the_load_balancers() -> None:
    cloud_run = json.loads(entry(200, None))
    cloud_run["resource"] = {"type": "cloud_run_revision"}
    assert google_lb.FORMAT.detect(pl.Series([json.dumps(cloud_run)] * 3)) is None


def test_every_view_explains_status_details() -> None:
    document = run_cli(LOG, "--json", in_process=True).summary
    layers = {row["value"]: row for row in document["layers"] if row["layer"] == "status_details"}
    assert layers["failed_to_connect_to_backend"]["statuses"] == {"502": 1}
    assert "response_sent_by_backend" not in layers  # the normal course
    by_status = {(row["status"], row["produced_by"]): row for row in document["statuses"]}
    assert by_status[502, "proxy"]["vendor"] == "google_lb"
    assert by_status[502, "upstream"]["vendor"] == "iana"


def test_codes_reads_status_details() -> None:
    [reading] = explain(["backend_timeout"], load_registry())
    assert isinstance(reading, DetailReading) and reading.vendor == "google_lb"
    assert reading.explained.source_url.startswith("https://cloud.google.com/")


def test_its_fixture_is_detected_by_its_lines() -> None:
    found = detected_by_lines(LOG)
    assert found is not None and (found.format.name, found.alternatives) == ("google_lb", ())


def test_it_reads_no_line_of_other_formats_logs(corpus: Path) -> None:
    assert corpus_logs_read_by(google_lb.FORMAT, corpus) == []
