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
from polars.testing import assert_frame_equal

from logstat.formats import apache, nginx, template
from logstat.formats.template import Layout, LayoutChain
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
