"""`logstat codes`: what status codes mean, by vendor, with sources (library.meaning)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from logstat.cli.options import VendorOption


def codes(
    code: Annotated[
        list[str],
        typer.Argument(
            help="Status codes (499 502 000), IIS status.substatus (500.19), classes (5xx), "
            "or values logged beside them (HAProxy CD--, ALB error_reason)."
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Read the codes as a summary of this log source does (alb, nginx ...): as "
            "its own status and as one passed on from the server behind it.",
        ),
    ] = None,
    vendors: VendorOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show what a status code means for each vendor that defines it, with sources."""
    from dataclasses import asdict

    from logstat.library import meaning
    from logstat.status.details import DetailReading
    from logstat.status.explain import describe_by, status_text

    readings = [
        reading for term in code for reading in meaning(term, source=source, vendors=vendors or ())
    ]
    name = source.lower() if source is not None else None
    if json_output:
        found = [
            {"query": reading.term, "layer": reading.layer, "vendor": reading.vendor}
            | asdict(reading.explained)
            if isinstance(reading, DetailReading)
            else {
                "query": reading.term,
                **asdict(reading.meaning),
                "produced_by": reading.produced_by,
            }
            for reading in readings
        ]
        sys.stdout.write(json.dumps(found, indent=2) + "\n")
        return
    headers = ["code", *(["by"] if name else []), "vendor", "name", "meaning", "source"]
    rows = [
        [
            reading.term,
            *(["-"] if name else []),
            reading.vendor,
            reading.explained.name or reading.label,
            reading.explained.meaning,
            reading.explained.source_url,
        ]
        if isinstance(reading, DetailReading)
        else [
            status_text(reading.meaning.code)
            + (f".{reading.meaning.substatus}" if reading.meaning.substatus is not None else ""),
            *([describe_by(reading, name)] if name else []),
            reading.meaning.vendor,
            reading.meaning.name,
            reading.meaning.meaning,
            reading.meaning.source_url or "-",
        ]
        for reading in readings
    ]
    if not sys.stdout.isatty():
        for row in rows:
            sys.stdout.write("\t".join(row) + "\n")
        return
    from logstat.cli.messages import stdout_console
    from logstat.report.fit import DATA, PROSE, Layout
    from logstat.report.text import MEANING, Section, print_section

    layout = Layout(
        {"by": PROSE, "name": PROSE, "meaning": PROSE, "source": DATA}, ("source",), MEANING
    )
    section = Section("", headers, rows, layout=layout)
    print_section(stdout_console(), section, "--json shows every column")
