"""`logstat ingest`: a hive-partitioned Parquet dataset that other tools read as is,
appended to atomically, and read back by logstat's own reports."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pyarrow.dataset
import pytest

from logstat import schema
from logstat.errors import LogstatError
from logstat.outputs import dataset, dataset_commits
from logstat.reading import pipeline
from logstat.reading.dataset import NO_DATE, part_columns
from logstat.reading.inputs import Inputs
from logstat.reading.pipeline import Options
from tests.helpers import log_line, run_cli, write_numbered_log

# 23:30 at UTC-5 is the next day in UTC: the partition follows UTC
LATE_EVENING = '10.0.0.9 - - [31/Dec/2023:23:30:00 -0500] "GET /late HTTP/1.1" 503 0 "-" "curl/8"\n'


def parts(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def test_ingest_writes_a_hive_dataset_that_polars_and_pyarrow_read(tmp_path: Path) -> None:
    log = write_numbered_log(tmp_path / "access.log", 0, 40, LATE_EVENING)
    root = tmp_path / "dataset"
    assert run_cli("ingest", str(log), "--to", str(root), "--quiet", in_process=True).code == 0
    for part in parts(root):
        relative = part.relative_to(root).parts
        assert relative[0].startswith("date=") and relative[1] == "source=nginx"
        assert relative[2].startswith("part-") and len(relative) == 3
    frame = pl.scan_parquet(root / "**" / "*.parquet", hive_partitioning=True).collect()
    records = 40 - 40 // 13 + 1  # every 13th line is garbage
    assert frame.height == records
    assert set(frame["source"]) == {"nginx"}
    assert frame.select((pl.col("date") == pl.col("timestamp").dt.date()).all()).item()
    assert sorted(str(day) for day in set(frame["date"])) == ["2024-01-01", "2024-03-09"]
    late = frame.filter(pl.col("path") == "/late")
    assert str(late["date"][0]) == "2024-01-01"  # 2023-12-31 in the log's own zone
    # the canonical columns with their types, the status annotations, the duration parts
    assert late["status_name"][0] == "Service Unavailable"
    assert frame.schema["timestamp"] == schema.TIMESTAMP
    assert frame.schema["status"] == pl.Int16
    assert frame.schema["target_processing_time_s"] == pl.Float64  # null: nginx logs none
    expected = set(schema.export_columns(schema.DURATION_PARTS)) | {"date"}
    assert set(frame.columns) == expected
    table = pyarrow.dataset.dataset(root, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == records


def test_every_part_has_the_same_schema_without_the_partition_columns(tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    run_cli(
        "ingest",
        str(write_numbered_log(tmp_path / "a.log", 0, 10)),
        "--to",
        str(root),
        "-q",
        in_process=True,
    )
    run_cli(
        "ingest",
        str(write_numbered_log(tmp_path / "b.log", 100, 10, LATE_EVENING)),
        "--to",
        str(root),
        "-q",
        in_process=True,
    )
    schemas = {tuple(pl.read_parquet_schema(part).items()) for part in parts(root)}
    assert len(schemas) == 1
    [columns] = schemas
    names = [name for name, _ in columns]
    assert "source" not in names and "date" not in names
    assert names == list(part_columns())


def test_runs_append_and_state_keeps_rows_from_repeating(tmp_path: Path) -> None:
    log = write_numbered_log(tmp_path / "access.log", 0, 20)
    root, state_file = tmp_path / "dataset", tmp_path / "state.json"
    arguments = ["ingest", str(log), "--to", str(root), "--state", str(state_file), "-q"]
    assert run_cli(*arguments, in_process=True).code == 0
    first = parts(root)
    assert run_cli(*arguments, in_process=True).code == 0  # nothing new: no rows, no new part
    assert parts(root) == first
    with log.open("a") as handle:
        handle.write("".join(log_line(number) for number in range(20, 30)))
    log.rename(tmp_path / "access.log.1")
    gzip_path = tmp_path / "access.log.1.gz"
    gzip_path.write_bytes(gzip.compress((tmp_path / "access.log.1").read_bytes()))
    (tmp_path / "access.log.1").unlink()
    write_numbered_log(log, 30, 5)
    assert run_cli(*arguments, in_process=True).code == 0
    stored = pl.scan_parquet(root / "**" / "*.parquet", hive_partitioning=True).collect()
    paths = stored["path"].to_list()
    assert len(paths) == len(set(paths))  # no row twice
    expected = {f"/item/{number}" for number in range(35) if number % 13 != 12}
    assert set(paths) == expected
    assert stored.height == len(expected)


def test_reports_read_the_dataset_like_the_logs(tmp_path: Path) -> None:
    log = write_numbered_log(tmp_path / "access.log", 0, 60, LATE_EVENING)
    root = tmp_path / "dataset"
    run_cli("ingest", str(log), "--to", str(root), "-q", in_process=True)
    options = Options()

    def frames(argument: str) -> tuple[list[pipeline.FileRun], pl.DataFrame]:
        with Inputs() as inputs:
            runs = inputs.plan([argument], options)
            read = [frame for _, frame in inputs.read(runs, options)]
        return runs, pl.concat(read, how="diagonal_relaxed")

    _, from_log = frames(str(log))
    runs, from_dataset = frames(str(root))
    assert [run.choice.format.name for run in runs if run.choice] == ["nginx"]
    records = from_log.filter(pl.col(schema.LINE_KIND) == schema.RECORD)
    # the same columns with the same types as the pipeline yields
    for name, dtype in records.schema.items():
        if name in from_dataset.columns:
            assert from_dataset.schema[name] == dtype, name
    missing = set(records.columns) - set(from_dataset.columns)
    assert missing <= set(records.columns) - set(schema.COLUMNS) - {
        schema.LINE_KIND,
        schema.REJECT_REASON,
        schema.RAW_LINE,
        schema.FILE_ID,
        "invalid_utf8",
        "produced_by",
    }  # only format-specific extras, which the dataset does not keep
    assert set(from_dataset[schema.LINE_KIND]) == {schema.RECORD}
    keys = ["path", "status", "timestamp", "produced_by", "status_class", "line_no", "file"]
    assert records.select(keys).sort("path").equals(from_dataset.select(keys).sort("path"))


def test_summary_of_the_dataset_equals_the_summary_of_the_log(tmp_path: Path) -> None:
    log = write_numbered_log(tmp_path / "access.log", 0, 50, LATE_EVENING)
    root = tmp_path / "dataset"
    run_cli("ingest", str(log), "--to", str(root), "-q", in_process=True)
    of_log = run_cli("summary", str(log), "--json", in_process=True)
    of_dataset = run_cli("summary", str(root), "--json", in_process=True)
    assert of_log.code == of_dataset.code == 0
    from_log, from_dataset = of_log.summary, of_dataset.summary
    for key in ("classes", "statuses", "upstream_statuses", "first", "last"):
        assert from_dataset[key] == from_log[key], key
    assert from_dataset["totals"]["records"] == from_log["totals"]["records"]


def test_a_failed_run_leaves_nothing_behind(tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    rows = pl.DataFrame(
        {"timestamp": [None], "source": ["nginx"], "status": [200]},
        schema_overrides={"timestamp": schema.TIMESTAMP, "status": pl.Int16},
    )
    rows = rows.select(
        pl.col(name) if name in rows.columns else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in schema.export_columns(()).items()
    )
    with pytest.raises(RuntimeError), dataset.DatasetWriter(root) as writer:
        writer.write(rows)
        raise RuntimeError("disk full, say")
    assert parts(root) == []
    assert [p.name for p in tmp_path.iterdir()] == ["dataset"]  # no staging directory
    assert dataset_commits.commit_files(root) == []  # and no commit
    with dataset.DatasetWriter(root) as writer:
        writer.write(rows)
    [part] = parts(root)
    assert part.parent.parent.name == f"date={NO_DATE}"
    assert [p.name for p in tmp_path.iterdir()] == ["dataset"]
    read = pl.scan_parquet(root / "**" / "*.parquet", hive_partitioning=True).collect()
    assert read["date"].to_list() == [None]


def test_dataset_and_logs_cannot_be_mixed(tmp_path: Path) -> None:
    log = write_numbered_log(tmp_path / "access.log", 0, 5)
    root = tmp_path / "dataset"
    run_cli("ingest", str(log), "--to", str(root), "-q", in_process=True)
    with Inputs() as inputs, pytest.raises(LogstatError, match="on its own"):
        inputs.plan([str(root), str(log)], Options())
    assert (
        run_cli("ingest", str(root), "--to", str(tmp_path / "other"), "-q", in_process=True).code
        == 2
    )


def test_ingest_into_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    log = write_numbered_log(tmp_path / "access.log", 0, 5)
    target = tmp_path / "file"
    target.write_text("")
    code, _, error = run_cli("ingest", str(log), "--to", str(target), in_process=True)
    assert code == 2
    assert error.count("\n") == 1 and "not a directory" in error
