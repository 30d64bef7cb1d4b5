"""The format-string compiler (logstat/formats/template.py): the layouts and converters
the formats are built from.  Every format's fixtures, parsed through them, are compared
with their goldens in tests/test_format_fixtures.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from logstat.formats import apache, nginx
from logstat.formats.template import (
    JsonLayout,
    Layout,
    LayoutChain,
    compile_template,
    detect,
    from_epoch_seconds,
    from_request_line,
    from_status_list,
    missing,
    to_timestamp,
)

# --- the compiler itself ---------------------------------------------------------------


def evaluate(expressions: dict[str, pl.Expr], values: list[str | None]) -> list[dict[str, Any]]:
    frame = pl.DataFrame({"text": pl.Series(values, dtype=pl.String)})
    return frame.select(**{name: expression for name, expression in expressions.items()}).to_dicts()


def converted(convert: Any, values: list[str | None]) -> list[dict[str, Any]]:
    return evaluate(convert(pl.col("text")), values)


def test_missing_turns_dash_and_empty_into_null() -> None:
    frame = pl.DataFrame({"text": ["-", "", "x", None, "--"]})
    assert frame.select(missing(pl.col("text"))).to_series().to_list() == [
        None,
        None,
        "x",
        None,
        "--",
    ]


@pytest.mark.parametrize(
    ("request_line", "method", "path", "query", "protocol"),
    [
        ("GET /a?b=1&c=2 HTTP/1.1", "GET", "/a", "b=1&c=2", "HTTP/1.1"),
        ("GET /", "GET", "/", None, None),  # HTTP/0.9 style: no protocol
        ("GET /a b/c d?x=1 y HTTP/1.1", "GET", "/a b/c d", "x=1 y", "HTTP/1.1"),
        ("GET /a[ ]b HTTP/1.1", "GET", "/a[ ]b", None, "HTTP/1.1"),
        ("PRI * HTTP/2.0", "PRI", "*", None, "HTTP/2.0"),
        ("OPTIONS * HTTP/1.0", "OPTIONS", "*", None, "HTTP/1.0"),
        (r"\x16\x03\x01\x02\x00\x01", None, None, None, None),  # TLS handshake on a plain port
        ("-", None, None, None, None),
        ("", None, None, None, None),
        ("hello", None, None, None, None),
        ("- - HTTP/1.0", None, None, None, None),
        ("<SCRIPT>NXSSTEST</SCRIPT> / HTTP/1.1", None, None, None, None),
        ("GET /search? HTTP/1.1", "GET", "/search", "", "HTTP/1.1"),
    ],
)
def test_request_line(
    request_line: str, method: str | None, path: str | None, query: str | None, protocol: str | None
) -> None:
    [row] = converted(from_request_line, [request_line])
    assert row == {"method": method, "path": path, "query": query, "protocol": protocol}


@pytest.mark.parametrize(
    ("logged", "last", "listed"),
    [
        ("200", 200, "200"),
        ("502, 504", 504, "502, 504"),
        ("502 : 200", 200, "502 : 200"),
        ("502, 502 : 404", 404, "502, 502 : 404"),
        ("-", None, None),
        ("", None, None),
    ],
)
def test_upstream_status_list_keeps_the_last_attempt(
    logged: str, last: int | None, listed: str | None
) -> None:
    [row] = converted(from_status_list, [logged])
    assert row == {"upstream_status": last, "upstream_status_list": listed}


# Offsets turned into UTC by hand: local time minus the offset.
@pytest.mark.parametrize(
    ("logged", "utc"),
    [
        ("10/Mar/2024:13:55:36 +0000", datetime(2024, 3, 10, 13, 55, 36, tzinfo=UTC)),
        # 13:55:36 - 5:45 = 08:10:36
        ("10/Mar/2024:13:55:36 +0545", datetime(2024, 3, 10, 8, 10, 36, tzinfo=UTC)),
        # 13:55:36 + 9:30 = 23:25:36
        ("10/Mar/2024:13:55:36 -0930", datetime(2024, 3, 10, 23, 25, 36, tzinfo=UTC)),
        # 00:30 on 1 Jan - 14:00 = 10:30 on 31 Dec the year before
        ("01/Jan/2025:00:30:00 +1400", datetime(2024, 12, 31, 10, 30, 0, tzinfo=UTC)),
        # 23:59:59 on 31 Dec + 12:00 = 11:59:59 on 1 Jan
        ("31/Dec/2024:23:59:59 -1200", datetime(2025, 1, 1, 11, 59, 59, tzinfo=UTC)),
        # 00:15 on 29 Feb (leap day) - 1:00 = 23:15 on 28 Feb
        ("29/Feb/2024:00:15:00 +0100", datetime(2024, 2, 28, 23, 15, 0, tzinfo=UTC)),
        # 01:59:59 + 3:30 = 05:29:59
        ("10/Mar/2024:01:59:59 -0330", datetime(2024, 3, 10, 5, 29, 59, tzinfo=UTC)),
        ("31/Feb/2024:00:00:00 +0000", None),  # no such day
        ("-", None),
    ],
)
def test_clf_time_is_converted_to_utc(logged: str, utc: datetime | None) -> None:
    [row] = converted(to_timestamp("%d/%b/%Y:%H:%M:%S %z"), [logged])
    assert row["timestamp"] == utc


@pytest.mark.parametrize(
    ("logged", "utc"),
    [
        ("2024-03-10T01:59:59+05:45", datetime(2024, 3, 9, 20, 14, 59, tzinfo=UTC)),
        ("2024-03-10T13:55:37-03:00", datetime(2024, 3, 10, 16, 55, 37, tzinfo=UTC)),
        ("2024-03-10T12:00:01Z", datetime(2024, 3, 10, 12, 0, 1, tzinfo=UTC)),
    ],
)
def test_iso8601_time_is_converted_to_utc(logged: str, utc: datetime) -> None:
    [row] = converted(to_timestamp("%+"), [logged])
    assert row["timestamp"] == utc


def test_epoch_seconds_keep_milliseconds_exactly() -> None:
    # 1710032399 s is 2024-03-10T00:59:59Z; .123 must not become .122999
    rows = converted(from_epoch_seconds, ["1710032399.123", "1474706096.001", "-"])
    assert [row["timestamp"] for row in rows] == [
        datetime(2024, 3, 10, 0, 59, 59, 123000, tzinfo=UTC),
        datetime(2016, 9, 24, 8, 34, 56, 1000, tzinfo=UTC),
        None,
    ]


def test_a_run_of_spaces_in_the_template_matches_any_run_of_spaces() -> None:
    layout = nginx.FORMAT.make_parser("combined")
    assert isinstance(layout, Layout)
    line = '10.1.10.51 -  -  [23/Dec/2014:21:20:35 +0000] "POST /a HTTP/1.1" 200 - "-" "-"  293'
    frame = layout.parse(pl.LazyFrame({"line": [line]})).collect()
    assert frame.row(0, named=True)["line_kind"] == "record"
    assert frame.row(0, named=True)["client_ip"] == "10.1.10.51"


def test_needed_columns_only_are_converted_but_validation_is_the_same() -> None:
    layout = nginx.FORMAT.make_parser("combined")
    lines = pl.LazyFrame(
        {
            "line": [
                '1.2.3.4 - - [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x"',
                "junk",
            ]
        }
    )
    narrow = layout.parse(lines, {"status"}).collect()
    full = layout.parse(lines).collect()
    assert "user_agent" not in narrow.columns
    assert "user_agent" in full.columns
    assert narrow["line_kind"].to_list() == full["line_kind"].to_list() == ["record", "rejected"]
    assert narrow["status"].to_list() == [200, None]


def test_regex_captures_only_the_fields_asked_for() -> None:
    layout = apache.FORMAT.make_parser("combined")
    assert isinstance(layout, Layout)
    assert "(?P<f" not in layout.regex([])
    status_index = next(
        index
        for index, token in enumerate(layout.tokens)
        if getattr(token, "directive", None) == "%>s"
    )
    assert layout.regex([status_index]).count("(?P<f") == 1


def test_chain_parses_each_line_with_the_first_layout_that_matches() -> None:
    combined = nginx.FORMAT.make_parser("combined")
    common = nginx.FORMAT.make_parser("common")
    assert isinstance(combined, Layout) and isinstance(common, Layout)
    chain = LayoutChain((combined, common), combined, (combined, common))
    lines = [
        '1.2.3.4 - - [10/Mar/2024:13:55:36 +0000] "GET /a HTTP/1.1" 200 5 "-" "agent"',
        '1.2.3.4 - - [10/Mar/2024:13:55:36 +0000] "GET /b HTTP/1.1" 404 6',
        "neither",
        "",
    ]
    frame = chain.parse(pl.LazyFrame({"line": lines})).collect()
    assert frame["line_kind"].to_list() == ["record", "record", "rejected", "rejected"]
    assert frame["status"].to_list() == [200, 404, None, None]
    assert frame["user_agent"].to_list() == ["agent", None, None, None]
    assert frame["reject_reason"].to_list() == [
        None,
        None,
        "does not match nginx combined or any other nginx layout",
        "empty line",
    ]
    assert chain.description == "nginx combined"


def test_detection_prefers_the_richest_layout_and_keeps_the_others_as_fallbacks() -> None:
    combined_line = '1.2.3.4 - - [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "a"'
    common_line = '1.2.3.4 - - [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 5'
    layouts = [apache.FORMAT.make_parser(name) for name in apache.LAYOUTS]
    found = detect(
        [layout for layout in layouts if isinstance(layout, Layout | JsonLayout)],
        pl.Series([combined_line] * 3 + [common_line]),
    )
    assert found is not None
    parser, matched, covered = found
    assert matched == covered == 4  # each line read whole by one layout or the other
    assert isinstance(parser, LayoutChain)
    # combined reads 3 lines, common the 4th: combined is what the file is
    assert parser.description == "apache combined"
    assert [layout.name for layout in parser.layouts[:2]] == ["combined", "common"]
    assert {layout.name for layout in parser.layouts} == set(apache.LAYOUTS)


@pytest.mark.parametrize(
    "tail",
    ["", "  ", " extra", "\t", " \n ", "\n", " \n x", "\r"],
)
def test_detection_counts_whole_lines_as_every_whole_regex_reads_them(tail: str) -> None:
    """Detection compiles a layout's whole-line regex only when its other regex reads a
    line (or a line holds a "\\n", unwrapped from JSON): the lines it counts as read
    whole are those some layout's whole regex reads, tied formats included."""
    combined_line = '1.2.3.4 - - [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "a"'
    # the second line is nginx vhost_combined's alone: its only line, with the tail
    vhost_line = "example.com " + combined_line + tail
    sample = pl.Series([combined_line, vhost_line, "not a log line" + tail])
    for format in (nginx.FORMAT, apache.FORMAT):
        layouts = [format.make_parser(name) for name in format.layouts]
        typed = [layout for layout in layouts if isinstance(layout, Layout)]
        found = detect(typed, sample)
        assert found is not None
        frame = sample.rename("line").to_frame()
        read_whole = frame.select(
            pl.any_horizontal(
                pl.col("line").str.contains(layout.regex([], whole=True)).fill_null(False)
                for layout in typed
            )
        ).to_series()
        assert found[2] == read_whole.sum()


def test_detection_finds_nothing_in_unrelated_lines() -> None:
    layouts = [nginx.FORMAT.make_parser(name) for name in nginx.LAYOUTS]
    sample = pl.Series(["#Fields: date time", "2024-01-01 00:00:00 GET / 200", ""])
    typed = [layout for layout in layouts if isinstance(layout, Layout | JsonLayout)]
    assert detect(typed, sample) is None


def test_json_template_compiles_to_a_json_layout() -> None:
    template = '{"t":"$time_iso8601", "code": $status, "ua": "$http_user_agent", "n": "x $args"}'
    layout = compile_template("nginx", "custom", template, nginx.tokenize)
    assert isinstance(layout, JsonLayout)
    assert layout.anchor == "code"
    assert dict(layout.fields)["n"].columns == ("n",)  # text around a variable: kept as text
    lines = pl.LazyFrame(
        {
            "line": [
                '{"t":"2024-03-10T12:00:00+01:00","code":503,"ua":"a \\"b\\" \\\\ c","n":"x y"}',
                '{"t":"2024-03-10T12:00:00+01:00","ua":"no code"}',
                "plain text",
            ]
        }
    )
    frame = layout.parse(lines).collect()
    assert frame["line_kind"].to_list() == ["record", "rejected", "rejected"]
    assert frame["status"].to_list() == [503, None, None]
    assert frame["user_agent"][0] == 'a "b" \\ c'
    assert frame["timestamp"][0] == datetime(2024, 3, 10, 11, 0, tzinfo=UTC)
    assert frame["n"][0] == "x y"
    assert frame["reject_reason"][1] == "not a JSON object with a 'code' key"


def test_quoted_fields_are_unescaped_by_each_servers_rules() -> None:
    nginx_layout = nginx.FORMAT.make_parser('"$http_user_agent" $status')
    apache_layout = apache.FORMAT.make_parser('"%{User-Agent}i" %>s')
    nginx_frame = nginx_layout.parse(
        pl.LazyFrame({"line": [r'"a \x22b\x22 \x5C c \x5Cx22 \xFF" 200']})
    ).collect()
    apache_frame = apache_layout.parse(
        pl.LazyFrame({"line": [r'"a \"b\" \\ c \\\" \xff" 200']})
    ).collect()
    # \x5Cx22 is an escaped backslash followed by "x22": it stays `\x22`
    assert nginx_frame["user_agent"][0] == r'a "b" \ c \x22 \xFF'
    assert apache_frame["user_agent"][0] == r'a "b" \ c \" \xff'
