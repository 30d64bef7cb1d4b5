"""Latency by status: the sketch's quantiles are within its stated error of the exact
ones (and of the `ddsketch` package's), any split merges into one pass, zero and
negative durations and ALB's -1 are handled, and logs without durations pay nothing."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from ddsketch import DDSketch
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat import schema
from logstat.report.latency_model import MEASURE_LABELS
from logstat.report.latency_text import duration_text
from logstat.report.model import status_text
from logstat.report.text import render_plain
from logstat.summary import ReportSettings
from logstat.summary.latency import RELATIVE_ACCURACY, LatencyCounts
from logstat.summary.latency_rows import latency_report
from tests.helpers import FIXTURES, REPORT_FIXTURES, parse_file, run_cli, summarise

EXAMPLES = settings(max_examples=60, deadline=None)
# durations as logs write them: whole milliseconds, microseconds, and any float
DURATIONS = st.one_of(
    st.integers(0, 600_000).map(lambda ms: ms / 1000),
    st.integers(0, 10**7).map(lambda us: us / 1_000_000),
    st.floats(1e-6, 1e5, allow_nan=False),
)
STATUSES = (200, 404, 502)
START = datetime(2024, 3, 1, tzinfo=UTC)


def frame(durations: list[float | None], statuses: list[int] | None = None) -> pl.DataFrame:
    """Selected records as the summary sees them (only the columns latency reads)."""
    codes = statuses or [STATUSES[index % 3] for index in range(len(durations))]
    return pl.DataFrame(
        {
            "source": ["nginx"] * len(durations),
            "status_class": [f"{code // 100}xx" for code in codes],
            "status": codes,
            schema.DURATION: durations,
            "bytes_sent": [index * 10 for index in range(len(durations))],
            "path": [f"/p{index % 7}" for index in range(len(durations))],
            "timestamp": [START + timedelta(seconds=index % 5) for index in range(len(durations))],
        },
        schema_overrides={
            "status": pl.Int16,
            schema.DURATION: pl.Float64,
            "bytes_sent": pl.Int64,
            "timestamp": schema.TIMESTAMP,
        },
    )


def report_of(durations: list[float | None], parts: int = 1, seed: int = 0, slowest: int = 5):
    """The latency report of `durations` cut into `parts` pieces merged in a random order."""
    records = frame(durations)
    bounds = sorted(random.Random(seed).randrange(records.height + 1) for _ in range(parts - 1))
    pieces = []
    for start, end in zip([0, *bounds], [*bounds, records.height], strict=True):
        counts = LatencyCounts(slowest)
        counts.add(records.slice(start, end - start))
        pieces.append(counts)
    random.Random(seed).shuffle(pieces)
    merged = LatencyCounts(slowest)
    for piece in pieces:
        merged.merge(piece)
    return latency_report(merged)


def within(estimate: float, true: float, accuracy: float = RELATIVE_ACCURACY) -> bool:
    return abs(estimate - true) <= accuracy * true * (1 + 1e-9) + 1e-12


@EXAMPLES
@given(durations=st.lists(DURATIONS, min_size=1, max_size=300))
def test_quantiles_are_within_the_stated_error_of_the_exact_ones(durations: list[float]) -> None:
    report = report_of(durations)
    assert report is not None
    by_status = {row.status: row for row in report.by_status}
    for index, code in enumerate(STATUSES):
        values = np.array(durations[index::3])
        if not values.size:
            assert code not in by_status
            continue
        row = by_status[code]
        assert row.requests == values.size
        assert row.max == values.max()  # exact
        assert abs(row.mean - values.mean()) <= 1e-6  # exact to the microsecond
        for name, quantile in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            # the value of rank floor(q (n - 1)), numpy's "lower" quantile
            true = float(np.quantile(values, quantile, method="lower"))
            assert within(getattr(row, name), true), (name, getattr(row, name), true)


@EXAMPLES
@given(durations=st.lists(DURATIONS, min_size=1, max_size=300))
def test_quantiles_agree_with_the_ddsketch_package(durations: list[float]) -> None:
    """Both are within 1% of the exact quantile, so within about 2% of each other."""
    report = report_of([*durations])
    assert report is not None
    for row in report.by_status:
        values = durations[STATUSES.index(row.status) :: 3]
        sketch = DDSketch(relative_accuracy=RELATIVE_ACCURACY)
        for value in values:
            sketch.add(value)
        for name, quantile in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            theirs = sketch.get_quantile_value(quantile)
            ours = getattr(row, name)
            assert theirs is not None
            assert abs(ours - theirs) <= 2.02 * RELATIVE_ACCURACY * max(ours, theirs) + 1e-12


@EXAMPLES
@given(
    durations=st.lists(st.one_of(st.none(), DURATIONS, st.just(0.0)), min_size=1, max_size=200),
    parts=st.integers(1, 8),
    seed=st.integers(0, 2**32),
    slowest=st.integers(1, 6),
)
def test_any_split_merged_in_any_order_equals_one_pass(
    durations: list[float | None], parts: int, seed: int, slowest: int
) -> None:
    assert report_of(durations, parts, seed, slowest) == report_of(durations, 1, 0, slowest)


def test_zero_has_its_own_bucket_and_negatives_are_counted_apart() -> None:
    report = report_of([0.0, 0.0, -0.5, 0.0, 0.0, 0.0, 2.0])
    assert report is not None
    assert report.negative == 1
    [ok] = [row for row in report.by_status if row.status == 200]
    assert ok.requests == 3 and ok.p50 == 0 and ok.max == 2.0  # 0.0, 0.0, 2.0
    [slowest, *_] = report.slowest
    assert slowest.seconds == 2.0


def test_nulls_and_no_duration_at_all() -> None:
    assert report_of([None, None]) is None
    counts = LatencyCounts(3)
    counts.add(frame([0.1]).drop(schema.DURATION))  # a format that logs no duration
    assert latency_report(counts) is None and counts.held_rows == 0


def test_slowest_keeps_the_largest_with_ties_broken_the_same_way() -> None:
    durations = [1.0, 5.0, 5.0, 3.0, 5.0, 2.0]
    report = report_of(durations, slowest=2)
    assert report is not None
    assert [row.seconds for row in report.slowest] == [5.0, 5.0]
    for seed in range(10):
        assert report_of(durations, 4, seed, 2) == report


def test_alb_phases_tell_a_slow_target_from_a_slow_client() -> None:
    """ALB logs -1 for a phase that did not happen: no duration, and no total either."""
    records = parse_file(FIXTURES / "alb" / "requests.log")
    records = records.filter(pl.col(schema.LINE_KIND) == schema.RECORD)
    counts = LatencyCounts(3)
    counts.add(records)
    report = latency_report(counts)
    assert report is not None
    measures = {row.measure for row in report.by_status}
    assert measures == {
        "request_time_s",
        "request_processing_time_s",
        "target_processing_time_s",
        "response_processing_time_s",
    }
    target = records.get_column("target_processing_time_s")
    timed = [row for row in report.by_status if row.measure == "target_processing_time_s"]
    assert sum(row.requests for row in timed) == target.drop_nulls().len()
    total = [row for row in report.by_status if row.measure == "request_time_s"]
    assert sum(row.requests for row in total) == records[schema.DURATION].drop_nulls().len()


def test_logs_without_durations_have_no_latency_and_parse_none_of_its_columns() -> None:
    log = REPORT_FIXTURES / "apache_vhosts.log"
    code, out, _ = run_cli(str(log), "--json", in_process=True)
    assert code == 0 and "latency" not in json.loads(out)
    _, text, _ = run_cli(str(log), in_process=True)
    assert "Latency by" not in text
    needed = {"status", schema.DURATION}
    assert schema.with_duration(needed, {"status", "bytes_sent", "path"}) == needed
    assert schema.with_duration(needed, {schema.DURATION, "bytes_sent", "path"}) == {
        *needed,
        "bytes_sent",
        "path",
    }


def test_the_json_states_the_error_and_the_text_shows_every_table() -> None:
    log = REPORT_FIXTURES / "upstream.log"
    code, out, _ = run_cli(str(log), "--json", in_process=True)
    assert code == 0
    latency = json.loads(out)["latency"]
    assert latency["relative_accuracy"] == RELATIVE_ACCURACY
    statuses = {status_text(row["status"]) for row in latency["by_status"]}
    _, text, _ = run_cli(str(log), in_process=True)
    for title in ("Latency by class", "Latency by status", "Bytes sent by status", "Slowest"):
        assert title in text
    assert statuses and all(f"\n{status} " in text for status in statuses)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0"), (0.0004, "400 us"), (0.0125, "12.5 ms"), (1.5349, "1.53 s"), (4321.0, "4,321 s")],
)
def test_durations_are_shown_to_three_digits(seconds: float, shown: str) -> None:
    assert duration_text(seconds) == shown


def test_latency_tables_fit_80_columns() -> None:
    logs = [FIXTURES / "alb" / "requests.log", REPORT_FIXTURES / "upstream.log"]
    summary = summarise(logs, ReportSettings(top=3), format=None)  # with the top paths
    text = render_plain(summary, width=80)
    assert "Latency by path" in text
    start = text.index("Latency by class")
    assert all(len(line) <= 80 for line in text[start:].splitlines()), text[start:]


def test_every_measure_is_read_with_the_duration_and_named_in_the_schema() -> None:
    schema_file = REPORT_FIXTURES.parent.parent / "logstat" / "report" / "schema"
    document = json.loads((schema_file / "summary.schema.json").read_text("utf-8"))
    named = document["$defs"]["durations"]["properties"]["measure"]["enum"]
    assert named == list(MEASURE_LABELS)
    assert set(MEASURE_LABELS) - {schema.DURATION} == set(schema.DURATION_PARTS)
    assert set(schema.DURATION_PARTS) <= schema.WITH_DURATION


def _prometheus(text: str) -> dict[str, dict[tuple[str, ...], float]]:
    """sample name -> {labels as key=value: value}, read by prometheus_client's parser."""
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[str, dict[tuple[str, ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(f"{key}={value}" for key, value in sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def test_prometheus_summaries_describe_the_run_and_bytes_add_up_with_state(
    tmp_path: Path,
) -> None:
    log = tmp_path / "alb.log"
    log.write_bytes((FIXTURES / "alb" / "requests.log").read_bytes())
    state, target = tmp_path / "state", tmp_path / "out.prom"
    _, out, _ = run_cli(str(log), "--json", in_process=True)
    latency = json.loads(out)["latency"]
    arguments = (str(log), "--state", str(state), "--prometheus", str(target))
    assert run_cli(*arguments, in_process=True).code == 0
    first = _prometheus(target.read_text())
    durations = first["logstat_request_duration_seconds"]
    counts = first["logstat_request_duration_seconds_count"]
    total = [row for row in latency["by_status"] if row["measure"] == "request_time_s"]
    assert sum(counts.values()) == sum(row["requests"] for row in total)
    assert len(durations) == 3 * len(total)  # p50, p90, p99 per status
    phases = first["logstat_request_phase_duration_seconds_count"]
    assert {dict(item.split("=") for item in key)["phase"] for key in phases} == {
        "request",
        "target",
        "response",
    }
    sent = sum(row["bytes"] for row in latency["bytes_by_status"])
    assert sum(first["logstat_response_bytes_total"].values()) == sent
    # nothing new to read: no durations this run, the byte counter stays where it was
    assert run_cli(*arguments, in_process=True).code == 0
    second = _prometheus(target.read_text())
    assert "logstat_request_duration_seconds" not in second
    assert second["logstat_response_bytes_total"] == first["logstat_response_bytes_total"]


CLOUDFLARE_FIELDS = (
    '"ClientIP":"198.51.100.{n}","ClientRequestHost":"example.com","ClientRequestMethod":"GET",'
    '"ClientRequestURI":"/page/{n}","EdgeResponseStatus":{status},"OriginResponseStatus":{origin},'
    '"EdgeResponseBytes":{size},"EdgeStartTimestamp":"2024-05-01T10:00:{n:02d}Z",'
    '"EdgeEndTimestamp":"2024-05-01T10:00:{n:02d}.{ms:03d}Z","OriginResponseDurationMs":{origin_ms}'
)


def cloudflare_log(path: Path) -> Path:
    """Cloudflare Logpush lines with the request's and the origin's durations (an origin
    status 0 is no origin, so no origin duration)."""
    lines = []
    for n in range(12):
        status, origin = (522, 0) if n % 5 == 4 else (200, 200)
        fields = CLOUDFLARE_FIELDS.format(
            n=n, status=status, origin=origin, size=100 * n, ms=40 + 37 * n, origin_ms=30 + 29 * n
        )
        lines.append("{" + fields + "}\n")
    path.write_text("".join(lines), "utf-8")
    return path


def _latency_of(*arguments: str | Path) -> dict:
    result = run_cli("summary", *arguments, "--json", "--top", "3", in_process=True)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)["latency"]


@pytest.mark.parametrize("name", ["alb", "nginx upstreaminfo", "cloudflare"])
def test_a_dataset_gives_the_latency_of_the_logs_it_holds(name: str, tmp_path: Path) -> None:
    """The dataset keeps the parts of the duration a format logs apart (ALB target time,
    nginx upstream time, Cloudflare origin time): its latency is the logs', part for part."""
    if name == "cloudflare":
        log = cloudflare_log(tmp_path / "cloudflare.ndjson")
    else:
        fixture = FIXTURES / "alb" / "requests.log"
        if name != "alb":
            fixture = FIXTURES / "nginx" / "upstreaminfo.log"
        log = tmp_path / fixture.name
        log.write_bytes(fixture.read_bytes())
    dataset = tmp_path / "dataset"
    assert run_cli("ingest", str(log), "--to", str(dataset), "-q", in_process=True).code == 0
    from_log, from_dataset = _latency_of(log), _latency_of(dataset)
    assert {row["measure"] for row in from_log["by_status"]} > {schema.DURATION}
    assert from_dataset == from_log


def test_a_dataset_written_without_the_duration_parts_reads_and_takes_new_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts written before the duration parts were kept read with those columns null,
    also beside newer parts of the same source, and new runs add rows to that dataset."""
    from logstat.outputs import dataset as dataset_writer
    from logstat.reading.dataset import part_columns

    lines = (FIXTURES / "alb" / "requests.log").read_text("utf-8").splitlines(keepends=True)
    whole, first, second = (tmp_path / name for name in ("all.log", "first.log", "second.log"))
    whole.write_text("".join(lines), "utf-8")
    first.write_text("".join(lines[: len(lines) // 2]), "utf-8")
    second.write_text("".join(lines[len(lines) // 2 :]), "utf-8")
    root = tmp_path / "dataset"
    older = {
        name: dtype for name, dtype in part_columns().items() if name not in schema.DURATION_PARTS
    }
    with monkeypatch.context() as patched:
        patched.setattr(dataset_writer, "part_columns", lambda: dict(older))
        assert run_cli("ingest", str(first), "--to", str(root), "-q", in_process=True).code == 0
    old_parts = set(root.rglob("*.parquet"))
    assert {tuple(pl.read_parquet_schema(part)) for part in old_parts} == {tuple(older)}
    totals = [row for row in _latency_of(first)["by_status"] if row["measure"] == schema.DURATION]
    assert _latency_of(root)["by_status"] == totals  # the old rows: no parts, no error
    assert run_cli("ingest", str(second), "--to", str(root), "-q", in_process=True).code == 0
    new_parts = set(root.rglob("*.parquet")) - old_parts
    assert new_parts and all(
        list(pl.read_parquet_schema(part)) == list(part_columns()) for part in new_parts
    )
    stored, expected = _latency_of(root)["by_status"], _latency_of(whole)["by_status"]
    assert [row for row in stored if row["measure"] == schema.DURATION] == [
        row for row in expected if row["measure"] == schema.DURATION
    ]
    assert [row for row in stored if row["measure"] != schema.DURATION] == [
        row for row in _latency_of(second)["by_status"] if row["measure"] != schema.DURATION
    ]


def test_by_class_is_split_by_source_when_several_sources_log_durations() -> None:
    """ALB's and nginx's durations mean different things: by class, each source apart,
    each as its own logs alone give it; one source alone keeps the table as it was."""
    alb, nginx = FIXTURES / "alb" / "requests.log", REPORT_FIXTURES / "upstream.log"
    together = _latency_of(alb, nginx)["by_class"]
    assert {row["source"] for row in together} == {"alb", "nginx"}
    for source, log in (("alb", alb), ("nginx", nginx)):
        alone = _latency_of(log)["by_class"]
        assert all("source" not in row for row in alone)
        assert [row for row in together if row["source"] == source] == [
            {"source": source, **row} for row in alone
        ]
    text = run_cli("summary", alb, nginx, in_process=True).stdout
    table = text[text.index("Latency by class and source") :].splitlines()
    assert table[1].split()[:3] == ["source", "class", "time"]
    assert {line.split()[0] for line in table[2 : 2 + len(together)]} == {"alb", "nginx"}
    alone_text = run_cli("summary", alb, in_process=True).stdout
    assert "Latency by class (every source that logs durations)" in alone_text
    # Markdown shows the same table
    markdown = run_cli("summary", alb, nginx, "--markdown", in_process=True).stdout
    assert "| source | class | time |" in markdown


def test_top_paths_are_split_by_source_when_several_sources_log_durations() -> None:
    """The same path on an ALB and on the nginx behind it is two measurements: each
    source's top paths apart, each as its own logs alone give them, in every view."""
    alb, nginx = FIXTURES / "alb" / "requests.log", REPORT_FIXTURES / "upstream.log"
    together = _latency_of(alb, nginx)["top_paths"]
    assert together["limit"] == 3
    for source, log in (("alb", alb), ("nginx", nginx)):
        alone = _latency_of(log)["top_paths"]
        assert all("source" not in row for row in alone["paths"] + alone["by_path"])
        for rows in ("paths", "by_path"):
            assert [row for row in together[rows] if row["source"] == source] == [
                {"source": source, **row} for row in alone[rows]
            ]
    assert [row["source"] for row in together["paths"]] == ["alb"] * 3 + ["nginx"] * 3
    text = run_cli("summary", alb, nginx, "--top", "3", in_process=True).stdout
    for title in ("Latency by path and source", "Requests and bytes by path and source"):
        table = text[text.index(title) :].splitlines()
        assert table[1].split()[:2] == ["source", "path"]
        # the command under it names the first row's source
        note = next(line for line in table if line.startswith("Lines behind the first row"))
        assert note.endswith(f"--source alb --path '^{together['paths'][0]['path']}$'")
    assert "Latency by path (the 3" in run_cli("summary", alb, "--top", "3", in_process=True).stdout
    markdown = run_cli("summary", alb, nginx, "--top", "3", "--markdown", in_process=True).stdout
    assert "| source | path | time |" in markdown and "| source | path | requests |" in markdown


def test_prometheus_path_metrics_have_a_source_label_only_when_split(tmp_path: Path) -> None:
    alb, nginx = FIXTURES / "alb" / "requests.log", REPORT_FIXTURES / "upstream.log"
    for logs, labelled in (((alb, nginx), True), ((nginx,), False)):
        target = tmp_path / "out.prom"
        assert run_cli(*logs, "--top", "3", "--prometheus", target, in_process=True).code == 0
        samples = _prometheus(target.read_text())
        for name in ("logstat_path_request_duration_seconds_count", "logstat_path_response_bytes"):
            keys = [dict(item.split("=", 1) for item in key) for key in samples[name]]
            assert keys and all(("source" in key) == labelled for key in keys)
        if labelled:
            counts = samples["logstat_path_request_duration_seconds_count"]
            sources = {dict(item.split("=", 1) for item in key)["source"] for key in counts}
            assert sources == {"alb", "nginx"}
