"""Lines a container runtime, journald or syslog wrapped: found, unwrapped, read as the
server's own lines; the envelope's time where the line has none.

The envelope fixtures (fixtures/nginx/docker-json-file.log, cri-containerd.log,
journal-*.log, docker-no-time.log; fixtures/traefik/docker-json-file.log) are compared
with their goldens in test_format_fixtures.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from logstat.formats import envelope
from tests.helpers import FIXTURES, detected_by_lines, parse_file, write_log

LINE = '192.0.2.10 - - [02/Dec/2026:10:00:0{n} +0000] "GET /p{n} HTTP/1.1" 200 61{n} "-" "curl/8"'
HAPROXY = (
    "10.0.1.2:33312 [02/Dec/2026:10:00:0{n}.120] www~ web/app1 10/0/30/69/109 200 2750 - - "
    '---- 1/1/1/1/0 0/0 "GET /p{n} HTTP/1.1"'
)


@pytest.mark.parametrize(
    ("log", "title"),
    [
        ("docker-json-file.log", "Docker json-file"),
        ("cri-containerd.log", "CRI (containerd, CRI-O)"),
        ("journal-short-iso.log", "syslog"),
        ("journal-json.log", "journalctl -o json"),
        ("journal-export.log", "journalctl -o export"),
    ],
)
def test_the_server_inside_is_detected_as_usual(log: str, title: str) -> None:
    found = detected_by_lines(FIXTURES / "nginx" / log)
    assert found is not None and found.format.name == "nginx"
    assert found.detection.parser.description == f"nginx combined in {title}"


def test_lines_are_given_back_as_logged(tmp_path: Path) -> None:
    entries = [
        json.dumps(
            {"log": LINE.format(n=n) + "\n", "stream": "stdout", "time": "2026-12-02T10:00:00Z"}
        )
        for n in range(3)
    ]
    frame = parse_file(write_log(tmp_path, entries, "app.log"))
    assert frame["line"].to_list() == entries
    assert frame["path"].to_list() == ["/p0", "/p1", "/p2"]


def test_a_line_split_into_parts_is_read_once_across_chunks(tmp_path: Path) -> None:
    """A CRI `P` part is a comment; the `F` entry after it holds the whole line, even when
    the two fall in different chunks of the file."""
    whole = LINE.format(n=1).replace("curl/8", "curl/8 " + "x" * 3000)
    entries = [f"2026-12-02T10:00:00.1Z stdout F {LINE.format(n=0)}"]
    entries += [f"2026-12-02T10:00:01.1Z stdout P {whole[i : i + 1000]}" for i in (0, 1000, 2000)]
    entries += [f"2026-12-02T10:00:01.1Z stdout F {whole[3000:]}"]
    entries += [f"2026-12-02T10:00:02.1Z stdout F {LINE.format(n=2)}"]
    log = write_log(tmp_path, entries, "pod.log")
    for chunk_bytes in (1 << 20, 1500):
        frame = parse_file(log, chunk_bytes=chunk_bytes)
        assert frame["line_kind"].to_list() == ["record", *["comment"] * 3, "record", "record"]
        agents = frame["user_agent"].to_list()
        assert agents[4] == "curl/8 " + "x" * 3000 and agents[5] == "curl/8"


def test_the_envelopes_time_stands_in_for_a_line_without_one(tmp_path: Path) -> None:
    frame = parse_file(
        FIXTURES / "nginx" / "docker-no-time.log",
        format="nginx",
        log_format='$remote_addr "$request" $status $body_bytes_sent',
    )
    assert frame["timestamp"].dt.second().to_list() == [10, 11, 12]


def test_the_lines_own_time_comes_first(tmp_path: Path) -> None:
    entry = {"log": LINE.format(n=5) + "\n", "stream": "stdout", "time": "2026-12-02T11:59:59Z"}
    frame = parse_file(write_log(tmp_path, [json.dumps(entry)], "app.log"))
    assert frame["timestamp"].dt.strftime("%H:%M:%S").to_list() == ["10:00:05"]


def test_haproxy_behind_syslog_inside_docker(tmp_path: Path) -> None:
    """Two envelopes: HAProxy cuts its syslog header inside Docker's JSON."""
    entries = [
        json.dumps(
            {
                "log": f"<134>Dec  2 10:00:0{n} lb1 haproxy[8]: {HAPROXY.format(n=n)}\n",
                "stream": "stdout",
                "time": f"2026-12-02T10:00:0{n}Z",
            }
        )
        for n in range(3)
    ]
    frame = parse_file(write_log(tmp_path, entries, "lb.log"))
    assert set(frame["source"]) == {"haproxy"}
    assert frame["line_kind"].to_list() == ["record"] * 3
    assert frame["line"].to_list() == entries


def test_traefiks_json_inside_dockers_json() -> None:
    frame = parse_file(FIXTURES / "traefik" / "docker-json-file.log")
    assert set(frame["source"]) == {"traefik"}
    # the last entry dropped StartUTC: Docker's time stands in
    assert frame["timestamp"][-1].isoformat() == "2026-12-02T10:00:09.300000+00:00"


@pytest.mark.parametrize(
    "line",
    [
        LINE.format(n=1),  # nginx
        "2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 "
        '0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" '
        "- -",  # ELB: an ISO time first, but no syslog tag
        '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100',
    ],
)
def test_plain_access_lines_are_in_no_envelope(line: str) -> None:
    assert envelope.find(pl.Series([line] * 3)) is None
