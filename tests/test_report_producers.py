"""Every view shows a status row per (status, producer), each with its own meaning."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from logstat.report.markdown import render_markdown
from logstat.report.model import StatusRow, Summary
from logstat.report.text import render_plain, render_rich
from logstat.summary import ReportSettings
from tests.helpers import summarise

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ALB_LOG = FIXTURES / "alb" / "produced_by.log"

ALB_OWN_502 = "The load balancer got no usable response from the target"
PLAIN_502 = "A gateway or proxy received an invalid response from the upstream server"


def rows(summary: Summary) -> dict[tuple[int | None, str | None], StatusRow]:
    return {(row.status, row.produced_by): row for row in summary.statuses}


def alb_summary() -> Summary:
    return summarise([ALB_LOG], ReportSettings(), format=None)


def test_alb_statuses_split_by_producer() -> None:
    found = rows(alb_summary())
    assert ALB_OWN_502 in (found[502, "proxy"].meaning or "")
    assert found[502, "upstream"].vendor == "iana"
    assert PLAIN_502 in (found[502, "upstream"].meaning or "")
    assert (found[502, "proxy"].proxy, found[502, "upstream"].upstream) == (3, 1)
    assert found[500, "upstream"].vendor == "iana"  # the target's 500, not an ALB-side failure


def test_text_rich_and_markdown_show_both_rows() -> None:
    summary = alb_summary()
    plain = render_plain(summary)
    buffer = io.StringIO()
    render_rich(summary, Console(file=buffer, width=400, color_system=None))
    rich = buffer.getvalue()
    markdown = render_markdown(summary)
    for text in (plain, rich, markdown):
        lines = [line for line in text.splitlines() if "502" in line and "Bad" in line]
        own = [line for line in lines if "ALB" in line and ALB_OWN_502 in line]
        passed = [line for line in lines if "target" in line and PLAIN_502 in line]
        assert len(own) == 1 and len(passed) == 1, text


def test_json_rows_carry_the_producer() -> None:
    document = alb_summary().to_json()
    by_producer = {
        (row["status"], row["produced_by"]): row["vendor"] for row in document["statuses"]
    }
    assert by_producer[502, "proxy"] == "alb" and by_producer[502, "upstream"] == "iana"


def test_cloudflare_edge_and_origin(tmp_path: Path) -> None:
    """522 with origin status 0 was produced at the edge; a 500 or 403 the origin sent is
    the origin's, not Cloudflare's."""
    entries = [
        {"EdgeResponseStatus": 522, "OriginResponseStatus": 0},
        {"EdgeResponseStatus": 500, "OriginResponseStatus": 500},
        {"EdgeResponseStatus": 403, "OriginResponseStatus": 403},
        {"EdgeResponseStatus": 403, "OriginResponseStatus": 0, "SecurityAction": "block"},
    ]
    log = tmp_path / "cloudflare.ndjson"
    log.write_text(
        "".join(
            json.dumps(
                {
                    "ClientIP": "198.51.100.1",
                    "ClientRequestMethod": "GET",
                    "ClientRequestURI": "/",
                    "EdgeStartTimestamp": f"2024-05-01T10:00:0{index}Z",
                    "RayID": f"8a1b00000000010{index}",
                    **entry,
                }
            )
            + "\n"
            for index, entry in enumerate(entries)
        )
    )
    summary = summarise([log], ReportSettings(), format=None)
    found = rows(summary)
    assert found[522, "proxy"].vendor == "cloudflare"
    assert found[500, "upstream"].vendor == "iana"
    assert (found[403, "proxy"].vendor, found[403, "upstream"].vendor) == ("cloudflare", "iana")
    plain = render_plain(summary)
    assert any(line.startswith("522") and " edge " in line for line in plain.splitlines())
    assert any(line.startswith("500") and " origin " in line for line in plain.splitlines())
