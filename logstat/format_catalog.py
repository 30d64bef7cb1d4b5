"""The formats and named layouts `logstat formats` lists, kept as a JSON file.

The parsers import polars, which takes longer to load than `logstat formats`
takes to run, so the listing reads `format_catalog.json` instead of importing
them.  The file is written from `logstat.formats.FORMATS`:

    python3 -m logstat.format_catalog

and tests/test_cli.py fails when it no longer matches.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

RESOURCE = "format_catalog.json"  # inside the logstat package


def read() -> list[dict[str, Any]]:
    """[{name, title, vendors, layouts}] for every format, in detection order."""
    text = resources.files("logstat").joinpath(RESOURCE).read_text(encoding="utf-8")
    entries: list[dict[str, Any]] = json.loads(text)
    return entries


def build() -> list[dict[str, Any]]:
    """The catalog as the format modules define it (imports polars)."""
    from logstat.formats import FORMATS

    return [
        {
            "name": format.name,
            "title": format.title,
            "vendors": list(format.vendors),
            "layouts": dict(format.layouts),
        }
        for format in FORMATS
    ]


def render(entries: list[dict[str, Any]]) -> str:
    return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"


def write() -> Path:
    path = Path(__file__).with_name(RESOURCE)
    path.write_text(render(build()), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write()}")
