"""nginx: layouts, detection, `--log-format` variables, escape=json lines, produced_by."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat import formats
from logstat.errors import ExitCode, LogstatError
from logstat.formats import nginx
from logstat.formats.template import JsonLayout, Layout
from tests.helpers import parse_file, plan_file, records, write_log

COMBINED_LINE = (
    '192.0.2.1 - - [10/Mar/2024:13:55:36 +0000] "GET /a?b=1 HTTP/1.1" 200 12 "-" "curl/8.5.0"'
)


def write(tmp_path: Path, lines: list[str], name: str = "nginx-access.log") -> Path:
    return write_log(tmp_path, lines, name)


@pytest.mark.parametrize(
    ("lines", "layout"),
    [
        ([COMBINED_LINE], "nginx combined"),
        ([COMBINED_LINE + ' "203.0.113.1"'], "nginx main"),
        ([COMBINED_LINE + ' "-"'], "nginx main"),
        (
            [
                COMBINED_LINE + " 89 0.001 [default-web-8080] [] 172.17.0.5:8080 59 0.000 200 "
                "529a007902362a5f51385a5fa7049884"
            ],
            "nginx upstreaminfo",
        ),
        (["example.com " + COMBINED_LINE], "nginx vhost_combined"),
        (['{"status":"200","remote_addr":"::1","request":"GET / HTTP/1.1"}'], "nginx json"),
    ],
)
def test_layouts_are_detected(tmp_path: Path, lines: list[str], layout: str) -> None:
    run = plan_file(write(tmp_path, lines * 3))
    assert run.choice is not None
    assert run.choice.format.name == "nginx"
    assert run.choice.detection.parser.description == layout
    assert run.choice.detection.matched == 3


CLF_LINE = '192.0.2.1 - - [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" 404 12'


def test_common_log_format_lines_are_read_but_do_not_make_a_file_nginx(tmp_path: Path) -> None:
    """nginx reads stray CLF lines in its own files; a file of nothing else is Apache's."""
    only_clf = plan_file(write(tmp_path, [CLF_LINE] * 3))
    assert only_clf.choice is not None and only_clf.choice.format.name == "apache"
    mixed = write(tmp_path, [COMBINED_LINE, CLF_LINE, COMBINED_LINE], "mixed.log")
    run = plan_file(mixed)
    assert run.choice is not None and run.choice.format.name == "nginx"
    assert run.choice.detection.parser.description == "nginx combined"
    assert parse_file(mixed)["status"].to_list() == [200, 404, 200]
    # told it is nginx, every line of the CLF file is read
    forced = parse_file(write(tmp_path, [CLF_LINE] * 3), format="nginx")
    assert forced["line_kind"].to_list() == ["record"] * 3
    assert set(forced["source"]) == {"nginx"}


def test_combined_is_the_default_layout() -> None:
    assert nginx.FORMAT.make_parser(None).description == "nginx combined"
    assert next(iter(nginx.LAYOUTS)) == "combined"


def test_a_mostly_main_file_keeps_forwarded_for_and_reads_its_other_lines(tmp_path: Path) -> None:
    lines = (
        [COMBINED_LINE + ' "203.0.113.1"'] * 5
        + [COMBINED_LINE]
        + ['192.0.2.1 - - [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" 404 12']
    )
    frame = parse_file(write(tmp_path, lines))
    assert frame["line_kind"].to_list() == ["record"] * 7
    assert frame["http_x_forwarded_for"].to_list() == ["203.0.113.1"] * 5 + [None, None]
    assert frame["user_agent"].to_list() == ["curl/8.5.0"] * 6 + [None]
    assert frame["status"].to_list() == [200] * 6 + [404]


def test_lines_after_the_sample_are_read_by_any_nginx_layout(tmp_path: Path) -> None:
    """Detection samples the first lines; a layout first seen later is still read."""
    lines = [COMBINED_LINE] * 250 + ["example.com " + COMBINED_LINE.replace(" 200 ", " 503 ")]
    frame = parse_file(write(tmp_path, lines))
    last = frame.row(-1, named=True)
    assert (last["line_kind"], last["status"], last["host"]) == ("record", 503, "example.com")


# Every variable the README promises, each in a format string of its own kind.
VARIABLE_CASES = [
    ("$remote_addr", "2001:db8::1", {"client_ip": "2001:db8::1"}),
    ("$remote_user", "alice", {"remote_user": "alice"}),
    (
        "[$time_local]",
        "[10/Mar/2024:13:55:36 +0545]",
        {"timestamp": datetime(2024, 3, 10, 8, 10, 36, tzinfo=UTC)},
    ),
    (
        "$time_iso8601",
        "2024-03-10T13:55:36-07:00",
        {"timestamp": datetime(2024, 3, 10, 20, 55, 36, tzinfo=UTC)},
    ),
    (
        "$msec",
        "1710078936.250",
        {"timestamp": datetime(2024, 3, 10, 13, 55, 36, 250000, tzinfo=UTC)},
    ),
    (
        '"$request"',
        '"GET /a?b=1 HTTP/1.1"',
        {"method": "GET", "path": "/a", "query": "b=1", "protocol": "HTTP/1.1"},
    ),
    ("$request_method", "DELETE", {"method": "DELETE"}),
    ('"$request_uri"', '"/a b?c=d"', {"path": "/a b", "query": "c=d"}),
    ('"$uri"', '"/only/path"', {"path": "/only/path"}),
    ('"$args"', '"x=1&y=2"', {"query": "x=1&y=2"}),
    ("$server_protocol", "HTTP/2.0", {"protocol": "HTTP/2.0"}),
    ("$status", "503", {"status": 503}),
    ("$body_bytes_sent", "1024", {"bytes_sent": 1024}),
    ("$bytes_sent", "1200", {"bytes_sent": 1200}),
    ("$request_length", "321", {"request_length": 321}),
    ("$request_time", "1.250", {"request_time_s": 1.25}),
    ('"$http_referer"', '"https://example.com/"', {"referer": "https://example.com/"}),
    ('"$http_user_agent"', '"Mozilla/5.0 (X11)"', {"user_agent": "Mozilla/5.0 (X11)"}),
    (
        '"$http_x_forwarded_for"',
        '"203.0.113.1, 10.0.0.1"',
        {"http_x_forwarded_for": "203.0.113.1, 10.0.0.1"},
    ),
    ("$host", "www.example.com", {"host": "www.example.com"}),
    ("$server_name", "example.com", {"host": "example.com"}),
    ("$upstream_addr", "10.0.0.1:80, 10.0.0.2:80", {"upstream_addr": "10.0.0.1:80, 10.0.0.2:80"}),
    (
        "$upstream_status",
        "502, 504",
        {"upstream_status": 504, "upstream_status_list": "502, 504"},
    ),
    ("$upstream_status", "-", {"upstream_status": None, "upstream_status_list": None}),
    (
        "$upstream_response_time",
        "0.001 : 0.020",
        {"upstream_response_time": "0.001 : 0.020", "upstream_response_time_s": 0.021},
    ),
    ("$pipe", "p", {"pipe": "p"}),  # unknown variables: a string column of their name
    ("${connection}", "42", {"connection": "42"}),
]


@pytest.mark.parametrize(("template", "logged", "expected"), VARIABLE_CASES)
def test_log_format_variables(
    tmp_path: Path, template: str, logged: str, expected: dict[str, Any]
) -> None:
    # a status anchors each line so every case is a full record
    log_format = f"{template} $status" if template != "$status" else template
    line = f"{logged} 200" if template != "$status" else logged
    frame = parse_file(write(tmp_path, [line]), log_format=log_format)
    [row] = records(frame)
    assert {column: row[column] for column in expected} == expected


def test_every_documented_variable_is_known() -> None:
    documented = [
        "remote_addr",
        "remote_user",
        "time_local",
        "time_iso8601",
        "msec",
        "request",
        "request_method",
        "request_uri",
        "uri",
        "args",
        "server_protocol",
        "status",
        "body_bytes_sent",
        "bytes_sent",
        "request_length",
        "request_time",
        "http_referer",
        "http_user_agent",
        "http_x_forwarded_for",
        "host",
        "server_name",
        "upstream_addr",
        "upstream_status",
        "upstream_response_time",
    ]
    assert set(documented) <= set(nginx.VARIABLES)


def test_uri_is_args_args_splits_path_and_query(tmp_path: Path) -> None:
    log_format = '"$request_method $uri$is_args$args $server_protocol" $status'
    frame = parse_file(
        write(tmp_path, ['"GET /s?q=1&r=2 HTTP/1.1" 200', '"GET /plain HTTP/1.1" 301']),
        log_format=log_format,
    )
    assert [(row["path"], row["query"]) for row in records(frame)] == [
        ("/s", "q=1&r=2"),
        ("/plain", None),
    ]


def test_a_client_chain_keeps_the_last_address_as_client_ip(tmp_path: Path) -> None:
    lines = [
        COMBINED_LINE.replace("192.0.2.1", "10.0.0.2, 10.0.0.1, 127.0.0.1"),
        COMBINED_LINE.replace("192.0.2.1", '"198.51.100.1, 10.0.0.1" 10.2.1.185'),
    ]
    frame = parse_file(write(tmp_path, lines))
    assert frame["client_ip"].to_list() == ["127.0.0.1", "10.2.1.185"]
    assert frame["forwarded_for"].to_list() == ["10.0.0.2, 10.0.0.1", "198.51.100.1, 10.0.0.1"]


def test_unknown_layout_name_is_a_usage_error() -> None:
    with pytest.raises(LogstatError) as caught:
        nginx.FORMAT.make_parser("mian")
    assert caught.value.exit_code == ExitCode.USAGE
    assert "combined" in caught.value.message


def test_named_layout_through_options(tmp_path: Path) -> None:
    path = write(tmp_path, [COMBINED_LINE + ' "203.0.113.9"'])
    run = plan_file(path, format="nginx", log_format="combined")
    assert run.choice is not None
    assert run.choice.detection.parser.description == "nginx combined"
    [row] = records(parse_file(path, format="nginx", log_format="main"))
    assert row["http_x_forwarded_for"] == "203.0.113.9"


# --- escape=json lines -------------------------------------------------------------------


def test_json_lines_are_detected_without_options(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "time_iso8601": "2024-03-10T13:55:36+01:00",
                "remote_addr": "2001:db8::9",
                "request": 'GET /q"x HTTP/1.1',
                "status": 502,
                "body_bytes_sent": "157",
                "request_time": "3.001",
                "upstream_status": "502, 504",
                "http_user_agent": 'agent \\ "quoted"',
            }
        )
    ]
    run = plan_file(write(tmp_path, lines, "access.json"))
    assert run.choice is not None and run.choice.format.name == "nginx"
    assert isinstance(run.choice.detection.parser, JsonLayout)
    [row] = records(parse_file(write(tmp_path, lines, "access.json")))
    assert row["status"] == 502
    assert row["upstream_status"] == 504
    assert row["upstream_status_list"] == "502, 504"
    assert row["path"] == '/q"x'
    assert row["user_agent"] == 'agent \\ "quoted"'
    assert row["timestamp"] == datetime(2024, 3, 10, 12, 55, 36, tzinfo=UTC)
    assert row["request_time_s"] == 3.001
    assert row["produced_by"] == "proxy"  # 502 after upstream 504: nginx's own


def test_json_layout_reads_every_documented_key() -> None:
    layout = nginx.FORMAT.make_parser("json")
    assert isinstance(layout, JsonLayout)
    keys = {key for key, _ in layout.fields}
    documented = [
        "status",
        "request",
        "remote_addr",
        "time_local",
        "time_iso8601",
        "msec",
        "request_method",
        "request_uri",
        "uri",
        "args",
        "body_bytes_sent",
        "bytes_sent",
        "request_time",
        "http_referer",
        "http_user_agent",
        "http_x_forwarded_for",
        "host",
        "server_name",
        "upstream_status",
        "upstream_addr",
        "upstream_response_time",
    ]
    assert set(documented) <= keys


def test_cloudflare_json_is_not_claimed_by_nginx(tmp_path: Path) -> None:
    line = json.dumps(
        {
            "ClientIP": "192.0.2.1",
            "ClientRequestHost": "example.com",
            "ClientRequestMethod": "GET",
            "ClientRequestURI": "/",
            "EdgeResponseStatus": 522,
            "OriginResponseStatus": 0,
            "EdgeStartTimestamp": "2024-03-10T13:55:36Z",
        }
    )
    sample = pl.Series([line] * 3)
    assert nginx.FORMAT.detect(sample) is None


def test_other_json_logs_are_read_by_their_keys() -> None:
    """Caddy's JSON lines are read by what their keys mean (formats/json_keys.py): the
    status and the time; its `request` object is no request line and is left alone."""
    caddy = json.dumps(
        {
            "level": "info",
            "ts": 1710078936.25,
            "msg": "handled request",
            "request": {"remote_ip": "192.0.2.1", "method": "GET", "uri": "/"},
            "status": 200,
            "size": 12,
            "duration": 0.001,
        }
    )
    detection = nginx.FORMAT.detect(pl.Series([caddy] * 3))
    assert detection is not None
    assert detection.parser.description == "nginx json keys"
    row = detection.parser.parse(pl.LazyFrame({"line": [caddy]})).collect().row(0, named=True)
    assert (row["status"], row["bytes_sent"], row.get("method")) == (200, 12, None)
    assert row["timestamp"].isoformat() == "2024-03-10T13:55:36.250000+00:00"


def test_cloudflare_corpus_files_are_not_nginx(corpus: Path) -> None:
    for path in sorted((corpus / "cloudflare").iterdir()):
        if path.name.endswith(".expected.csv"):
            continue
        run = plan_file(path)
        assert run.choice is None or run.choice.format.name != "nginx", path.name


# --- who produced the status ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "upstream", "producer"),
    [
        ("200", "200", "upstream"),
        ("404", "404", "upstream"),
        # nginx's own 502 (could not connect) or an upstream's: nothing here tells
        ("502", "502", "unknown"),
        ("504", "502, 504", "unknown"),
        ("503", "-", "proxy"),  # no upstream contacted: limit_req, return, ...
        ("499", "200", "proxy"),
        ("500", "404", "proxy"),  # error_page replaced the upstream's answer
        # one entry per attempt; the last one is what the client got
        ("200", "502, 200", "upstream"),  # a dead server, then a live one
        ("502", "502, 502", "unknown"),  # every server tried was dead, or the last sent 502
        ("200", "502 : 200", "upstream"),  # ` : ` joins groups after an internal redirect
        ("404", "200 : 404", "upstream"),
        ("499", "-", "proxy"),  # the client hung up before any upstream answered
        ("499", "200, -", "proxy"),  # ... before the last attempt answered
        ("502", "200, -", "proxy"),
        ("499", "499", "upstream"),  # an application's own 499 (ArcGIS), passed on
        ("503", "503", "upstream"),
    ],
)
def test_produced_by_with_upstream_status(
    tmp_path: Path, status: str, upstream: str, producer: str
) -> None:
    line = f'192.0.2.1 [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" {status} {upstream}'
    frame = parse_file(
        write(tmp_path, [line]),
        log_format='$remote_addr [$time_local] "$request" $status $upstream_status',
    )
    assert frame["produced_by"].to_list() == [producer]


def test_produced_by_without_upstream_status(tmp_path: Path) -> None:
    """Only codes no server sends are nginx's for sure; an app behind nginx may send 499."""
    statuses = ("200", "499", "444", "000", "502")
    lines = [COMBINED_LINE.replace(" 200 ", f" {status} ") for status in statuses]
    frame = parse_file(write(tmp_path, lines))
    assert frame["produced_by"].to_list() == ["unknown", "unknown", "proxy", "proxy", "unknown"]


@pytest.mark.parametrize(
    ("status", "upstream", "variable", "evidence", "producer"),
    [
        # $upstream_header_time: "-" when no response header arrived from that attempt; a
        # lone "-" reads as "not logged" (a JSON log may lack the key), so it proves nothing
        ("502", "502", "$upstream_header_time", "-", "unknown"),
        ("502", "502", "$upstream_header_time", "0.004", "upstream"),
        ("504", "502, 504", "$upstream_header_time", "-, -", "proxy"),
        ("502", "502, 502", "$upstream_header_time", "-, 0.010", "upstream"),
        ("502", "502 : 502", "$upstream_header_time", "0.010 : -", "proxy"),
        # no byte from the upstream: nothing answered; some bytes may be an invalid header
        ("502", "502", "$upstream_bytes_received", "0", "proxy"),
        ("502", "502", "$upstream_bytes_received", "187", "unknown"),
        # a body was read, so the header was valid; an empty body proves nothing
        ("504", "504", "$upstream_response_length", "167", "upstream"),
        ("504", "504", "$upstream_response_length", "0", "unknown"),
        ("200", "200", "$upstream_response_length", "0", "upstream"),
    ],
)
def test_produced_by_reads_whether_the_last_attempt_answered(
    tmp_path: Path, status: str, upstream: str, variable: str, evidence: str, producer: str
) -> None:
    line = f'192.0.2.1 "GET / HTTP/1.1" {status} {upstream} [{evidence}]'
    frame = parse_file(
        write(tmp_path, [line]),
        log_format=f'$remote_addr "$request" $status $upstream_status [{variable}]',
    )
    assert frame["produced_by"].to_list() == [producer]


# --- properties -------------------------------------------------------------------------------

printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=30)


def nginx_escape(text: str) -> str:
    """What ngx_http_log_escape does to `"` and `\\` (the bytes logstat unescapes)."""
    return text.replace("\\", "\\x5C").replace('"', "\\x22")


@settings(max_examples=60, deadline=None)
@given(agent=printable, referer=printable, status=st.integers(100, 599))
def test_escaped_fields_round_trip(agent: str, referer: str, status: int) -> None:
    line = (
        f'192.0.2.1 - - [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" {status} 1 '
        f'"{nginx_escape(referer)}" "{nginx_escape(agent)}"'
    )
    layout = nginx.FORMAT.make_parser("combined")
    assert isinstance(layout, Layout)
    [row] = layout.parse(pl.LazyFrame({"line": [line]})).collect().to_dicts()
    assert row["line_kind"] == "record"
    assert row["status"] == status
    assert row["user_agent"] == (None if agent == "-" else agent)
    assert row["referer"] == (None if referer == "-" else referer)


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(
        st.sampled_from(["\\x22", "\\x5C", "\\x5c", "\\", "x", "22", "5C", "5c", '"', "a"]),
        max_size=12,
    )
)
def test_unescape_reads_any_text_as_two_passes_would(parts: list[str]) -> None:
    """One pass over all escapes gives what replacing \\x22, then \\x5C / \\x5c, gives
    (no escape can start inside another, nor be made by the restored bytes)."""
    text = "".join(parts)
    two_passes = re.sub(r"\\x5[Cc]", lambda _: "\\", text.replace("\\x22", '"'))
    [unescaped] = pl.select(nginx.unescape(pl.lit(text))).to_series().to_list()
    assert unescaped == two_passes


@settings(max_examples=40, deadline=None)
@given(
    kinds=st.lists(
        st.sampled_from(["combined", "main", "common", "garbage", "blank"]), min_size=1, max_size=40
    )
)
def test_every_line_is_a_record_or_a_reject(kinds: list[str]) -> None:
    """Counts add up whatever the mix: nothing is dropped, nothing is counted twice."""
    text = {
        "combined": COMBINED_LINE,
        "main": COMBINED_LINE + ' "-"',
        "common": '192.0.2.1 - - [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" 404 1',
        "garbage": "not an access line",
        "blank": "",
    }
    sample = pl.Series([text[kind] for kind in kinds])
    choice = formats.detect(formats.sample_lines(sample), "access.log")
    good = sum(kind not in ("garbage", "blank") for kind in kinds)
    if choice is None:
        assert good == 0
        return
    frame = choice.detection.parser.parse(pl.LazyFrame({"line": sample})).collect()
    assert frame.height == len(kinds)
    assert int((frame["line_kind"] == "record").sum()) == good
    assert int((frame["line_kind"] == "rejected").sum()) == len(kinds) - good


# As nginx's documentation describes $upstream_response_time (ngx_http_upstream_module):
# one time per server contacted, `, `-separated, ` : ` after an internal redirect to
# another group; `-` for a server that gave no response (or was never reached).
UPSTREAM_TIMES = [
    ("0.004", 0.004),
    ("-", None),
    ("0.004, 0.010", 0.014),
    ("0.004, 0.010 : 0.002", 0.016),
    ("-, 0.010", 0.010),
    ("- : -", None),
    ("-, -", None),
    ("0.100, 0.200", 0.3),  # summed as decimals: 0.3, as logged alone
    ("12.004 : 0.000", 12.004),
]


@pytest.mark.parametrize(("logged", "seconds"), UPSTREAM_TIMES)
@pytest.mark.parametrize(
    "variable", ["upstream_response_time", "upstream_connect_time", "upstream_header_time"]
)
def test_upstream_times_are_the_sum_over_every_upstream_tried(
    tmp_path: Path, variable: str, logged: str, seconds: float | None
) -> None:
    log_format = f'$remote_addr [$time_local] "$request" $status ${variable} $request_time'
    line = f'10.0.0.1 [10/Mar/2024:01:59:59 +0000] "GET /a HTTP/1.1" 502 {logged} 0.020'
    [row] = records(parse_file(write(tmp_path, [line]), log_format=log_format))
    assert row[f"{variable}_s"] == seconds
    assert row[variable] == (None if logged == "-" else logged)  # the list, as logged


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(
        st.lists(st.one_of(st.none(), st.integers(0, 600_000)), min_size=1, max_size=4),
        min_size=1,
        max_size=3,
    )
)
def test_summed_upstream_times_are_exact_decimals(groups: list[list[int | None]]) -> None:
    """The sum of the logged milliseconds, read as the one number would be read."""
    from decimal import Decimal

    logged = " : ".join(
        ", ".join("-" if ms is None else f"{Decimal(ms) / 1000:.3f}" for ms in group)
        for group in groups
    )
    numbers = [ms for group in groups for ms in group if ms is not None]
    expected = float(f"{Decimal(sum(numbers)) / 1000:.3f}") if numbers else None
    converter = nginx.VARIABLES["upstream_response_time"][1]
    frame = pl.DataFrame({"text": [logged]}).select(**converter(pl.col("text")))
    assert frame["upstream_response_time_s"].to_list() == [expected], logged


def test_upstream_time_is_a_part_of_the_request_in_the_latency_report(tmp_path: Path) -> None:
    """Read next to $request_time, as ALB's target time is: a slow upstream is told apart."""
    from logstat.summary.latency import LatencyCounts
    from logstat.summary.latency_rows import latency_report

    lines = [
        f'10.0.0.1 [10/Mar/2024:01:59:59 +0000] "GET /a HTTP/1.1" 200 {upstream} {total}'
        for upstream, total in [("0.500", "0.510"), ("0.004, 0.010", "0.020"), ("-", "0.001")]
    ]
    log_format = (
        '$remote_addr [$time_local] "$request" $status $upstream_response_time $request_time'
    )
    parsed = parse_file(write(tmp_path, lines), log_format=log_format)
    frame = parsed.filter(pl.col("line_kind") == "record")
    counts = LatencyCounts(3)
    counts.add(frame)
    report = latency_report(counts)
    assert report is not None
    rows = {row.measure: row for row in report.by_status}
    assert rows["upstream_response_time_s"].requests == 2  # `-`: nginx answered alone
    assert rows["upstream_response_time_s"].max == 0.5
    assert rows["request_time_s"].requests == 3
