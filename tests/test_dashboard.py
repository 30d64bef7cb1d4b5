"""`logstat dashboard`: one offline HTML file, checked in a real headless Chromium.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
JSON messages separated by NUL bytes on file descriptors 3 and 4), so the test
needs no websocket client and opens no port.  Without Chromium these tests
skip, except in CI (`CI` set), where they fail: install it with
`apt-get install -y chromium`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy
import pytest

from logstat.dashboard import DashboardBuilder, json_for_html
from logstat.dashboard.data import MAX_BUCKETS, STEPS
from logstat.dashboard.page import SCRIPTS, render_page
from tests.helpers import FIXTURES, REPORT_FIXTURES, frame_of, log_line, page_data, run_cli
from tests.servers.chromium import Browser

# Injected code would set one of these; the page must never run it.
ATTACKS = [
    "/<script>window.pwned=1;document.title='pwned'</script>",
    '/"><img src=x onerror="window.pwned=2;document.title=\'pwned\'">',
    "/</script><script>window.pwned=3</script>",
    "/\u2028\u2029<!--<script>window.pwned=4</script>",
    "/<svg onload=window.pwned=5>",
]


def cli(*arguments: str) -> int:
    return run_cli(*arguments, in_process=True).code


def write_sample(path: Path, count: int = 300) -> Path:
    path.write_text("".join(log_line(number) for number in range(count)))
    return path


def write_attack_log(directory: Path) -> Path:
    # the file name itself is shown in the page too
    directory.mkdir()
    path = directory / "<img src=x onerror=window.pwned=9>.log"
    lines = []
    for number, attack in enumerate(ATTACKS * 3):
        moment = datetime(2024, 5, 1, 12, number, tzinfo=UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        status = 404 if number % 2 else 500
        lines.append(
            f'198.51.100.{number} - - [{moment}] "GET {attack} HTTP/1.1" {status} 10 "-" '
            '"Mozilla/5.0 <script>window.pwned=7</script>"\n'
        )
    path.write_text("".join(lines))
    return path


# --- the page, without a browser ----------------------------------------------


def test_json_for_html_cannot_close_the_script_element() -> None:
    data = {"path": "</script><script>alert(1)</script>&amp;\u2028\u2029<!--", "n": 1}
    text = json_for_html(data)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == data


def test_page_inlines_everything_and_allows_only_its_own_scripts(tmp_path: Path) -> None:
    write_attack_log(tmp_path / "logs")
    output = tmp_path / "report.html"
    assert cli("dashboard", str(tmp_path / "logs"), "-o", str(output), "-q") == 0
    page = output.read_text()
    assert "pwned" in page  # the attacks are in the data ...
    assert "<script>window.pwned" not in page  # ... but never as markup
    assert "<img src=x" not in page and "<svg" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing from a network
    scripts = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert len(scripts) == len(SCRIPTS)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert policy is not None
    assert "default-src 'none'" in policy.group(1)
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy.group(1)
    assert "unsafe-inline" not in policy.group(1).split("script-src")[1].split(";")[0]


@pytest.mark.parametrize("span", [timedelta(minutes=5), timedelta(hours=30), timedelta(days=400)])
def test_timeline_buckets_fit_any_span(span: timedelta) -> None:
    start = datetime(2024, 2, 28, 23, 59, 30, tzinfo=UTC)
    builder = DashboardBuilder()
    builder.add(frame_of([(start, 200, "/a"), (start + span, 503, "/b"), (None, 404, "/c")]))
    timeline = builder.build([])["timeline"]
    step = timeline["step_seconds"]
    assert step in STEPS or step % 86400 == 0
    assert len(timeline["labels"]) <= MAX_BUCKETS + 1
    smaller = [candidate for candidate in STEPS if candidate < step]
    assert all(span.total_seconds() / candidate > MAX_BUCKETS - 1 for candidate in smaller)
    assert sum(map(sum, timeline["series"].values())) == 2
    assert timeline["series"]["2xx"][0] == 1 and timeline["series"]["5xx"][-1] == 1
    assert timeline["untimed"] == 1


def test_error_paths_rank_by_4xx_and_5xx() -> None:
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    Row = tuple[datetime | None, int, str | None]
    counts: list[tuple[Row, int]] = [
        ((moment, 404, "/a"), 3),
        ((moment, 500, "/b"), 4),
        ((moment, 200, "/b"), 9),
        ((moment, 502, "/a"), 2),
        ((moment, 404, None), 1),
    ]
    rows = [row for row, count in counts for _ in range(count)]
    builder = DashboardBuilder(top=2)
    builder.add(frame_of(rows[:7]))
    builder.add(frame_of(rows[7:]))
    paths = builder.build([])["error_paths"]
    assert [(row["path"], row["errors"]) for row in paths] == [("/a", 5), ("/b", 4)]
    assert paths[0]["client_errors"] == 3 and paths[0]["server_errors"] == 2
    assert (paths[0]["top_status"], paths[0]["top_status_count"]) == (404, 3)


# --- in a real browser -----------------------------------------------------------


def png_pixels(data: bytes) -> numpy.ndarray:
    """Decode an 8-bit RGB or RGBA PNG (what Chromium writes) into an array of RGB."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    position, idat = 8, b""
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        chunk = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if chunk == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif chunk == b"IDAT":
            idat += body
        position += 12 + length
    stride = width * channels
    rows = numpy.frombuffer(zlib.decompress(idat), dtype=numpy.uint8).reshape(height, stride + 1)
    image = numpy.zeros((height, stride), dtype=numpy.uint8)
    previous = numpy.zeros(stride, dtype=numpy.uint8)
    for index in range(height):
        kind, line = int(rows[index, 0]), rows[index, 1:]
        if kind == 0:  # None
            current = line.copy()
        elif kind == 1:  # Sub: a running sum along the row, per channel
            sums = numpy.cumsum(line.reshape(width, channels).astype(numpy.uint32), axis=0)
            current = (sums & 0xFF).astype(numpy.uint8).reshape(stride)
        elif kind == 2:  # Up
            current = line + previous
        else:  # Average, Paeth: each byte depends on the one to its left
            unfiltered = _unfilter(kind, line.tolist(), previous.tolist(), channels)
            current = numpy.array(unfiltered, dtype=numpy.uint8)
        image[index] = current
        previous = current.astype(numpy.uint8)
    return image.reshape(height, width, channels)[:, :, :3]


def _unfilter(kind: int, line: list[int], previous: list[int], channels: int) -> list[int]:
    current = [0] * len(line)
    for x, value in enumerate(line):
        left = current[x - channels] if x >= channels else 0
        up = previous[x]
        if kind == 3:
            predicted = (left + up) // 2
        else:
            corner = previous[x - channels] if x >= channels else 0
            estimate = left + up - corner
            to_left, to_up = abs(estimate - left), abs(estimate - up)
            to_corner = abs(estimate - corner)
            if to_left <= to_up and to_left <= to_corner:
                predicted = left
            elif to_up <= to_corner:
                predicted = up
            else:
                predicted = corner
        current[x] = (value + predicted) & 0xFF
    return current


def hex_color(text: str) -> tuple[int, int, int]:
    return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)


PAGE_STATE = """(() => ({
  rendered: document.body.dataset.rendered || null,
  title: document.title,
  pwned: typeof window.pwned === "undefined" ? null : window.pwned,
  charts: (window.logstatCharts || []).map((chart) => chart.data.datasets.length),
  painted: [...document.querySelectorAll("canvas")].map((canvas) => {
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let count = 0;
    for (let index = 3; index < pixels.length; index += 4) if (pixels[index]) count++;
    return count;
  }),
  images: document.images.length,
  statusRows: document.querySelectorAll("#status-table tbody tr").length,
  pathCells: [...document.querySelectorAll("#paths-table td.path")].map((cell) => cell.textContent),
  fileCells: [...document.querySelectorAll("#files-table td.path")].map((cell) => cell.textContent),
  filesTitle: document.getElementById("files-title").textContent,
  layersHidden: document.getElementById("layers-section").hidden,
  layerRows: [...document.querySelectorAll("#layers-table tbody tr")].map(
    (row) => [...row.cells].map((cell) => cell.textContent)),
  latencyHidden: document.getElementById("latency-section").hidden,
  latencyRows: [...document.querySelectorAll("#latency-table tbody tr")].map(
    (row) => [...row.cells].map((cell) => cell.textContent)),
  pathLatencyHidden: document.getElementById("path-latency").hidden,
  pathLatencyRows: [...document.querySelectorAll("#path-latency-table tbody tr")].map(
    (row) => [...row.cells].map((cell) => cell.textContent)),
  pathBytesRows: [...document.querySelectorAll("#path-bytes-table tbody tr")].map(
    (row) => [...row.cells].map((cell) => cell.textContent)),
  slowestRows: [...document.querySelectorAll("#slowest-table tbody tr")].map(
    (row) => [...row.cells].map((cell) => cell.textContent)),
  groupsHidden: document.getElementById("file-groups-section").hidden,
  groupRows: [...document.querySelectorAll("#file-groups-table tbody tr")].map(
    (row) => [...row.cells].map((cell) => cell.textContent)),
}))()"""


def test_dashboard_renders_in_chromium(tmp_path: Path, browser: Browser) -> None:
    log = write_sample(tmp_path / "access.log")
    output = tmp_path / "report.html"
    assert cli("dashboard", str(log), "-o", str(output), "-q") == 0
    browser.open(output.as_uri())
    state = browser.evaluate(PAGE_STATE)
    assert browser.problems() == []
    assert state["rendered"] == "true"
    assert state["charts"] == [4, 1, 3]  # classes over time, codes, proxy/upstream/unknown
    assert all(count > 1000 for count in state["painted"]), state["painted"]
    assert state["statusRows"] == len({200, 304, 404, 499, 500, 502})
    assert state["pathCells"][0].startswith("/item/")
    assert state["layersHidden"] and state["layerRows"] == []  # nginx logs no layers
    assert state["groupsHidden"] and state["filesTitle"] == "Files read"
    shot = browser.screenshot()
    (tmp_path / "dashboard.png").write_bytes(shot)  # to look at: pytest --basetemp=DIR
    pixels = png_pixels(shot)
    assert pixels.shape == (1000, 1280, 3)
    colors = {tuple(color) for color in pixels.reshape(-1, 3)[::7].tolist()}
    assert len(colors) > 50  # not a blank page
    # the timeline's bars are on screen in their class colours
    for name in ("#2e9e5b", "#e08a1e", "#d0392b"):
        assert hex_color(name) in colors, name


def test_nothing_from_the_log_runs_as_code(tmp_path: Path, browser: Browser) -> None:
    log = write_attack_log(tmp_path / "logs")
    output = tmp_path / "report.html"
    assert cli("dashboard", str(log.parent), "-o", str(output), "-q") == 0
    browser.open(output.as_uri())
    time.sleep(0.3)  # an injected onerror would fire once the broken image fails
    state = browser.evaluate(PAGE_STATE)
    assert browser.problems() == []
    assert state["rendered"] == "true"
    assert state["pwned"] is None
    assert state["title"] == "logstat dashboard"
    assert state["images"] == 0
    # the attacks are shown as text, exactly as logged
    assert set(state["pathCells"]) == set(ATTACKS)
    assert state["fileCells"] == [str(log)]


def write_alb_directory(directory: Path, copies: int) -> Path:
    """`copies` ALB logs with error_reason values, and one more with an entry and a
    line that is no ALB entry: the one needing attention."""
    directory.mkdir()
    lines = (REPORT_FIXTURES / "alb_layers.log").read_text().splitlines(keepends=True)
    for index in range(copies):
        (directory / f"lb_20240304T{index:04d}Z_a.log").write_text("".join(lines))
    flagged = directory / f"lb_20240304T{copies:04d}Z_a.log"
    flagged.write_text(lines[2] + "not an ALB entry\n")
    return flagged


def with_attack_layer(page: Path) -> None:
    """Rewrite the page with an attack as an error_reason value. ALB's parser lets no
    such text into a layer; the page must still show whatever a layer holds as text."""
    data = page_data(page)
    [reason] = [row for row in data["layers"] if row["value"] == "LambdaInvalidResponse"]
    attack = {
        "value": ALB_ATTACK,
        "name": None,
        "meaning": None,
        "count": 1,
        "statuses": {"502": 1},
    }
    data["layers"].append({**reason, **attack})
    page.write_text(render_page(data), encoding="utf-8")


ALB_ATTACK = "<img src=x onerror=window.pwned=11>"


def test_layers_and_many_files_in_the_page_data(tmp_path: Path) -> None:
    flagged = write_alb_directory(tmp_path / "lb", 21)
    output = tmp_path / "report.html"
    assert cli("dashboard", str(tmp_path / "lb"), "-o", str(output), "-q") == 0
    data = page_data(output)
    assert data["attention"] == 1 and [file["name"] for file in data["files"]] == [str(flagged)]
    [group] = data["file_groups"]
    assert (group["directory"], group["files"], group["rejected"]) == (str(tmp_path / "lb"), 22, 1)
    reasons = {row["value"] for row in data["layers"] if row["layer"] == "error_reason"}
    assert "LambdaInvalidResponse" in reasons
    assert data["layer_labels"]["error_reason"][0] == "ALB error_reason"
    # few files: each one, no groups
    few = tmp_path / "few.html"
    assert cli("dashboard", str(flagged), "-o", str(few), "-q") == 0
    small = page_data(few)
    assert small["file_groups"] == [] and small["attention"] is None
    assert [file["name"] for file in small["files"]] == [str(flagged)]


def test_layers_and_file_groups_render_as_text(tmp_path: Path, browser: Browser) -> None:
    flagged = write_alb_directory(tmp_path / "lb", 21)
    output = tmp_path / "report.html"
    assert cli("dashboard", str(tmp_path / "lb"), "-o", str(output), "-q") == 0
    with_attack_layer(output)
    browser.open(output.as_uri())
    time.sleep(0.3)  # an injected onerror would fire once the broken image fails
    state = browser.evaluate(PAGE_STATE)
    assert browser.problems() == []
    assert state["rendered"] == "true" and state["pwned"] is None and state["images"] == 0
    assert not state["layersHidden"]
    rows = {(row[0], row[2]): row for row in state["layerRows"]}
    attack = rows[("ALB error_reason", ALB_ATTACK)]
    assert attack[4] == "no meaning known" and attack[5] == "502: 1" and attack[6] == "1"
    fixture = (REPORT_FIXTURES / "alb_layers.log").read_text()
    lambda_errors = str(21 * fixture.count('"LambdaInvalidResponse"') + 1)
    assert rows[("ALB error_reason", "LambdaInvalidResponse")][6] == lambda_errors
    assert not state["groupsHidden"]
    lines = 21 * fixture.count("\n") + 2
    assert state["groupRows"] == [
        [str(tmp_path / "lb"), "AWS ALB access log", "-", "22", str(lines), str(lines - 1), "1"]
    ]
    assert state["filesTitle"] == "Files that need attention"
    assert state["fileCells"] == [str(flagged)]


def test_latency_tables_render_for_logs_with_durations(tmp_path: Path, browser: Browser) -> None:
    """ALB: by status and phase (target apart from request and response), the slowest
    requests; a log without durations (nginx combined) has no latency section."""
    log = tmp_path / "alb.log"
    log.write_bytes((FIXTURES / "alb" / "requests.log").read_bytes())
    output = tmp_path / "report.html"
    assert cli("dashboard", str(log), "-o", str(output), "-q") == 0
    data = page_data(output)
    latency, data_labels = data["latency"], data["measure_labels"]
    browser.open(output.as_uri())
    state = browser.evaluate(PAGE_STATE)
    assert browser.problems() == []
    assert not state["latencyHidden"]
    assert len(state["latencyRows"]) == len(latency["by_status"])
    assert {row[2] for row in state["latencyRows"]} == {"total", "request", "target", "response"}
    slowest = latency["slowest"][0]
    assert state["slowestRows"][0][4] == slowest["path"]
    # the paths with the most requests (the page's top 20), as in the page's data
    top = latency["top_paths"]
    assert top["limit"] == 20 and top["error"] == 0 and not state["pathLatencyHidden"]
    assert [row[:3] for row in state["pathLatencyRows"]] == [
        [row["path"], data_labels[row["measure"]], str(row["requests"])] for row in top["by_path"]
    ]
    assert [row[0] for row in state["pathBytesRows"]] == [row["path"] for row in top["paths"]]
    plain = write_sample(tmp_path / "access.log")
    assert cli("dashboard", str(plain), "-o", str(output), "-q") == 0
    assert page_data(output)["latency"] is None
    browser.open(output.as_uri())
    assert browser.evaluate(PAGE_STATE)["latencyHidden"]


def test_top_paths_of_several_sources_render_with_their_source(
    tmp_path: Path, browser: Browser
) -> None:
    """ALB and nginx both log durations: each source's top paths, with a source column."""
    output = tmp_path / "report.html"
    logs = [FIXTURES / "alb" / "requests.log", FIXTURES / "report" / "upstream.log"]
    assert cli("dashboard", *map(str, logs), "-o", str(output), "-q") == 0
    top = page_data(output)["latency"]["top_paths"]
    assert {row["source"] for row in top["paths"]} == {"alb", "nginx"}
    browser.open(output.as_uri())
    state = browser.evaluate(PAGE_STATE)
    assert browser.problems() == []
    assert [row[:2] for row in state["pathLatencyRows"]] == [
        [row["source"], row["path"]] for row in top["by_path"]
    ]
    assert [row[:2] for row in state["pathBytesRows"]] == [
        [row["source"], row["path"]] for row in top["paths"]
    ]


def test_dashboard_of_a_dataset(tmp_path: Path, browser: Browser) -> None:
    log = write_sample(tmp_path / "access.log", 120)
    root = tmp_path / "dataset"
    assert cli("ingest", str(log), "--to", str(root), "-q") == 0
    output = tmp_path / "report.html"
    assert cli("dashboard", str(root), "-o", str(output), "-q") == 0
    browser.open(output.as_uri())
    state = browser.evaluate(PAGE_STATE)
    assert browser.problems() == []
    assert state["charts"] == [4, 1, 3]
    data = json.loads(
        re.search(  # type: ignore[union-attr]
            r'<script type="application/json" id="logstat-data">(.*?)</script>',
            output.read_text(),
        ).group(1)
    )
    assert data["totals"]["records"] == 120 - 120 // 13


def test_a_filtered_dashboard_says_what_it_shows(tmp_path: Path, browser: Browser) -> None:
    log = write_sample(tmp_path / "access.log")
    output = tmp_path / "report.html"
    assert cli("dashboard", str(log), "-o", str(output), "-q", "--status", "5xx,499") == 0
    browser.open(output.as_uri())
    state = browser.evaluate(PAGE_STATE)
    subtitle = browser.evaluate('document.getElementById("subtitle").textContent')
    assert browser.problems() == [] and state["rendered"] == "true"
    assert state["statusRows"] == len({499, 500, 502})
    assert "kept by --status 5xx,499" in subtitle, subtitle


STATUS_ROWS = """(() => [...document.querySelectorAll("#status-table tbody tr")].map(
  (row) => [...row.cells].map((cell) => cell.textContent)))()"""


def test_dashboard_shows_a_status_row_per_producer(tmp_path: Path, browser: Browser) -> None:
    """ALB's own 502 and a target's 502 are two rows, named in ALB's words, each with its
    own meaning."""
    log = Path(__file__).resolve().parent.parent / "fixtures" / "alb" / "produced_by.log"
    output = tmp_path / "report.html"
    assert cli("dashboard", str(log), "-o", str(output), "-q") == 0
    browser.open(output.as_uri())
    rows = browser.evaluate(STATUS_ROWS)
    assert browser.problems() == []
    # columns: status, source, by, name, meaning, table, requests, share
    bad_gateway = sorted((row[2], row[5]) for row in rows if row[0].endswith("502"))
    assert bad_gateway == [("ALB", "alb"), ("target", "iana")], rows


def test_a_page_of_unparsed_lines_says_so_at_its_top(tmp_path: Path, browser: Browser) -> None:
    """Most records without a status (the wrong --log-format): the page is written, with
    a warning above everything, and the command exits 5."""
    lines = [re.sub(r'" \d{3} ', '" - ', log_line(number), count=1) for number in range(50)]
    log = tmp_path / "access.log"
    log.write_text("".join(lines))
    output = tmp_path / "report.html"
    assert cli("dashboard", str(log), "-o", str(output), "-q") == 5
    browser.open(output.as_uri())
    shown = browser.evaluate(
        '(() => { const node = document.getElementById("doubt");'
        " return [node.hidden, node.textContent, node.getBoundingClientRect().height]; })()"
    )
    assert browser.problems() == []
    hidden, text, height = shown
    assert not hidden and height > 0
    assert text.startswith("These counts say nothing: ") and "have no status" in text
    # a page whose counts hold shows no such warning
    assert cli("dashboard", str(write_sample(tmp_path / "ok.log")), "-o", str(output), "-q") == 0
    browser.open(output.as_uri())
    assert browser.evaluate('document.getElementById("doubt").hidden') is True


TABLE_ORDER = """(() => [...document.querySelectorAll('#status-table tbody tr')]
  .filter((row) => !row.hidden).map((row) => row.cells[%d].textContent))()"""


def test_tables_sort_and_filter(tmp_path: Path, browser: Browser) -> None:
    log = write_sample(tmp_path / "access.log")
    output = tmp_path / "report.html"
    assert cli("dashboard", str(log), "-o", str(output), "-q") == 0
    browser.open(output.as_uri())
    headings = browser.evaluate(
        "[...document.querySelectorAll('#status-table thead th')].map((th) => th.textContent)"
    )
    status_column = headings.index("status")
    shown = browser.evaluate(TABLE_ORDER % status_column)
    assert len(shown) == 6
    # a click on the heading sorts by status; a second click the other way
    click = (
        f"document.querySelectorAll('#status-table thead th')[{status_column}]"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )
    browser.evaluate(click)
    once = browser.evaluate(TABLE_ORDER % status_column)
    browser.evaluate(click)
    twice = browser.evaluate(TABLE_ORDER % status_column)
    assert sorted(once, key=int) in (once, list(reversed(once)))
    assert twice == list(reversed(once)) and sorted(once) == sorted(shown)
    # the filter box keeps the rows holding the typed text
    browser.evaluate(
        "(() => { const box = document.querySelector('#status-table').previousElementSibling;"
        " box.value = '502'; box.dispatchEvent(new Event('input')); })()"
    )
    assert browser.evaluate(TABLE_ORDER % status_column) == ["502"]
    assert browser.problems() == []
