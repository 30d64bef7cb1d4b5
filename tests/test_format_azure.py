"""Azure Front Door and Application Gateway access logs: who produced a status from
errorInfo / error_info, the values explained.

The fixtures in fixtures/azure_front_door/ and fixtures/azure_app_gateway/ (their
READMEs name the sources) are compared with their goldens in test_format_fixtures.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from logstat.formats import azure_app_gateway, azure_front_door
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


def front_door(status: int, error: str | None, cache: str = "MISS") -> str:
    properties = {
        "httpMethod": "GET",
        "requestUri": "https://www.contoso.com:443/api/cart?id=3",
        "httpStatusCode": str(status),
        "cacheStatus": cache,
        "clientIp": "203.0.113.7",
        "timeTaken": "0.051",
    }
    if error is not None:
        properties["errorInfo"] = error
    return json.dumps(
        {"time": "2026-12-02T10:00:00Z", "category": "FrontDoorAccessLog", "properties": properties}
    )


def gateway(status: int, server: str | None, error: str | None) -> str:
    properties: dict[str, object] = {
        "clientIP": "185.42.129.24",
        "httpMethod": "GET",
        "requestUri": "/api/cart",
        "httpStatus": status,
        "timeTaken": 0.034,
    }
    if server is not None:
        properties["serverStatus"] = server
    if error is not None:
        properties["error_info"] = error
    return json.dumps(
        {
            "timeStamp": "2026-12-02T10:00:00+00:00",
            "category": "ApplicationGatewayAccessLog",
            "properties": properties,
        }
    )


@pytest.mark.parametrize(
    ("status", "error", "cache", "producer"),
    [
        (200, "NoError", "MISS", "upstream"),
        (503, "NoError", "CACHE_NOCONFIG", "upstream"),  # the origin's own 503
        (200, "NoError", "HIT", "proxy"),
        (403, "NoError", "N/A", "proxy"),  # a signed URL or the Rules Engine refused
        (502, "OriginConnectionRefused", "CACHE_NOCONFIG", "proxy"),
        (0, "OriginTimeout", "CACHE_NOCONFIG", "proxy"),
        (499, "ClientDisconnected", "MISS", "proxy"),
        (200, None, "MISS", "unknown"),
    ],
)
def test_front_door_error_info_says_who_produced_the_status(
    status: int, error: str | None, cache: str, producer: str, tmp_path: Path
) -> None:
    frame = parse_file(write_log(tmp_path, [front_door(status, error, cache)], "fd.json"))
    assert frame["line_kind"].to_list() == ["record"]
    assert frame["produced_by"].to_list() == [producer]
    assert (frame["host"][0], frame["path"][0], frame["query"][0]) == (
        "www.contoso.com",
        "/api/cart",
        "id=3",
    )


@pytest.mark.parametrize(
    ("status", "server", "error", "producer"),
    [
        (200, "200", "ERRORINFO_NO_ERROR", "upstream"),
        (500, "500", "ERRORINFO_NO_ERROR", "upstream"),
        (301, "-", "ERRORINFO_NO_ERROR", "proxy"),  # a redirect at the gateway
        (502, "-", "ERRORINFO_UPSTREAM_NO_LIVE", "proxy"),
        (504, "-", "ERRORINFO_UPSTREAM_TIMED_OUT", "proxy"),
        (404, None, None, "unknown"),  # v1: neither is logged
    ],
)
def test_gateway_error_info_says_who_produced_the_status(
    status: int, server: str | None, error: str | None, producer: str, tmp_path: Path
) -> None:
    frame = parse_file(write_log(tmp_path, [gateway(status, server, error)], "agw.json"))
    assert frame["line_kind"].to_list() == ["record"]
    assert frame["produced_by"].to_list() == [producer]


def test_gateway_time_taken_is_seconds_in_v2_and_milliseconds_in_v1() -> None:
    frame = parse_file(FIXTURES / "azure_app_gateway" / "access.json")
    assert frame["request_time_s"].to_list()[:2] == [0.034, 0.211]
    assert frame["request_time_s"].to_list()[-1] == 0.205  # v1: 205 ms


def test_other_categories_are_not_access_logs() -> None:
    probe = json.loads(front_door(400, "OriginError"))
    probe["category"] = "FrontDoorHealthProbeLog"
    assert azure_front_door.FORMAT.detect(pl.Series([json.dumps(probe)] * 3)) is None


def test_every_view_explains_the_error_info() -> None:
    document = run_cli(FIXTURES / "azure_front_door" / "access.json", "--json", in_process=True)
    layers = {
        row["value"]: row
        for row in document.summary["layers"]
        if row["layer"] == "front_door_error_info"
    }
    assert layers["OriginTimeout"]["statuses"] == {"000": 1}
    assert "NoError" not in layers
    document = run_cli(FIXTURES / "azure_app_gateway" / "access.json", "--json", in_process=True)
    by_status = {(row["status"], row["produced_by"]): row for row in document.summary["statuses"]}
    assert by_status[502, "proxy"]["vendor"] == "azure_app_gateway"


def test_codes_reads_error_info() -> None:
    registry = load_registry()
    [front] = explain(["OriginConnectionRefused"], registry)
    [gate] = explain(["ERRORINFO_UPSTREAM_NO_LIVE"], registry)
    assert isinstance(front, DetailReading) and front.vendor == "azure_front_door"
    assert isinstance(gate, DetailReading) and gate.vendor == "azure_app_gateway"


@pytest.mark.parametrize("name", ["azure_front_door", "azure_app_gateway"])
def test_the_fixtures_are_detected_by_their_lines(name: str) -> None:
    found = detected_by_lines(FIXTURES / name / "access.json")
    assert found is not None and (found.format.name, found.alternatives) == (name, ())


@pytest.mark.parametrize("format", [azure_front_door.FORMAT, azure_app_gateway.FORMAT])
def test_they_read_no_line_of_other_formats_logs(format: object, corpus: Path) -> None:
    assert corpus_logs_read_by(format, corpus) == []  # type: ignore[arg-type]
