"""Speed never changes results: ALB lines read by the "shaped" pass come out as the
tolerant pass alone would read them (classic ELB, where the tolerant pass misreads
such lines, has a test of its own).

The shaped pass reads request lines holding raw `"` (as clients send them in URLs)
with a one-pass regex instead of the slow tolerant one.  The lines below are valid
entries with hostile edits, mostly quotes and spaces in and around the request.
"""

from __future__ import annotations

import os

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from logstat.formats import alb, aws, elb
from logstat.formats.aws import FieldLayout

ALB_LINE = (
    "h2 2026-03-01T00:00:00.741017Z app/shop/50dc6c495c0c9188 7.216.188.161:54340 "
    "10.0.3.17:8080 0.000 0.036 0.000 502 - 412 127 "
    '"GET https://api.example.com:443/search?q="kids"&page=3 HTTP/1.1" "Mozilla/5.0 (X11)" '
    "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop/73e2d6bc24d8a067 "
    '"Root=1-67c2a1b0-000000000000000000054340" "api.example.com" "-" 0 '
    '2026-03-01T00:00:00.741017Z "forward" "-" "TargetConnectionErrorCode" "10.0.3.17:8080" '
    '"-" "-" "-" TID_54340'
)
EDITS = ['"', " ", '" ', ' "', "\\", '\\"', "-", "\t"]


@st.composite
def hostile_lines(draw: st.DrawFn, line: str) -> str:
    start = line.index('"')  # edits fall in the request and what follows it
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(start, len(line)))
        if draw(st.booleans()):
            line = line[:position] + draw(st.sampled_from(EDITS)) + line[position:]
        else:
            line = line[:position] + line[position + 1 :]
    return line


def _parse(layout: FieldLayout, lines: list[str]) -> list[pl.DataFrame]:
    frame = pl.LazyFrame({"line": lines})
    return [
        layout.parse(frame, needed).collect()
        for needed in (None, {"status", "upstream_status", "timestamp", "error_reason"})
    ]


@given(data=st.data())
@settings(max_examples=int(os.environ.get("LOGSTAT_FUZZ_EXAMPLES", "20")), deadline=None)
def test_the_shaped_pass_reads_lines_as_the_tolerant_one(data: st.DataObject) -> None:
    layout = alb.LAYOUT
    lines = data.draw(st.lists(hostile_lines(ALB_LINE), min_size=1, max_size=30))
    quick = _parse(layout, lines)
    # a copy of the layout with no shaped pass: its stages are built afresh
    plain = FieldLayout(
        layout.source,
        layout.title,
        tuple(
            aws.Field(item.name, item.pattern, item.quoting, None, item.raw_quotes)
            for item in layout.fields
        ),
        layout.required,
        layout.output,
        layout.reasons,
        layout.fallback_reason,
    )
    for fast, careful in zip(quick, _parse(plain, lines), strict=True):
        assert_frame_equal(fast, careful)


def test_a_raw_quote_in_the_request_is_read_by_the_shaped_pass() -> None:
    layout = alb.LAYOUT
    assert not pl.Series([ALB_LINE]).str.contains(layout.regex()).item()
    assert pl.Series([ALB_LINE]).str.contains(layout.regex(mode="shaped")).item()
    parsed = layout.parse(pl.LazyFrame({"line": [ALB_LINE]}), None).collect()
    assert parsed["path"].item() == "/search"
    assert parsed["query"].item() == 'q="kids"&page=3'
    assert parsed["user_agent"].item() == "Mozilla/5.0 (X11)"
    assert parsed["error_reason"].item() == "TargetConnectionErrorCode"


def test_classic_elb_reads_a_raw_quote_in_the_request_whole() -> None:
    # the tolerant regex alone ends this request at its first raw quote, since the
    # user agent after it is optional in ELB's layout; the shaped pass reads it whole
    line = (
        "2015-05-13T23:39:43.945958Z my-loadbalancer 192.0.2.10:2817 10.0.0.1:80 "
        '0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/a"b" HTTP/1.1" '
        '"curl/7.38.0" - -'
    )
    parsed = elb.LAYOUT.parse(pl.LazyFrame({"line": [line]}), None).collect()
    assert parsed["line_kind"].item() == "record"
    assert parsed["path"].item() == '/a"b"'
    assert parsed["protocol"].item() == "HTTP/1.1"
    assert parsed["user_agent"].item() == "curl/7.38.0"
    assert parsed["status"].item() == 200


CLEAN_ALB_LINE = ALB_LINE.replace('"kids"', "kids")
ELB_LINE = (
    "2015-05-13T23:39:43.945958Z my-loadbalancer 192.0.2.10:2817 10.0.0.1:80 "
    '0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/a HTTP/1.1" '
    '"curl/7.38.0" - -'
)


@given(data=st.data())
@settings(max_examples=int(os.environ.get("LOGSTAT_FUZZ_EXAMPLES", "20")), deadline=None)
def test_lines_the_one_pass_regexes_read_are_read_as_every_pass_reads_them(
    data: st.DataObject,
) -> None:
    """FieldLayout.parse converts the lines its strict and shaped regexes read apart from
    the rest: the same rows, in the same order, as every pass over every line."""
    for layout, line in ((alb.LAYOUT, CLEAN_ALB_LINE), (elb.LAYOUT, ELB_LINE)):
        lines = data.draw(
            st.lists(
                st.one_of(hostile_lines(line), st.just(line), st.sampled_from(["", " ", "x"])),
                max_size=30,
            )
        )
        frame = pl.LazyFrame(
            {
                "line_no": pl.Series(range(1, len(lines) + 1), dtype=pl.UInt64),
                "line": pl.Series(lines, dtype=pl.String),
            }
        )
        for needed in (None, {"status", "upstream_status", "timestamp", "error_reason"}):
            assert_frame_equal(
                layout.parse(frame, needed).collect(),
                layout.parse_every_line(frame, needed).collect(),
            )


@st.composite
def edited_anywhere(draw: st.DrawFn, line: str) -> str:
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(line)))
        edit = draw(st.sampled_from([*EDITS, "", "x", ":80", "0", "a b"]))
        line = line[:position] + edit + line[position + draw(st.integers(0, 2)) :]
    return line


@given(data=st.data())
@settings(max_examples=int(os.environ.get("LOGSTAT_FUZZ_EXAMPLES", "20")), deadline=None)
def test_the_loose_regex_captures_what_the_strict_one_does(data: st.DataObject) -> None:
    """The strict regex chooses the lines; the loose (one-pass) regex captures their
    fields: on every line the strict one reads, both capture the same text."""
    for layout, line in ((alb.LAYOUT, CLEAN_ALB_LINE), (elb.LAYOUT, ELB_LINE), (alb.LAYOUT, "")):
        line = line or data.draw(st.sampled_from(SHORTER_ALB_LINES))
        lines = pl.Series(data.draw(st.lists(edited_anywhere(line), min_size=1, max_size=20)))
        every = frozenset(item.name for item in layout.fields)
        strict = layout.regex(every)
        read = lines.filter(lines.str.contains(strict))
        assert_frame_equal(
            read.str.extract_groups(layout.regex(every, "loose")).struct.unnest(),
            read.str.extract_groups(strict).struct.unnest(),
        )


# older ALB entries: fewer of the optional fields, and AWS's fields appended later
SHORTER_ALB_LINES = [CLEAN_ALB_LINE.rsplit(" ", count)[0] for count in (1, 4, 9, 12)] + [
    CLEAN_ALB_LINE + ' "new field" 7'
]


@given(data=st.data())
@settings(max_examples=int(os.environ.get("LOGSTAT_FUZZ_EXAMPLES", "20")), deadline=None)
def test_the_loose_shaped_regex_captures_what_the_shaped_one_does(data: st.DataObject) -> None:
    """The shaped regex chooses the lines with raw quotes in the request; the loose-shaped
    (one-pass) regex captures their fields: on every line the shaped one reads, both
    capture the same text."""
    for layout, line in ((alb.LAYOUT, ALB_LINE), (elb.LAYOUT, ELB_LINE), (alb.LAYOUT, "")):
        line = line or data.draw(st.sampled_from(SHORTER_ALB_LINES))
        drawn = data.draw(
            st.lists(st.one_of(edited_anywhere(line), hostile_lines(line)), min_size=1, max_size=20)
        )
        lines = pl.Series(drawn, dtype=pl.String)
        every = frozenset(item.name for item in layout.fields)
        shaped = layout.regex(every, "shaped")
        read = lines.filter(lines.str.contains(shaped))
        assert_frame_equal(
            read.str.extract_groups(layout.regex(every, "loose-shaped")).struct.unnest(),
            read.str.extract_groups(shaped).struct.unnest(),
        )


def test_lines_with_raw_quotes_and_odd_fields_are_read_as_before() -> None:
    """A chunk of clean lines, raw quotes in the request (the shaped pass), `-` target
    status, an older entry and lines no pass reads: each read as every pass reads it."""
    lines = [
        CLEAN_ALB_LINE,
        ALB_LINE,
        ALB_LINE.replace(" 502 - ", " 200 200 "),
        CLEAN_ALB_LINE.replace(
            '"-" "-" "-" TID', '"-" "Ambiguous" "UndefinedContentLengthSemantics" TID'
        ),
        *SHORTER_ALB_LINES,
        ALB_LINE.replace("HTTP/1.1", "HTTP/1.1 x"),
        'h2 2026-03-01T00:00:00Z app/x "GET / HTTP/1.1"',
        "",
    ]
    frame = pl.LazyFrame({"line": pl.Series(lines, dtype=pl.String)})
    for needed in (None, {"status", "upstream_status", "timestamp", "path", "error_reason"}):
        parsed = alb.LAYOUT.parse(frame, needed).collect()
        assert_frame_equal(parsed, alb.LAYOUT.parse_every_line(frame, needed).collect())
        assert parsed["line_kind"].to_list()[:4] == ["record"] * 4
    assert parsed["upstream_status"].to_list()[:3] == [None, None, 200]
    assert parsed["path"].to_list()[:2] == ["/search", "/search"]


# AWS's target:port list as documented; aws.TARGETS is the same language written one-pass
READABLE_TARGETS = r'-|[^ "]+:[0-9]+(?: [^ "]+:[0-9]+)*'


@given(st.text(alphabet='a1:- ".', max_size=14))
@settings(max_examples=int(os.environ.get("LOGSTAT_FUZZ_EXAMPLES", "20")) * 25, deadline=None)
def test_the_one_pass_target_list_reads_what_the_documented_one_does(text: str) -> None:
    values = pl.Series([text, f"10.0.0.1:80 {text}", f"{text}:8080", f"-{text}"], dtype=pl.String)
    assert_frame_equal(
        values.str.contains(f"^(?:{aws.TARGETS})$").to_frame(),
        values.str.contains(f"^(?:{READABLE_TARGETS})$").to_frame(),
    )


def test_the_one_pass_target_list_reads_targets_as_aws_writes_them() -> None:
    accepted = ["-", "10.0.3.17:8080", "10.0.3.17:80 10.0.3.18:80", "[2001:db8::1]:443", "-a:1"]
    rejected = ["", "10.0.3.17", ":80", "a:80 ", "a:80x", "a:80:", " a:80", 'a:"80', "- a:80"]
    values = pl.Series([*accepted, *rejected], dtype=pl.String)
    assert values.str.contains(f"^(?:{aws.TARGETS})$").to_list() == [True] * len(accepted) + [
        False
    ] * len(rejected)
