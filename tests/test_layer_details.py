"""Layer details: the status layers beside the HTTP status (IIS sc-win32-status, ALB
error_reason and classification_reason) are counted, explained from their tables and
shown in every view; nginx and Apache runs are untouched.

Expected counts come from the fixtures' *.expected.csv (written apart from the code),
meanings from the shipped CSV tables, never from literals copied out of the output.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.console import Console

from logstat.filters import parse_filters
from logstat.reading import pipeline
from logstat.reading.sources import expand
from logstat.report.markdown import render_markdown
from logstat.report.model import SCHEMA_RESOURCE, LayerRow, Summary, status_text
from logstat.report.text import NO_MEANING, render_plain, render_rich
from logstat.status.details import LAYERS as DETAIL_LAYERS
from logstat.summary import LAYERS, ReportSettings
from logstat.summary import partial as partial_module
from tests.helpers import FIXTURES, REPORT_FIXTURES, run_cli, summarise

SCHEMA: dict[str, Any] = json.loads(
    resources.files("logstat").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
IIS_EXPECTED = sorted((FIXTURES / "iis").glob("*.expected.csv"))
ALB_EXPECTED = sorted((FIXTURES / "alb").glob("*.expected.csv"))
IIS_SAMPLE = FIXTURES / "iis" / "fields-change.log"  # win32 2, 5, 64, 12029, 67567567567 (unknown)
ALB_SAMPLE = FIXTURES / "alb" / "produced_by.log"  # LambdaInvalidResponse, AuthInvalidIdToken
IIS_FIELDS = "#Fields: date time cs-method cs-uri-stem sc-status sc-substatus sc-win32-status"


def shipped(filename: str, key: str) -> dict[str, dict[str, str]]:
    """A detail table as logstat ships it (logstat/status/*.csv), by its key column."""
    text = resources.files("logstat.status").joinpath(filename).read_text(encoding="utf-8")
    return {row[key]: row for row in csv.DictReader(text.splitlines())}


def log_of(expected: Path) -> Path:
    return expected.with_name(expected.name.removesuffix(".expected.csv"))


def layer(summary: Summary, name: str) -> list[LayerRow]:
    return [row for row in summary.layers if row.layer == name]


def reference(expected: Path, column: str, says_something: pl.Expr) -> dict[str, Counter[str]]:
    """value -> Counter(status text) from a fixture's expected CSV."""
    frame = pl.read_csv(expected, infer_schema_length=0).filter(
        (pl.col("line_kind") == "record") & says_something
    )
    result: dict[str, Counter[str]] = {}
    for value, status in frame.select(column, "status").iter_rows():
        code = None if status is None else int(status)
        result.setdefault(value, Counter())[status_text(code)] += 1
    return result


def counted(rows: list[LayerRow]) -> dict[str, Counter[str]]:
    return {row.value: Counter(row.statuses) for row in rows}


def iis_log(path: Path, rows: list[tuple[int, int]]) -> Path:
    """An IIS log with one request per (status, win32_status)."""
    lines = ["#Software: Microsoft Internet Information Services 10.0", IIS_FIELDS]
    lines += [
        f"2024-03-01 10:00:{index % 60:02d} GET /p{index} {status} 0 {win32}"
        for index, (status, win32) in enumerate(rows)
    ]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def alb_line(status: int, error_reason: str = "-", classification: str = "-") -> str:
    """An ALB entry answered by the load balancer, with the given reason fields."""
    reason = "-" if classification == "-" else "AmbiguousUri"
    return (
        f"https 2024-03-04T10:00:00.000000Z app/my-alb/50dc6c495c0c9188 192.0.2.12:40003 - "
        f'0.000 0.050 0.000 {status} - 34 366 "GET https://fn.example.com:443/hello HTTP/1.1" '
        '"curl/8.5.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067 "
        '"Root=1-65e50000-0123456789abcdef01234567" "fn.example.com" "-" 0 '
        f'2024-03-04T10:00:00.000000Z "forward" "-" "{error_reason}" "-" "-" '
        f'"{classification}" "{reason}" TID_0123456789abcdef0123456789abcdef'
    )


def cli_views(*args: str) -> dict[str, str]:
    outputs = {}
    for view, flags in (("text", []), ("json", ["--json"]), ("markdown", ["--markdown"])):
        code, out, _ = run_cli(*args, *flags, in_process=True)
        assert code == 0
        outputs[view] = out
    return outputs


@pytest.mark.parametrize("expected", IIS_EXPECTED, ids=lambda path: path.name)
def test_iis_win32_counts_match_the_fixture(expected: Path) -> None:
    result = summarise([log_of(expected)], ReportSettings(), chunk_bytes=300, format=None)
    says_something = pl.col("win32_status").is_not_null() & (pl.col("win32_status") != "0")
    rows = layer(result, "win32_status")
    assert counted(rows) == reference(expected, "win32_status", says_something)
    table = shipped("win32.csv", "code")
    for row in rows:
        entry = table.get(row.value)
        assert (row.name, row.meaning) == (
            (entry["name"], entry["meaning"]) if entry else (None, None)
        )
        assert row.count == sum(row.statuses.values())
        assert row.share == round(row.count / result.totals.selected, 6)


@pytest.mark.parametrize("expected", ALB_EXPECTED, ids=lambda path: path.name)
def test_alb_error_reason_counts_match_the_fixture(expected: Path) -> None:
    result = summarise([log_of(expected)], ReportSettings(), chunk_bytes=300, format=None)
    rows = layer(result, "error_reason")
    error_reason = pl.col("error_reason").is_not_null()
    assert counted(rows) == reference(expected, "error_reason", error_reason)
    reasons = shipped("alb_error_reasons.csv", "reason")
    for row in rows:
        assert row.name is None and row.meaning == reasons.get(row.value, {}).get("meaning")
    verdicts = shipped("alb_classification_reasons.csv", "reason")
    for row in layer(result, "classification_reason"):
        assert row.meaning == verdicts.get(row.value, {}).get("meaning")


def test_the_json_schema_names_every_detail_table() -> None:
    """A new detail table is a CSV and an entry in status/details.py; --json's schema
    lists the layers too, and must say so."""
    layer = SCHEMA["properties"]["layers"]["items"]["properties"]["layer"]
    assert layer["enum"] == list(DETAIL_LAYERS)


def test_every_view_explains_win32_64_and_an_alb_error_reason() -> None:
    win32_name, win32_meaning = (
        shipped("win32.csv", "code")["64"][key] for key in ("name", "meaning")
    )
    reason_meaning = shipped("alb_error_reasons.csv", "reason")["LambdaInvalidResponse"]["meaning"]
    assert win32_meaning and reason_meaning
    views = cli_views(str(IIS_SAMPLE), str(ALB_SAMPLE))

    text = views["text"].splitlines()
    assert any(line.startswith("Layer details: IIS sc-win32-status") for line in text)
    assert any(line.startswith("Layer details: ALB error_reason") for line in text)
    row = next(line for line in text if line.startswith("64 "))
    assert "400: 1" in row and win32_name in row and row.endswith(win32_meaning)
    row = next(line for line in text if line.startswith("LambdaInvalidResponse "))
    assert "502: 1" in row and row.endswith(reason_meaning)

    document = json.loads(views["json"])
    errors = sorted(VALIDATOR.iter_errors(document), key=str)
    assert not errors, "\n".join(f"{list(error.path)}: {error.message}" for error in errors)
    by_value = {(row["layer"], row["value"]): row for row in document["layers"]}
    assert by_value[("win32_status", "64")]["meaning"] == win32_meaning
    assert by_value[("win32_status", "64")]["statuses"] == {"400": 1}
    assert by_value[("error_reason", "LambdaInvalidResponse")]["meaning"] == reason_meaning
    assert by_value[("win32_status", "67567567567")]["meaning"] is None  # not in win32.csv
    assert ("win32_status", "0") not in by_value  # 0 is "no error": nothing to explain

    tokens = MarkdownIt("commonmark").enable("table").parse(views["markdown"])
    inline = [token.content for token in tokens if token.type == "inline"]
    assert any(content.startswith("Layer details: IIS sc-win32-status") for content in inline)
    assert win32_meaning in inline and reason_meaning in inline


def test_unknown_values_say_no_meaning_is_known(tmp_path: Path) -> None:
    iis = iis_log(tmp_path / "u_ex240301.log", [(500, 987654), (200, 0)])
    alb = tmp_path / "alb.log"
    alb.write_text(alb_line(502, "SomethingAwsAddsLater") + "\n", encoding="utf-8")
    views = cli_views(str(iis), str(alb))
    for value in ("987654", "SomethingAwsAddsLater"):
        row = next(line for line in views["text"].splitlines() if line.startswith(value))
        assert row.endswith(NO_MEANING)
        assert f"| {value} |" in views["markdown"] and NO_MEANING in views["markdown"]
    document = json.loads(views["json"])
    assert VALIDATOR.is_valid(document)
    assert [(row["value"], row["name"], row["meaning"]) for row in document["layers"]] == [
        ("987654", None, None),
        ("SomethingAwsAddsLater", None, None),
    ]


def test_alb_reason_names_are_aws_names(tmp_path: Path) -> None:
    # AWS's names may hold digits; text no AWS name looks like is a field out of place
    alb = tmp_path / "alb.log"
    lines = [
        alb_line(502, "LambdaEC2AccessDeniedException"),
        alb_line(502, "10.0.0.1:80"),
        alb_line(502, "[bold]x[/bold]|`y`"),
    ]
    alb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = summarise([alb], ReportSettings(), format=None)
    assert [row.value for row in layer(result, "error_reason")] == [
        "LambdaEC2AccessDeniedException"
    ]
    assert result.totals.records == 1 and result.totals.rejected == 2


def test_log_text_in_a_layer_value_is_shown_not_obeyed(tmp_path: Path) -> None:
    # no parser lets such text into a layer today; the views must still show it as text
    hostile = "[bold]x[/bold]|`y`\x1b[31m"
    alb = tmp_path / "alb.log"
    alb.write_text(alb_line(502, "LambdaInvalidResponse") + "\n", encoding="utf-8")
    parsed = summarise([alb], ReportSettings(), format=None)
    [row] = layer(parsed, "error_reason")
    result = dataclasses.replace(parsed, layers=[dataclasses.replace(row, value=hostile)])
    shown = "[bold]x[/bold]|`y`\\x1b[31m"
    plain = render_plain(result)
    assert shown in plain and "\x1b" not in plain
    buffer = io.StringIO()
    render_rich(result, Console(file=buffer, width=200, force_terminal=True))
    assert shown in buffer.getvalue()
    tokens = MarkdownIt("commonmark").enable("table").parse(render_markdown(result))
    shown_cells = [
        "".join(child.content for child in token.children or [])
        for token in tokens
        if token.type == "inline"
    ]
    assert shown in shown_cells  # one cell, shown as written
    assert all(child.type == "text" for token in tokens for child in token.children or [])


def test_filters_apply_to_the_layers() -> None:
    chosen = ReportSettings(filters=parse_filters(statuses=["4xx"]))
    result = summarise([IIS_SAMPLE], chosen, format=None)
    rows = layer(result, "win32_status")
    assert rows and all(code.startswith("4") for row in rows for code in row.statuses)
    expected = IIS_SAMPLE.with_name(IIS_SAMPLE.name + ".expected.csv")
    four = pl.col("status").str.starts_with("4") & (pl.col("win32_status") != "0")
    assert counted(rows) == reference(expected, "win32_status", four)


def frames(log: Path, needed: set[str]) -> list[pl.DataFrame]:
    options = pipeline.Options(chunk_bytes=2000)
    runs = pipeline.plan(expand([str(log)]), options)
    return [frame for _, frame in pipeline.read(runs, options, needed)]


@pytest.mark.parametrize(
    "log",
    [
        REPORT_FIXTURES / "upstream.log",
        REPORT_FIXTURES / "apache_vhosts.log",
        *sorted((FIXTURES / "nginx").glob("*.log")),
    ],
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_nginx_and_apache_parse_and_render_as_before(log: Path) -> None:
    needed = ReportSettings().needed()
    assert set(LAYERS) <= needed
    with_layers, without = frames(log, needed), frames(log, needed - set(LAYERS))
    assert len(with_layers) == len(without)
    for one, other in zip(with_layers, without, strict=True):
        assert one.equals(other)  # the layer columns cost these formats nothing
    result = summarise([log], ReportSettings(), format=None)
    assert result.layers == []
    assert "Layer details" not in render_plain(result) + render_markdown(result)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from([200, 304, 400, 401, 404, 500, 502]),
            st.sampled_from([0, 0, 2, 5, 64, 121, 995, 1236, 12029, 67567567567]),
        ),
        max_size=80,
    ),
    chunk_bytes=st.sampled_from([64, 200, 1 << 16]),
)
def test_layer_counts_add_up_across_chunks_and_compaction(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[tuple[int, int]],
    chunk_bytes: int,
) -> None:
    monkeypatch.setattr(partial_module, "COMPACT_EVERY", 2)
    log = iis_log(tmp_path / "u_ex.log", rows)
    result = summarise([log], ReportSettings(), chunk_bytes=chunk_bytes, format=None)
    expected: dict[str, Counter[str]] = {}
    for status, win32 in rows:
        if win32:
            expected.setdefault(str(win32), Counter())[str(status)] += 1
    found = layer(result, "win32_status")
    assert counted(found) == expected
    assert [row.count for row in found] == sorted((row.count for row in found), reverse=True)
    assert all(
        list(row.statuses.values()) == sorted(row.statuses.values(), reverse=True) for row in found
    )


def test_held_rows_count_the_layer_parts(tmp_path: Path) -> None:
    log = iis_log(tmp_path / "u_ex.log", [(200, 64)] * 50)
    options = pipeline.Options(chunk_bytes=200)
    runs = pipeline.plan(expand([str(log)]), options)
    builder = partial_module.PartialSummary()
    chunks = 0
    for _, frame in pipeline.read(runs, options, builder.settings.needed()):
        builder.add(frame)
        chunks += 1
    assert chunks > 3
    # per chunk: one status row and one layer row (no rejects)
    assert builder.held_rows == 2 * chunks
    assert builder.layer_counts("win32_status")["count"].to_list() == [50]


def test_an_empty_file_says_it_is_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.log"
    blank.write_text("\n\n", encoding="utf-8")
    garbage = tmp_path / "garbage.log"
    garbage.write_text("not a log line\n", encoding="utf-8")
    code, out, _ = run_cli(str(empty), str(blank), str(garbage), str(IIS_SAMPLE), in_process=True)
    assert code == 0
    assert f"  {empty}: empty file\n" in out
    assert f"  {blank}: no format recognised: the first lines are all blank\n" in out
    assert f"  {garbage}: format not recognised\n" in out
    code, out, _ = run_cli(str(empty), "--json", in_process=True)
    assert code == 0
    (file,) = json.loads(out)["files"]
    assert (file["source"], file["detection"]) == (None, "empty file")


def test_corpus_iis_win32_counts(corpus: Path) -> None:
    """Every win32 value the corpus asserts is counted; exactly, where it asserts every line."""
    checked = 0
    for expected in sorted((corpus / "iis").glob("*.expected.csv")):
        asserted = pl.read_csv(expected, infer_schema_length=0)
        if "win32_status" not in asserted.columns:
            continue
        result = summarise([log_of(expected)], ReportSettings(), format=None)
        found = Counter({row.value: row.count for row in layer(result, "win32_status")})
        wanted = Counter(
            value for value in asserted["win32_status"].drop_nulls().to_list() if value != "0"
        )
        assert not wanted - found, expected.name
        if asserted.height == result.totals.records:
            assert found == wanted, expected.name
        checked += bool(wanted)
    assert checked >= 3


def test_corpus_alb_lambda_error_reason(corpus: Path) -> None:
    result = summarise(sorted((corpus / "alb").glob("*.log")), ReportSettings(), format=None)
    rows = {row.value: row for row in layer(result, "error_reason")}
    lambda_error = rows["LambdaInvalidResponse"]
    reasons = shipped("alb_error_reasons.csv", "reason")
    assert lambda_error.meaning == reasons["LambdaInvalidResponse"]["meaning"]
    assert "502" in lambda_error.statuses
