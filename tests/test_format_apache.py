"""Apache httpd: layouts, detection, `LogFormat` directives, `%s` apart from `%>s`, escapes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat.formats import apache
from logstat.formats.template import Layout
from tests.helpers import parse_file, plan_file, records, write_log

COMMON_LINE = '192.0.2.1 - frank [10/Mar/2024:13:55:36 -0700] "GET /a?b=1 HTTP/1.1" 200 2326'
COMBINED_LINE = COMMON_LINE + ' "https://example.com/" "Mozilla/5.0"'


def write(tmp_path: Path, lines: list[str], name: str = "apache2-access.log") -> Path:
    return write_log(tmp_path, lines, name)


@pytest.mark.parametrize(
    ("lines", "layout"),
    [
        ([COMBINED_LINE], "apache combined"),
        ([COMMON_LINE], "apache common"),
        (["www.example.com:443 " + COMBINED_LINE], "apache vhost_combined"),
        (["www.example.com " + COMMON_LINE], "apache vhost_common"),
    ],
)
def test_layouts_are_detected(tmp_path: Path, lines: list[str], layout: str) -> None:
    run = plan_file(write(tmp_path, lines * 3))
    assert run.choice is not None
    assert run.choice.format.name == "apache"
    assert run.choice.detection.parser.description == layout


def test_a_few_common_lines_do_not_turn_a_combined_file_into_common(tmp_path: Path) -> None:
    """Every combined line also matches common: the richer layout must win, per line."""
    frame = parse_file(write(tmp_path, [COMBINED_LINE] * 5 + [COMMON_LINE]))
    run = plan_file(write(tmp_path, [COMBINED_LINE] * 5 + [COMMON_LINE]))
    assert run.choice is not None
    assert run.choice.detection.parser.description == "apache combined"
    assert frame["user_agent"].to_list() == ["Mozilla/5.0"] * 5 + [None]
    assert frame["line_kind"].to_list() == ["record"] * 6


def test_combined_lines_go_to_apache_when_the_path_says_so(tmp_path: Path) -> None:
    for name, server in [("httpd/access_log", "apache"), ("apache2/access.log", "apache")]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        run = plan_file(write(tmp_path, [COMBINED_LINE], name))
        assert run.choice is not None
        assert run.choice.format.name == server
        assert not run.choice.alternatives
    run = plan_file(write(tmp_path, [COMBINED_LINE], "access.log"))
    assert run.choice is not None
    assert run.choice.format.name == "nginx"  # the tie goes to the first format...
    assert run.choice.alternatives == ("apache",)  # ...and the summary says so
    assert "--format" in run.choice.summary


def test_original_status_is_kept_apart_from_the_final_status(tmp_path: Path) -> None:
    path = write(tmp_path, ['192.0.2.1 [10/Mar/2024:13:55:36 +0000] "GET /old HTTP/1.1" 200 302'])
    [row] = records(parse_file(path, log_format='%h %t "%r" %>s %s'))
    assert (row["status"], row["original_status"]) == (200, 302)
    # %<s is the original status too
    [row] = records(parse_file(path, log_format='%h %t "%r" %>s %<s'))
    assert (row["status"], row["original_status"]) == (200, 302)


def test_only_percent_s_is_the_status(tmp_path: Path) -> None:
    path = write(tmp_path, ['192.0.2.1 [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" 404'])
    [row] = records(parse_file(path, log_format='%h %t "%r" %s'))
    assert row["status"] == 404
    assert "original_status" not in row


# directive, as logged, columns read back
DIRECTIVE_CASES = [
    ("%h", "2001:db8::1", {"client_ip": "2001:db8::1"}),
    ("%a", "192.0.2.7", {"client_ip": "192.0.2.7"}),
    ("%{c}a", "192.0.2.8", {"client_ip": "192.0.2.8"}),
    ("%l", "ident", {"remote_logname": "ident"}),
    ("%u", "bob@example.com", {"remote_user": "bob@example.com"}),
    (
        "%t",
        "[10/Mar/2024:13:55:36 +0545]",
        {"timestamp": datetime(2024, 3, 10, 8, 10, 36, tzinfo=UTC)},
    ),
    (
        '"%r"',
        '"POST /f?x=1 HTTP/1.0"',
        {"method": "POST", "path": "/f", "query": "x=1", "protocol": "HTTP/1.0"},
    ),
    ("%>s", "503", {"status": 503}),
    ("%b", "-", {"bytes_sent": None}),
    ("%b", "512", {"bytes_sent": 512}),
    ("%B", "0", {"bytes_sent": 0}),
    ("%O", "700", {"bytes_sent": 700}),
    ("%I", "300", {"bytes_received": 300}),
    ("%D", "1500", {"request_time_s": 0.0015}),
    ("%T", "2", {"request_time_s": 2.0}),
    ("%{ms}T", "250", {"request_time_s": 0.25}),
    ("%{us}T", "250", {"request_time_s": 0.00025}),
    ("%v", "www.example.com", {"host": "www.example.com"}),
    ("%V", "example.com", {"host": "example.com"}),
    ("%p", "8443", {"server_port": 8443}),
    ("%m", "PUT", {"method": "PUT"}),
    ("%U%q", "/p?a=1", {"path": "/p", "query": "a=1"}),
    ("%U%q", "/p", {"path": "/p", "query": None}),
    ("%H", "HTTP/2.0", {"protocol": "HTTP/2.0"}),
    ('"%{Referer}i"', '"https://example.com/"', {"referer": "https://example.com/"}),
    ('"%{User-Agent}i"', '"curl/8.5.0"', {"user_agent": "curl/8.5.0"}),
    (
        '"%{X-Forwarded-For}i"',
        '"203.0.113.1, 10.0.0.1"',
        {"x_forwarded_for": "203.0.113.1, 10.0.0.1"},
    ),
    ("%{Content-Type}o", "text/html", {"response_content_type": "text/html"}),
    ("%{UNIQUE_ID}e", "ZfAbCd", {"env_unique_id": "ZfAbCd"}),
    ("%{ratio}n", "87", {"note_ratio": "87"}),
    ("%{sec}t", "1710078936", {"timestamp": datetime(2024, 3, 10, 13, 55, 36, tzinfo=UTC)}),
    (
        "%{msec}t",
        "1710078936250",
        {"timestamp": datetime(2024, 3, 10, 13, 55, 36, 250000, tzinfo=UTC)},
    ),
    (
        "[%{%d/%b/%Y %H:%M:%S %z}t]",
        "[10/Mar/2024 13:55:36 -0130]",
        {"timestamp": datetime(2024, 3, 10, 15, 25, 36, tzinfo=UTC)},
    ),
    ("%400,501{User-agent}i", "-", {"user_agent": None}),
    ("100%%", "100%", {}),
]


@pytest.mark.parametrize(("template", "logged", "expected"), DIRECTIVE_CASES)
def test_log_format_directives(
    tmp_path: Path, template: str, logged: str, expected: dict[str, Any]
) -> None:
    log_format = f"{template} %>s" if template != "%>s" else template
    line = f"{logged} 200" if template != "%>s" else logged
    [row] = records(parse_file(write(tmp_path, [line]), log_format=log_format))
    assert {column: row[column] for column in expected} == expected


def test_every_documented_directive_is_known() -> None:
    for letter in ["h", "a", "l", "u", "t", "r", ">s", "s", "b", "B", "O", "I", "D", "T"]:
        assert letter in apache.DIRECTIVES
    for letter in ["v", "V", "p", "m", "U", "H"]:
        assert letter in apache.DIRECTIVES


def test_escaped_quotes_and_backslashes(tmp_path: Path) -> None:
    line = (
        r'192.0.2.1 - - [28/Feb/2013:12:00:00 +0900] "GET /\" HTTP/1.1" 200 777 '
        r'"referer \\ \"" "user agent \\ \""'
    )
    [row] = records(parse_file(write(tmp_path, [line])))
    assert row["path"] == '/"'
    assert row["referer"] == 'referer \\ "'
    assert row["user_agent"] == 'user agent \\ "'
    # 12:00 at +09:00 is 03:00 UTC
    assert row["timestamp"] == datetime(2013, 2, 28, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("request_part", "status", "method", "path"),
    [
        (r'"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" 400 226', 400, None, None),
        ('"-" 408 -', 408, None, None),
        ('"" 400 -', 400, None, None),
        ('"GET /" 200 5', 200, "GET", "/"),
        ('"GET /a b/c HTTP/1.1" 200 5', 200, "GET", "/a b/c"),
        ('"OPTIONS /x HTTP/1.1" - 7908', None, "OPTIONS", "/x"),
    ],
)
def test_odd_requests_are_records(
    tmp_path: Path, request_part: str, status: int | None, method: str | None, path: str | None
) -> None:
    line = f"::1 - - [26/Dec/2016:16:16:48 +0200] {request_part}"
    [row] = records(parse_file(write(tmp_path, [line])))
    assert (row["status"], row["method"], row["path"]) == (status, method, path)
    assert row["status_class"] == ("none" if status is None else f"{status // 100}xx")
    assert row["client_ip"] == "::1"


def apache_escape(text: str) -> str:
    """What ap_escape_logitem does to `"` and `\\` (the bytes logstat unescapes)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


@settings(max_examples=60, deadline=None)
@given(
    agent=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=30),
    target=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20),
)
def test_escaped_fields_round_trip(agent: str, target: str) -> None:
    line = (
        f'192.0.2.1 - - [10/Mar/2024:13:55:36 +0000] "GET /{apache_escape(target)} HTTP/1.1" '
        f'200 1 "-" "{apache_escape(agent)}"'
    )
    layout = apache.FORMAT.make_parser("combined")
    assert isinstance(layout, Layout)
    [row] = layout.parse(pl.LazyFrame({"line": [line]})).collect().to_dicts()
    assert row["line_kind"] == "record"
    assert row["user_agent"] == (None if agent == "-" else agent)
    expected_path, _, expected_query = f"/{target}".partition("?")
    assert row["path"] == expected_path
    assert row["query"] == (expected_query if "?" in target else None)
