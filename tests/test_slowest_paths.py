"""The slowest requests' paths, read again from their lines where the format can (ALB,
ELB: schema.SLOWEST_ONLY), are those a parse of every line gives: paths that differ
from the URL (scheme and host cut, query cut, a raw quote), ties on the duration broken
by the path, whatever the chunks."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat import schema
from logstat.reading import pipeline, sources
from logstat.summary import ReportSettings
from tests.helpers import REPORT_FIXTURES, summarise

EXAMPLES = settings(max_examples=25, deadline=None)
PATHS = ("/", "/b", "/a", "/orders/42", '/q"uote', "/z/y")


def alb_line(second: int, seconds: float, path: str, status: int = 200) -> str:
    """An ALB entry of a request for `path` (an absolute URL with a query) that took `seconds`."""
    time = f"2024-03-01T10:00:{second:02d}.000000Z"
    return (
        f"https {time} app/lb/50dc6c495c0c9188 192.0.2.10:2817 10.0.0.1:80 0.000 "
        f"{seconds:.3f} 0.000 {status} {status} 34 366 "
        f'"GET https://shop.example.com:443{path}?page=2 HTTP/1.1" "curl/8.5.0" - - '
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067 "
        f'"Root=1-65e1a8e0-0123456789abcdef01234567" "shop.example.com" "-" 1 {time} '
        f'"forward" "-" "-" "10.0.0.1:80" "{status}" "-" "-" TID_01'
    )


def slowest(log: Path, top: int, fields: tuple[str, ...], chunk_bytes: int) -> list[tuple]:
    summary = summarise([log], ReportSettings(top=top, top_fields=fields), chunk_bytes, "alb")
    assert summary.latency is not None
    return [(row.seconds, row.path, row.status) for row in summary.latency.slowest]


def test_the_slowest_paths_are_read_from_their_lines(tmp_path: Path) -> None:
    lines = [alb_line(second % 60, 0.001 * (second % 7), "/quick") for second in range(200)]
    lines += [
        alb_line(1, 9.0, "/orders/42"),
        alb_line(2, 8.0, '/q"uote'),  # a raw quote: read by the shaped regex
        alb_line(3, 7.0, "/z/y"),  # tied with the next two: the path orders them
        alb_line(3, 7.0, "/b"),
        alb_line(3, 7.0, "/a", 503),
    ]
    log = tmp_path / "alb.log"
    log.write_text("\n".join(lines[100:] + lines[:100]) + "\n")
    found = slowest(log, 4, ("client_ip",), chunk_bytes=3000)
    assert found == [
        (9.0, "/orders/42", 200),
        (8.0, '/q"uote', 200),
        (7.0, "/b", 200),
        (7.0, "/z/y", 200),
    ]
    # as when the path is parsed on every line (a --top field)
    assert found == slowest(log, 4, ("client_ip", "path"), chunk_bytes=3000)


@EXAMPLES
@given(
    requests=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 4), st.sampled_from(PATHS)),
        min_size=1,
        max_size=40,
    ),
    top=st.integers(1, 5),
    chunk_bytes=st.sampled_from([700, 2000, 1 << 20]),
)
def test_any_chunks_give_the_paths_of_every_line_parsed(
    tmp_path_factory: pytest.TempPathFactory,
    requests: list[tuple[int, int, str]],
    top: int,
    chunk_bytes: int,
) -> None:
    log = tmp_path_factory.mktemp("alb") / "alb.log"
    log.write_text(
        "".join(alb_line(second, tenths / 10, path) + "\n" for second, tenths, path in requests)
    )
    read_again = slowest(log, top, ("client_ip",), chunk_bytes)
    assert read_again == slowest(log, top, ("client_ip", "path"), chunk_bytes)


def test_only_formats_that_read_a_line_again_leave_the_path_unparsed(tmp_path: Path) -> None:
    log = tmp_path / "alb.log"
    log.write_text(alb_line(1, 0.5, "/a") + "\n")
    timed_nginx = REPORT_FIXTURES / "upstream.log"
    for path, parsed in ((log, False), (timed_nginx, True)):
        options = pipeline.Options()
        runs = pipeline.plan(sources.expand([str(path)]), options)
        [(_, frame)] = pipeline.read(runs, options, ReportSettings().needed())
        assert schema.DURATION in frame.columns
        assert ("path" in frame.columns) is parsed
    # unless the summary reads it on every line: a path filter, --top path, per-path latency
    assert "path" in ReportSettings(path_latency=3).needed()
    needed = {"status", schema.DURATION}
    assert schema.with_duration(needed, {schema.DURATION, "path"}, reads_again=True) == needed
