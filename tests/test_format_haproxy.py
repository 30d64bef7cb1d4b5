"""HAProxy logs: layouts from HAProxy's own log-format strings, syslog headers cut,
HAProxy's notices as comments, who produced a status from the termination state.

The fixtures in fixtures/haproxy/ (the manual's examples, lines real HAProxy 2.6 wrote,
its syslog headers, a custom log-format) are compared with their goldens in
test_format_fixtures.py.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import polars as pl
import pytest

from logstat.errors import LogstatError
from logstat.formats import BY_NAME, haproxy
from logstat.reading import pipeline
from logstat.reading.sources import expand
from logstat.report.model import SCHEMA_RESOURCE
from logstat.status import load_registry, termination
from logstat.status.details import DetailReading
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

FIXTURE_LOGS = data_files(FIXTURES / "haproxy")
SCHEMA = resources.files("logstat").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA))

LINE = (
    "10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 "
    '- - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1"'
)


def parse_lines(lines: list[str], tmp_path: Path, **options: str) -> pl.DataFrame:
    return parse_file(write_log(tmp_path, lines, "haproxy.log"), **options)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Feb  6 12:14:14 localhost haproxy[14389]: ",  # rsyslog, traditional file format
        "Feb 06 12:14:14 lb1 haproxy[14389]: ",  # journalctl -o short
        "2009-02-06T12:14:14.655000+00:00 lb1 haproxy[14389]: ",  # rsyslog ISO format
        "2009-02-06T12:14:14+0000 lb1 haproxy[14389]: ",  # journalctl -o short-iso
        "haproxy[14389]: ",  # as the manual prints its examples
        "<134>Feb  6 12:14:14 haproxy[14389]: ",  # HAProxy's rfc3164 to a socket
        "<134>1 2009-02-06T12:14:14.655+00:00 lb1 haproxy 14389 - - ",  # rfc5424
        r'<134>1 2009-02-06T12:14:14.655Z - haproxy 14389 - [meta x="a\]b"][y@1 z="2"] ',
        "<134>",  # format short
        "2009-02-06T12:14:14.655+00:00 ",  # format iso
        "<134>2009-02-06T12:14:14.655+00:00 ",  # format timed
    ],
)
def test_syslog_headers_are_cut(header: str, tmp_path: Path) -> None:
    frame = parse_lines([header + LINE] * 3, tmp_path)
    assert frame["line_kind"].to_list() == ["record"] * 3
    assert frame["client_ip"].to_list() == ["10.0.1.2"] * 3
    assert frame["status"].to_list() == [200] * 3
    assert frame["line"].to_list() == [header + LINE] * 3  # given back as logged


@pytest.mark.parametrize(
    ("state", "server", "status", "producer"),
    [
        ("----", "srv1", 200, "upstream"),  # passed on
        ("----", "srv1", 503, "upstream"),  # the server's own 503
        ("CD--", "srv1", 200, "upstream"),  # headers had gone out: the server's status
        ("sD--", "srv1", 200, "upstream"),
        ("SC--", "srv1", 503, "proxy"),  # could not connect
        ("sC--", "srv1", 504, "proxy"),
        ("sQ--", "srv1", 503, "proxy"),  # queue timeout
        ("sH--", "srv1", 504, "proxy"),  # no headers in time
        ("SH--", "srv1", 502, "proxy"),
        ("PH--", "srv1", 502, "proxy"),  # HAProxy blocked the response
        ("PR--", "<NOSRV>", 403, "proxy"),  # a deny rule
        ("LR--", "<NOSRV>", 302, "proxy"),  # a redirect
        ("----", "<STATS>", 200, "proxy"),  # HAProxy's stats page
        ("----", "<CACHE>", 200, "proxy"),  # served from HAProxy's cache
        ("CR--", "<NOSRV>", -1, "proxy"),  # no status: the client left
        ("CQ--", "srv1", -1, "proxy"),
        ("--VN", "srv1", 200, "upstream"),  # cookie flags change nothing
    ],
)
def test_who_produced_the_status(
    state: str, server: str, status: int, producer: str, tmp_path: Path
) -> None:
    line = (
        f"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/{server} 10/0/30/69/109 "
        f'{status} 2750 - - {state} 1/1/1/1/0 0/0 "GET / HTTP/1.1"'
    )
    frame = parse_lines([line], tmp_path)
    assert frame["produced_by"].to_list() == [producer]


def test_without_a_termination_state_only_minus_one_is_known(tmp_path: Path) -> None:
    template = "%ci [%tr] %ST %{+Q}r"
    lines = [
        '10.0.0.1 [06/Feb/2009:12:14:14.655] 503 "GET / HTTP/1.1"',
        '10.0.0.1 [06/Feb/2009:12:14:14.655] -1 "GET / HTTP/1.1"',
    ]
    frame = parse_lines(lines, tmp_path, format="haproxy", log_format=template)
    assert frame["produced_by"].to_list() == ["unknown", "proxy"]


def test_the_summary_reads_the_termination_state_it_did_not_ask_for(tmp_path: Path) -> None:
    """produced_by reads termination_state and server, so they are parsed whatever is needed."""
    path = tmp_path / "haproxy.log"
    path.write_text(LINE.replace("200 2750 - - ----", "503 0 - - SC--") + "\n")
    options = pipeline.Options()
    runs = pipeline.plan(expand([str(path)]), options)
    [(_, frame)] = list(pipeline.read(runs, options, {"status"}))
    assert frame["produced_by"].to_list() == ["proxy"]


def test_haproxys_own_messages_are_comments(tmp_path: Path) -> None:
    lines = [
        "Proxy web started.",
        "<129>Dec  7 03:01:55 haproxy[30447]: Server live/app is DOWN, reason: Layer4 "
        'connection problem, info: "Connection refused", check duration: 0ms.',
        "[WARNING]  (30447) : Proxy web stopped (cumulated conns: FE: 19, BE: 0).",
        "127.0.0.1:56059 [03/Dec/2012:17:35:10.380] frt/f1: Connection error during SSL handshake",
        LINE,
        "not a line of any log",
    ]
    frame = parse_lines(lines, tmp_path)
    assert frame["line_kind"].to_list() == ["comment"] * 4 + ["record", "rejected"]
    assert frame["reject_reason"].to_list()[:5] == [None] * 5


def test_a_log_format_string_reads_as_haproxy_writes_it(tmp_path: Path) -> None:
    """Quoting with %{+Q}o and %{-Q}, escaped spaces from the config file, %%, samples."""
    template = r"%{+Q}o\ %{-Q}ci\ %ST\ 100%%\ %b\ %[req.hdr(host),lower]\ %HM\ %HU"
    line = '192.0.2.7 404 100% "be one" "example.com" "GET" "/a?b=#22c#22"'
    frame = parse_lines([line], tmp_path, format="haproxy", log_format=template)
    [row] = frame.iter_rows(named=True)
    assert row["line_kind"] == "record", row["reject_reason"]
    assert (row["client_ip"], row["status"], row["backend"]) == ("192.0.2.7", 404, "be one")
    assert row["req_hdr_host"] == "example.com"
    assert (row["method"], row["path"], row["query"]) == ("GET", "/a", 'b="c"')


def test_a_log_format_without_a_status_is_refused() -> None:
    with pytest.raises(LogstatError, match="%ST"):
        BY_NAME["haproxy"].make_parser("%ci [%tr] %{+Q}r")


def test_codes_reads_termination_states() -> None:
    registry = load_registry()
    [reading] = explain(["CD--"], registry)
    assert isinstance(reading, DetailReading)
    assert (reading.layer, reading.vendor) == ("termination_state", "haproxy")
    assert "client" in reading.explained.meaning
    assert reading.explained.source_url.startswith("https://docs.haproxy.org/")
    # a pair the manual does not list is read from its two characters
    [killed] = explain(["KD--"], registry, ("haproxy", ("haproxy",)))
    assert isinstance(killed, DetailReading) and "administrator" in killed.explained.meaning
    # cookie flags add their meaning
    [cookie] = explain(["--NI"], registry)
    assert isinstance(cookie, DetailReading) and "inserted" in cookie.explained.meaning
    for nonsense in ("XX--", "C", "CDXY"):
        with pytest.raises(LogstatError):
            explain([nonsense], registry)
    with pytest.raises(LogstatError, match="haproxy logs do not have"):
        explain(["LambdaInvalidResponse"], registry, ("haproxy", ("haproxy",)))


def test_every_view_explains_the_termination_states(tmp_path: Path) -> None:
    """Text, JSON (valid against its schema), Markdown and the dashboard's data: each
    abnormal termination state with its count, its statuses and its meaning."""
    log = FIXTURES / "haproxy" / "real-httplog.log"
    meaning = termination.explain("SC--")
    assert meaning is not None
    text = run_cli(log, in_process=True)
    assert text.code == 0
    assert "Layer details: HAProxy termination_state" in text.stdout
    lines = text.stdout.splitlines()
    row = next(line for line in lines if line.startswith("SC-- "))
    assert "503: 1" in row and meaning[0][:40] in row
    assert not any(line.startswith("---- ") for line in lines)  # a normal end: no row
    document = run_cli(log, "--json", in_process=True).summary
    assert not list(VALIDATOR.iter_errors(document))
    layers = {row["value"]: row for row in document["layers"]}
    assert layers["SC--"]["statuses"] == {"503": 1}
    assert layers["sH--"]["statuses"] == {"504": 2}
    assert layers["SC--"]["meaning"] == meaning[0]
    markdown = run_cli(log, "--markdown", in_process=True).stdout
    assert "| SC-- |" in markdown and meaning[0] in markdown
    page = tmp_path / "page.html"
    assert run_cli("dashboard", log, "-o", page, in_process=True).code == 0
    html = page.read_text(encoding="utf-8")
    assert "HAProxy termination_state" in html and "SC--" in html


@pytest.mark.parametrize("log", FIXTURE_LOGS, ids=lambda path: path.name)
def test_its_fixtures_are_detected_by_their_lines(log: Path) -> None:
    if fixture_options(log):
        pytest.skip("a custom log-format string: only --format haproxy reads it")
    found = detected_by_lines(log)
    assert found is not None and (found.format.name, found.alternatives) == ("haproxy", ())


def test_it_reads_no_line_of_other_formats_logs(corpus: Path) -> None:
    assert corpus_logs_read_by(haproxy.FORMAT, corpus) == []
