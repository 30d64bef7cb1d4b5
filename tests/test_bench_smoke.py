"""The benchmark harness on a tiny input: it runs, counts right, and fails loudly when not.

The real benchmark (`python -m bench run`, see bench/README.md) takes minutes;
this runs every scenario on a few thousand lines, once, leaving out peers that
are not installed.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench import generate
from bench.run import BenchmarkFailure, Case, logstat_counts, measure, run


def test_the_generator_is_repeatable_and_its_truth_is_right(tmp_path: Path) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    generate.generate(first, "nginx", 3000, seed=5)
    generate.generate(second, "nginx", 3000, seed=5)
    assert first.read_bytes() == second.read_bytes()
    generate.generate(second, "nginx", 3000, seed=6)
    assert first.read_bytes() != second.read_bytes()
    # the status is the field after the quoted request (nginx escapes quotes as \x22)
    statuses = Counter(
        re.search(r'" (\d{3}) ', line).group(1)  # type: ignore[union-attr]
        for line in first.read_text().splitlines()
    )
    truth = generate.read_truth(first)
    assert truth["status_counts"] == {code: statuses[code] for code in sorted(statuses)}
    assert truth["decompressed_bytes"] == first.stat().st_size
    text = first.read_text()
    assert "\\x22" in text  # escaped quotes
    assert re.search(r"^[0-9a-f]*:[0-9a-f:]+ - - \[", text, re.MULTILINE)  # IPv6 clients
    assert {"499", "444"} <= set(statuses)


def test_every_format_writes_the_lines_it_counts(tmp_path: Path) -> None:
    for name, log_format in generate.FORMATS.items():
        path = tmp_path / f"{name}{log_format.suffix}.gz"
        truth = generate.generate(path, name, 500, seed=2)
        assert truth.lines == 500
        assert sum(truth.statuses.values()) == 500


def test_many_small_files_hold_every_line_once(tmp_path: Path) -> None:
    directory = tmp_path / "many"
    truth = generate.generate_many(directory, "alb", files=7, lines_per_file=30, seed=3)
    files = sorted(directory.iterdir())
    assert len(files) == 7 and all(file.name.endswith(".log.gz") for file in files)
    assert truth.lines == 210
    assert generate.read_truth(directory)["files"] == 7


def test_a_miscount_stops_the_benchmark(tmp_path: Path) -> None:
    log = tmp_path / "small.log"
    generate.generate(log, "nginx", 200, seed=1)
    case = Case(
        "logstat summary",
        "summary",
        [sys.executable, "-m", "logstat", "summary", str(log), "--json", "--quiet"],
        200,
        log.stat().st_size,
        logstat_counts,
        must_match=True,
        is_logstat=True,
    )
    truth = {int(code): count for code, count in generate.read_truth(log)["status_counts"].items()}  # type: ignore[union-attr]
    assert measure(case, 1, tmp_path, truth).counts_match is True
    wrong = dict(truth)
    wrong[200] += 1
    with pytest.raises(BenchmarkFailure, match="counted differently"):
        measure(case, 1, tmp_path, wrong)


def test_the_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    output, table = tmp_path / "results.json", tmp_path / "results.md"
    report = run(
        [
            *("--lines", "2000", "--repeat", "1", "--skip-missing-peers"),
            *("--many-files", "6", "--many-lines", "50", "--format-lines", "300"),
            *("--dirty-lines", "2500"),  # five odd lines: one of each kind
            *("--alb-lines", "400"),
            *("--work", str(tmp_path / "work"), "--output", str(output)),
            *("--markdown", str(table)),
        ]
    )
    names = [row.case.name for row in report.rows]
    for expected in [
        "logstat summary",
        "logstat export parquet",
        "logstat summary .gz",
        "logstat summary .zst",
        "logstat --help",
        "logstat summary, 1,000 lines",
        "logstat summary, nginx",
        "logstat summary, iis clean",
        "logstat summary, iis dirty",
        "logstat summary, alb peers",
        "polars scan, status regex, alb",
    ]:
        assert expected in names
    assert any(name.startswith("logstat summary, 6 ") for name in names)
    # every logstat summary counted exactly what the generator wrote
    assert all(row.counts_match for row in report.rows if row.case.read_counts is logstat_counts)
    saved = json.loads(output.read_text())
    assert saved["lines"] == 2000 and saved["rows"] and saved["targets"]
    summary = next(row for row in saved["rows"] if row["name"] == "logstat summary")
    assert summary["lines_per_second"] > 0 and summary["peak_rss_bytes"] > 0
    assert "| logstat summary |" in table.read_text()
    assert any(target["target"].startswith("alb dirty log") for target in saved["targets"])
    # the bare ALB scan counted what the generator wrote, and the ALB targets were checked
    alb_scan = next(row for row in saved["rows"] if row["name"] == "polars scan, status regex, alb")
    assert alb_scan["counts_match"] is True
    assert any(
        target["target"].startswith("ALB summary within 2.8x") for target in saved["targets"]
    )


def test_a_dirty_log_has_each_kind_of_odd_line_and_its_truth_says_which_are_rejects(
    tmp_path: Path,
) -> None:
    clean, dirty = tmp_path / "clean.log", tmp_path / "dirty.log"
    generate.generate(clean, "nginx", 2500, seed=4)
    truth = generate.generate(dirty, "nginx", 2500, seed=4, dirty=True)
    changed = [
        (before, after)
        for before, after in zip(
            clean.read_bytes().split(b"\n"), dirty.read_bytes().split(b"\n"), strict=True
        )
        if before != after
    ]
    assert len(changed) == len(generate.DIRTY_KINDS)
    # the cut line and the five-digit status are rejects; the rest are still requests
    assert truth.rejected == 2 and sum(truth.statuses.values()) == 2500 - 2
    assert changed[-1][1] == changed[-1][0] + b"\r"


def test_the_object_scenario_stores_the_files_in_moto(tmp_path: Path) -> None:
    """bench/objects.py loads the files into moto's server before it listens: listed and
    fetched over HTTP as objects PUT there are."""
    pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    from bench import objects

    directory = tmp_path / "many"
    generate.generate_many(directory, "alb", 30, 5, ".gz", seed=3)
    files = sorted(path for path in directory.iterdir() if path.name.endswith(".gz"))
    with objects.s3_server(directory) as url:
        assert url == f"s3://{objects.BUCKET}/{objects.PREFIX}/"
        client = boto3.client("s3")  # the endpoint and credentials are in the environment
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=objects.BUCKET, Prefix=objects.PREFIX
        )
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        assert keys == [f"{objects.PREFIX}/{path.name}" for path in files]
        body = client.get_object(Bucket=objects.BUCKET, Key=keys[-1])["Body"].read()
        assert body == files[-1].read_bytes()
