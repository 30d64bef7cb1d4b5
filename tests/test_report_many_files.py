"""Reports on many files: a few lines about the files instead of one per file, and
a --json that lists every file and is written fast but exactly as before.

Up to 20 files every view lists each file.  Past that, the text and Markdown
views show a table of groups (directory, format, compression) and list only the
files that need attention, at most 20.  `--json` keeps every file; its text must
be exactly `json.dumps(document, indent=2)` of the document `dataclasses.asdict`
made before it was sped up.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from logstat.filters import parse_duration, parse_filters
from logstat.report.files import (
    ATTENTION_LIMIT,
    GROUP_LIMIT,
    LIST_LIMIT,
    FileGroup,
    group_files,
    shown_groups,
)
from logstat.report.json_text import dumps_indented
from logstat.report.markdown import render_markdown
from logstat.report.model import JSON_SCHEMA_VERSION, FileSummary, Summary
from logstat.report.text import FILE_GROUPS_TITLE, Section, render_plain, sections
from logstat.summary import ReportSettings
from tests.helpers import REPORT_FIXTURES, run_cli, summarise

NGINX = (
    '203.0.113.{n} - - [01/Mar/2024:10:{n:02d}:00 +0000] "GET /page/{n} HTTP/1.1" '
    '{status} 512 "-" "curl/8.0"\n'
)


def nginx_lines(count: int, status: int = 200) -> str:
    return "".join(NGINX.format(n=n % 60, status=status) for n in range(count))


def write_tree(root: Path, plain: int = 12, compressed: int = 10) -> dict[str, Path]:
    """Good nginx logs in a/ (plain) and b/ (gzip), one with rejected lines in b/,
    and an empty and an unrecognised file in c/.  Returns the files of note."""
    for directory in ("a", "b", "c"):
        (root / directory).mkdir(parents=True)
    for index in range(plain):
        (root / "a" / f"access-{index:03d}.log").write_text(nginx_lines(5 + index))
    for index in range(compressed):
        with gzip.open(root / "b" / f"access-{index:03d}.log.gz", "wt") as stream:
            stream.write(nginx_lines(3, 502))
    rejecting = root / "b" / "access-999.log.gz"
    with gzip.open(rejecting, "wt") as stream:
        stream.write(nginx_lines(4) + "not a request\nnor this\n")
    empty = root / "c" / "empty.log"
    empty.write_text("")
    unknown = root / "c" / "notes.txt"
    unknown.write_text("hello\nthis is no log\n")
    return {"rejecting": rejecting, "empty": empty, "unknown": unknown}


def summary_of(paths: list[Path], report: ReportSettings | None = None) -> Summary:
    return summarise(paths, report or ReportSettings(), chunk_bytes=4096, format=None)


def group_section(summary: Summary) -> Section | None:
    return next((part for part in sections(summary) if part.title == FILE_GROUPS_TITLE), None)


def number(cell: str) -> int:
    return int(cell.replace(",", ""))


# --- few files: one line each, as before ------------------------------------------


def test_up_to_the_limit_every_file_is_listed(tmp_path: Path) -> None:
    paths = []
    for index in range(LIST_LIMIT):
        path = tmp_path / f"access-{index:03d}.log"
        path.write_text(nginx_lines(3))
        paths.append(path)
    summary = summary_of(paths)
    out = render_plain(summary)
    assert all(f"  {path}: nginx combined" in out for path in paths)
    assert group_section(summary) is None and FILE_GROUPS_TITLE not in out


# --- many files: groups and the files that need attention ---------------------------


def test_many_files_are_grouped_by_directory_format_and_compression(tmp_path: Path) -> None:
    noted = write_tree(tmp_path)
    summary = summary_of([tmp_path])
    assert summary.totals.files == 25 > LIST_LIMIT
    out = render_plain(summary)
    assert str(tmp_path / "a" / "access-000.log") not in out  # no line per good file
    section = group_section(summary)
    assert section is not None
    assert section.headers == [
        "directory",
        "format",
        "compression",
        "files",
        "lines",
        "parsed",
        "rejected",
    ]
    rows = {(row[0], row[1].split(" (")[0], row[2]): row[3:] for row in section.rows}
    caveat = "nginx combined (same lines as apache: use --format to choose)"
    assert [row[1] for row in section.rows][:2] == [caveat, caveat]  # the caveat is kept
    a, b, c = (str(tmp_path / name) for name in "abc")
    assert rows[(a, "nginx combined", "-")] == ["12", str(sum(range(5, 17))), "126", "0"]
    assert rows[(b, "nginx combined", "gzip")] == ["11", "36", "34", "2"]
    assert rows[(c, "empty file", "-")] == ["1", "0", "0", "0"]
    assert rows[(c, "format not recognised", "-")] == ["1", "2", "0", "2"]
    # the groups add up to the totals
    totals = summary.totals
    for column, total in zip(
        range(3, 7), [totals.files, totals.lines, totals.records, totals.rejected], strict=True
    ):
        assert sum(number(row[column]) for row in section.rows) == total
    # the files that need attention, each with what is wrong
    lines = out.splitlines()
    assert lines[1] == (
        "  25 files, grouped below by directory, format and compression; --json lists each one"
    )
    assert lines[2] == (
        "  3 files need attention (rejected lines, warnings, no format recognised, or empty):"
    )
    rejecting = lines.index(f"    {noted['rejecting']} (gzip): {lines[3].split(': ', 1)[1]}")
    assert lines[rejecting + 1] == "      2 of 6 lines rejected"
    assert f"    {noted['empty']}: empty file" in lines
    assert f"    {noted['unknown']}: format not recognised" in lines
    assert "      2 of 2 lines rejected" in lines


def test_markdown_shows_the_same_groups_escaped(tmp_path: Path) -> None:
    odd = tmp_path / "logs|x\x1b[31m*"
    odd.mkdir()
    for index in range(LIST_LIMIT + 1):
        (odd / f"access-{index:03d}.log").write_text(nginx_lines(2))
    summary = summary_of([odd])
    markdown = render_markdown(summary)
    plain = render_plain(summary)
    assert f"## {FILE_GROUPS_TITLE}" in markdown
    assert "logs\\|x\\\\x1b\\[31m\\*" in markdown  # no extra cell, no escape, no emphasis
    assert "\x1b" not in markdown + plain and "logs|x\\x1b[31m*" in plain
    assert "- Every file was recognised, with no rejected lines and no warnings" in markdown


def test_the_attention_list_is_capped(tmp_path: Path) -> None:
    for index in range(ATTENTION_LIMIT + 7):
        (tmp_path / f"notes-{index:03d}.txt").write_text(f"note {index}\n")
    (tmp_path / "access.log").write_text(nginx_lines(4))
    out = render_plain(summary_of([tmp_path]))
    listed = [line for line in out.splitlines() if line.endswith(": format not recognised")]
    assert len(listed) == ATTENTION_LIMIT
    assert f"  {ATTENTION_LIMIT + 7} files need attention" in out
    assert f"; the first {ATTENTION_LIMIT}:" in out
    assert "    ... and 7 more (see --json)" in out


def test_json_lists_every_file(tmp_path: Path) -> None:
    write_tree(tmp_path)
    code, out, _ = run_cli(str(tmp_path), "--json", in_process=True)
    assert code == 0
    document = json.loads(out)
    assert len(document["files"]) == document["totals"]["files"] == 25
    assert out == json.dumps(document, indent=2) + "\n"


# --- grouping, on synthetic file lists ---------------------------------------------

file_summaries = st.builds(
    FileSummary,
    name=st.tuples(
        st.sampled_from(["", "a/", "a/b/", "c/", "/abs/"]), st.sampled_from(["x.log", "y"])
    ).map("".join),
    source=st.sampled_from(["nginx", "alb", None]),
    layout=st.sampled_from(["nginx combined", "AWS ALB access log", None]),
    detection=st.sampled_from(["x, 1/1 sample lines matched", "empty file", None]),
    compression=st.sampled_from([None, "gzip"]),
    lines=st.integers(0, 10**6),
    records=st.integers(0, 10**6),
    rejected=st.integers(0, 10**3),
    comments=st.integers(0, 10),
    invalid_utf8=st.just(0),
)


def added_up(groups: list[FileGroup]) -> tuple[int, ...]:
    return tuple(
        sum(getattr(group, name) for group in groups)
        for name in ("files", "lines", "records", "rejected", "comments")
    )


@given(st.lists(file_summaries, max_size=60))
def test_every_file_is_in_exactly_one_group(files: list[FileSummary]) -> None:
    groups = group_files(files)
    assert added_up(groups) == (
        len(files),
        sum(file.lines for file in files),
        sum(file.records for file in files),
        sum(file.rejected for file in files),
        sum(file.comments for file in files),
    )
    keys = [(group.directory, group.format, group.compression or "") for group in groups]
    assert keys == sorted(set(keys))  # distinct, in order
    assert "" not in {group.directory for group in groups}  # "." for names without one


def test_past_the_group_limit_the_rest_are_added_up() -> None:
    files = [
        FileSummary(f"d{index:03d}/x.log", "nginx", "nginx combined", "", None, 3, 2, 1, 0, 0)
        for index in range(GROUP_LIMIT + 11)
    ]
    groups = group_files(files)
    shown, others = shown_groups(groups)
    assert len(shown) == GROUP_LIMIT - 1 and others is not None
    assert others.directory == "(12 more groups)"
    assert added_up([*shown, others]) == added_up(groups) == (GROUP_LIMIT + 11, 183, 122, 61, 0)
    assert shown_groups(groups[:GROUP_LIMIT]) == (groups[:GROUP_LIMIT], None)


# --- the JSON document: exactly what dataclasses.asdict made before -------------------


# a file's fields in --json: all but those only the views use
JSON_FIELDS = [
    field.name for field in dataclasses.fields(FileSummary) if field.metadata.get("json", True)
]


def reference_document(summary: Summary) -> dict[str, Any]:
    """--json as it was made before: dataclasses.asdict, then times as ISO 8601."""

    def jsonable(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat().replace("+00:00", "Z")
        if isinstance(value, dict):
            return {key: jsonable(item) for key, item in value.items()}
        if isinstance(value, list):
            return [jsonable(item) for item in value]
        return value

    document = {"schema_version": JSON_SCHEMA_VERSION, **jsonable(dataclasses.asdict(summary))}
    del document["lines_command"]  # what only the views use (the drill-down command)
    for file in document["files"]:  # what only the views use (FileSummary.caveat)
        for name in set(file) - set(JSON_FIELDS):
            del file[name]
    for group in (document["top"] or {}).get("groups", []):
        for found in group["fields"]:
            if found["error"] is None:  # added later, and only when approximate
                del found["error"]
    latency = document["latency"] or {}
    if latency.get("top_paths", 0) is None:  # added later, and only with --top paths
        del latency["top_paths"]
    for row in latency.get("by_class", []):
        if row["source"] is None:  # added later, and only when several sources log durations
            del row["source"]
    return document


REPORTS = {
    "plain": ReportSettings(),
    "everything": ReportSettings(
        filters=parse_filters(statuses=["4xx,5xx"], since="2024-03-01T09:30"),
        every=parse_duration("30m", "--every"),
        top=3,
        by="host",
        counts=True,
    ),
    "by file": ReportSettings(by="file", top=2, top_by="status"),
}


@pytest.mark.parametrize("report", REPORTS)
def test_the_document_is_what_asdict_made(report: str) -> None:
    summary = summary_of(
        [
            REPORT_FIXTURES / "apache_vhosts.log",
            REPORT_FIXTURES / "iis_layers.log",
            REPORT_FIXTURES / "alb_layers.log",
        ],
        REPORTS[report],
    )
    reference = reference_document(summary)
    assert summary.to_json() == reference
    assert summary.to_json_text() == json.dumps(reference, indent=2)


def test_a_file_entry_has_every_field() -> None:
    file = FileSummary("a.log", "nginx", "l", "d", "gzip", 5, 3, 1, 1, 2, ["stopped early"])
    entry = file.to_json()
    assert entry == {
        key: value for key, value in dataclasses.asdict(file).items() if key in JSON_FIELDS
    }
    assert list(entry) == JSON_FIELDS
    entry["problems"].append("x")
    assert file.problems == ["stopped early"]  # a copy, as asdict made


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.sampled_from(["%s", "%", "},\n  {", '"', "\u2028", "é"]),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(max_size=5) | st.sampled_from(["%s", "%(x)s"]), inner)
        | st.lists(  # runs of objects with the same keys, the shape written fastest
            st.fixed_dictionaries({"name": inner, "count": inner, "items": inner}), max_size=4
        )
        | st.tuples(inner, inner)
        | st.dictionaries(st.integers() | st.none(), inner, max_size=2)
    ),
    max_leaves=30,
)


@settings(max_examples=400)
@given(json_values)
@example([{"a": 1, "b": []}, {"a": "},\n    {", "b": [1, {"c": {}}]}, {"b": 2, "a": 1}, {}])
@example({"files": [{"p": ["x"], "q": None}, {"p": [], "q": 1.5}], "n": float("nan")})
@example([[], {}, [[]], [{}], True, 1, 1.0, "1", None])
def test_dumps_indented_is_json_dumps_with_indent_2(value: Any) -> None:
    assert dumps_indented(value) == json.dumps(value, indent=2)
