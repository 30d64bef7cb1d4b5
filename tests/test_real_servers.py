"""Real nginx and Apache httpd on loopback: logstat must count exactly what they logged.

Each server runs from its own config in a pytest tmp dir, writes several access
logs at once (one per log format), and gets a known mix of requests: from a
plain 200 to a TLS handshake on the plain port, a client that hangs up on a
slow upstream, and a proxy to a dead port (see tests/servers/nginx.py and
apache.py for each request and the status the server logs for it).  logstat is
then run through its public CLI on every log, and its counts must equal what
was sent.  Missing binaries skip these tests, except in CI, where they fail.
"""

from __future__ import annotations

import shutil
from collections import Counter
from decimal import Decimal

import pytest

from tests.servers import apache, harness, nginx
from tests.servers.harness import Run
from tests.servers.outputs import Outputs, log_text, run_logstat
from tests.servers.site import AccessLog

# nginx's escape=json escapes control characters but passes bytes >= 0x80 through
# unchanged, so the TLS ClientHello's request line is not valid UTF-8 in the JSON log;
# the other formats write such bytes as \xHH
INVALID_UTF8_LINES = {"nginx-json.log": 1}


NGINX_UPSTREAM = next(log for log in nginx.LOGS if log.file_name == "nginx-upstream.log")
APACHE_COMBINED = next(log for log in apache.LOGS if log.layout == "apache combined")
APACHE_CUSTOM = next(log for log in apache.LOGS if log.layout == "apache custom")
NEUTRAL_NAME = "access.log"  # says nothing about the server that wrote it


@pytest.fixture(scope="module")
def nginx_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("server-nginx")
    return harness.exercise(nginx.start, nginx.LOGS, nginx.probes(), directory)


@pytest.fixture(scope="module")
def apache_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("server-apache")
    return harness.exercise(apache.start, apache.LOGS, apache.probes(), directory)


@pytest.fixture(scope="module")
def nginx_outputs(nginx_run: Run) -> Outputs:
    return run_logstat(nginx_run, (NGINX_UPSTREAM,), {})


@pytest.fixture(scope="module")
def apache_outputs(apache_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    # a copy of Apache's combined log where neither its name nor its directory names a server
    neutral = tmp_path_factory.mktemp("neutral")
    shutil.copy(apache_run.directory / APACHE_COMBINED.file_name, neutral / NEUTRAL_NAME)
    extra = {
        "guessed": (neutral, [NEUTRAL_NAME, "--json"]),
        "chosen": (neutral, [NEUTRAL_NAME, "--json", "--format", "apache"]),
    }
    return run_logstat(apache_run, (APACHE_CUSTOM,), extra)


SERVERS = ["nginx", "apache"]
LOG_CASES = [
    *(pytest.param("nginx", log, id=log.file_name) for log in nginx.LOGS),
    *(pytest.param("apache", log, id=log.file_name) for log in apache.LOGS),
]


def server_run(request: pytest.FixtureRequest, server: str) -> Run:
    run: Run = request.getfixturevalue(f"{server}_run")
    return run


def server_outputs(request: pytest.FixtureRequest, server: str) -> Outputs:
    outputs: Outputs = request.getfixturevalue(f"{server}_outputs")
    return outputs


@pytest.mark.parametrize("server", SERVERS)
def test_each_request_got_the_planned_answer(server: str, request: pytest.FixtureRequest) -> None:
    """The client side of the mix: the server really did what each probe expects."""
    run = server_run(request, server)
    seen = [(probe.name, answer) for probe, answer in zip(run.probes, run.answers, strict=True)]
    planned = [(probe.name, probe.answered) for probe in run.probes]
    assert seen == planned, run.diagnostics


@pytest.mark.parametrize(("server", "log"), LOG_CASES)
def test_server_wrote_a_line_per_logged_request(
    server: str, log: AccessLog, request: pytest.FixtureRequest
) -> None:
    run = server_run(request, server)
    expected = sum(run.expected_statuses().values())
    assert log.lines(run.directory) == expected, log_text(run, log) + "\n" + run.diagnostics


@pytest.mark.parametrize(("server", "log"), LOG_CASES)
def test_logstat_counts_what_the_server_logged(
    server: str, log: AccessLog, request: pytest.FixtureRequest
) -> None:
    run = server_run(request, server)
    data = server_outputs(request, server).summary(log.file_name)
    lines = log.lines(run.directory)
    context = log_text(run, log)

    [file] = data["files"]
    sampled = min(lines, 200)
    assert file["detection"] == f"{log.layout}, {sampled}/{sampled} sample lines matched", context
    assert (file["lines"], file["records"], file["rejected"]) == (lines, lines, 0), (
        f"{data['rejects']}\n{context}"
    )
    assert file["invalid_utf8"] == INVALID_UTF8_LINES.get(log.file_name, 0), context
    totals = data["totals"]
    assert (totals["lines"], totals["records"], totals["rejected"]) == (lines, lines, 0)

    counted = Counter[int]()
    for row in data["statuses"]:  # one row per (status, producer)
        counted[row["status"]] += row["count"]
    assert counted == Counter(dict(run.expected_statuses())), context
    assert {row["source"] for row in data["statuses"]} == {server}


@pytest.mark.parametrize(("server", "log"), LOG_CASES)
def test_logstat_never_names_the_wrong_producer(
    server: str, log: AccessLog, request: pytest.FixtureRequest
) -> None:
    """Who produced each status is known here: logstat may say `unknown`, never the wrong one."""
    run = server_run(request, server)
    truth = Counter(
        (probe.logged, probe.produced_by) for probe in run.probes if probe.logged is not None
    )
    for row in server_outputs(request, server).summary(log.file_name)["statuses"]:
        status = row["status"]
        assert row["proxy"] <= truth[status, "proxy"], row
        assert row["upstream"] <= truth[status, "upstream"], row


@pytest.mark.parametrize(("server", "log"), LOG_CASES)
def test_upstream_statuses_are_counted(
    server: str, log: AccessLog, request: pytest.FixtureRequest
) -> None:
    run = server_run(request, server)
    logs_upstream = "$upstream_status" in (log.template or "")
    expected = Counter(
        probe.upstream_status
        for probe in run.probes
        if logs_upstream and probe.logged is not None and probe.upstream_status is not None
    )
    data = server_outputs(request, server).summary(log.file_name)
    counted = {row["upstream_status"]: row["count"] for row in data["upstream_statuses"]}
    assert counted == dict(expected), log_text(run, log)


def test_nginx_upstream_log_tells_proxy_from_upstream(
    nginx_run: Run, nginx_outputs: Outputs
) -> None:
    """One row per request: status, $upstream_status (the last attempt, and every attempt)
    and who produced it, as exported."""
    rows = nginx_outputs.export(NGINX_UPSTREAM)
    exported = Counter(
        (
            int(row["status"]),
            row["upstream_status"],
            row["upstream_status_list"],
            row["produced_by"],
        )
        for row in rows
    )
    expected = Counter(
        (
            probe.logged,
            str(probe.upstream_status or ""),
            probe.upstream_list or str(probe.upstream_status or ""),
            probe.produced_by,
        )
        for probe in nginx_run.probes
        if probe.logged is not None
    )
    assert exported == expected, log_text(nginx_run, NGINX_UPSTREAM)
    assert_timed_out_requests_took_a_second(nginx_run, rows)


def test_nginx_upstream_meanings_follow_the_producer(
    nginx_run: Run, nginx_outputs: Outputs
) -> None:
    """Real nginx in front of a dead server, a live one and a slow one: its own 502/504/499
    read as nginx's, a 502 the upstream sent (alone or after a dead server) as plain HTTP's."""
    data = nginx_outputs.summary(NGINX_UPSTREAM.file_name)
    context = log_text(nginx_run, NGINX_UPSTREAM)
    rows = {(row["status"], row["produced_by"]): row for row in data["statuses"]}
    truth = Counter(
        (probe.logged, probe.produced_by) for probe in nginx_run.probes if probe.logged is not None
    )
    assert {key: row["count"] for key, row in rows.items()} == dict(truth), context
    # a dead server alone, or as the only one of a group: nginx's own 502
    assert rows[502, "proxy"]["count"] == 2
    assert (rows[502, "proxy"]["vendor"], rows[502, "proxy"]["name"]) == (
        "nginx",
        "NGX_HTTP_BAD_GATEWAY",
    )
    # the upstream's own 502, alone or after nginx moved on from the dead server
    assert rows[502, "upstream"]["count"] == 2
    assert (rows[502, "upstream"]["vendor"], rows[502, "upstream"]["name"]) == (
        "iana",
        "Bad Gateway",
    )
    assert rows[504, "proxy"]["vendor"] == "nginx"  # proxy_read_timeout
    assert rows[499, "proxy"]["vendor"] == "nginx"  # the client hung up first
    for (_, producer), row in rows.items():
        assert producer == "proxy" or row["vendor"] != "nginx", row
    # the JSON log has $upstream_status but nothing that tells an answered attempt: its
    # 502s are unknown, never the wrong producer
    logged = nginx_outputs.summary("nginx-json.log")
    json_rows = {(row["status"], row["produced_by"]): row["count"] for row in logged["statuses"]}
    assert json_rows[502, "unknown"] == 4, json_rows


def test_apache_custom_log_durations_and_original_status(
    apache_run: Run, apache_outputs: Outputs
) -> None:
    """%D is microseconds: the requests that waited for a 1 s timeout must show about 1 s."""
    rows = apache_outputs.export(APACHE_CUSTOM)
    # no internal redirects here, so %s (original_status) equals %>s on every line
    assert [row["original_status"] for row in rows] == [row["status"] for row in rows]
    assert_timed_out_requests_took_a_second(apache_run, rows)


UPSTREAM_TIMES = ("upstream_response_time", "upstream_header_time", "upstream_connect_time")


def logged_sum(listed: str) -> float | None:
    """nginx's per-attempt times (`0.001, 0.004 : -`) summed as decimals; None: no number.
    (The CSV export starts a cell that starts with `-` with a `'`: no spreadsheet formula.)"""
    parts = [part.strip() for part in listed.removeprefix("'").replace(":", ",").split(",")]
    numbers = [Decimal(part) for part in parts if part and part != "-"]
    return float(sum(numbers)) if numbers else None


def test_nginx_upstream_times_are_summed_over_every_upstream_tried(
    nginx_run: Run, nginx_outputs: Outputs
) -> None:
    """Real nginx's $upstream_*_time lists (a dead server, then a live one: two times) read
    as the time spent in upstreams, a part of $request_time like ALB's target time."""
    rows = nginx_outputs.export(NGINX_UPSTREAM)
    context = log_text(nginx_run, NGINX_UPSTREAM)
    for row in rows:
        for name in UPSTREAM_TIMES:
            seconds = row[f"{name}_s"]
            assert (float(seconds) if seconds else None) == logged_sum(row[name]), (row, context)
    tried_twice = [row for row in rows if row["upstream_status_list"] in ("502, 200", "502, 502")]
    assert len(tried_twice) == 2
    assert all("," in row["upstream_response_time"] for row in tried_twice)
    unproxied = [row for row in rows if row["path"] == "/index.html"]  # static: no upstream
    assert unproxied and all(not row["upstream_response_time_s"] for row in unproxied)
    [slow] = [row for row in rows if row["status"] == "504"]  # proxy_read_timeout 1s
    # nginx takes $request_time from its cached clock and the upstream times from its
    # monotonic one: on a busy machine the part may come out a millisecond over the whole
    assert 0.9 <= float(slow["upstream_response_time_s"]) <= float(slow["request_time_s"]) + 0.01
    latency = nginx_outputs.summary(NGINX_UPSTREAM.file_name)["latency"]
    timed = [row for row in latency["by_status"] if row["measure"] == "upstream_response_time_s"]
    assert sum(row["requests"] for row in timed) == sum(
        bool(row["upstream_response_time_s"]) for row in rows
    )


def assert_timed_out_requests_took_a_second(run: Run, rows: list[dict[str, str]]) -> None:
    slow = sorted(int(row["status"]) for row in rows if float(row["request_time_s"]) >= 0.9)
    expected = sorted(
        probe.logged for probe in run.probes if probe.logged is not None and probe.waits_for_timeout
    )
    assert slow == expected, rows


def test_apache_combined_lines_need_a_hint(apache_run: Run, apache_outputs: Outputs) -> None:
    """Under a name that says nothing, Apache's combined lines read as nginx's, with a warning."""
    lines = APACHE_COMBINED.lines(apache_run.directory)
    guessed = apache_outputs.summary("guessed")["files"][0]["detection"]
    assert guessed == (
        f"nginx combined, {lines}/{lines} sample lines matched "
        "(same lines as apache: use --format to choose)"
    )
    chosen = apache_outputs.summary("chosen")
    assert (
        chosen["files"][0]["detection"] == f"apache combined, {lines}/{lines} sample lines matched"
    )
    counted = Counter[int]()
    for row in chosen["statuses"]:  # one row per (status, producer)
        counted[row["status"]] += row["count"]
    assert counted == Counter(dict(apache_run.expected_statuses()))
