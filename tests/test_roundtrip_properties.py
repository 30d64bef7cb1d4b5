"""Render generated requests the way each server writes them, parse them back, compare.

For every format logstat knows (`logstat.formats.FORMATS`) and every layout a
renderer in tests/strategies.py writes: hostile paths, queries, referers and
user agents, IPv4/IPv6 clients, timestamps in every UTC offset, odd statuses.
Each field must come back as the server wrote it (status exactly, timestamp to
the second in UTC), and every line must be a record.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logstat.formats import FORMATS
from tests.strategies import RENDERERS, Renderer, Request, parse_back, renderers_for

EXAMPLES = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
KNOWN = {format.name for format in FORMATS}
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
