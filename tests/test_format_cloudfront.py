"""CloudFront standard logs: tab-separated W3C lines under `#Fields`, kept across chunks;
who produced a status from the result types; the detailed result type explained.

The fixtures in fixtures/cloudfront/ are compared with their goldens in
test_format_fixtures.py: the example lines of AWS's standard-logging reference (as the
gzip object CloudFront writes), one line per result type, a file whose header was
dropped (a 2015 line and a current one), and two files of chosen fields concatenated.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from logstat.errors import LogstatError
from logstat.formats import BY_NAME, cloudfront
from logstat.status import load_registry
from logstat.status.details import DetailReading
from logstat.status.details import explain as explain_value
from logstat.status.explain import explain
from tests.helpers import (
    FIXTURES,
    corpus_logs_read_by,
    data_files,
    detected_by_lines,
    parse_file,
    run_cli,
    write_log,
)

FIXTURE_LOGS = data_files(FIXTURES / "cloudfront")
KINDS = FIXTURES / "cloudfront" / "result-types.log"


def test_fields_are_kept_from_chunk_to_chunk() -> None:
    """Read in chunks of a few lines, every line still has the #Fields above it."""
    whole = parse_file(KINDS)
    chunked = parse_file(KINDS, chunk_bytes=400)
    columns = ["line_kind", "status", "edge_detailed_result_type", "produced_by"]
    assert chunked.select(columns).equals(whole.select(columns))
    assert set(chunked["line_kind"]) == {"comment", "record"}


def test_a_field_more_or_less_never_shifts_fields(tmp_path: Path) -> None:
    """Under #Fields a line with a field more or less is rejected with its reason;
    without a header the standard list is read and fields after it are counted."""
    header, [line] = KINDS.read_text().splitlines()[:2], KINDS.read_text().splitlines()[2:3]
    fields = line.split("\t")
    shorter = "\t".join(fields[:8] + fields[9:])  # sc-status taken out
    longer = line + "\tadded"
    frame = parse_file(write_log(tmp_path, [*header, shorter, longer], "cf.log"))
    assert frame["reject_reason"].to_list()[2:] == [
        "has 32 fields, #Fields lists 33",
        "has 34 fields, #Fields lists 33",
    ]
    headerless = parse_file(write_log(tmp_path, [longer], "cf2.log"))
    assert headerless["line_kind"].to_list() == ["record"]
    assert (headerless["status"].to_list(), headerless["trailing_fields"].to_list()) == ([200], [1])


def test_a_field_list_can_be_given(tmp_path: Path) -> None:
    fields = "date time c-ip cs-method cs-uri-stem sc-status x-edge-detailed-result-type"
    path = write_log(
        tmp_path, ["2025-01-10\t08:00:01\t203.0.113.9\tGET\t/b\t502\tOriginDnsError"], "cf.log"
    )
    frame = parse_file(path, format="cloudfront", log_format=fields)
    assert frame["status"].to_list() == [502]
    assert frame["edge_detailed_result_type"].to_list() == ["OriginDnsError"]
    with pytest.raises(LogstatError, match="sc-status"):
        BY_NAME["cloudfront"].make_parser("date time c-ip")


def test_codes_reads_result_types() -> None:
    registry = load_registry()
    [reading] = explain(["OriginConnectError"], registry, ("cloudfront", ("cloudfront",)))
    assert isinstance(reading, DetailReading)
    assert reading.layer == "edge_detailed_result_type" and "connect" in reading.explained.meaning
    assert reading.explained.source_url.startswith("https://docs.aws.amazon.com/AmazonCloudFront/")
    assert explain_value("edge_detailed_result_type", "NotACloudFrontType") is None


def test_every_view_explains_the_result_types() -> None:
    document = run_cli(KINDS, "--json", in_process=True).summary
    layers = {row["value"]: row for row in document["layers"]}
    assert layers["OriginConnectError"]["statuses"] == {"502": 1}
    assert layers["ClientCommError"]["statuses"] == {"200": 2}
    assert "Miss" not in layers and "Hit" not in layers  # the normal course says nothing
    meaning = explain_value("edge_detailed_result_type", "OriginDnsError")
    assert meaning is not None
    text = run_cli(FIXTURES / "cloudfront", in_process=True).stdout
    assert "Layer details: CloudFront x-edge-detailed-result-type" in text
    row = next(line for line in text.splitlines() if line.startswith("OriginDnsError "))
    assert "502: 4" in row and meaning.meaning[:30] in row
    by_status = {(row["status"], row["produced_by"]): row for row in document["statuses"]}
    assert by_status[502, "proxy"]["vendor"] == "cloudfront"  # the edge's own 502


@pytest.mark.parametrize("log", FIXTURE_LOGS, ids=lambda path: path.name)
def test_its_fixtures_are_detected_by_their_lines(log: Path) -> None:
    found = detected_by_lines(log)
    assert found is not None and (found.format.name, found.alternatives) == ("cloudfront", ())


def test_it_reads_no_line_of_other_formats_logs(corpus: Path) -> None:
    assert corpus_logs_read_by(cloudfront.FORMAT, corpus) == []
