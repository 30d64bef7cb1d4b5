"""--prometheus FILE: valid text exposition format, escaped labels, atomic writes."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from logstat.report import prometheus
from logstat.report.model import CountRow, Summary
from logstat.summary import ReportSettings
from tests.helpers import (
    REPORT_FIXTURES,
    START,
    Record,
    apache_line,
    run_cli,
    summarise,
    write_requests,
)

# One line of the text format: a comment (HELP/TYPE) or a sample with escaped labels.
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
LABEL = rf"[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE}"
SAMPLE = re.compile(
    rf"^{NAME}(?:\{{{LABEL}(?:,{LABEL})*\}})? "
    r"-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|\+Inf|-Inf|NaN)$"
)
TYPES = "counter|gauge|summary|histogram|untyped"
COMMENT = re.compile(rf"^# (?:HELP {NAME} .*|TYPE {NAME} (?:{TYPES}))$")


def strictly_valid(text: str) -> None:
    assert text.endswith("\n")
    typed: list[str] = []
    for line in text.splitlines():
        assert SAMPLE.match(line) or COMMENT.match(line), line
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in typed  # one family, one block
            typed.append(name)
        elif not line.startswith("#"):
            assert typed and line.startswith(typed[-1])  # samples follow their TYPE line


def families(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {
        family.name: [(sample.labels, sample.value) for sample in family.samples]
        for family in text_string_to_metric_families(text)
    }


@pytest.fixture
def fixture_summary() -> Summary:
    logs = [REPORT_FIXTURES / "apache_vhosts.log", REPORT_FIXTURES / "upstream.log"]
    return summarise(logs, ReportSettings(counts=True), format=None)


def test_output_parses_and_adds_up(fixture_summary: Summary) -> None:
    text = prometheus.render(fixture_summary)
    strictly_valid(text)
    found = families(text)
    requests = found["logstat_requests"]
    assert sum(value for _, value in requests) == fixture_summary.totals.selected == 100
    by_status = Counter[tuple[str, str]]()
    for labels, value in requests:
        assert set(labels) == {"source", "host", "class", "status"}
        by_status[(labels["source"], labels["status"])] += int(value)
    expected = Counter[tuple[str, str]]()
    for row in fixture_summary.statuses:  # one row per producer
        expected[(row.source, str(row.status))] += row.count
    assert by_status == expected
    hosts = {labels["host"] for labels, _ in requests}
    assert {"shop.example.com", "api.example.com", "static.example.com", ""} == hosts
    lines = {labels["result"]: value for labels, value in found["logstat_lines"]}
    assert lines == {"parsed": 100, "rejected": 2, "comment": 0, "blank": 0}
    assert sum(value for _, value in found["logstat_rejected_lines"]) == 2
    produced = found["logstat_produced"]
    assert sum(value for _, value in produced) == 100
    assert {labels["produced_by"] for labels, _ in produced} == {"proxy", "upstream", "unknown"}
    upstream = {
        labels["upstream_status"]: value for labels, value in found["logstat_upstream_responses"]
    }
    assert upstream == {"200": 14, "404": 6, "503": 4, "504": 3, "502": 1}
    ((_, last),) = found["logstat_last_request_timestamp_seconds"]
    assert fixture_summary.last is not None and last == fixture_summary.last.timestamp()
    assert "logstat_excluded_records" not in found  # no filters


def test_types_and_help(fixture_summary: Summary) -> None:
    parsed = {
        family.name: family
        for family in text_string_to_metric_families(prometheus.render(fixture_summary))
    }
    assert parsed["logstat_requests"].type == "counter"
    assert parsed["logstat_last_request_timestamp_seconds"].type == "gauge"
    assert all(family.documentation for family in parsed.values())


HOSTILE = ['a"b', "back\\slash", "new\nline", "\\n literal", "", 'end\\"', "ünï {}=,"]


def hostile_summary() -> Summary:
    base = summarise([], ReportSettings())
    base.counts = [
        CountRow("nginx", host, "5xx", 502, index + 1) for index, host in enumerate(HOSTILE)
    ]
    base.rejects = {'reason with "quotes"\nand a newline': 3}
    return base


def test_label_values_are_escaped_and_round_trip() -> None:
    text = prometheus.render(hostile_summary())
    strictly_valid(text)
    found = families(text)
    hosts = {labels["host"]: value for labels, value in found["logstat_requests"]}
    assert hosts == {host: index + 1 for index, host in enumerate(HOSTILE)}
    ((labels, value),) = found["logstat_rejected_lines"]
    assert labels["reason"] == 'reason with "quotes"\nand a newline' and value == 3


def test_busiest_hosts_keep_their_series(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prometheus, "MAX_HOSTS", 3)
    base = summarise([], ReportSettings())
    base.counts = [CountRow("nginx", f"h{index}", "2xx", 200, index + 1) for index in range(10)]
    found = families(prometheus.render(base))
    hosts = {labels["host"]: value for labels, value in found["logstat_requests"]}
    assert hosts == {"h9": 10, "h8": 9, "h7": 8, "_other": sum(range(1, 8))}


def test_written_atomically_and_readable(tmp_path: Path, fixture_summary: Summary) -> None:
    target = tmp_path / "logstat.prom"
    target.write_text("previous\n")
    old_umask = os.umask(0o022)
    try:
        prometheus.write(fixture_summary, target)
    finally:
        os.umask(old_umask)
    assert target.read_text() == prometheus.render(fixture_summary)
    assert target.stat().st_mode & 0o777 == 0o644  # node_exporter runs as another user
    assert os.listdir(tmp_path) == ["logstat.prom"]


def test_a_failed_write_keeps_the_previous_file(
    tmp_path: Path, fixture_summary: Summary, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "logstat.prom"
    target.write_text("previous\n")

    def broken(summary: Summary, state: object = None) -> str:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(prometheus, "render", broken)
    with pytest.raises(RuntimeError):
        prometheus.write(fixture_summary, target)
    assert target.read_text() == "previous\n" and os.listdir(tmp_path) == ["logstat.prom"]


def test_cli_writes_the_file_beside_the_usual_output(tmp_path: Path) -> None:
    records = [Record("shop.example.com", "192.0.2.1", START, "GET", "/", 503, "x")]
    log = write_requests(tmp_path / "apache_access.log", records)
    target = tmp_path / "out.prom"
    code, out, _ = run_cli(
        str(log), "--prometheus", str(target), "--status", "5xx", in_process=True
    )
    assert code == 0 and out.startswith("Read 1 file")
    found = families(target.read_text())
    assert found["logstat_requests"] == [
        ({"source": "apache", "host": "shop.example.com", "class": "5xx", "status": "503"}, 1.0)
    ]
    assert found["logstat_excluded_records"] == [({}, 0.0)]


def test_cli_unwritable_target_is_one_line(tmp_path: Path) -> None:
    records = [Record("shop.example.com", "192.0.2.1", START, "GET", "/", 503, "x")]
    log = write_requests(tmp_path / "apache_access.log", records)
    code, _, err = run_cli(
        str(log), "--prometheus", str(tmp_path / "no" / "x.prom"), in_process=True
    )
    assert code == 1 and err.startswith("logstat: error:") and len(err.splitlines()) == 1


def test_a_real_host_named_like_the_overflow_series_stays_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prometheus, "MAX_HOSTS", 2)
    base = summarise([], ReportSettings())
    hosts = ["_other", "a", "b", "c"]
    base.counts = [
        CountRow("nginx", host, "2xx", 200, 10 - index) for index, host in enumerate(hosts)
    ]
    found = families(prometheus.render(base))
    by_host = {labels["host"]: value for labels, value in found["logstat_requests"]}
    # the real `Host: _other` is written `__other`; the overflow series is only b and c
    assert by_host == {"__other": 10, "a": 9, "_other": 8 + 7}


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (family.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        if family.type == "counter"
        for sample in family.samples
    }


def test_with_state_the_counters_only_go_up_across_runs_and_rotation(tmp_path: Path) -> None:
    """Prometheus reads a value below the last one as a counter reset: with --state the
    file holds totals since the state began, checked with prometheus_client's parser."""
    from datetime import timedelta

    log, state, target = tmp_path / "access.log", tmp_path / "st", tmp_path / "x.prom"

    def records(first: int, count: int) -> list[Record]:
        return [
            Record(
                ("shop.example.com", "api.example.com")[number % 2],
                "192.0.2.1",
                START + timedelta(minutes=number),
                "GET",
                f"/p{number}",
                (200, 200, 404, 503)[number % 4],
                "x",
            )
            for number in range(first, first + count)
        ]

    batches = [records(0, 40), records(40, 3), records(43, 25), records(68, 1), []]
    previous: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    written: list[Record] = []
    for index, batch in enumerate(batches):
        if index == 2:  # logrotate's create: the old file moves aside, a new one starts
            log.rename(tmp_path / "access.log.1")
            written = []
        written += batch
        write_requests(log, written)
        code, _, err = run_cli(
            str(log), "--state", str(state), "--prometheus", str(target), in_process=True
        )
        assert code == 0, err
        text = target.read_text()
        strictly_valid(text)
        current = _samples(text)
        for series, value in previous.items():
            assert series in current, series  # a series once written stays
            assert current[series] >= value, series  # and never goes down
        previous = current
    requests = {key: value for key, value in previous.items() if key[0] == "logstat_requests"}
    assert sum(requests.values()) == 69, requests
    shop_ok = sum(
        value
        for (_, labels), value in requests.items()
        if dict(labels)["host"] == "shop.example.com:443" and dict(labels)["status"] == "200"
    )
    assert shop_ok == sum(1 for n in range(69) if n % 4 in (0, 1) and n % 2 == 0)
    lines = {
        dict(key[1])["result"]: value
        for key, value in previous.items()
        if key[0] == "logstat_lines"
    }
    assert lines["parsed"] == 69
    # a new state file starts the counters again
    state.unlink()
    code, _, _ = run_cli(
        str(log), "--state", str(state), "--prometheus", str(target), in_process=True
    )
    assert code == 0
    again = _samples(target.read_text())
    assert sum(v for k, v in again.items() if k[0] == "logstat_requests") == len(written)


def test_hosts_keep_their_series_across_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prometheus, "MAX_HOSTS", 2)
    log, state, target = tmp_path / "access.log", tmp_path / "st", tmp_path / "x.prom"
    first = [Record(host, "192.0.2.1", START, "GET", "/", 200, "x") for host in ("a", "b")]
    write_requests(log, first)
    run_cli(str(log), "--state", str(state), "--prometheus", str(target), in_process=True)
    # c is now the busiest, but a and b had their series: c goes to the overflow
    second = [Record("c", "192.0.2.1", START, "GET", "/", 200, "x")] * 5
    write_requests(log, first + second)
    run_cli(str(log), "--state", str(state), "--prometheus", str(target), in_process=True)
    found = families(target.read_text())
    by_host = {labels["host"]: value for labels, value in found["logstat_requests"]}
    assert by_host == {"a:443": 1, "b:443": 1, "_other": 5}


def test_status_producers_split_the_statuses(fixture_summary: Summary) -> None:
    """nginx's own 502 and an upstream's 502 are two series, adding up to the 502s."""
    found = families(prometheus.render(fixture_summary))
    produced = found["logstat_status_produced"]
    assert sum(value for _, value in produced) == fixture_summary.totals.selected
    nginx_502 = {
        labels["produced_by"]: value
        for labels, value in produced
        if (labels["source"], labels["status"]) == ("nginx", "502")
    }
    assert nginx_502 == {"proxy": 9, "upstream": 1}
    assert {labels["produced_by"] for labels, _ in produced if labels["source"] == "apache"} == {
        "unknown"
    }


def test_blank_lines_are_a_series_that_adds_up_across_runs(tmp_path: Path) -> None:
    """Blank lines are counted (totals.blank): logstat_lines_total{result="blank"} says so,
    and with --state it only goes up like the other results, across a rotation."""
    log, state, target = tmp_path / "access.log", tmp_path / "st", tmp_path / "x.prom"
    ok = [Record("a", "192.0.2.1", START, "GET", "/", 200, "x")]

    def lines_total() -> dict[str, float]:
        found = families(target.read_text())
        return {labels["result"]: value for labels, value in found["logstat_lines"]}

    write_requests(log, ok * 3, ["", "   "])
    assert (
        run_cli(str(log), "--state", str(state), "--prometheus", str(target), in_process=True)[0]
        == 0
    )
    assert lines_total() == {"parsed": 3, "rejected": 0, "comment": 0, "blank": 2}
    with log.open("a", encoding="utf-8") as handle:  # one more blank line, then a request
        handle.write("\n" + apache_line(ok[0]) + "\n")
    assert (
        run_cli(str(log), "--state", str(state), "--prometheus", str(target), in_process=True)[0]
        == 0
    )
    assert lines_total() == {"parsed": 4, "rejected": 0, "comment": 0, "blank": 3}
    log.rename(tmp_path / "access.log.1")  # rotated: the new file has no blank line
    write_requests(log, ok)
    assert (
        run_cli(str(log), "--state", str(state), "--prometheus", str(target), in_process=True)[0]
        == 0
    )
    assert lines_total() == {"parsed": 5, "rejected": 0, "comment": 0, "blank": 3}
    # without --state: this run's lines only
    assert run_cli(str(log), "--prometheus", str(target), in_process=True)[0] == 0
    assert lines_total() == {"parsed": 1, "rejected": 0, "comment": 0, "blank": 0}
