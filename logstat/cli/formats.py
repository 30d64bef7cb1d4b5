"""`logstat formats`: the formats logstat reads, from the catalog (no polars needed)."""

from __future__ import annotations

import typer


def formats() -> None:
    """List the log formats logstat reads, with their named layouts."""
    from logstat import format_catalog  # not logstat.formats: listing them needs no polars

    for format in format_catalog.read():
        typer.echo(f"{format['name']}: {format['title']}")
        typer.echo(f"  status tables: {', '.join(format['vendors'])}, iana")
        for name, template in format["layouts"].items():
            typer.echo(f"  {name}: {template}")
