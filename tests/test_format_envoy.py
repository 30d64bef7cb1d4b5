"""Envoy and Istio logs: layouts from the vendors' own format strings, who produced a
status from %RESPONSE_CODE_DETAILS% and %RESPONSE_FLAGS%, the flags explained.

The fixtures in fixtures/envoy/ are compared with their goldens in
test_format_fixtures.py: Envoy's documented example line and Istio's (the access-log
task's client and server sides) with lines of the shapes users posted in Envoy's and
Istio's issue trackers (503 UC, 503 UF,URX, 404 NR ...), Istio's JSON, a custom format.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from logstat.errors import LogstatError
from logstat.formats import envoy
from logstat.status import load_registry
from logstat.status.details import DetailReading
from logstat.status.details import explain as explain_value
from logstat.status.explain import explain
from tests.helpers import (
    FIXTURES,
    corpus_logs_read_by,
    data_files,
    detected_by_lines,
    fixture_options,
    parse_file,
    run_cli,
    write_log,
)

FIXTURE_LOGS = data_files(FIXTURES / "envoy")
ISTIO = (
    '[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" {status} {flags} {details} - "-" '
    '0 135 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" '
    '"{host}" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 '
    "10.0.45.184:8000 10.44.1.23:46520 - default"
)
DEFAULT = (
    '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" {status} {flags} 154 0 226 '
    '100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "{host}"'
)


def parse_lines(lines: list[str], tmp_path: Path, **options: str) -> pl.DataFrame:
    return parse_file(write_log(tmp_path, lines, "envoy.log"), **options)


@pytest.mark.parametrize(
    ("status", "flags", "details", "host", "producer"),
    [
        (418, "-", "via_upstream", "10.44.1.27:80", "upstream"),  # said outright
        (503, "UC", "via_upstream", "10.44.1.27:80", "upstream"),  # the upstream's 503
        (503, "UF,URX", "upstream_reset_before_response_started{connection_failure}", "-", "proxy"),
        (404, "NR", "route_not_found", "-", "proxy"),
        (200, "-", "direct_response", "-", "proxy"),
        (0, "DC", "downstream_remote_disconnect", "10.44.1.27:80", "proxy"),
    ],
)
def test_istio_details_say_who_set_the_status(
    status: int, flags: str, details: str, host: str, producer: str, tmp_path: Path
) -> None:
    line = ISTIO.format(status=status, flags=flags, details=details, host=host)
    frame = parse_lines([line], tmp_path)
    assert frame["line_kind"].to_list() == ["record"]
    assert frame["produced_by"].to_list() == [producer]


@pytest.mark.parametrize(
    ("status", "flags", "host", "producer"),
    [
        (204, "-", "tcp://10.0.2.1:80", "upstream"),  # passed on
        (503, "-", "10.0.2.1:80", "upstream"),  # the upstream's own 503
        (301, "-", "-", "proxy"),  # no upstream: a redirect or direct response
        (503, "UH", "-", "proxy"),
        (503, "UF,URX", "10.0.2.7:80", "proxy"),
        (503, "UpstreamConnectionFailure", "10.0.2.7:80", "proxy"),  # long names
        (504, "UT", "10.0.2.1:80", "proxy"),
        (429, "RL", "-", "proxy"),
        (503, "UC", "10.0.2.1:80", "proxy"),  # reset before anything came back
        (200, "UC", "10.0.2.1:80", "upstream"),  # the upstream's headers had gone out
        (200, "DC", "10.0.2.1:80", "upstream"),  # the client left mid-body
        (0, "DC", "10.0.2.1:80", "proxy"),  # no response started
        (200, "DI", "10.0.2.1:80", "upstream"),  # a delay changes no status
    ],
)
def test_envoy_flags_say_who_set_the_status(
    status: int, flags: str, host: str, producer: str, tmp_path: Path
) -> None:
    frame = parse_lines([DEFAULT.format(status=status, flags=flags, host=host)], tmp_path)
    assert frame["line_kind"].to_list() == ["record"]
    assert frame["produced_by"].to_list() == [producer]


def test_a_format_string_without_the_upstream_host_leaves_plain_statuses_unknown(
    tmp_path: Path,
) -> None:
    template = "[%START_TIME%] %RESPONSE_CODE% %RESPONSE_FLAGS%"
    lines = ["[2024-03-01T09:00:00.000Z] 200 -", "[2024-03-01T09:00:01.000Z] 503 UH"]
    frame = parse_lines(lines, tmp_path, format="envoy", log_format=template)
    assert frame["produced_by"].to_list() == ["unknown", "proxy"]


def test_json_lines_are_envoys_only_with_its_response_flags(tmp_path: Path) -> None:
    """An application's JSON with response_code, method and path is no Envoy log."""
    istio = (FIXTURES / "envoy" / "istio.json").read_text().splitlines()
    app = [
        json.dumps(
            {
                "start_time": "2024-03-01T09:00:00Z",
                "method": "GET",
                "path": f"/{n}",
                "response_code": 200,
                "duration": 3,
            }
        )
        for n in range(3)
    ]
    assert envoy.FORMAT.detect(pl.Series(app)) is None
    found = envoy.FORMAT.detect(pl.Series(istio))
    assert found is not None and found.matched == len(istio)
    # the nginx JSON reading by key meaning matches as many lines: Envoy's exact keys win
    frame = parse_lines(istio, tmp_path)
    assert set(frame["source"]) == {"envoy"}
    assert set(parse_lines(app, tmp_path)["source"]) == {"nginx"}


def test_codes_reads_response_flags() -> None:
    registry = load_registry()
    [single] = explain(["UF"], registry, ("envoy", ("envoy",)))
    assert isinstance(single, DetailReading) and single.layer == "response_flags"
    assert "connect" in single.explained.meaning
    assert single.explained.source_url.startswith("https://www.envoyproxy.io/")
    [both] = explain(["UF,URX"], registry, ("envoy", ("envoy",)))
    assert isinstance(both, DetailReading)
    assert both.explained.meaning.startswith("UF: ") and " URX: " in both.explained.meaning
    long_name = explain_value("response_flags", "UpstreamConnectionFailure")
    assert long_name == single.explained
    # UH is an Envoy flag and an HAProxy termination state: both are read
    assert {reading.vendor for reading in explain(["UH"], registry)} == {"envoy", "haproxy"}
    with pytest.raises(LogstatError):
        explain(["UF,NOPE"], registry)


def test_every_view_explains_the_response_flags() -> None:
    log = FIXTURES / "envoy" / "default.log"
    flag = explain_value("response_flags", "NR")
    assert flag is not None
    text = run_cli(log, in_process=True).stdout
    assert "Layer details: Envoy %RESPONSE_FLAGS%" in text
    row = next(line for line in text.splitlines() if line.startswith("NR "))
    assert "404: 1" in row and flag.meaning[:40] in row
    document = run_cli(log, "--json", in_process=True).summary
    layers = {row["value"]: row for row in document["layers"] if row["layer"] == "response_flags"}
    assert layers["UF,URX"]["statuses"] == {"503": 1}
    assert layers["NR"]["meaning"] == flag.meaning
    by_status = {(row["status"], row["produced_by"]): row for row in document["statuses"]}
    assert by_status[503, "proxy"]["vendor"] == "envoy"  # Envoy's own 503
    assert by_status[503, "upstream"]["vendor"] == "iana"  # the upstream's


def test_response_code_details_are_explained_with_what_envoy_adds() -> None:
    document = run_cli(FIXTURES / "envoy" / "istio.log", "--json", in_process=True).summary
    layers = {
        row["value"]: row for row in document["layers"] if row["layer"] == "response_code_details"
    }
    assert "via_upstream" not in layers  # the normal course says nothing
    reset = layers["upstream_reset_before_response_started{connection_failure}"]
    assert reset["statuses"] == {"503": 1}
    assert reset["meaning"].startswith("The upstream connection failed or was reset")
    assert reset["meaning"].endswith("Envoy adds: connection_failure.")
    assert layers["route_not_found"]["statuses"] == {"404": 1}
    registry = load_registry()
    [reading] = explain(["no_healthy_upstream"], registry)
    assert isinstance(reading, DetailReading) and reading.layer == "response_code_details"
    assert explain_value("response_code_details", "made_up_detail") is None


@pytest.mark.parametrize("log", FIXTURE_LOGS, ids=lambda path: path.name)
def test_its_fixtures_are_detected_by_their_lines(log: Path) -> None:
    if fixture_options(log):
        pytest.skip("a custom format string: only --format envoy reads it")
    found = detected_by_lines(log)
    assert found is not None and (found.format.name, found.alternatives) == ("envoy", ())


def test_it_reads_no_line_of_other_formats_logs(corpus: Path) -> None:
    assert corpus_logs_read_by(envoy.FORMAT, corpus) == []
