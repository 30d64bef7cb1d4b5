"""The real-world nginx and Apache logs in ../shared/corpus, end to end.

Every file is detected as nginx or Apache and parses; where the corpus has
`<file>.expected.csv` (line_no,status; an empty status means "no status"), the
parsed status of each listed line must equal it exactly.  Rejected lines are
counted per file against an upper bound with the reason written next to it, so
a parser change that starts rejecting real access lines fails here.  The odd/
files must give rejects with reasons (or "no known format"), never a traceback.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import SHARED_CORPUS, parse_file, plan_file, run_cli

SERVERS = ("nginx", "apache")


def corpus_files(directory: str) -> list[str]:
    """Data file names under corpus/<directory> (collected even when the corpus is absent)."""
    folder = SHARED_CORPUS / directory
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if not path.name.endswith(".expected.csv"))


CORPUS = [(server, name) for server in SERVERS for name in corpus_files(server)]

# The most lines each file may reject, and why.  Every line of these files is a
# genuine access-log line today, so every bound is 0: a rejected line is a bug.
REJECT_BOUNDS: dict[str, tuple[int, str]] = {}

# odd/ files an nginx or Apache parser meets, with the lines that must be rejected
# (1-based) and why they are not access-log lines; None: no format matches at all.
ODD_FILES: dict[str, tuple[set[int] | None, str]] = {
    "datadog-integrations-core_nginx_assets_logs_nginx_tests.yaml.error-samples.log": (
        None,
        "nginx error-log lines, not access lines",
    ),
    "elastic-integrations_apache_access_test-access-ssl-request.log": (
        None,
        "Apache ssl_request_log: protocol and cipher, no status",
    ),
    "fluent-bit_tests_runtime_data_kubernetes_log_default_apache-logs_apache-logs.log": (
        set(),
        "an Apache line wrapped in a Docker JSON envelope: unwrapped and read",
    ),
    "lnav_src_formats_access_log.json.samples.log": (
        {3, 4, 8},
        "3, 4: lnav's own ISO-time layout; 8: Python http.server time without a zone",
    ),
    "lnav_test_logfile_access_log.1": (set(), '"-" 400: a real (empty) request, kept'),
    "lnav_test_logfile_bad_access_log.0": ({2}, "2: ident and user fields missing"),
    "lnav_test_logfile_regexp_access_log.0": (set(), "vhost lines with %D at the end"),
    "lnav_test_logfile_syslog_with_access_log.0": (
        None,
        "syslog lines; the access-like ones have no time",
    ),
    "nielsbasjes-logparser_examples_apache-hadoop-mapreduce_input_access_log.gz": (
        {2},
        "2: `xxxxxxxxxxxx`, garbage between combined lines",
    ),
    "vrl_src_stdlib_parse_nginx_apache_log.rs.invalid_or_empty.extracted.log": (
        None,
        "an nginx error line, all-dash lines, plain text",
    ),
}


def expected_statuses(path: Path) -> set[tuple[int, int | None]] | None:
    expected = path.parent / f"{path.name}.expected.csv"
    if not expected.exists():
        return None
    with expected.open(newline="", encoding="utf-8") as handle:
        return {
            (int(row["line_no"]), int(row["status"]) if row["status"] else None)
            for row in csv.DictReader(handle)
        }


@pytest.mark.parametrize(("server", "name"), CORPUS, ids=[f"{s}/{n}" for s, n in CORPUS])
def test_corpus_file(corpus: Path, server: str, name: str) -> None:
    path = corpus / server / name
    run = plan_file(path)
    assert run.choice is not None, f"{name}: not detected"
    assert run.choice.format.name in SERVERS
    frame = parse_file(path)
    rejected = frame.filter(pl.col("line_kind") != "record")
    bound, why = REJECT_BOUNDS.get(name, (0, "every line is an access line"))
    report = "\n".join(
        f"  line {row['line_no']}: {row['reject_reason']}: {row['line'][:120]}"
        for row in rejected.iter_rows(named=True)
    )
    print(f"{server}/{name}: {run.choice.summary}; {rejected.height} rejected\n{report}")
    assert rejected.height <= bound, f"{name}: {why}\n{report}"
    assert frame.filter(pl.col("line_kind") == "rejected")["reject_reason"].null_count() == 0

    expected = expected_statuses(path)
    if expected is None:
        return
    listed = {line_no for line_no, _ in expected}
    parsed = {
        (int(row["line_no"]), row["status"])
        for row in frame.filter(pl.col("line_no").is_in(list(listed))).iter_rows(named=True)
        if row["line_kind"] == "record"
    }
    assert parsed == expected


def test_every_corpus_line_is_counted(corpus: Path) -> None:
    """Lines in = records + rejects, for every file (MANIFEST gives the line counts)."""
    with (corpus / "MANIFEST.csv").open(newline="", encoding="utf-8") as handle:
        manifest = {row["file"]: int(row["lines"]) for row in csv.DictReader(handle)}
    for server, name in CORPUS:
        frame = parse_file(corpus / server / name)
        assert frame.height == manifest[f"{server}/{name}"], name
        assert frame["line_no"].to_list() == list(range(1, frame.height + 1)), name


def test_logstash_dash_status_is_a_record_without_status(corpus: Path) -> None:
    path = (
        corpus
        / "apache"
        / ("logstash-patterns-core_spec_patterns_httpd_spec.rb.HTTPD_COMBINEDLOG.extracted.log")
    )
    row = parse_file(path).row(2, named=True)
    assert (row["line_kind"], row["status"], row["status_class"]) == ("record", None, "none")


def test_ingress_upstream_lists(corpus: Path) -> None:
    path = (
        corpus
        / "nginx"
        / "elastic-integrations_nginx_ingress_controller_access_test-ingest-raw.log"
    )
    last = parse_file(path).row(-1, named=True)
    assert (last["status"], last["upstream_status"], last["upstream_status_list"]) == (
        502,
        403,
        "502, 403",
    )
    assert last["client_ip"] == "2a02:cf40::4e36"


def test_shop_log_offsets_are_converted(corpus: Path) -> None:
    """lnav's shop log is written at +0330: 03:56:14 local is 00:26:14 UTC."""
    first = parse_file(corpus / "nginx" / "lnav_test_logfile_shop_access_log.0").row(0, named=True)
    assert first["timestamp"].isoformat() == "2019-01-22T00:26:14+00:00"


@pytest.mark.parametrize("name", sorted(ODD_FILES))
def test_odd_files_give_reasons_not_tracebacks(corpus: Path, name: str) -> None:
    path = corpus / "odd" / name
    must_reject, why = ODD_FILES[name]
    frame = parse_file(path)
    rejected = frame.filter(pl.col("line_kind") == "rejected")
    assert rejected["reject_reason"].null_count() == 0
    if must_reject is None:
        assert frame.height == rejected.height, why
        assert set(rejected["reject_reason"]) == {"format not recognised"}
    else:
        assert set(rejected["line_no"].to_list()) == must_reject, why
    code, _, stderr = run_cli(str(path), "--quiet")
    assert "Traceback" not in stderr
    assert code == (3 if must_reject is None else 0), stderr
    if must_reject is None:
        assert stderr.startswith("logstat: error: ") and stderr.count("\n") == 1


def test_a_docker_wrapped_apache_line_is_read_with_its_own_time(corpus: Path) -> None:
    """fluent-bit's sample: Docker's json-file envelope round an Apache common line."""
    path = (
        corpus
        / "odd"
        / "fluent-bit_tests_runtime_data_kubernetes_log_default_apache-logs_apache-logs.log"
    )
    [record] = parse_file(path).to_dicts()
    assert (record["line_kind"], record["status"], record["path"]) == (
        "record",
        500,
        "/intra-abdominally",
    )
    # the line's own time (whole seconds), not the envelope's (17:26:53.360920913)
    assert record["timestamp"].isoformat() == "2018-02-21T17:26:53+00:00"


def test_odd_files_are_all_considered(corpus: Path) -> None:
    """A new odd/ file either gets an entry above or is another format's business."""
    others = {
        "brianary-scripts_test_data_ex010320.log",
        "brianary-scripts_test_data_ex031118.log",
        "elastic-integrations_iis_access_test-iis-ftp.log",
        "lnav_test_logfile_w3c.1",
        "lnav_test_logfile_w3c.4",
        "lnav_test_logfile_w3c.5",
        "otel-collector-contrib_awslogsencodingextension_elb-access-log_testdata_alb_al_insufficient_fields.log",
        "otel-collector-contrib_awslogsencodingextension_elb-access-log_testdata_alb_al_invalid_syntax.log",
    }
    assert set(corpus_files("odd")) == set(ODD_FILES) | others


def test_other_formats_odd_files_are_not_claimed_by_nginx_or_apache(corpus: Path) -> None:
    for name in ["brianary-scripts_test_data_ex010320.log", "lnav_test_logfile_w3c.5"]:
        run = plan_file(corpus / "odd" / name)
        assert run.choice is None or run.choice.format.name not in SERVERS, name
