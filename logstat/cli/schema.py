"""`logstat schema`: the JSON Schema of `summary --json`, as shipped."""

from __future__ import annotations

import sys


def schema() -> None:
    """Print the JSON Schema of `summary --json` (the file shipped with logstat)."""
    from importlib import resources

    from logstat.report.model import SCHEMA_RESOURCE

    sys.stdout.write(resources.files("logstat").joinpath(SCHEMA_RESOURCE).read_text("utf-8"))
