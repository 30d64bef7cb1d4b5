"""Render generated requests the way each server writes them, parse them back, compare.

For every format logstat knows (`logstat.formats.FORMATS`) and every layout a
renderer in tests/strategies.py writes: hostile paths, queries, referers and
user agents, IPv4/IPv6 clients, timestamps in every UTC offset, odd statuses.
Each field must come back as the server wrote it (status exactly, timestamp to
the second in UTC), and every line must be a record.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstat.formats import FORMATS
from logstat.formats.template import TRAILING_FIELD
from tests.strategies import RENDERERS, Renderer, Request, parse_back, renderers_for

EXAMPLES = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
KNOWN = {format.name for format in FORMATS}
# a field as a line's fields are written: HAProxy's captured headers, `{host|agent}`, are
# one field whatever spaces the headers hold; a U+2028 in a value is no field separator
WHOLE_FIELD = r"\{[^}]*\}|" + TRAILING_FIELD
CASES = [pytest.param(renderer, id=renderer.name) for renderer in RENDERERS]


def test_every_format_has_a_renderer() -> None:
    """A new format needs a renderer in tests/strategies.py, so it gets these properties too."""
    missing = sorted(name for name in KNOWN if not renderers_for(name))
    assert not missing, f"write a renderer in tests/strategies.py for: {', '.join(missing)}"


def _roundtrip(renderer: Renderer, batch: list[Request], layout: str | None) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "access.log"
        path.write_text(renderer.document(batch), encoding="utf-8")
        parsed = parse_back(path, renderer.format, layout)
    assert parsed.height == len(renderer.header) + len(batch)
    header = parsed.head(len(renderer.header))
    assert set(header["line_kind"]) <= {"comment"}, header["line"].to_list()
    records = parsed.slice(len(renderer.header))
    for request, row in zip(batch, records.iter_rows(named=True), strict=True):
        line = row["line"]
        assert row["line_kind"] == "record", f"{row['reject_reason']}: {line!r}"
        for column, value in renderer.expected(request).items():
            assert row[column] == value, f"{column}: {row[column]!r} != {value!r} in {line!r}"


@pytest.mark.parametrize("renderer", CASES)
@EXAMPLES
@given(data=st.data())
def test_rendered_lines_parse_back(renderer: Renderer, data: st.DataObject) -> None:
    if renderer.format not in KNOWN:
        pytest.skip(f"format {renderer.format} is not in logstat.formats.FORMATS yet")
    batch = data.draw(st.lists(renderer.strategy, min_size=1, max_size=5), label="requests")
    _roundtrip(renderer, batch, renderer.layout)


@pytest.mark.parametrize("renderer", CASES)
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_detection_finds_the_format(renderer: Renderer, data: st.DataObject) -> None:
    """Without --format the file is detected as the format that wrote it (same fields)."""
    if renderer.format not in KNOWN:
        pytest.skip(f"format {renderer.format} is not in logstat.formats.FORMATS yet")
    batch = data.draw(st.lists(renderer.strategy, min_size=3, max_size=5), label="requests")
    with tempfile.TemporaryDirectory() as directory:
        # the directory names the server, as /var/log/nginx/ or /var/log/apache2/ does
        path = Path(directory) / renderer.format / "access.log"
        path.parent.mkdir()
        path.write_text(renderer.document(batch), encoding="utf-8")
        parsed = parse_back(path, None)
    records = parsed.slice(len(renderer.header))
    assert set(records["source"]) == {renderer.format}
    assert set(records["line_kind"]) == {"record"}
    assert records["status"].to_list() == [
        renderer.expected(request)["status"] for request in batch
    ]


# --- regressions found by the properties above -------------------------------------------


@pytest.mark.parametrize(
    ("logged", "meant"),
    [
        (r"\x5Cx5c", r"\x5c"),  # a backslash, then the text x5c: not two backslashes
        (r"\x5Cx5C", r"\x5C"),
        (r"\x5Cx22", r"\x22"),
        (r"\x5C\x22", '\\"'),
        (r"\x22\x5c\x5C", '"\\\\'),
    ],
)
def test_nginx_unescapes_in_one_pass(tmp_path: Path, logged: str, meant: str) -> None:
    path = tmp_path / "access.log"
    path.write_text(
        f'192.0.2.1 - - [01/Jan/2000:00:00:00 +0000] "GET / HTTP/1.1" 200 0 "-" "{logged}"\n',
        encoding="utf-8",
    )
    parsed = parse_back(path, "nginx", "combined")
    assert parsed["user_agent"].to_list() == [meant]


# --- fields never shift: lines with a field added at the end, or one taken out ----------

# what some servers and proxies append after a layout: a number (%D), a quoted value
# (X-Forwarded-For), a dash, a bracketed value, two fields
EXTRA_FIELDS = ("3413", '"10.0.0.1, 10.0.0.2"', "-", "[upstream a]", '"-" 12ms')
# formats of space-separated fields (JSON records have no order to shift; CloudFront's
# fields are tab-separated, so a space adds none: tests/test_format_cloudfront.py)
POSITIONAL = [
    pytest.param(renderer, id=renderer.name)
    for renderer in RENDERERS
    if renderer.format
    not in (
        "cloudflare",
        "cloudfront",
        "traefik",
        "caddy",
        "google_lb",
        "azure_front_door",
        "azure_app_gateway",
        "cloudfront_realtime",
    )
]


def _parse_lines(renderer: Renderer, lines: list[str]) -> pl.DataFrame:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "access.log"
        path.write_text("".join(line + "\n" for line in (*renderer.header, *lines)))
        parsed = parse_back(path, renderer.format, renderer.layout)
    return parsed.slice(len(renderer.header))


@pytest.mark.parametrize("renderer", POSITIONAL)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_extra_trailing_field_never_shifts_fields(
    renderer: Renderer, data: st.DataObject
) -> None:
    """Every field reads as written; the extra ones are counted, or (IIS, whose #Fields
    is exact) the line is rejected with its reason."""
    batch = data.draw(st.lists(renderer.strategy, min_size=1, max_size=3), label="requests")
    extra = data.draw(st.sampled_from(EXTRA_FIELDS), label="extra")
    records = _parse_lines(renderer, [f"{renderer.render(request)} {extra}" for request in batch])
    for request, row in zip(batch, records.iter_rows(named=True), strict=True):
        line = row["line"]
        if renderer.format == "iis":
            assert row["line_kind"] == "rejected", line
            assert "#Fields lists" in row["reject_reason"], row["reject_reason"]
            continue
        if renderer.format == "alb" and row["line_kind"] == "rejected":
            # AWS names every field after the last one written: a value that cannot be
            # the next one (a quoted conn_trace_id) is a malformed entry
            assert row["reject_reason"] == "ALB entry with a malformed field", line
            continue
        assert row["line_kind"] == "record", f"{row['reject_reason']}: {line!r}"
        for column, value in renderer.expected(request).items():
            assert row[column] == value, f"{column}: {row[column]!r} != {value!r} in {line!r}"
        if renderer.format != "alb":  # ALB reads a field after its last as conn_trace_id
            assert row["trailing_fields"] == len(re.findall(TRAILING_FIELD, extra)), line


@pytest.mark.parametrize("renderer", POSITIONAL)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_missing_field_is_rejected_or_read_without_shifting(
    renderer: Renderer, data: st.DataObject
) -> None:
    """A line with one field taken out is rejected with a reason, or read with every
    value either as written or missing: never another field's value."""
    request = data.draw(renderer.strategy, label="request")
    line = renderer.render(request)
    fields = list(re.finditer(WHOLE_FIELD, line, re.ASCII))  # fields part at ASCII spaces
    taken = fields[data.draw(st.integers(0, len(fields) - 1), label="field taken out")]
    if taken.start() > 0:  # with the space before it
        assert line[taken.start() - 1] == " ", line
        shortened = line[: taken.start() - 1] + line[taken.end() :]
    else:
        shortened = line[taken.end() + 1 :]
    [row] = _parse_lines(renderer, [shortened]).iter_rows(named=True)
    if row["line_kind"] == "rejected":
        assert row["reject_reason"], shortened
        return
    assert row["line_kind"] == "record", shortened
    for column, value in renderer.expected(request).items():
        assert row[column] in (None, value), (
            f"{column}: {row[column]!r} is neither {value!r} nor missing in {shortened!r}"
        )
