"""--json validates against the JSON Schema shipped in logstat/report/schema/."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from logstat.report.model import JSON_SCHEMA_VERSION, SCHEMA_RESOURCE
from logstat.summary import topk
from tests.helpers import REPO, REPORT_FIXTURES, run_cli

SCHEMA: dict[str, Any] = json.loads(
    resources.files("logstat").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
NGINX_SAMPLE = str(REPO / "samples" / "nginx-access.log")
VHOSTS = str(REPORT_FIXTURES / "apache_vhosts.log")
UPSTREAM = str(REPORT_FIXTURES / "upstream.log")
ALB = str(REPO / "fixtures" / "alb" / "requests.log")

RUNS = {
    "plain": [NGINX_SAMPLE],
    "every": [NGINX_SAMPLE, "--every", "5m"],
    "top": ["report", VHOSTS, "--top", "3"],
    "top by status": ["report", VHOSTS, "--top-by", "status", "--top-fields", "path,referer"],
    "by host": [VHOSTS, "--by", "host"],
    "by file": [VHOSTS, UPSTREAM, "--by", "file"],
    "several sources": [VHOSTS, UPSTREAM],
    "durations": [ALB, UPSTREAM, "--top", "2"],
    "filters": [
        VHOSTS,
        "--status",
        "5xx,404,400-403",
        "--path",
        "^/api",
        "--host",
        "shop.example.com",
        "--method",
        "GET",
        "--since",
        "2024-03-01T09:30",
        "--until",
        "2024-03-01T11:00+01:00",
        "--source",
        "apache",
    ],
    "nothing selected": [UPSTREAM, "--status", "1xx", "--every", "1h", "--top", "2"],
    "everything": [
        "report",
        VHOSTS,
        UPSTREAM,
        "--every",
        "1h",
        "--top",
        "2",
        "--by",
        "host",
        "--status",
        "4xx,5xx",
        "--fail-if",
        "5xx > 1%",
        "--fail-if",
        "upstream 5xx >= 3",
        "--fail-if",
        "rejected > 0",
        "--prometheus",
        "{tmp}/out.prom",
    ],
}


FORMAT_FIXTURES = sorted(
    path for path in (REPO / "fixtures").iterdir() if path.is_dir() and path.name != "report"
)


@pytest.mark.parametrize("directory", FORMAT_FIXTURES, ids=lambda path: path.name)
def test_every_format_validates(directory: Path) -> None:
    """Each format's own values (HAProxy's status -1, its layers ...) fit the schema."""
    # the fixtures' logs are those with the expected statuses beside them
    expected = ".expected.csv"
    logs = [str(path)[: -len(expected)] for path in sorted(directory.glob("*" + expected))]
    code, out, error = run_cli(*logs, "--json", "--top", "3", in_process=True)
    assert code == 0, error
    document = json.loads(out)
    errors = sorted(VALIDATOR.iter_errors(document), key=str)
    assert not errors, "\n".join(f"{list(error.path)}: {error.message}" for error in errors)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema_version"] == {"const": JSON_SCHEMA_VERSION}


@pytest.mark.parametrize("name", RUNS)
def test_output_validates(name: str, tmp_path: Path) -> None:
    arguments = [argument.format(tmp=tmp_path) for argument in RUNS[name]]
    code, out, _ = run_cli(*arguments, "--json", in_process=True)
    assert code in (0, 4)
    document = json.loads(out)
    errors = sorted(VALIDATOR.iter_errors(document), key=str)
    assert not errors, "\n".join(f"{list(error.path)}: {error.message}" for error in errors)
    assert document["schema_version"] == JSON_SCHEMA_VERSION
    # every top-level field is present, even when it is null; the optional ones
    # (latency: only when a record has a duration) are in the schema too
    assert set(SCHEMA["required"]) <= set(document) <= set(SCHEMA["properties"])


def test_the_schema_rejects_drift() -> None:
    """The tests above can fail: undocumented fields and wrong types are caught."""
    _, out, _ = run_cli(NGINX_SAMPLE, "--every", "1h", "--json", in_process=True)
    document = json.loads(out)
    for change in (
        lambda data: data.update(surprise=1),
        lambda data: data["totals"].update(selected=-1),
        lambda data: data["timeline"]["buckets"][0].update(start="2024-01-01 00:00"),
        lambda data: data["classes"][0].update(status_class="6xx"),
        lambda data: data.update(schema_version=2),
        lambda data: data.pop("alerts"),
    ):
        changed = copy.deepcopy(document)
        change(changed)
        assert not VALIDATOR.is_valid(changed)


def test_schema_command_prints_the_shipped_file() -> None:
    code, out, _ = run_cli("schema", in_process=True)
    assert code == 0 and json.loads(out) == SCHEMA


def test_approximate_top_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    """With more distinct values than the counters kept, `error` appears and validates."""
    monkeypatch.setattr(topk, "BUDGET", 2)
    _, out, _ = run_cli("report", VHOSTS, "--top", "3", "--json", in_process=True)
    document = json.loads(out)
    assert not sorted(VALIDATOR.iter_errors(document), key=str)
    fields = [found for group in document["top"]["groups"] for found in group["fields"]]
    assert any("error" in found for found in fields)
    approximate = next(found for found in fields if "error" in found)
    approximate["error"] = 0  # an exact field has no `error` at all
    assert not VALIDATOR.is_valid(document)
