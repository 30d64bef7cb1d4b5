"""Shared material for the report tests: synthetic requests, their log lines, runners.

`Record` is one request as the tests know it; `apache_line` writes it in
Apache's vhost_combined layout (which logs the virtual host).  `summarise`
runs the public pipeline with a small chunk size, so a few hundred lines are
read in many chunks and the builder's merging of partial counts is exercised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import strategies as st

from logstat import cli, pipeline
from logstat.report.model import Summary
from logstat.sources import expand
from logstat.summary import ReportSettings, SummaryBuilder

REPORT_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "report"
START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Record:
    host: str
    client_ip: str
    moment: datetime  # UTC
    method: str
    path: str
    status: int
    user_agent: str


def apache_line(record: Record, offset_hours: int = 1) -> str:
    """vhost_combined, with the time written at a UTC offset as servers do."""
    local = record.moment.astimezone(timezone(timedelta(hours=offset_hours)))
    return (
        f"{record.host}:443 {record.client_ip} - - [{local:%d/%b/%Y:%H:%M:%S %z}] "
        f'"{record.method} {record.path} HTTP/1.1" {record.status} 512 "-" "{record.user_agent}"'
    )


def write_log(path: Path, records: Iterable[Record], extra_lines: Sequence[str] = ()) -> Path:
    lines = [apache_line(record) for record in records] + list(extra_lines)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


records_strategy = st.lists(
    st.builds(
        Record,
        host=st.sampled_from(["shop.example.com", "api.example.com", "Static.Example.com"]),
        client_ip=st.sampled_from([f"192.0.2.{number}" for number in range(1, 9)]),
        moment=st.integers(0, 3 * 86400 - 1).map(
            lambda seconds: START + timedelta(seconds=seconds)
        ),
        method=st.sampled_from(["GET", "POST", "PUT"]),
        path=st.sampled_from(["/", "/a", "/b", "/api/v1/x", "/api/v2/y", "/c|d", "/e`f"]),
        status=st.sampled_from([200, 201, 301, 304, 400, 403, 404, 499, 500, 502, 503, 504]),
        user_agent=st.sampled_from(["curl/8", "Mozilla/5.0 (X11)", "bot [bold]x[/]"]),
    ),
    min_size=0,
    max_size=120,
)


def summarise(
    paths: Sequence[Path],
    settings: ReportSettings,
    chunk_bytes: int = 700,
    format: str | None = "apache",
    log_format: str | None = None,
) -> Summary:
    """The summary the library builds for these files (format fixed to apache by default)."""
    chosen = pipeline.Options(format=format, log_format=log_format, chunk_bytes=chunk_bytes)
    runs = pipeline.plan(expand([str(path) for path in paths]), chosen)
    builder = SummaryBuilder(settings)
    for _, frame in pipeline.read(runs, chosen, settings.needed()):
        builder.add(frame)
    return builder.build(runs)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        cli.main(list(args))
    captured = capsys.readouterr()
    return int(stopped.value.code or 0), captured.out, captured.err
