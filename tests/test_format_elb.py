"""AWS classic ELB access logs, through the public path (pipeline.plan/read and the CLI).

The fixtures in fixtures/elb/ are compared with their goldens in test_format_fixtures.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from logstat.formats import elb
from tests.helpers import (
    AWS_EXPECTED,
    FIXTURES,
    SHARED_CORPUS,
    check_expected_statuses,
    data_files,
    golden_of,
    parse_run,
    run_cli,
    sample_of,
    write_log,
)


@pytest.mark.parametrize("name", [path.name for path in data_files(SHARED_CORPUS / "elb")])
def test_corpus_file_is_detected_as_elb(corpus: Path, name: str) -> None:
    log = corpus / "elb" / name
    run, frame = parse_run(log)
    assert run.format_name == "elb"
    assert run.counts.rejected == 0
    if golden_of(log).exists():
        check_expected_statuses(log, frame, AWS_EXPECTED)


def test_corpus_tcp_listener_entries_are_records_without_status(corpus: Path) -> None:
    log = (
        corpus
        / "elb"
        / "awsdocs_elb-classic-load-balancers-user-guide_access-log-collection.md.examples.log"
    )
    _, frame = parse_run(log)
    tcp = frame.filter(pl.col("line_no").is_in([3, 4]))
    assert tcp["line_kind"].to_list() == ["record", "record"]
    assert tcp["status_class"].to_list() == ["none", "none"]
    assert tcp["produced_by"].to_list() == ["unknown", "unknown"]
    assert tcp["method"].to_list() == [None, None]


@pytest.mark.parametrize("directory", ["nginx", "apache", "iis", "cloudflare", "odd"])
def test_elb_detection_claims_no_other_format(corpus: Path, directory: str) -> None:
    for log in data_files(corpus / directory):
        assert elb.FORMAT.detect(sample_of(log)) is None, log.name


def test_elb_detection_counts_only_its_own_lines_in_alb_files(corpus: Path) -> None:
    """ALB files hold no classic ELB lines, except the plaso mix (4 of its 16)."""
    for log in data_files(corpus / "alb"):
        detection = elb.FORMAT.detect(sample_of(log))
        matched = detection.matched if detection else 0
        assert matched == (4 if log.name.startswith("plaso") else 0), log.name


# produced_by: one test per rule


def elb_line(statuses: str, backend: str = "10.0.0.1:80") -> str:
    return (
        f"2015-05-13T23:39:43.945958Z my-loadbalancer 192.0.2.10:2817 {backend} "
        f'0.000073 0.001048 0.000057 {statuses} 0 29 "GET http://www.example.com:80/ HTTP/1.1" '
        '"curl/7.38.0" - -'
    )


def produced(tmp_path: Path, line: str) -> str | None:
    _, frame = parse_run(write_log(tmp_path, [line]))
    assert frame["line_kind"].to_list() == ["record"]
    value: str | None = frame["produced_by"][0]
    return value


@pytest.mark.parametrize(
    ("statuses", "backend"), [("408 -", "-"), ("503 -", "-"), ("504 -", "10.0.0.1:80")]
)
def test_no_backend_status_means_the_load_balancer_answered(
    tmp_path: Path, statuses: str, backend: str
) -> None:
    assert produced(tmp_path, elb_line(statuses, backend)) == "proxy"


def test_a_status_other_than_the_backends_is_the_load_balancers(tmp_path: Path) -> None:
    assert produced(tmp_path, elb_line("502 200")) == "proxy"


@pytest.mark.parametrize("statuses", ["200 200", "502 502", "404 404"])
def test_the_backends_status_passed_through_is_the_upstreams(tmp_path: Path, statuses: str) -> None:
    assert produced(tmp_path, elb_line(statuses)) == "upstream"


def test_tcp_listener_without_statuses_is_unknown(tmp_path: Path) -> None:
    line = elb_line("- -").replace('"GET http://www.example.com:80/ HTTP/1.1"', '"- - - "')
    assert produced(tmp_path, line) == "unknown"


def test_cli_summary_of_classic_elb() -> None:
    code, out, _ = run_cli(str(FIXTURES / "elb" / "listeners.log"), "--json", in_process=True)
    assert code == 0
    summary = json.loads(out)
    assert summary["files"][0]["source"] == "elb"
    classes = {row["status_class"]: row for row in summary["classes"]}
    assert (classes["none"]["count"], classes["none"]["unknown"]) == (3, 3)
    statuses = {(row["status"], row["produced_by"]): row for row in summary["statuses"]}
    assert statuses[408, "proxy"]["vendor"] == "elb"
    # the load balancer's own 502 keeps ELB's meaning; the backend's 502 is plain HTTP's
    assert (statuses[502, "proxy"]["count"], statuses[502, "upstream"]["count"]) == (1, 1)
    assert statuses[502, "proxy"]["vendor"] == "elb"
    assert statuses[502, "upstream"]["vendor"] == "iana"
