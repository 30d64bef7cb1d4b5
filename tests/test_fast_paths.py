"""Speed never changes results: the one-pass regexes read lines as the exact ones do.

`template.Layout.regex(fast=True)` and `FAST_REQUEST_LINE` (and nginx's single
address) are tried before the exact regexes; a line they match must come out
with exactly the columns the exact regexes alone would give it.  The lines are
valid access lines with hostile edits: unescaped quotes, tabs, Unicode spaces
and digits, commas, backslashes, brackets.
"""

from __future__ import annotations

import os

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal

from logstat.formats import apache, nginx, template
from logstat.formats.template import Layout, LayoutChain
from logstat.reading import folding
from tests.strategies import ACCESS_LINES, hostile_lines


def _chains() -> list[LayoutChain]:
    chains = []
    for log_format in (nginx.FORMAT, apache.FORMAT):
        parsers = [log_format.make_parser(name) for name in log_format.layouts]
        chains.append(LayoutChain(tuple(p for p in parsers if isinstance(p, Layout))))
    return chains


CHAINS = _chains()


def _parse_all(lines: list[str]) -> list[pl.DataFrame]:
    frame = pl.LazyFrame({"line": lines})
    return [
        chain.parse(frame, needed).collect()
        for chain in CHAINS
        for needed in (None, {"status", "timestamp", "client_ip"})
    ]


@given(st.lists(hostile_lines(), min_size=1, max_size=40))
# every example compiles each layout's regexes twice: keep the default run short
@settings(max_examples=int(os.environ.get("LOGSTAT_FUZZ_EXAMPLES", "20")), deadline=None)
def test_fast_regexes_read_lines_as_the_exact_ones(lines: list[str]) -> None:
    fast = _parse_all(lines)
    with pytest.MonkeyPatch.context() as patch:
        exact = Layout.regex
        patch.setattr(
            Layout,
            "regex",
            lambda self, capture=None, fast=False: exact(self, capture) + ("(?:)" if fast else ""),
        )
        patch.setattr(template, "FAST_REQUEST_LINE", template.REQUEST_LINE)
        slow = _parse_all(lines)
    for quick, careful in zip(fast, slow, strict=True):
        assert_frame_equal(quick, careful)


def test_the_fast_regex_is_really_used() -> None:
    layout = nginx.FORMAT.make_parser("combined")
    assert isinstance(layout, Layout)
    fast = layout.regex(layout.capture({"status"}), fast=True)
    assert fast != layout.regex(layout.capture({"status"}))
    assert template.QUOTED not in fast and r"\s+" not in fast


@given(
    st.lists(
        st.one_of(hostile_lines(), st.sampled_from(ACCESS_LINES), st.sampled_from(["", " ", "\t"])),
        min_size=0,
        max_size=40,
    )
)
@settings(max_examples=int(os.environ.get("LOGSTAT_FUZZ_EXAMPLES", "20")), deadline=None)
def test_lines_the_first_layout_covers_are_read_as_the_whole_chain_reads_them(
    lines: list[str],
) -> None:
    """LayoutChain.parse converts the lines its first layout covers apart from the rest:
    the same rows, in the same order, as the whole chain over every line."""
    frame = pl.LazyFrame(
        {
            "line_no": pl.Series(range(1, len(lines) + 1), dtype=pl.UInt64),
            "line": pl.Series(lines, dtype=pl.String),
        }
    )
    for chain in CHAINS:
        for needed in (None, {"status", "timestamp"}, {"status", "upstream_status", "path"}):
            assert_frame_equal(
                chain.parse(frame, needed).collect(),
                chain.parse_every_line(frame, needed).collect(),
            )


def test_durations_divide_the_same_however_the_lines_are_parsed() -> None:
    """52 ms is 0.052 s, whether the line is read in the one-pass part or the whole chain
    (polars multiplies by 0.001 in some evaluations: 0.052000000000000005)."""
    layout = apache.FORMAT.make_parser('%h "%r" %>s %{ms}T %D')
    lines = ['192.0.2.1 "GET / HTTP/1.1" 200 52 52000', '192.0.2.1 "GET / HTTP/1.1" 200 -']
    frame = pl.LazyFrame({"line": lines})
    assert isinstance(layout, Layout)
    for parse in (layout.parse, LayoutChain((layout,)).parse_every_line):
        assert parse(frame, None).collect()["request_time_s"].to_list() == [0.052, None]


# Lines the two searches of a split reading (Layout.split_regex) could read otherwise
# than the one fast regex: escaped quotes that a search for the rest could start
# inside, blank and non-blank tails, a status too long.
SPLIT_LINES = [
    '192.0.2.1 - - [01/Mar/2026:01:00:00 +0100] "GET /a\\" 404 5 \\"b HTTP/1.1" 200 5 "-" "-"',
    '192.0.2.1 - - [01/Mar/2026:01:00:00 +0100] "GET / " 200 5 " " "x\\" 1 \\""',
    '192.0.2.1 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "-"\u00a0',
    '192.0.2.1 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "-" \u2028',
    '192.0.2.1 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "-"\t',
    '192.0.2.1 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "-" 0.004',
    '192.0.2.1 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 20000 5 "-" "-"',
    '192.0.2.1 - - [01/Mar/2026:01:00:00 +0100] "GET / HTTP/1.1" 200  5  "-"  "-"',
]
SPLIT_NEEDS = [
    {"status"},
    {"status", "timestamp"},
    {"status", "timestamp", "upstream_status", "upstream_status_list"},
]
LAYOUTS = [layout for chain in CHAINS for layout in chain.layouts]


def _fast_reading(layout: Layout, capture: list[int], lines: list[str]) -> pl.DataFrame:
    """Each line's captured fields, and whether they cover it whole, as folding reads them."""
    fields = folding._FastFields(layout, capture)
    return (
        pl.DataFrame({"line": lines})
        .with_columns(fields.groups().alias("groups"))
        .select(
            fields.covered(pl.col("groups")).alias("covered"),
            *(pl.col("groups").struct.field(f"f{index}") for index in capture),
        )
    )


def _readings(layout: Layout, needed: set[str], lines: list[str]) -> tuple[pl.DataFrame, ...]:
    """The lines read in two searches and by the one fast regex; () when the layout is
    not read in two searches."""
    capture = layout.capture(needed)
    if layout.split_regex(capture) is None:
        return ()
    split = _fast_reading(layout, capture, lines)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Layout, "split_regex", lambda self, capture: None)
        whole = _fast_reading(layout, capture, lines)
    return split, whole


@given(
    st.lists(
        st.one_of(hostile_lines(), st.sampled_from(ACCESS_LINES), st.sampled_from(SPLIT_LINES)),
        min_size=1,
        max_size=40,
    )
)
@settings(max_examples=int(os.environ.get("LOGSTAT_FUZZ_EXAMPLES", "20")), deadline=None)
def test_a_line_read_in_two_searches_is_read_as_the_fast_regex_reads_it(lines: list[str]) -> None:
    """A line the split reading covers, the fast regex covers too, with the same fields;
    the other lines go through the layout chain, which reads any line exactly."""
    for layout in LAYOUTS:
        for needed in SPLIT_NEEDS:
            readings = _readings(layout, needed, lines)
            if readings:
                split, whole = readings
                covered = split.get_column("covered")
                assert (whole.get_column("covered") | ~covered).all()
                assert_frame_equal(split.filter(covered), whole.filter(covered))


def test_clean_lines_are_read_in_two_searches() -> None:
    lines = ACCESS_LINES + SPLIT_LINES
    read = 0
    for layout in LAYOUTS:
        for needed in SPLIT_NEEDS:
            readings = _readings(layout, needed, lines)
            if readings:  # no line here is left to the chain by one reading alone
                split, whole = readings
                covered = whole.get_column("covered")
                assert_series_equal(split.get_column("covered"), covered)
                assert_frame_equal(split.filter(covered), whole.filter(covered))
                read += 1
    assert read >= 10  # combined, common and their vhost forms, for each set of fields


@pytest.mark.parametrize(
    ("log_format", "splits"),
    [
        ('$remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_referer"', True),
        ("[$time_local] $status", True),
        ("[$time_local] $status $upstream_response_length", False),  # `-` or `- : 5`
        ("[$time_local] $status $uri$is_args$args", False),  # fields end to end
    ],
)
def test_the_rest_is_searched_for_only_where_its_fields_end_in_one_place(
    log_format: str, splits: bool
) -> None:
    layout = nginx.FORMAT.make_parser(log_format)
    assert isinstance(layout, Layout)
    assert (layout.split_regex(layout.capture({"status", "timestamp"})) is not None) is splits


def test_a_field_that_ends_in_two_places_would_make_the_searches_disagree() -> None:
    """Why split_regex refuses such a rest: `- : 5` is `-` with a tail to the fast regex
    (its first way), while a search for the rest finds `- : 5` whole."""
    layout = nginx.FORMAT.make_parser("[$time_local] $status $upstream_response_length")
    assert isinstance(layout, Layout)
    line = "[01/Mar/2026:01:00:00 +0100] 200 - : 5"
    capture = layout.capture({"status", "timestamp"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Layout, "_stops_once", lambda self, index: True)
        split = _fast_reading(layout, capture, [line])
    whole = _fast_reading(layout, capture, [line])
    assert split.get_column("covered").to_list() == [True]
    assert whole.get_column("covered").to_list() == [False]
