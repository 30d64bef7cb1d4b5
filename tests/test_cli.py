"""The `logstat` command end to end, in a subprocess, as users and scripts run it."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import zstandard

from logstat import format_catalog
from tests.helpers import REPO, REPORT_FIXTURES, UPDATE_GOLDEN, check_golden, run_cli

SAMPLE = REPO / "samples" / "nginx-access.log"
SUMMARY_GOLDEN = REPORT_FIXTURES / "nginx-access.summary.txt"
ANSI = re.compile(r"\x1b\[")
BOX_DRAWING = re.compile(r"[\u2500-\u257f]")

LINE = '192.0.2.1 - - [10/Mar/2024:13:55:36 +0000] "GET /{path} HTTP/1.1" {status} 12 "-" "{agent}"'


def log_lines(*statuses: int, agent: str = "curl/8.5.0") -> str:
    return "".join(
        LINE.format(path=f"p{index}", status=status, agent=agent) + "\n"
        for index, status in enumerate(statuses)
    )


def summary_json(*args: str, stdin: bytes | None = None) -> dict[str, Any]:
    code, out, err = run_cli(*args, "--json", stdin=stdin)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def status_counts(data: dict[str, Any]) -> dict[int | None, int]:
    counts: dict[int | None, int] = {}
    for row in data["statuses"]:
        counts[row["status"]] = counts.get(row["status"], 0) + row["count"]
    return counts


def assert_one_line_error(code: int, err: str, expected_code: int) -> None:
    assert code == expected_code, err
    assert err.startswith("logstat: error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


# --- the summary -------------------------------------------------------------------------


def test_piped_summary_is_plain_text() -> None:
    code, out, err = run_cli(str(SAMPLE))
    assert code == 0, err
    assert not ANSI.search(out) and not BOX_DRAWING.search(out)
    assert "600" in out


def test_plain_summary_golden() -> None:
    """The plain view of the bundled sample."""
    code, out, err = run_cli("samples/nginx-access.log", "--tz", "UTC", cwd=REPO)
    assert code == 0, err
    check_golden(SUMMARY_GOLDEN, out)


def test_json_summary_adds_up() -> None:
    data = summary_json(str(SAMPLE))
    assert data["totals"]["lines"] == 600
    assert data["totals"]["records"] + data["totals"]["rejected"] == 600
    records = data["totals"]["records"]
    assert sum(row["count"] for row in data["classes"]) == records
    assert sum(row["count"] for row in data["statuses"]) == records
    assert data["files"][0]["source"] == "nginx"
    by_status = {row["status"]: row for row in data["statuses"]}
    assert by_status[499]["vendor"] == "nginx"
    assert by_status[200]["vendor"] == "iana"


def test_several_files_a_glob_a_directory_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "logs" / "old").mkdir(parents=True)
    (tmp_path / "logs" / "a.log").write_text(log_lines(200, 200), encoding="utf-8")
    (tmp_path / "logs" / "b.log").write_text(log_lines(404), encoding="utf-8")
    (tmp_path / "logs" / "old" / "c.log").write_text(log_lines(500, 502, 503), encoding="utf-8")
    logs = tmp_path / "logs"

    several = summary_json(str(logs / "a.log"), str(logs / "b.log"))
    assert (several["totals"]["files"], several["totals"]["records"]) == (2, 3)

    globbed = summary_json(str(logs / "*.log"))
    assert (globbed["totals"]["files"], globbed["totals"]["records"]) == (2, 3)

    walked = summary_json(str(logs))
    assert (walked["totals"]["files"], walked["totals"]["records"]) == (3, 6)
    assert status_counts(walked) == {200: 2, 404: 1, 500: 1, 502: 1, 503: 1}

    piped = summary_json("-", stdin=SAMPLE.read_bytes())
    assert piped["totals"] == summary_json(str(SAMPLE))["totals"]
    assert piped["files"][0]["name"] == "<stdin>"

    # the same file named twice is read once
    twice = summary_json(str(logs / "a.log"), str(logs / "a.log"))
    assert twice["totals"]["files"] == 1


def test_large_stdin_loses_no_line_at_the_detection_boundary() -> None:
    """Detection reads the first 64 KiB of stdin; the line that straddles it must survive."""
    data = SAMPLE.read_bytes() * 3  # about 290 KiB
    piped = summary_json("-", stdin=data)
    assert piped["totals"]["rejected"] == 0
    assert piped["totals"]["records"] == 1800


COMPRESSORS = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_compressed_files_are_recognised_by_their_bytes(tmp_path: Path, compression: str) -> None:
    path = tmp_path / "access.log"  # no telling suffix
    path.write_bytes(COMPRESSORS[compression](SAMPLE.read_bytes()))
    data = summary_json(str(path))
    plain = summary_json(str(SAMPLE))
    assert data["files"][0]["compression"] == compression
    assert data["totals"] == plain["totals"]
    assert status_counts(data) == status_counts(plain)


def test_format_option_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text(log_lines(200, 404), encoding="utf-8")
    assert summary_json(str(path))["files"][0]["source"] == "nginx"
    data = summary_json(str(path), "--format", "apache")
    assert data["files"][0]["source"] == "apache"
    assert data["totals"]["records"] == 2


def test_log_format_option(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text(
        '192.0.2.1 [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" 502 502, 504 0.031\n'
        '192.0.2.1 [10/Mar/2024:13:55:37 +0000] "GET / HTTP/1.1" 200 200 0.002\n',
        encoding="utf-8",
    )
    log_format = '$remote_addr [$time_local] "$request" $status $upstream_status $request_time'
    assert run_cli(str(path), "--json")[0] == 3  # nothing named matches these lines
    data = summary_json(str(path), "--log-format", log_format)
    assert data["files"][0]["layout"] == "nginx custom"
    assert data["totals"]["records"] == 2
    upstream = {row["upstream_status"]: row["count"] for row in data["upstream_statuses"]}
    assert upstream == {504: 1, 200: 1}
    apache_format = '%h %t "%r" %>s %s %D'
    apache_path = tmp_path / "httpd.log"
    apache_path.write_text(
        '192.0.2.1 [10/Mar/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 302 1500\n', encoding="utf-8"
    )
    data = summary_json(str(apache_path), "--log-format", apache_format)
    assert data["files"][0]["layout"] == "apache custom"
    assert status_counts(data) == {200: 1}


def test_bad_log_format_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text(log_lines(200), encoding="utf-8")
    code, _, err = run_cli(str(path), "--log-format", "no directives here")
    assert_one_line_error(code, err, 2)
    code, _, err = run_cli(str(path), "--format", "lighttpd")
    assert_one_line_error(code, err, 2)
    assert "nginx" in err


# --- other commands ----------------------------------------------------------------------


def test_formats_command_lists_formats_and_layouts() -> None:
    code, out, err = run_cli("formats")
    assert code == 0, err
    for expected in ("nginx:", "apache:", "combined:", "upstreaminfo:", "vhost_combined:", "json:"):
        assert expected in out


def test_format_catalog_is_current() -> None:
    """`logstat formats` reads format_catalog.json; it must match the format modules.

    After changing a format's name, title, vendors or layouts:
    python3 -m logstat.format_catalog (LOGSTAT_UPDATE_GOLDEN=1 writes it too)
    """
    if UPDATE_GOLDEN:
        format_catalog.write()
    assert format_catalog.read() == format_catalog.build()


def test_codes_shows_each_vendors_meaning_with_its_source() -> None:
    code, out, err = run_cli("codes", "499")
    assert code == 0, err
    rows = [line.split("\t") for line in out.splitlines()]
    by_vendor = {row[1]: row for row in rows}
    assert {"nginx", "esri"} <= set(by_vendor)
    for vendor in ("nginx", "esri"):
        assert by_vendor[vendor][0] == "499"
        assert by_vendor[vendor][-1].startswith("http"), by_vendor[vendor]
    assert "token" in by_vendor["esri"][3].lower()


def test_vendor_option_reads_codes_as_that_vendors(tmp_path: Path) -> None:
    path = tmp_path / "arcgis.log"
    path.write_text(log_lines(499, 499, 200), encoding="utf-8")
    plain = {row["status"]: row for row in summary_json(str(path))["statuses"]}
    esri = {row["status"]: row for row in summary_json(str(path), "--vendor", "esri")["statuses"]}
    assert plain[499]["vendor"] == "nginx"
    assert esri[499]["vendor"] == "esri"
    assert esri[499]["meaning"] != plain[499]["meaning"]
    assert esri[200]["vendor"] == "iana"


def test_unknown_vendor_is_a_one_line_usage_error() -> None:
    code, _, err = run_cli(str(SAMPLE), "--vendor", "acme")
    assert_one_line_error(code, err, 2)
    assert "acme" in err


def test_version() -> None:
    code, out, _ = run_cli("--version")
    assert code == 0
    assert re.fullmatch(r"logstat \d+\.\d+\.\d+\S*\n", out)


# --- errors and bad input ----------------------------------------------------------------


def test_missing_file_is_a_one_line_error() -> None:
    code, _, err = run_cli("/nonexistent/access.log")
    assert_one_line_error(code, err, 1)
    assert "/nonexistent/access.log" in err


def test_unmatched_glob_is_a_one_line_error(tmp_path: Path) -> None:
    code, _, err = run_cli(str(tmp_path / "*.log"))
    assert_one_line_error(code, err, 1)


def test_unreadable_file_is_a_one_line_error() -> None:
    """Reading /proc/self/mem from the start fails with EIO even for root."""
    if not Path("/proc/self/mem").exists():
        pytest.skip("no /proc")
    code, _, err = run_cli("/proc/self/mem")
    assert_one_line_error(code, err, 1)
    assert "cannot read" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "secret.log"
    path.write_text(log_lines(200), encoding="utf-8")
    path.chmod(0)
    code, _, err = run_cli(str(path))
    assert_one_line_error(code, err, 1)


def test_no_format_matches_exits_3_naming_what_was_tried(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("dear diary\nnothing to see here\n", encoding="utf-8")
    code, _, err = run_cli(str(path))
    assert_one_line_error(code, err, 3)
    for name in ("nginx", "apache"):
        assert name in err
    assert "--format" in err and "--log-format" in err


def test_rejects_file(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text(
        log_lines(200) + "garbage line\n" + log_lines(404) + "\n" + "=cmd|' /C calc'!A0\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    code, _, err = run_cli(str(path), "--rejects", str(rejects))
    assert code == 0, err
    with rejects.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["file", "line_no", "reason", "line"]
    # line 4 is blank: counted as blank, not rejected
    assert [(row[0], row[1]) for row in rows[1:]] == [(str(path), "2"), (str(path), "5")]
    assert rows[1][2].startswith("does not match nginx")
    assert rows[1][3] == "garbage line"
    assert rows[2][3].startswith("'=")  # a spreadsheet must not run it


def test_invalid_utf8_nul_bytes_crlf_and_an_empty_file(tmp_path: Path) -> None:
    good = LINE.format(path="ok", status=200, agent="curl")
    lines = [
        good.replace("/ok", "/caf\xe9").encode("latin-1"),  # not UTF-8
        good.replace("/ok", "/a\x00b").encode(),  # NUL byte
        good.encode() + b"\r",  # CRLF
        good.encode(),
    ]
    path = tmp_path / "mixed.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    data = summary_json(str(path))
    assert data["totals"]["records"] == 4
    assert data["files"][0]["invalid_utf8"] == 1
    out = tmp_path / "mixed.csv"
    code, _, err = run_cli("export", str(path), "-o", str(out))
    assert code == 0, err
    exported = pl.read_csv(out, infer_schema=False)
    assert exported["path"].to_list() == ["/caf\\xe9", "/a\x00b", "/ok", "/ok"]
    assert exported["user_agent"].to_list() == ["curl"] * 4  # no \r left behind

    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    # an empty file is no failure (a freshly rotated log is empty): it reads as 0 lines
    alone = summary_json(str(empty))
    assert alone["totals"]["files"] == 1 and alone["totals"]["lines"] == 0
    # an empty file beside a good one is simply empty
    data = summary_json(str(empty), str(path))
    assert data["totals"]["files"] == 2 and data["totals"]["records"] == 4


def test_broken_pipe_exits_quietly(tmp_path: Path) -> None:
    """`logstat big.log | head -1`: more output than a pipe holds, and the reader leaves."""
    path = tmp_path / "big.log"
    path.write_text(log_lines(*range(100, 1000)), encoding="utf-8")  # 900 status rows
    process = subprocess.Popen(
        [sys.executable, "-m", "logstat", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read().decode()
    code = process.wait(timeout=120)
    assert first.startswith(b"Read 1 file")
    assert err == "", err
    assert code == 0


# --- every command is documented ---------------------------------------------------------


def command_names() -> list[str]:
    from logstat.cli import app

    return sorted(
        info.name or info.callback.__name__.replace("_", "-")  # type: ignore[union-attr]
        for info in app.registered_commands
    )


@pytest.mark.parametrize("command", command_names())
def test_every_command_has_help(command: str) -> None:
    code, out, err = run_cli(command, "--help")
    assert code == 0, err
    assert "Usage" in out and command in out


@pytest.mark.parametrize("command", command_names())
def test_every_command_is_in_the_readme(command: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"logstat {command}" in readme, f"README.md never shows `logstat {command}`"


def test_root_help() -> None:
    code, out, _ = run_cli("--help")
    assert code == 0
    for command in command_names():
        assert command in out


# --- export ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_round_trips_rows_and_statuses(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"out{suffix}"
    code, _, err = run_cli("export", str(SAMPLE), "-o", str(out))
    assert code == 0, err
    frame = pl.read_parquet(out) if suffix == ".parquet" else pl.read_csv(out)
    data = summary_json(str(SAMPLE))
    assert frame.height == data["totals"]["records"]
    exported = frame.group_by("status").len().sort("status")
    assert dict(zip(exported["status"].to_list(), exported["len"].to_list(), strict=True)) == (
        status_counts(data)
    )
    assert {"status_name", "status_meaning", "status_vendor", "produced_by"} <= set(frame.columns)


def test_export_neutralises_formulas_unless_raw_csv(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text(log_lines(200, agent="=HYPERLINK(1)"), encoding="utf-8")
    safe, raw = tmp_path / "safe.csv", tmp_path / "raw.csv"
    assert run_cli("export", str(path), "-o", str(safe))[0] == 0
    assert run_cli("export", str(path), "-o", str(raw), "--raw-csv")[0] == 0
    assert pl.read_csv(safe)["user_agent"].to_list() == ["'=HYPERLINK(1)"]
    assert pl.read_csv(raw)["user_agent"].to_list() == ["=HYPERLINK(1)"]
    parquet = tmp_path / "out.parquet"
    assert run_cli("export", str(path), "-o", str(parquet))[0] == 0
    assert pl.read_parquet(parquet)["user_agent"].to_list() == ["=HYPERLINK(1)"]


def test_export_to_an_unwritable_place_is_a_one_line_error(tmp_path: Path) -> None:
    code, _, err = run_cli("export", str(SAMPLE), "-o", str(tmp_path / "missing" / "out.csv"))
    assert_one_line_error(code, err, 1)


# --- start-up cost ----------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["formats"], ["summary", "--help"]])
def test_light_commands_do_not_import_polars(args: list[str]) -> None:
    """polars takes longer to import than these commands take to run."""
    script = (
        "import sys\n"
        "from logstat import cli\n"
        "try:\n"
        f"    cli.main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(repr(sorted(m for m in sys.modules if m.split('.')[0] == 'polars')))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert completed.stderr.strip().endswith("[]"), completed.stderr[-500:]
    assert completed.stdout


def test_output_does_not_depend_on_the_local_time_zone() -> None:
    base = summary_json(str(SAMPLE))
    for zone in ("UTC", "America/St_Johns", "Asia/Kathmandu"):
        code, out, err = run_cli(str(SAMPLE), "--json", env={"TZ": zone})
        assert code == 0, err
        data = json.loads(out)
        assert (data["first"], data["last"]) == (base["first"], base["last"])
    assert base["first"] == "2026-11-20T22:00:05Z"  # 23:00:05 at +0100


def test_json_is_written_in_one_piece() -> None:
    """Scripts parse stdout: nothing but the JSON document goes there."""
    code, out, _ = run_cli(str(SAMPLE), "--json")
    assert code == 0
    json.load(io.StringIO(out))


def test_the_installed_program_ends_with_its_whole_output_and_code(tmp_path: Path) -> None:
    """The console script ends the process without the interpreter's teardown: its output
    must still be whole when piped, and its exit code the command's."""
    from importlib.metadata import entry_points

    [script] = entry_points(group="console_scripts", name="logstat")
    assert script.value == "logstat.cli:run"  # the program, as `python -m logstat` runs it
    program = Path(sys.executable).parent / "logstat"
    command = [str(program)] if program.exists() else [sys.executable, "-m", "logstat"]
    log = tmp_path / "access.log"
    log.write_bytes((REPO / "samples" / "nginx-access.log").read_bytes() * 50)
    done = subprocess.run(
        [*command, "export", str(log), "-o", "-", "--format", "nginx"],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout.decode())))
    expected = log.read_bytes().count(b"\n")
    assert [len(rows) - 1, rows[-1][2]] == [expected, str(expected)]  # the last line's row
    assert len(rows[-1]) == len(rows[0])
    missing = subprocess.run([*command, "summary", str(tmp_path / "none.log")], check=False)
    assert missing.returncode != 0


def test_the_program_looks_for_cycles_less_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """The program keeps a plan part, a run and a row a file alive: collections are rarer
    than Python's default pace (which walked them every few thousand allocations)."""
    import gc

    from logstat.cli import program

    ran: list[tuple[int, ...]] = []
    monkeypatch.setattr(program, "main", lambda teardown: ran.append(gc.get_threshold()))
    before = gc.get_threshold()
    try:
        program.run()
    finally:
        gc.set_threshold(*before)
    assert ran == [program.COLLECTOR_THRESHOLDS]
    assert program.COLLECTOR_THRESHOLDS[0] > before[0]
