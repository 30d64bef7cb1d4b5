"""Microsoft IIS W3C extended logs, through the public path (pipeline.plan/read and the CLI).

The fixtures in fixtures/iis/ are compared with their goldens in test_format_fixtures.py.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat.errors import LogstatError
from logstat.formats import detect, iis, sample_lines
from logstat.reading import pipeline, sources
from tests.helpers import (
    FIXTURES,
    SHARED_CORPUS,
    check_expected_statuses,
    data_files,
    golden_columns,
    golden_of,
    parse_run,
    run_cli,
    write_log,
)
from tests.strategies import IIS_HEADER, iis_entry, iis_requests

IIS_COLUMNS = golden_columns("iis")
IIS_EXPECTED = {column: column for column in ("status", "substatus", "win32_status")}


def write_iis_log(directory: Path, lines: list[str], name: str = "u_ex240301.log") -> Path:
    return write_log(directory, lines, name)


HEADER = [
    "#Software: Microsoft Internet Information Services 10.0",
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
]


def request(status: str, substatus: str = "0", win32: str = "0") -> str:
    return (
        "2024-03-01 09:00:01 10.0.0.5 GET / - 443 - 203.0.113.7 curl/8.4.0 - "
        f"{status} {substatus} {win32} 12"
    )


def test_fields_change_mid_file_is_read_the_same_across_chunk_boundaries() -> None:
    log = FIXTURES / "iis" / "fields-change.log"
    _, whole = parse_run(log)
    options = pipeline.Options(chunk_bytes=200)  # a chunk ends inside each header block
    runs = pipeline.plan(sources.expand([str(log)]), options)
    frames = list(pipeline.read(runs, options))
    assert len(frames) > 5
    chunked = pl.concat([frame for _, frame in frames], how="diagonal_relaxed")
    assert chunked.select(IIS_COLUMNS[:-2]).equals(whole.select(IIS_COLUMNS[:-2]))
    second_block = whole.filter(pl.col("line_no") >= 11)
    assert second_block["host"].drop_nulls().unique().to_list() == ["shop.example.com"]
    choice = runs[0].choice
    assert choice is not None and "2 different #Fields lists" in choice.detection.parser.description


def test_crlf_and_bom_are_not_part_of_fields() -> None:
    run, frame = parse_run(FIXTURES / "iis" / "crlf-bom.log")
    records = frame.filter(pl.col("line_kind") == "record")
    assert run.counts.comments == 4 and records.height == 4
    assert records["request_time_s"].to_list() == [0.187, 0.015, 0.0, 0.003]
    assert not records["line"].str.contains("\r").any()


def test_headerless_default_file_says_what_was_assumed() -> None:
    run, _ = parse_run(FIXTURES / "iis" / "headerless-default.log")
    assert run.choice is not None
    assert run.choice.detection.parser.description == (
        "iis w3c (no #Fields header: assumed the IIS default fields)"
    )


def test_headerless_mixed_layouts_are_named() -> None:
    run, _ = parse_run(FIXTURES / "iis" / "headerless-mixed.log")
    assert run.choice is not None
    assert run.choice.detection.parser.description == (
        "iis w3c (no #Fields header: read as IIS field lists default+bytes, iis7, iis6, all, ftp; "
        "FTP log: sc-status holds FTP reply codes, kept as ftp_status)"
    )


def test_line_with_wrong_field_count_is_rejected_with_counts(tmp_path: Path) -> None:
    log = write_iis_log(tmp_path, [*HEADER, request("200"), request("200") + " surplus"])
    run, frame = parse_run(log)
    assert (run.counts.records, run.counts.rejected) == (1, 1)
    assert frame["reject_reason"].drop_nulls().to_list() == ["has 16 fields, #Fields lists 15"]


def test_a_status_of_five_digits_is_rejected_as_in_every_format(tmp_path: Path) -> None:
    """9999 is still a status (class other); 20000 is none, and 200000 would not even fit
    the status column: such a line is a reject, never a record with no status."""
    lines = [*HEADER, request("9999"), request("20000"), request("200000"), request("-")]
    run, frame = parse_run(write_iis_log(tmp_path, lines))
    assert (run.counts.records, run.counts.rejected) == (2, 2)
    assert (
        frame["reject_reason"].drop_nulls().to_list()
        == ["sc-status is not a status (a number of at most four digits)"] * 2
    )


def test_detection_returns_a_fresh_parser_each_time(tmp_path: Path) -> None:
    first = write_iis_log(tmp_path, [*HEADER, request("200")], "a.log")
    other_fields = [HEADER[0], "#Fields: time c-ip cs-method cs-uri-stem sc-status"]
    second = write_iis_log(tmp_path, [*other_fields, "09:00:00 10.0.0.1 GET / 404"], "b.log")
    options = pipeline.Options()
    runs = pipeline.plan(sources.expand([str(first), str(second)]), options)
    parsers = [run.choice.detection.parser for run in runs if run.choice]
    assert len(parsers) == 2 and parsers[0] is not parsers[1]
    frames = [frame for _, frame in pipeline.read(runs, options)]
    statuses = [
        frame.filter(pl.col("line_kind") == "record")["status"].to_list() for frame in frames
    ]
    assert statuses == [[200], [404]]
    sample = pl.Series(["#Fields: date time sc-status", "2024-01-01 00:00:00 200"])
    one, two = iis.detect(sample), iis.detect(sample)
    assert one is not None and two is not None and one.parser is not two.parser


def test_explicit_field_list_reads_a_headerless_file(tmp_path: Path) -> None:
    log = write_iis_log(tmp_path, ["2024-03-01 09:00:01 GET /x 418"])
    fields = "date time cs-method cs-uri-stem sc-status"
    options = pipeline.Options(format="iis", log_format=fields)
    runs = pipeline.plan(sources.expand([str(log)]), options)
    (frame,) = [frame for _, frame in pipeline.read(runs, options)]
    assert frame["status"].to_list() == [418]
    with pytest.raises(LogstatError, match="neither a known field list"):
        iis.make_parser("nonsense")


def test_export_has_a_column_for_a_custom_field(tmp_path: Path) -> None:
    custom = [HEADER[0], HEADER[1] + " X-ARR-LOG-ID", request("200") + " 9f1c2d"]
    log = write_iis_log(tmp_path, custom)
    output = tmp_path / "out.csv"
    code, _, _ = run_cli("export", str(log), "-o", str(output), "--quiet", in_process=True)
    exported = pl.read_csv(output, infer_schema=False)
    assert code == 0
    assert exported.select("status", "x_arr_log_id").row(0) == ("200", "9f1c2d")


# Any mix of header blocks, in any chunking, adds up to the lines written

FIELD_LISTS = [
    ("date", "time", "cs-method", "cs-uri-stem", "sc-status"),
    ("date", "time", "c-ip", "cs-method", "cs-uri-stem", "sc-status", "sc-substatus", "time-taken"),
    ("time", "sc-status", "cs-uri-stem"),
]
VALUES = {
    "date": "2024-03-01",
    "time": "09:00:01",
    "c-ip": "192.0.2.1",
    "cs-method": "GET",
    "cs-uri-stem": "/p",
    "sc-substatus": "0",
    "time-taken": "5",
}
block = st.tuples(
    st.sampled_from(range(len(FIELD_LISTS))),
    st.lists(st.tuples(st.integers(100, 599), st.booleans()), max_size=6),
)


@settings(max_examples=40, deadline=None)
@given(blocks=st.lists(block, min_size=1, max_size=5), chunk_bytes=st.integers(40, 400))
def test_header_blocks_add_up_in_any_chunking(
    blocks: list[tuple[int, list[tuple[int, bool]]]], chunk_bytes: int
) -> None:
    lines: list[str] = []
    expected: list[int | None] = []  # per line: the status read, None when not a record
    for list_index, rows in blocks:
        fields = FIELD_LISTS[list_index]
        lines += ["#Software: Microsoft Internet Information Services 10.0", "#Date: 2024-03-01"]
        lines.append("#Fields: " + " ".join(fields))
        expected += [None, None, None]
        for status, damaged in rows:
            values = [str(status) if field == "sc-status" else VALUES[field] for field in fields]
            lines.append(" ".join(values + (["surplus"] if damaged else [])))
            expected.append(None if damaged else status)
    with tempfile.TemporaryDirectory() as directory:
        log = write_iis_log(Path(directory), lines)
        options = pipeline.Options(chunk_bytes=chunk_bytes)
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
    assert run.counts.comments == 3 * len(blocks)
    records = frame.filter(pl.col("line_kind") == "record")
    assert records["status"].to_list() == [status for status in expected if status is not None]
    assert run.counts.rejected == sum(damaged for _, rows in blocks for _, damaged in rows)


def test_state_run_reads_new_lines_with_the_header_above_them(tmp_path: Path) -> None:
    """A cron run with --state starts below the #Fields line; detection saw it."""
    fields = "#Fields: date time cs-method cs-uri-stem sc-status sc-substatus"
    log = write_iis_log(tmp_path, [HEADER[0], fields, "2024-03-01 09:00:01 GET /a 200 0"])
    state = tmp_path / "state.json"
    code, out, _ = run_cli(str(log), "--state", str(state), "--json", in_process=True)
    assert code == 0 and json.loads(out)["files"][0]["records"] == 1
    with log.open("a") as handle:
        handle.write("2024-03-01 09:00:02 GET /b 502 3\n")
    code, out, _ = run_cli(str(log), "--state", str(state), "--json", in_process=True)
    (file,) = json.loads(out)["files"]
    assert (code, file["records"], file["rejected"]) == (0, 1, 0)
    (row,) = json.loads(out)["statuses"]
    assert (row["status"], row["substatus"]) == (502, 3)


# produced_by: one test per rule


@pytest.mark.parametrize(
    ("status", "substatus", "expected"),
    [
        ("502", "3", "proxy"),  # ARR could not connect to the backend
        ("502", "4", "proxy"),  # ARR had no backend server
        ("502", "5", "proxy"),  # ARR WebSocket failure / ASP.NET Core Module process failure
        ("502", "7", "proxy"),  # ARR execute request failure
        ("400", "604", "proxy"),  # ARR: the client went away
        ("502", "2", "unknown"),  # CGI premature exit, or ARR map failure: cannot tell
        ("502", "0", "unknown"),
        ("500", "0", "unknown"),
        ("200", "0", "unknown"),
    ],
)
def test_produced_by(tmp_path: Path, status: str, substatus: str, expected: str) -> None:
    log = write_iis_log(tmp_path, [*HEADER, request(status, substatus)])
    _, frame = parse_run(log)
    record = frame.filter(pl.col("line_kind") == "record").row(0, named=True)
    assert (record["status"], record["substatus"], record["produced_by"]) == (
        int(status),
        int(substatus),
        expected,
    )


# The shared corpus


def corpus_logs(directory: str) -> list[Path]:
    return data_files(SHARED_CORPUS / directory)


@pytest.mark.parametrize("log", corpus_logs("iis"), ids=lambda path: path.name)
def test_corpus_file_is_iis_and_matches_expected_statuses(corpus: Path, log: Path) -> None:
    run, frame = parse_run(log)
    assert run.format_name == "iis"
    assert (
        run.counts.lines
        == run.counts.records + run.counts.rejected + run.counts.comments + run.counts.blank
    )
    assert run.counts.records > 0
    # every line of IIS's own files is read (blank lines are blank, not rejects)
    assert frame["reject_reason"].drop_nulls().to_list() == []
    if golden_of(log).exists():
        check_expected_statuses(log, frame, IIS_EXPECTED)


@pytest.mark.parametrize("directory", ["nginx", "apache", "alb", "elb", "cloudflare", "iis", "odd"])
def test_detection_keeps_formats_apart(corpus: Path, directory: str) -> None:
    """IIS claims its own files and no nginx, Apache, AWS or Cloudflare file."""
    for log in corpus_logs(directory):
        runs = pipeline.plan(sources.expand([str(log)]), pipeline.Options())
        name = runs[0].format_name
        if directory == "iis":
            assert name == "iis", log.name
        elif directory != "odd":
            assert name != "iis", log.name
        sample = sample_lines(pl.Series(log.read_bytes().decode("utf-8", "replace").splitlines()))
        if directory in ("nginx", "apache"):
            assert iis.detect(sample) is None, log.name
        if directory == "iis":
            choice = detect(sample, str(log))
            assert choice is not None and choice.format.name == "iis", log.name


def test_ftp_log_reply_codes_are_not_http_statuses(corpus: Path) -> None:
    run, frame = parse_run(SHARED_CORPUS / "iis" / "lnav_test_logfile_w3c.2")
    records = frame.filter(pl.col("line_kind") == "record")
    assert records["status"].null_count() == records.height == 14
    assert set(records["ftp_status"].to_list()) == {331, 230, 226}
    assert run.choice is not None and "FTP log" in run.choice.detection.parser.description


# The command line, with no option


def test_cli_summary_of_a_corpus_file(corpus: Path) -> None:
    log = SHARED_CORPUS / "iis" / "brianary-scripts_test_data_u_ex100815.log"
    code, out, _ = run_cli(str(log), in_process=True)
    assert code == 0
    assert "iis w3c" in out and "16 parsed" in out and "40 comment/header lines" in out
    code, out, _ = run_cli(str(log), "--json", in_process=True)
    document = json.loads(out)
    assert code == 0
    (file,) = document["files"]
    assert (file["source"], file["records"], file["rejected"]) == ("iis", 16, 0)
    statuses = {(row["status"], row["substatus"]): row for row in document["statuses"]}
    assert statuses[(404, 0)]["vendor"] == "iis" and statuses[(404, 0)]["count"] == 6


# Each line is read alone: a chunk with odd lines reads its records as a clean one does

ODD_IIS_LINES = [
    "",
    "   ",
    '198.51.100.23 - - [01/Mar/2026:01:00:00 +0100] "GET /health HTTP/1.1" 200 2',
    "2024-03-01 09:00:01 10.0.0.5 GET /images/product",
    "2024-03-01 09:00:01 10.0.0.5 GET / - 443 - 203.0.113.7 curl/8.4.0 - 20000 0 0 12",
    '2024-03-01 09:00:01 10.0.0.5 GET / - 443 - 203.0.113.7 "curl 8" - 200 0 0 12',
    "#Remark: a directive between records",
]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.one_of(st.builds(iis_entry, iis_requests()), st.sampled_from(ODD_IIS_LINES)),
        min_size=1,
        max_size=25,
    )
)
def test_odd_lines_leave_the_records_of_their_chunk_as_they_are(lines: list[str]) -> None:
    def parsed(body: list[str]) -> list[dict[str, object]]:
        frame = pl.DataFrame({"line": [*IIS_HEADER, *body]}).with_row_index("line_no", offset=1)
        parser = iis.make_parser(None)
        result = parser.parse(frame.with_columns(pl.col("line_no").cast(pl.UInt64)).lazy())
        return result.collect().drop("line_no").tail(len(body)).to_dicts()

    together = parsed(lines)
    alone = [row for line in lines for row in parsed([line])]
    # a chunk of one odd line has no field list in use, so fewer columns: all null
    assert together == [{name: row.get(name) for name in together[0]} for row in alone]
