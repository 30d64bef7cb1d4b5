"""Counts always add up: lines read = records + rejected + comment/header lines.

Checked for every file of the shared real-world corpus (all formats and odd/),
in the JSON and in the text summary, against MANIFEST.csv's line counts; for
exports (one row per record) and --rejects (one row per rejected line); and as
a property over generated mixes of good and bad lines.
"""

from __future__ import annotations

import csv
import functools
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstat.formats import FORMATS
from tests.helpers import SHARED_CORPUS, assert_counts_add_up, run_cli
from tests.strategies import RENDERERS, Renderer, hostile_text, parse_back


def _manifest() -> list[dict[str, str]]:
    manifest = SHARED_CORPUS / "MANIFEST.csv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


MANIFEST = _manifest()
CORPUS_FILES = [pytest.param(row["file"], int(row["lines"]), id=row["file"]) for row in MANIFEST]


@dataclass(frozen=True)
class CorpusRun:
    summary: dict[str, Any]  # --json
    text: str  # the plain text summary
    rejects: pl.DataFrame  # --rejects


@functools.cache
def corpus_run(corpus: Path) -> CorpusRun:
    """Summaries of every corpus file at once (one process each, not one per file)."""
    paths = [corpus / row["file"] for row in MANIFEST]
    with tempfile.TemporaryDirectory() as directory:
        rejects = Path(directory) / "rejects.csv"
        result = run_cli(*paths, "--json", "--quiet", "--rejects", rejects)
        assert result.code == 0, result.stderr
        rejected = pl.read_csv(rejects, infer_schema=False)
    text = run_cli(*paths, "--quiet")
    assert text.code == 0, text.stderr
    return CorpusRun(result.summary, text.stdout, rejected)


def _file_entry(summary: dict[str, Any], corpus: Path, name: str) -> dict[str, Any]:
    wanted = str(corpus / name)
    matches = [file for file in summary["files"] if file["name"] == wanted]
    assert len(matches) == 1, f"{name}: {len(matches)} entries in the summary"
    return matches[0]


def test_manifest_is_read() -> None:
    if not SHARED_CORPUS.is_dir():
        pytest.skip("../shared/corpus is not beside the repository")
    assert len(MANIFEST) >= 80


@pytest.mark.parametrize(("name", "manifest_lines"), CORPUS_FILES)
def test_corpus_file_counts_add_up(corpus: Path, name: str, manifest_lines: int) -> None:
    file = _file_entry(corpus_run(corpus).summary, corpus, name)
    assert file["lines"] == manifest_lines, "lines read differ from MANIFEST.csv"
    kinds = file["records"] + file["rejected"] + file["comments"] + file["blank"]
    assert file["lines"] == kinds, file


def test_corpus_totals_add_up(corpus: Path) -> None:
    summary = corpus_run(corpus).summary
    assert_counts_add_up(summary)
    assert summary["totals"]["lines"] == sum(int(row["lines"]) for row in MANIFEST)
    # every format with a corpus directory reads records from some file there
    read = {file["source"] for file in summary["files"] if file["records"]}
    in_corpus = {row["format"] for row in MANIFEST}
    assert {format.name for format in FORMATS} & in_corpus <= read


def test_corpus_text_summary_shows_the_same_counts(corpus: Path) -> None:
    run = corpus_run(corpus)
    totals = run.summary["totals"]
    first = run.text.splitlines()[0]
    numbers = [int(number.replace(",", "")) for number in re.findall(r"\d[\d,]*", first)]
    expected = [totals["files"], totals["lines"], totals["records"], totals["rejected"]]
    if totals["comments"]:
        expected.append(totals["comments"])
    if totals["blank"]:
        expected.append(totals["blank"])
    assert numbers[: len(expected)] == expected, first


def test_corpus_export_has_one_row_per_record(corpus: Path, tmp_path: Path) -> None:
    summary = corpus_run(corpus).summary
    paths = [corpus / row["file"] for row in MANIFEST]
    output = tmp_path / "all.parquet"
    result = run_cli("export", *paths, "-o", output, "--quiet")
    assert result.code == 0, result.stderr
    rows = pl.read_parquet(output)
    assert rows.height == summary["totals"]["records"]
    per_file = dict(rows.group_by("file").len().iter_rows())
    for file in summary["files"]:
        assert per_file.get(file["name"], 0) == file["records"], file["name"]


def test_corpus_rejects_file_has_one_row_per_rejected_line(corpus: Path) -> None:
    run = corpus_run(corpus)
    assert run.rejects.height == run.summary["totals"]["rejected"]
    reasons = dict(run.rejects.group_by("reason").len().iter_rows())
    assert reasons == run.summary["rejects"]
    per_file = dict(run.rejects.group_by("file").len().iter_rows())
    for file in run.summary["files"]:
        assert per_file.get(file["name"], 0) == file["rejected"], file["name"]


# --- the same invariant over generated mixes of good and bad lines ---------------------

PLAIN = [renderer for renderer in RENDERERS if not renderer.header]


def _garbage() -> st.SearchStrategy[str]:
    """One line of junk: no line break, not a comment, not JSON."""
    return hostile_text().map(
        lambda text: "junk " + text.replace("\n", " ").replace("\r", " ").replace("\x85", " ")
    )


@pytest.mark.parametrize("renderer", [pytest.param(r, id=r.name) for r in PLAIN])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mixed_good_and_bad_lines_add_up(renderer: Renderer, data: st.DataObject) -> None:
    if renderer.format not in {format.name for format in FORMATS}:
        pytest.skip(f"format {renderer.format} is not in logstat.formats.FORMATS yet")
    good = data.draw(st.lists(renderer.strategy, min_size=1, max_size=5), label="requests")
    bad = data.draw(st.lists(_garbage(), max_size=5), label="junk")
    order = data.draw(st.permutations([True] * len(good) + [False] * len(bad)), label="order")
    good_lines = iter(map(renderer.render, good))
    bad_lines = iter(bad)
    lines = [next(good_lines) if is_good else next(bad_lines) for is_good in order]
    ending = data.draw(st.sampled_from(["\n", "\r\n"]), label="line end")
    final = data.draw(st.booleans(), label="final line end")
    text = ending.join(lines) + (ending if final else "")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "mixed.log"
        path.write_text(text, encoding="utf-8")
        parsed = parse_back(path, renderer.format, renderer.layout)
    kinds = parsed["line_kind"].to_list()
    assert parsed.height == len(lines), "every physical line is a row"
    assert parsed["line_no"].to_list() == list(range(1, len(lines) + 1))
    assert kinds == ["record" if is_good else "rejected" for is_good in order]
    assert parsed.filter(pl.col("line_kind") == "rejected")["reject_reason"].null_count() == 0
