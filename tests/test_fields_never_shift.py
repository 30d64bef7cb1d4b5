"""Fields never shift: a line is read by a layout that covers it whole, or its extra
fields are counted and shown, or it is rejected with its reason.

Each case here was seen on real logs: a Traefik line read as nginx `main` put
`-" 500 "test@docker` into user_agent; an Apache vhost line read as `vhost_common`
lost its user agent; an Apache `%D` mid-line file read as `common` lost referer and
user agent with no word; an ALB line missing one space was accepted with
`chosen_cert_arn` holding two fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from logstat.formats import alb, elb, nginx
from logstat.formats.template import TRAILING_FIELD
from tests.helpers import SHARED_CORPUS, parse_file, plan_file, run_cli, write_log

COMBINED = (
    '192.0.2.7 - - [10/Mar/2024:13:55:36 +0000] "GET /api?x=1 HTTP/1.1" 500 21 '
    '"https://example.com/" "curl/8.5.0"'
)
TRAEFIK = COMBINED + ' 42 "test@docker" "http://172.18.0.3:80" 3ms'


def test_traefik_lines_are_read_whole_as_traefiks_layout(tmp_path: Path) -> None:
    lines = [TRAEFIK, TRAEFIK.replace('"-"', '"x"').replace(" 42 ", " 43 "), TRAEFIK]
    path = write_log(tmp_path, lines, "access.log")
    run = plan_file(path)
    assert run.choice is not None
    assert run.choice.detection.parser.description == "nginx traefik"
    row = parse_file(path).row(0, named=True)
    assert row["user_agent"] == "curl/8.5.0"
    assert row["referer"] == "https://example.com/"
    assert (row["status"], row["bytes_sent"]) == (500, 21)
    assert row["request_count"] == 42
    assert row["router_name"] == "test@docker"
    assert row["server_url"] == "http://172.18.0.3:80"
    assert row["request_time_s"] == pytest.approx(0.003)
    assert row["trailing_fields"] is None


def test_a_traefik_line_is_never_read_as_main_with_fields_shifted(tmp_path: Path) -> None:
    # the exact regex once took `curl/8.5.0" 42 "test@docker` as the user agent
    path = write_log(tmp_path, [TRAEFIK.replace('"https://example.com/"', '"-"')], "a.log")
    row = parse_file(path, format="nginx", log_format="main").row(0, named=True)
    assert row["line_kind"] == "rejected"
    assert row["reject_reason"]
    row = parse_file(path, format="nginx", log_format="combined").row(0, named=True)
    assert (row["line_kind"], row["user_agent"], row["trailing_fields"]) == (
        "record",
        "curl/8.5.0",
        4,
    )


@pytest.mark.parametrize(
    "line",
    [
        # a raw quote before a space would end the field: never inside one
        COMBINED + ' "10.0.0.1" 5',
        COMBINED.replace('"curl/8.5.0"', '"-"') + ' 500 "test@docker"',
        COMBINED.replace('"https://example.com/"', '"-""-"'),
    ],
)
def test_no_quoted_field_takes_in_its_neighbours(line: str) -> None:
    for name in nginx.LAYOUTS:
        parser = nginx.FORMAT.make_parser(name)
        row = parser.parse(pl.LazyFrame({"line": [line]})).collect().row(0, named=True)
        for column in ("user_agent", "referer", "http_x_forwarded_for"):
            value = row.get(column)
            assert value is None or ('" ' not in value and '""' not in value), (name, row)


def test_apache_vhost_line_without_port_keeps_its_user_agent() -> None:
    path = SHARED_CORPUS / "apache" / "elastic-integrations_apache_access_test-access-vhost.log"
    if not path.exists():
        pytest.skip("no shared corpus")
    first = parse_file(path).row(0, named=True)
    assert first["host"] == "vhost1.domaine.fr"
    assert first["user_agent"].startswith("Mozilla/5.0 (Macintosh")
    assert first["trailing_fields"] is None


def test_fields_after_the_layout_are_counted_and_shown(tmp_path: Path) -> None:
    """Apache `%D` mid-line, read without --log-format: said loudly, not lost silently."""
    lines = [
        f'192.0.2.{n} - - [10/Mar/2024:13:55:4{n} +0000] "GET /d HTTP/1.1" 200 612 3413 '
        f'"http://ref/" "Mozilla/5.0"'
        for n in range(3)
    ]
    path = write_log(tmp_path, lines, "apache_access.log")
    frame = parse_file(path)
    assert frame["trailing_fields"].to_list() == [3, 3, 3]
    assert frame["status"].to_list() == [200, 200, 200]
    code, out, err = run_cli(str(path), "--json")
    assert code == 0, err
    [file] = json.loads(out)["files"]
    assert "3 with fields after the layout" in file["detection"]
    assert any("3 lines have 3 fields after the layout" in note for note in file["problems"])
    code, out, _ = run_cli(str(path))
    assert "3 lines have 3 fields after the layout: pass --log-format" in out
    # with the right format string everything is read, nothing left over
    log_format = '%h %l %u %t "%r" %>s %b %D "%{Referer}i" "%{User-Agent}i"'
    frame = parse_file(path, log_format=log_format)
    assert frame["trailing_fields"].null_count() == 3
    assert frame["user_agent"].to_list() == ["Mozilla/5.0"] * 3
    assert frame["request_time_s"].to_list() == [0.003413] * 3


def test_trailing_field_counts_vary_and_are_shown_as_a_range(tmp_path: Path) -> None:
    lines = [COMBINED + " 1", COMBINED + ' 1 "two words" [3 4]', COMBINED]
    path = write_log(tmp_path, lines, "access.log")
    assert parse_file(path)["trailing_fields"].to_list() == [1, 3, None]
    code, out, _ = run_cli(str(path))
    assert code == 0
    assert "2 lines have 1 to 3 fields after the layout" in out, out


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        ('192.0.2.28 [10/Mar/2024:13:55:45 +0000] "GET /x HTTP/1.1" 200 1 "-" "curl"', 7),
        ('192.0.2.28 - - [10/Mar/2024:13:55:45 +0000] "GET /x HTTP/1.1" 200', 6),
    ],
)
def test_a_line_missing_a_field_is_rejected_with_its_reason(
    tmp_path: Path, line: str, fields: int
) -> None:
    path = write_log(tmp_path, [COMBINED, COMBINED, line], "access.log")
    row = parse_file(path).row(2, named=True)
    assert row["line_kind"] == "rejected"
    assert row["reject_reason"] == f"a field is missing: {fields} fields, nginx combined has 9"


def _aws_line(directory: str, name: str, number: int) -> str:
    path = SHARED_CORPUS / directory / name
    if not path.exists():
        pytest.skip("no shared corpus")
    return path.read_text(encoding="utf-8").splitlines()[number]


# fields AWS writes itself: none may change when a space goes missing elsewhere
AWS_OWN = {
    "alb": (
        "status",
        "upstream_status",
        "trace_id",
        "chosen_cert_arn",
        "matched_rule_priority",
        "actions_executed",
        "error_reason",
        "target_group_arn",
        "ssl_cipher",
        "ssl_protocol",
        "user_agent",
    ),
    "elb": ("status", "upstream_status", "user_agent", "ssl_cipher", "ssl_protocol"),
}


@pytest.mark.parametrize(
    ("source", "line_of"),
    [
        (
            "alb",
            lambda: _aws_line(
                "alb",
                "awsdocs_elb-application-load-balancers-user-guide_load-balancer-access-logs.md"
                ".examples.log",
                1,
            ),
        ),
        (
            "elb",
            lambda: _aws_line(
                "elb",
                "awsdocs_elb-classic-load-balancers-user-guide_access-log-collection.md"
                ".examples.log",
                1,
            ),
        ),
    ],
)
def test_an_aws_line_missing_a_space_is_rejected_or_read_unshifted(
    source: str, line_of: Callable[[], str]
) -> None:
    layout = alb.LAYOUT if source == "alb" else elb.LAYOUT
    line = line_of()
    spaces = [index for index, character in enumerate(line) if character == " "]
    edited = [line[:index] + line[index + 1 :] for index in spaces]
    frame = layout.parse(pl.LazyFrame({"line": [line, *edited]})).collect()
    original = frame.row(0, named=True)
    assert original["line_kind"] == "record"
    for row in frame.slice(1).iter_rows(named=True):
        if row["line_kind"] == "rejected":
            assert row["reject_reason"], row["line"]
            continue
        for column in AWS_OWN[source]:
            assert row[column] == original[column], (column, row["line"])


def test_corpus_lines_with_fields_after_the_layout_are_what_they_say(corpus: Path) -> None:
    """Every counted trailing field is text after a complete reading, on real logs."""
    for directory in ("nginx", "apache"):
        for path in sorted((corpus / directory).iterdir()):
            if path.name.endswith(".expected.csv"):
                continue
            frame = parse_file(path).filter(pl.col("trailing_fields").is_not_null())
            for row in frame.iter_rows(named=True):
                units = re.findall(TRAILING_FIELD, row["line"])
                assert len(units) > row["trailing_fields"], row["line"]


@pytest.mark.parametrize("source", ["alb", "elb"])
def test_an_aws_line_missing_a_field_is_rejected_or_read_unshifted(source: str) -> None:
    """A field taken out must not hand its neighbour's value to it: an ALB line
    without `actions_executed` once read its target (`10.0.0.1:80`) as error_reason."""
    layout = alb.LAYOUT if source == "alb" else elb.LAYOUT
    name = {
        "alb": "awsdocs_elb-application-load-balancers-user-guide_load-balancer-access-logs.md"
        ".examples.log",
        "elb": "awsdocs_elb-classic-load-balancers-user-guide_access-log-collection.md"
        ".examples.log",
    }[source]
    line = _aws_line(source, name, 1)
    fields = list(re.finditer(TRAILING_FIELD, line))
    shortened = [
        line[: field.start() - 1] + line[field.end() :]
        if field.start()
        else line[field.end() + 1 :]
        for field in fields
    ]
    frame = layout.parse(pl.LazyFrame({"line": [line, *shortened]})).collect()
    original = frame.row(0, named=True)
    for row in frame.slice(1).iter_rows(named=True):
        if row["line_kind"] == "rejected":
            assert row["reject_reason"], row["line"]
            continue
        for column, value in row.items():
            if column != "line" and value is not None:
                assert value == original[column], (column, row["line"])
