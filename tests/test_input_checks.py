"""Input that is not what the user thinks: blank lines, format strings without a status.

Blank lines (empty or white space only) are a line kind of their own: counted in
the summary like comment lines, never rejects, and no reason to flag a file.  A
--log-format without a status field is a usage error (exit 2, one line): every
line would be a record with no status.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import parse_file, run_cli, write_log

LINE = '192.0.2.1 - - [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" {status} 5 "-" "curl/8"'


def test_blank_lines_are_counted_as_blank_not_rejected(tmp_path: Path) -> None:
    path = write_log(
        tmp_path,
        [LINE.format(status=200), "", "   ", "\t", LINE.format(status=404), " \t "],
        "access.log",
    )
    frame = parse_file(path)
    assert frame["line_kind"].to_list() == [
        "record",
        "blank",
        "blank",
        "blank",
        "record",
        "blank",
    ]
    assert frame["reject_reason"].null_count() == frame.height
    code, out, err = run_cli(str(path), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["totals"]["blank"] == 4
    assert summary["totals"]["rejected"] == 0
    assert summary["rejects"] == {}
    [file] = summary["files"]
    assert (file["blank"], file["rejected"], file["problems"]) == (4, 0, [])
    code, out, _ = run_cli(str(path))
    assert code == 0
    first = out.splitlines()[0]
    assert "6 lines: 2 parsed, 0 rejected, 4 blank" in first, first


def test_blank_lines_do_not_flag_a_file_among_many(tmp_path: Path) -> None:
    """Past the one-by-one listing, only files that need a look are shown."""
    for number in range(25):
        write_log(tmp_path, [LINE.format(status=200), ""], f"access{number}.log")
    code, out, err = run_cli(str(tmp_path))
    assert code == 0, err
    assert "Every file was recognised, with no rejected lines and no warnings" in out


def test_blank_lines_of_an_unrecognised_file_are_blank(tmp_path: Path) -> None:
    path = write_log(tmp_path, ["dear diary", "", "nothing here"], "notes.txt")
    frame = parse_file(path, format="nginx")
    assert frame["line_kind"].to_list() == ["rejected", "blank", "rejected"]


@pytest.mark.parametrize(
    ("log_format", "line"),
    [
        ("$remote_addr $status", "192.0.2.1 200"),
        ("%h %>s", "192.0.2.1 200"),
        ("%h %s", "192.0.2.1 200"),  # the status before redirects: the one there is
        ('{"ip":"$remote_addr","code":"$status"}', '{"ip":"192.0.2.1","code":"200"}'),
    ],
)
def test_log_format_with_a_status_is_read(tmp_path: Path, log_format: str, line: str) -> None:
    path = write_log(tmp_path, [line], "access.log")
    frame = parse_file(path, log_format=log_format)
    assert frame["status"].to_list() == [200]


@pytest.mark.parametrize(
    ("log_format", "named"),
    [
        ("$remote_addr $body_bytes_sent", "$status"),
        ("%h %b", "%>s"),
        ('{"ip":"$remote_addr"}', "$status"),
    ],
)
def test_log_format_without_a_status_is_a_usage_error(
    tmp_path: Path, log_format: str, named: str
) -> None:
    path = write_log(tmp_path, ["192.0.2.1 5"], "access.log")
    code, out, err = run_cli(str(path), "--log-format", log_format)
    assert code == 2, err
    assert out == ""
    assert err.startswith("logstat: error: ") and err.count("\n") == 1, err
    assert "no status" in err and named in err


# JSON access logs with their own key names


def test_json_lines_are_read_by_what_their_keys_mean(tmp_path: Path) -> None:
    lines = [
        '{"remote-ip":"192.0.2.1","@timestamp":"2024-03-10T13:55:36+01:00","method":"GET",'
        '"path":"/a?x=1","status":"304","user_agent":"curl/8","unknown":"kept out"}',
        '{"remote-ip":"192.0.2.2","@timestamp":"2024-03-10T13:55:37+01:00","method":"POST",'
        '"path":"/b","status":500,"user_agent":"curl/8"}',
        '{"remote-ip":"192.0.2.3","@timestamp":"2024-03-10T13:55:38+01:00","path":"/c"}',
    ]
    path = write_log(tmp_path, lines, "access.log")
    frame = parse_file(path)
    assert frame["source"].to_list() == ["nginx"] * 3
    assert frame["line_kind"].to_list() == ["record", "record", "rejected"]
    assert frame["status"].to_list()[:2] == [304, 500]  # a string or a number
    assert frame["method"].to_list()[:2] == ["GET", "POST"]
    assert (frame["path"][0], frame["query"][0]) == ("/a", "x=1")
    assert frame["client_ip"].to_list()[:2] == ["192.0.2.1", "192.0.2.2"]
    assert frame["timestamp"][0].isoformat() == "2024-03-10T12:55:36+00:00"
    assert "status" in frame["reject_reason"][2]


@pytest.mark.parametrize(
    ("keys", "values"),
    [
        (("Status", "Time", "Method", "URI"), ("201", "10/Mar/2024:13:55:36 +0000", "PUT", "/u")),
        (
            ("status_code", "timestamp", "request_method", "request_uri"),
            (201, 1710078936, "PUT", "/u"),
        ),
        (("HTTP-Status", "ts", "Verb", "url"), ("201", 1710078936000, "PUT", "/u")),
        (
            ("DownstreamStatus", "StartUTC", "RequestMethod", "RequestPath"),
            (201, "2024-03-10T13:55:36Z", "PUT", "/u"),
        ),
    ],
)
def test_usual_key_spellings_are_found(
    tmp_path: Path, keys: tuple[str, ...], values: tuple[object, ...]
) -> None:
    record = json.dumps(dict(zip(keys, values, strict=True)))
    path = write_log(tmp_path, [record, record], "access.log")
    row = parse_file(path).row(0, named=True)
    assert (row["line_kind"], row["status"], row["method"], row["path"]) == (
        "record",
        201,
        "PUT",
        "/u",
    )
    assert row["timestamp"].isoformat() == "2024-03-10T13:55:36+00:00"


def test_json_keys_option_maps_keys_by_hand(tmp_path: Path) -> None:
    lines = [
        '{"ip":"192.0.2.1","t":1710078936.5,"code":"200","p":"/x"}',
        '{"ip":"192.0.2.1","t":1710078937,"code":"404","p":"/y"}',
    ]
    path = write_log(tmp_path, lines, "app.log")
    code, _, err = run_cli(str(path), "--quiet")
    assert code == 3 and "--json-keys" in err, err  # no status key under a usual name
    frame = parse_file(path, json_keys="status=code,time=t,path=p,client=ip")
    assert frame["status"].to_list() == [200, 404]
    assert frame["path"].to_list() == ["/x", "/y"]
    assert frame["client_ip"].to_list() == ["192.0.2.1", "192.0.2.1"]
    assert frame["timestamp"][0].isoformat() == "2024-03-10T13:55:36.500000+00:00"
    code, out, err = run_cli(str(path), "--json-keys", "status=code", "--json")
    assert code == 0, err
    assert json.loads(out)["totals"]["records"] == 2


@pytest.mark.parametrize(
    "arguments",
    [
        ("--json-keys", "stat=code"),
        ("--json-keys", "status"),
        ("--json-keys", "time=t"),  # no status key in the lines, none named
        ("--json-keys", "status=code", "--log-format", "$status"),
        ("--json-keys", "status=code", "--format", "iis"),
    ],
)
def test_json_keys_usage_errors(tmp_path: Path, arguments: tuple[str, ...]) -> None:
    path = write_log(tmp_path, ['{"code":"200","t":1}'], "app.log")
    code, _, err = run_cli(str(path), *arguments)
    assert code == 2, err
    assert err.startswith("logstat: error: ") and err.count("\n") == 1, err
