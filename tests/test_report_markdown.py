"""--markdown: log data is escaped, so it never adds links, HTML, code, emphasis or cells.

Checked by parsing the output with markdown-it-py (CommonMark plus GFM tables and
strikethrough), the parser rich itself depends on."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from logstat.cli.drilldown import lines_command
from logstat.report.escape import safe
from logstat.report.markdown import escape, render_markdown, table
from logstat.report.text import Section
from logstat.summary import ReportSettings
from tests.helpers import REPORT_FIXTURES, run_cli, summarise

PARSER = MarkdownIt("commonmark").enable("table").enable("strikethrough")
FORBIDDEN = {
    "html_inline",
    "html_block",
    "link_open",
    "image",
    "code_inline",
    "em_open",
    "strong_open",
    "s_open",
    "code_block",
    "fence",
}
HOSTILE = [
    "a|b",
    "`code`",
    "``x``",
    "*bold* _it_ **x**",
    "[link](http://evil.example)",
    "![img](x.png)",
    "<script>alert(1)</script>",
    "<http://evil.example>",
    "&lt;entity&gt; &amp;",
    "~~gone~~",
    "back\\slash\\|pipe",
    "\\",
    "line\nbreak\ttab",
    "\x1b[31mred\x1b[0m",
    "# not a heading",
    "- not a list",
    "1. not a list",
    "$x^2$",
    "[bold]rich[/bold]",
]


def cells(tokens: list[Token]) -> list[list[str]]:
    """The plain text of each table row's cells, as a renderer would show them."""
    rows: list[list[str]] = []
    inside = False
    for token in tokens:
        if token.type in ("table_open", "table_close"):
            inside = token.type == "table_open"
        elif token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and inside:
            rows[-1].append("".join(child.content for child in token.children or []))
    return rows


def all_types(tokens: list[Token]) -> set[str]:
    found = set()
    for token in tokens:
        found.add(token.type)
        found |= all_types(token.children or [])
    return found


def shown(value: str) -> str:
    """What the reader must see for a value: `safe` text, whitespace escaped, trimmed."""
    return safe(value).replace("\n", "\\x0a").replace("\t", "\\x09").strip()


def test_hostile_cells_show_as_written() -> None:
    section = Section("Top [x](y) <b>", ["value", "n"], [[value, "1"] for value in HOSTILE])
    document = "\n".join(table(section))
    tokens = PARSER.parse(document)
    assert not all_types(tokens) & FORBIDDEN
    header, *rows = cells(tokens)
    assert header == ["value", "n"]
    assert [row[0] for row in rows] == [shown(value) for value in HOSTILE]
    assert all(len(row) == 2 for row in rows)  # no `|` split a cell


@given(st.text(max_size=40))
def test_any_text_round_trips(value: str) -> None:
    tokens = PARSER.parse("\n".join(table(Section("t", ["value"], [[value]]))))
    assert not all_types(tokens) & FORBIDDEN
    assert cells(tokens)[1:] == [[shown(value)]]


def test_autolink_triggers_are_broken() -> None:
    assert escape("see http://evil.example") == "see http\\://evil.example"
    assert escape("www.evil.example") == "www\\.evil.example"
    assert escape("me@evil.example") == "me\\@evil.example"


def test_fixture_report_is_well_formed() -> None:
    logs = [REPORT_FIXTURES / "apache_vhosts.log", REPORT_FIXTURES / "upstream.log"]
    code, out, _ = run_cli(
        "report",
        *map(str, logs),
        "--markdown",
        "--every",
        "6h",
        "--top",
        "3",
        "--fail-if",
        "5xx > 50%",
        "--tz",
        "UTC",
        in_process=True,
    )
    assert code == 0
    tokens = PARSER.parse(out)
    assert not all_types(tokens) & FORBIDDEN
    headings = [line for line in out.splitlines() if line.startswith("## ")]
    assert len(headings) == sum(token.type == "table_open" for token in tokens)
    text = "\n".join(" | ".join(row) for row in cells(tokens))
    for value in ("/a|b", "/<script>alert(1)</script>", "evil\\x1b[31m|agent"):
        assert value in text
    assert out.startswith("# logstat report\n\n- Read 2 files, 102 lines")
    assert "Buckets of 6h (UTC start)" in out


def test_markdown_and_json_together_is_a_usage_error(tmp_path: Path) -> None:
    code, out, err = run_cli(str(tmp_path / "x.log"), "--json", "--markdown", in_process=True)
    assert code == 2 and out == "" and "--markdown" in err


def test_library_render_matches_cli() -> None:
    log = REPORT_FIXTURES / "upstream.log"
    summary = summarise([log], ReportSettings(), format=None)
    # the command adds what only it knows: the inputs as typed, for `logstat lines`
    summary.lines_command = lines_command([str(log)], summary.filters)
    code, out, _ = run_cli(str(log), "--markdown", "--tz", "UTC", in_process=True)
    assert code == 0 and out == render_markdown(summary)
