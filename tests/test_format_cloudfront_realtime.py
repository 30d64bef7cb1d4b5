"""CloudFront real-time logs: the configuration's fields in AWS's order, no header; read
as the standard logs' fields.

The fixtures in fixtures/cloudfront_realtime/ (their README names the sources) are
compared with their goldens in test_format_fixtures.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from logstat.errors import LogstatError
from logstat.formats import cloudfront_realtime
from tests.helpers import FIXTURES, corpus_logs_read_by, detected_by_lines, parse_file

FIELDS = "timestamp c-ip sc-status cs-method cs-uri-stem x-edge-result-type"


def test_every_field_is_read_by_default() -> None:
    found = detected_by_lines(FIXTURES / "cloudfront_realtime" / "all-fields.log")
    assert found is not None and found.format.name == "cloudfront_realtime"
    frame = parse_file(FIXTURES / "cloudfront_realtime" / "all-fields.log")
    first = frame.row(0, named=True)
    assert first["user_agent"] == "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"  # %20 decoded
    assert first["distribution_host"] == "d111111abcdef8.cloudfront.net"  # cs-host
    assert first["timestamp"].isoformat() == "2025-12-02T10:00:00.123000+00:00"


def test_a_configurations_fields_are_named_by_the_user(tmp_path: Path) -> None:
    log = tmp_path / "records.log"
    log.write_text("1764669611.200\t198.51.100.7\t502\tGET\t/api\tError\n", encoding="utf-8")
    frame = parse_file(log, format="cloudfront_realtime", log_format=FIELDS)
    assert frame["line_kind"].to_list() == ["record"]
    assert (frame["status"][0], frame["path"][0], frame["client_ip"][0]) == (
        502,
        "/api",
        "198.51.100.7",
    )
    # the same record read with every field has too few of them
    assert parse_file(log, format="cloudfront_realtime")["line_kind"].to_list() == ["rejected"]


@pytest.mark.parametrize("fields", ["timestamp c-ip", "timestamp sc-status cs-nonsense"])
def test_a_field_list_needs_the_status_and_known_names(fields: str) -> None:
    with pytest.raises(LogstatError):
        cloudfront_realtime.make_parser(fields)


def test_it_reads_no_line_of_other_formats_logs(corpus: Path) -> None:
    assert corpus_logs_read_by(cloudfront_realtime.FORMAT, corpus) == []
