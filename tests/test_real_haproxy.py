"""Real HAProxy on loopback, in front of a live server and a dead one: logstat must read
the statuses and termination states it logged, and say who produced each status.

HAProxy gets a known mix (tests/servers/haproxy.py): requests its server answers
(200, and the server's own 404, 502, 503), a dead server (503 `SC--`), a slow one
(504 `sH--`), one that closes without answering (502 `SH--`), requests HAProxy
answers itself (deny, redirect, return, tarpit, garbage, a request never finished).
It logs each request twice: raw on stdout, and behind a syslog header on a unix
socket; both logs must read the same.  A missing haproxy skips, except in CI.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.servers import haproxy, harness
from tests.servers.harness import Run
from tests.servers.outputs import Outputs, log_text, run_logstat
from tests.servers.site import AccessLog

CASES = [pytest.param(log, id=log.file_name) for log in haproxy.LOGS]


@pytest.fixture(scope="module")
def haproxy_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("server-haproxy")
    started = datetime.now(UTC)
    run = harness.exercise(haproxy.start, haproxy.LOGS, haproxy.probes(), directory)
    run.diagnostics += f"\nstarted {started.isoformat()}"
    return run


@pytest.fixture(scope="module")
def haproxy_outputs(haproxy_run: Run) -> Outputs:
    return run_logstat(haproxy_run, haproxy.LOGS, {})


def logged(run: Run) -> list[Any]:
    return [probe for probe in run.probes if probe.logged is not None]


def test_each_request_got_the_planned_answer(haproxy_run: Run) -> None:
    seen = [
        (probe.name, answer)
        for probe, answer in zip(haproxy_run.probes, haproxy_run.answers, strict=True)
    ]
    planned = [(probe.name, probe.answered) for probe in haproxy_run.probes]
    assert seen == planned, haproxy_run.diagnostics


@pytest.mark.parametrize("log", CASES)
def test_logstat_reads_every_request_and_haproxys_own_messages(
    log: AccessLog, haproxy_run: Run, haproxy_outputs: Outputs
) -> None:
    """One record per logged request; HAProxy's `Proxy web stopped` notices at its stop
    are comments, and nothing is rejected."""
    data = haproxy_outputs.summary(log.file_name)
    context = log_text(haproxy_run, log)
    [file] = data["files"]
    lines = log.lines(haproxy_run.directory)
    assert file["detection"].startswith(f"{log.layout}, "), context
    assert (file["records"], file["rejected"]) == (len(logged(haproxy_run)), 0), context
    assert file["records"] + file["comments"] == lines, context
    counted = Counter[int]()
    for row in data["statuses"]:
        counted[row["status"]] += row["count"]
    assert counted == haproxy_run.expected_statuses(), context


@pytest.mark.parametrize("log", CASES)
def test_termination_states_and_producers_as_haproxy_logged_them(
    log: AccessLog, haproxy_run: Run, haproxy_outputs: Outputs
) -> None:
    """Every request's status, termination state and producer: HAProxy's own 503 after
    `SC--` is the proxy's, the server's own 503 (`----`) the server's."""
    rows = haproxy_outputs.export(log)
    exported = Counter(
        # the CSV export quotes a cell a spreadsheet would run as a formula: `'----`
        (int(row["status"]), row["termination_state"].removeprefix("'"), row["produced_by"])
        for row in rows
    )
    expected = Counter(
        (probe.logged, haproxy.TERMINATION[probe.name], probe.produced_by)
        for probe in logged(haproxy_run)
    )
    assert exported == expected, log_text(haproxy_run, log)


@pytest.mark.parametrize("log", CASES)
def test_layer_details_explain_every_termination_state(
    log: AccessLog, haproxy_run: Run, haproxy_outputs: Outputs
) -> None:
    layers = [
        row
        for row in haproxy_outputs.summary(log.file_name)["layers"]
        if row["layer"] == "termination_state"
    ]
    expected = Counter(
        haproxy.TERMINATION[probe.name]
        for probe in logged(haproxy_run)
        if haproxy.TERMINATION[probe.name] != "----"
    )
    assert {row["value"]: row["count"] for row in layers} == dict(expected)
    assert all(row["meaning"] for row in layers), layers


def test_haproxy_logs_read_alike_with_utc_times(haproxy_run: Run, haproxy_outputs: Outputs) -> None:
    """The raw and the syslog log hold the same requests; HAProxy ran with TZ=UTC, so
    its offset-less times are the instants of the run."""
    raw, syslog = (haproxy_outputs.export(log) for log in haproxy.LOGS)
    columns = ("timestamp", "client_ip", "method", "path", "status", "termination_state")

    def keys(rows: list[dict[str, str]]) -> Counter[tuple[str, ...]]:
        return Counter(tuple(row[column] for column in columns) for row in rows)

    assert keys(raw) == keys(syslog)
    started = datetime.fromisoformat(haproxy_run.diagnostics.rsplit("started ", 1)[1])
    for row in raw:
        moment = datetime.fromisoformat(row["timestamp"])
        assert started - timedelta(seconds=1) <= moment <= datetime.now(UTC), row
