"""What logs hold must never act on the terminal, the spreadsheet or the browser.

* Terminal: control characters (tab and newline too), ANSI escapes and bidi
  overrides from log fields and file names are shown as `\\xHH` / `\\uHHHH`; rich
  markup in the data (`[bold]`, `[link=...]`) is printed, never interpreted.
* CSV: a cell that starts with = + - @ (or tab / CR) gets a leading `'`, so a
  spreadsheet shows it instead of running it; `--raw-csv` keeps it; Parquet
  always keeps the raw value.  The rejects CSV is neutralised the same way.
* HTML: the dashboard carries no raw markup from the log.

The hostile values reach fields unescaped through formats that do not escape:
Cloudflare's JSON (which decodes `\\u001b` to a real ESC) and IIS (raw bytes).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from rich.console import Console

from tests.helpers import CliResult, assert_one_line_error, run_cli
from tests.strategies import nginx_lines

# Sequences that would act on a terminal if printed raw.
CLEAR_SCREEN = "\x1b[2J"
BLINK = "\x1b[5;31;47m"
HYPERLINK = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"
ALT_SCREEN = "\x1b[?1049h"
RAW_SEQUENCES = (CLEAR_SCREEN, BLINK, "\x1b]8;", ALT_SCREEN, "\x07", "\r", "\u202e", "\u2028")
MARKUP = ("[bold]", "[link=http://evil.example]", "[/link]", "[red on white]")

HOSTILE_PATH = f"/p{CLEAR_SCREEN}\nFORGED PATH\x07[bold]b[/bold]\u202eevil"
HOSTILE_AGENT = f"{HYPERLINK} [link=http://evil.example]x[/link] {BLINK}\r\tFORGED\u2028AGENT"
HOSTILE_HOST = f"h{ALT_SCREEN}[red on white]ost"
HOSTILE_FILE = f"evil{CLEAR_SCREEN}[bold]x\nFORGED FILE\t.log"


def _cloudflare_record(status: int, uri: str, agent: str) -> str:
    return json.dumps(
        {
            "ClientIP": "192.0.2.1",
            "ClientRequestHost": HOSTILE_HOST,
            "ClientRequestMethod": "GET",
            "ClientRequestURI": uri,
            "ClientRequestUserAgent": agent,
            "EdgeResponseStatus": status,
            "OriginResponseStatus": 0,
            "EdgeStartTimestamp": "2024-01-01T00:00:00Z",
            "RayID": "7d3f1a2b3c4d5e6f",
        }
    )


@pytest.fixture
def hostile_logs(tmp_path: Path) -> Path:
    """A directory of logs whose fields and names are built to attack a terminal."""
    root = tmp_path / "logs"
    root.mkdir()
    records = [_cloudflare_record(500, HOSTILE_PATH, HOSTILE_AGENT) for _ in range(3)]
    (root / "edge.json").write_text("\n".join(records) + "\n", encoding="utf-8")
    iis_path = f"/iis{CLEAR_SCREEN}[bold]{BLINK}x"  # IIS writes the bytes as they came
    (root / "u_ex240101.log").write_text(
        "#Software: Microsoft Internet Information Services 10.0\n"
        "#Fields: date time cs-method cs-uri-stem cs-uri-query c-ip cs(User-Agent) sc-status "
        "sc-substatus sc-win32-status\n"
        f"2024-01-01 00:00:00 GET {iis_path} - 192.0.2.2 x 404 0 2\n",
        encoding="utf-8",
    )
    (root / HOSTILE_FILE).write_bytes(nginx_lines(3, status=502))
    return root


def assert_terminal_safe(text: str) -> None:
    for sequence in RAW_SEQUENCES:
        assert sequence not in text, f"raw {sequence!r} in the output"
    controls = [character for character in text if ord(character) < 0x20 and character != "\n"]
    assert not controls, f"raw control characters {sorted(set(controls))!r}"
    assert not re.search(r"[\x7f-\x9f]", text)
    for line in text.splitlines():
        assert not line.lstrip().startswith("FORGED"), f"a log field started a line: {line!r}"


def _report(*arguments: str | Path) -> CliResult:
    result = run_cli(
        "report", *arguments, "--quiet", "--top", "5", "--top-fields", "path,agent,host"
    )
    assert result.code == 0, result.stderr
    return result


def test_plain_view_escapes_what_came_from_the_log(hostile_logs: Path) -> None:
    text = _report(hostile_logs).stdout
    assert_terminal_safe(text)
    assert "\\x1b[2J" in text  # shown, escaped
    assert "\\x0aFORGED PATH" in text and "\\x0aFORGED FILE" in text
    assert "FORGED\\u2028AGENT" in text
    assert "\\u202e" in text
    for markup in MARKUP:
        assert markup in text, f"{markup} is not shown as text"


def test_the_lines_note_of_a_group_carries_no_hostile_value(hostile_logs: Path) -> None:
    """A --by host group's note names the host only when it holds nothing a terminal
    acts on; else HOST stands for it."""
    for words in ([], ["--markdown"]):
        result = run_cli(hostile_logs, "--by", "host", *words)
        assert result.code == 0, result.stderr
        assert_terminal_safe(result.stdout)
        assert "logstat lines" in result.stdout and "--host HOST" in result.stdout


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rich_view_shows_markup_and_escapes(
    hostile_logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rich view, rendered to a string as a colour terminal would get it."""
    from logstat import cli
    from logstat.cli import messages

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, color_system="truecolor", width=250)
    monkeypatch.setattr(messages, "stdout_console", lambda: console)
    with contextlib.redirect_stdout(_Terminal()), pytest.raises(SystemExit) as exit_info:
        cli.main(
            [
                "report",
                str(hostile_logs),
                "--quiet",
                "--top",
                "5",
                "--top-fields",
                "path,agent,host",
            ]
        )
    assert exit_info.value.code == 0
    rendered = screen.getvalue()
    assert "\x1b[" in rendered, "not rendered for a colour terminal"
    for sequence in RAW_SEQUENCES:
        assert sequence not in rendered, f"raw {sequence!r} in the rich view"
    # what is left once rich's own colour codes are removed is plain text
    plain = re.sub(r"\x1b\[[0-9;]*m", "", rendered)
    assert_terminal_safe(plain)
    for markup in MARKUP:
        assert markup in plain, f"{markup} was interpreted as markup"
    assert "\\x1b[2J" in plain


def test_markdown_view_escapes_what_came_from_the_log(hostile_logs: Path) -> None:
    result = run_cli("report", hostile_logs, "--quiet", "--top", "5", "--markdown")
    assert result.code == 0, result.stderr
    assert_terminal_safe(result.stdout)


def test_error_message_escapes_the_file_name(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "missing\x1b\x07\nFORGED.log")
    assert result.code == 1
    assert_one_line_error(result, "missing\\x1b\\x07\\x0aFORGED.log")
    assert_terminal_safe(result.stderr)


def test_dashboard_carries_no_markup_from_the_log(tmp_path: Path) -> None:
    path = tmp_path / "edge.json"
    script = "/<script>alert(1)</script>"
    image = '<img src=x onerror="alert(2)">'
    path.write_text(_cloudflare_record(500, script, image) + "\n", encoding="utf-8")
    output = tmp_path / "dashboard.html"
    result = run_cli("dashboard", path, "-o", output, "--quiet")
    assert result.code == 0, result.stderr
    html = output.read_text(encoding="utf-8")
    assert "alert(1)" in html, "the hostile path is not in the dashboard at all"
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "</script>alert" not in html


# --- spreadsheets ------------------------------------------------------------------

FORMULAS = (
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1)",
    '=HYPERLINK("http://evil.example","x")',
    "\t=1",
    "\r=1",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def formula_log(tmp_path: Path) -> Path:
    """Cloudflare records whose text fields are spreadsheet formulas (JSON keeps them raw)."""
    path = tmp_path / "=formulas.json"
    lines = []
    for formula in FORMULAS:
        record = json.loads(_cloudflare_record(200, "/a?" + formula, formula))
        record["ClientRequestHost"] = formula
        record["ClientRequestReferer"] = formula
        record["ClientRequestMethod"] = "GET"
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _text_columns(frame: pl.DataFrame) -> list[str]:
    return [name for name, dtype in frame.schema.items() if dtype == pl.String]


def test_csv_export_neutralises_formulas(formula_log: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "rows.parquet"
    neutral = tmp_path / "rows.csv"
    assert run_cli("export", formula_log, "-o", parquet, "--quiet").code == 0
    assert run_cli("export", formula_log, "-o", neutral, "--quiet").code == 0
    raw_rows = pl.read_parquet(parquet)
    csv_rows = _csv_rows(neutral)
    assert len(csv_rows) == raw_rows.height == len(FORMULAS)
    checked = 0
    for raw, cells in zip(raw_rows.iter_rows(named=True), csv_rows, strict=True):
        for column in _text_columns(raw_rows):
            value = raw[column]
            if value is None:
                continue
            cell = cells[column]
            assert not cell.startswith(FORMULA_START), f"{column}: {cell!r} would run"
            expected = "'" + value if value.startswith(FORMULA_START) else value
            assert cell == expected, column
            checked += value.startswith(FORMULA_START)
    assert checked >= 4 * len(FORMULAS)  # host, query, referer, agent (and the file name)


def test_raw_csv_and_parquet_keep_the_values(formula_log: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "rows.parquet"
    raw_csv = tmp_path / "raw.csv"
    assert run_cli("export", formula_log, "-o", parquet, "--quiet").code == 0
    assert run_cli("export", formula_log, "-o", raw_csv, "--raw-csv", "--quiet").code == 0
    rows = pl.read_parquet(parquet)
    assert rows["user_agent"].to_list() == list(FORMULAS)
    assert rows["host"].to_list() == list(FORMULAS)
    assert rows["file"].to_list() == [str(formula_log)] * len(FORMULAS)
    cells = _csv_rows(raw_csv)
    assert [row["user_agent"] for row in cells] == list(FORMULAS)
    assert [row["referer"] for row in cells] == list(FORMULAS)


def test_rejects_csv_neutralises_formulas(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(nginx_lines(3) + "".join(f"{f}\n" for f in FORMULAS[:5]).encode())
    rejects = tmp_path / "rejects.csv"
    result = run_cli(path, "--rejects", rejects, "--json")
    assert result.code == 0, result.stderr
    rows = _csv_rows(rejects)
    assert [row["line"] for row in rows] == ["'" + formula for formula in FORMULAS[:5]]


def _summary_cells(summary: dict[str, Any]) -> list[str]:
    return [file["name"] for file in summary["files"]]


def test_json_output_is_plain_data(hostile_logs: Path) -> None:
    """JSON escapes what it must; the values are exactly what the log said."""
    result = run_cli("report", hostile_logs, "--json", "--top", "5", "--top-fields", "path")
    assert result.code == 0, result.stderr
    assert_terminal_safe(result.stdout.replace("\n", ""))
    summary = result.summary
    assert str(hostile_logs / HOSTILE_FILE) in _summary_cells(summary)
