"""Cloudflare http_requests logs (Logpush / Logpull), through the public path.

The fixtures in fixtures/cloudflare/ are compared with their goldens in
test_format_fixtures.py.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat.errors import LogstatError
from logstat.formats import cloudflare, sample_lines
from logstat.formats.cloudflare import NOT_ONE_LINE
from logstat.reading import pipeline, sources
from tests.helpers import (
    FIXTURES,
    SHARED_CORPUS,
    data_files,
    golden_columns,
    golden_of,
    parse_run,
    run_cli,
)

CLOUDFLARE_COLUMNS = golden_columns("cloudflare")


def write_records(directory: Path, records: list[dict[str, object]]) -> Path:
    path = directory / "http_requests.ndjson"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_every_timestamp_encoding_is_the_same_instant() -> None:
    _, frame = parse_run(FIXTURES / "cloudflare" / "timestamps.ndjson")
    stamps = frame["timestamp"].dt.to_string("%Y-%m-%dT%H:%M:%S%.3f").to_list()
    whole, quarter = "2024-05-01T10:00:00.000", "2024-05-01T10:00:00.250"
    assert stamps == [whole, quarter, quarter, whole, whole, quarter, quarter, quarter, whole, None]


@pytest.mark.parametrize(
    "instant",
    [
        "1973-03-03T09:46:40.123456",  # the first instant every unit reads right
        "1999-12-31T23:59:59.999999",  # nanoseconds below 1e18
        "2001-09-09T01:46:40.000001",  # 1e9 seconds, 1e18 nanoseconds
        "2024-05-01T10:00:00.250000",
        "2100-01-01T00:00:00.000000",
        "2262-04-11T23:47:16.854775",  # nanoseconds end with Int64
    ],
)
@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_unix_times_are_read_in_any_unit(tmp_path: Path, instant: str, unit: str) -> None:
    """The unit of a number is told by its size; each is right from 1973 on."""
    moment = datetime.fromisoformat(instant).replace(tzinfo=UTC)
    micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    value = {"s": micros // 10**6, "ms": micros // 10**3, "us": micros, "ns": micros * 10**3}
    precision = {"s": 10**6, "ms": 10**3, "us": 1, "ns": 1}[unit]
    records = [
        {"EdgeStartTimestamp": value[unit], "EdgeResponseStatus": 200},
        {"EdgeStartTimestamp": str(value[unit]), "EdgeResponseStatus": 200},
    ]
    path = tmp_path / "http_requests.ndjson"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    _, frame = parse_run(path)
    expected = datetime(1970, 1, 1) + timedelta(microseconds=micros // precision * precision)
    assert frame["timestamp"].dt.replace_time_zone(None).to_list() == [expected, expected]


def test_broken_lines_do_not_change_the_good_ones(tmp_path: Path) -> None:
    """A line polars' JSON decoder refuses sends the chunk down the slower path."""
    broken = FIXTURES / "cloudflare" / "broken.ndjson"
    lines = broken.read_text().splitlines()
    good = [lines[0], lines[6]]  # the two well-formed records
    clean = tmp_path / "clean.ndjson"
    clean.write_text("".join(line + "\n" for line in good))
    _, slow = parse_run(broken)
    _, fast = parse_run(clean)
    columns = [column for column in CLOUDFLARE_COLUMNS if column != "line_no"]
    slow_records = slow.filter(pl.col("line_no").is_in([1, 7]))
    assert fast["line_kind"].to_list() == ["record", "record"]
    assert slow_records.select(columns).equals(fast.select(columns))


@pytest.mark.parametrize(
    ("bad_line", "kind", "reason"),
    [
        ('{"EdgeResponseStatus":404 "RayID":"b"}', "rejected", "invalid JSON"),  # valid lines only
        ('{"EdgeResponseStatus":{"code":500},"RayID":"b"}', "record", None),  # field by field
    ],
)
def test_each_slower_path_reads_the_good_line_alike(
    tmp_path: Path, bad_line: str, kind: str, reason: str | None
) -> None:
    good = json.dumps(
        {
            "EdgeResponseStatus": 403,
            "OriginResponseStatus": 0,
            "SecurityActions": ["log", "block"],
            "EdgeStartTimestamp": "2024-05-01T10:00:00Z",
            "ClientRequestURI": "/a?b=1",
            "RayID": "a",
        }
    )
    alone, mixed = tmp_path / "alone.ndjson", tmp_path / "mixed.ndjson"
    alone.write_text(good + "\n")
    mixed.write_text(good + "\n" + bad_line + "\n")
    _, expected = parse_run(alone)
    _, frame = parse_run(mixed)
    columns = [column for column in CLOUDFLARE_COLUMNS if column != "line_no"]
    assert frame.head(1).select(columns).equals(expected.select(columns))
    assert frame.row(1, named=True)["line_kind"] == kind
    assert frame.row(1, named=True)["reject_reason"] == reason


def test_pretty_printed_json_is_claimed_and_rejected_with_a_reason() -> None:
    log = (
        SHARED_CORPUS
        / "cloudflare"
        / ("cloudflare-docs_logs_logpull_understanding-the-basics_index.mdx.example.json")
    )
    if not log.exists():
        pytest.skip("../shared/corpus is not beside the repository")
    run, frame = parse_run(log)
    assert run.format_name == "cloudflare" and run.counts.records == 0
    assert set(frame["reject_reason"].to_list()) == {NOT_ONE_LINE}
    assert run.choice is not None and "pretty-printed" in run.choice.detection.parser.description


def test_csv_header_given_on_the_command_line(tmp_path: Path) -> None:
    log = tmp_path / "logpush.csv"
    log.write_text('2024-05-01T10:00:00Z,"GET",503,0\n')
    header = "EdgeStartTimestamp,ClientRequestMethod,EdgeResponseStatus,OriginResponseStatus"
    options = pipeline.Options(format="cloudflare", log_format=header)
    runs = pipeline.plan(sources.expand([str(log)]), options)
    (frame,) = [frame for _, frame in pipeline.read(runs, options)]
    assert frame.select("method", "status", "produced_by").row(0) == ("GET", 503, "proxy")
    with pytest.raises(LogstatError, match="neither a layout"):
        cloudflare.make_parser("a,b,c")


def test_detection_returns_a_fresh_parser_each_time() -> None:
    sample = pl.Series(["EdgeResponseStatus,RayID", "200,8a1b"])
    one, two = cloudflare.detect(sample), cloudflare.detect(sample)
    assert one is not None and two is not None and one.parser is not two.parser
    assert (one.matched, one.sampled) == (2, 2)


# Any mix of lines, in any chunking, adds up to the lines written

line = st.one_of(
    st.integers(100, 599).map(lambda status: ("json", status)),
    st.integers(100, 599).map(lambda status: ("csv", status)),
    st.just(("header", None)),
    st.just(("garbage", None)),
)


@settings(max_examples=40, deadline=None)
@given(kinds=st.lists(line, min_size=1, max_size=25), chunk_bytes=st.integers(30, 300))
def test_lines_add_up_in_any_chunking(
    kinds: list[tuple[str, int | None]], chunk_bytes: int
) -> None:
    lines = ["EdgeStartTimestamp,EdgeResponseStatus,RayID"]
    expected: list[int | None] = [None]
    for kind, status in kinds:
        if kind == "json":
            lines.append(json.dumps({"EdgeResponseStatus": status, "RayID": "8a1b"}))
        elif kind == "csv":
            lines.append(f"2024-05-01T10:00:00Z,{status},8a1b")
        elif kind == "header":
            lines.append("RayID,EdgeResponseStatus,EdgeStartTimestamp")
        else:
            lines.append("not a record, of any kind")
        # EdgeResponseStatus is the second column under either header
        expected.append(status)
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "mixed.log"
        log.write_text("".join(text + "\n" for text in lines))
        options = pipeline.Options(format="cloudflare", chunk_bytes=chunk_bytes)
        runs = pipeline.plan(sources.expand([str(log)]), options)
        frame = pl.concat(
            [part for _, part in pipeline.read(runs, options)], how="diagonal_relaxed"
        )
    run = runs[0]
    assert (
        run.counts.lines
        == len(lines)
        == run.counts.records + run.counts.rejected + run.counts.comments + run.counts.blank
    )
    assert run.counts.comments == 1 + sum(kind == "header" for kind, _ in kinds)
    assert run.counts.rejected == sum(kind == "garbage" for kind, _ in kinds)
    records = frame.filter(pl.col("line_kind") == "record")
    assert records["status"].to_list() == [status for status in expected if status is not None]


# produced_by: one test per rule


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # Cloudflare's own errors about the origin
        ({"EdgeResponseStatus": 522, "OriginResponseStatus": 0}, "proxy"),
        ({"EdgeResponseStatus": 520, "OriginResponseStatus": 500}, "proxy"),
        ({"EdgeResponseStatus": 530}, "proxy"),
        # no request reached the origin: WAF block, rate limit, cache hit, Worker
        (
            {"EdgeResponseStatus": 403, "OriginResponseStatus": 0, "SecurityAction": "block"},
            "proxy",
        ),
        ({"EdgeResponseStatus": 429, "OriginResponseStatus": 0}, "proxy"),
        (
            {"EdgeResponseStatus": 200, "OriginResponseStatus": 0, "CacheCacheStatus": "hit"},
            "proxy",
        ),
        ({"EdgeResponseStatus": 200, "OriginResponseStatus": "0"}, "proxy"),
        # origin status not logged
        ({"EdgeResponseStatus": 200, "CacheCacheStatus": "hit"}, "proxy"),
        ({"EdgeResponseStatus": 403, "SecurityActions": ["log", "managedChallenge"]}, "proxy"),
        ({"EdgeResponseStatus": 200, "CacheCacheStatus": "miss"}, "unknown"),
        ({"EdgeResponseStatus": 404, "RayID": "8a1b"}, "unknown"),
        # the origin answered
        ({"EdgeResponseStatus": 502, "OriginResponseStatus": 502}, "upstream"),
        ({"EdgeResponseStatus": 200, "OriginResponseStatus": 200}, "upstream"),
        ({"EdgeResponseStatus": 200, "OriginResponseStatus": 304}, "proxy"),
    ],
)
def test_produced_by(tmp_path: Path, record: dict[str, object], expected: str) -> None:
    _, frame = parse_run(write_records(tmp_path, [record]))
    assert frame["line_kind"].to_list() == ["record"]
    assert frame["produced_by"].to_list() == [expected]


# The shared corpus


@pytest.mark.parametrize(
    "log", data_files(SHARED_CORPUS / "cloudflare"), ids=lambda path: path.name
)
def test_corpus_file_is_cloudflare_and_matches_expected_statuses(corpus: Path, log: Path) -> None:
    run, frame = parse_run(log)
    assert run.format_name == "cloudflare"
    assert (
        run.counts.lines
        == run.counts.records + run.counts.rejected + run.counts.comments + run.counts.blank
    )
    expected_path = golden_of(log)
    if not expected_path.exists():
        return
    expected = pl.read_csv(expected_path, infer_schema=False)
    by_line = {row["line_no"]: row for row in frame.iter_rows(named=True)}
    for row in expected.iter_rows(named=True):
        parsed = by_line[int(row["line_no"])]
        origin = int(row["origin_status"]) if row["origin_status"] else None
        want = ("record", int(row["status"]), origin, origin or None)
        got = (
            parsed["line_kind"],
            parsed["status"],
            parsed["origin_response_status"],
            parsed["upstream_status"],
        )
        assert got == want, row


@pytest.mark.parametrize("directory", ["nginx", "apache", "alb", "elb", "iis", "odd"])
def test_detection_claims_no_other_format(corpus: Path, directory: str) -> None:
    for log in data_files(SHARED_CORPUS / directory):
        text = log.read_bytes().decode("utf-8", "replace")
        assert cloudflare.detect(sample_lines(pl.Series(text.splitlines()))) is None, log.name


# The command line, with no option


def test_cli_json_summary(corpus: Path) -> None:
    log = (
        SHARED_CORPUS / "cloudflare" / "elastic-integrations_cloudflare_logpull_test-http-json.log"
    )
    code, out, _ = run_cli(str(log), "--json", in_process=True)
    assert code == 0
    document = json.loads(out)
    (file,) = document["files"]
    assert (file["source"], file["records"], file["rejected"]) == ("cloudflare", 4, 0)
    forbidden = next(row for row in document["statuses"] if row["status"] == 403)
    assert forbidden["vendor"] == "cloudflare" and forbidden["count"] == 3
    classes = {row["status_class"]: row for row in document["classes"]}
    assert classes["4xx"]["proxy"] == 3 and classes["2xx"]["proxy"] == 1
