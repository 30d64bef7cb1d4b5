"""The `logstat` command: one module per command over the library (logstat/library.py).

app.py       the typer app: names the commands, `logstat FILE` means summary
program.py   main(): runs a command, turns errors into one line and an exit code;
             run(): the program itself (console script, python -m logstat)
options.py   the option types every command shares, declared once
progress.py  the progress bar;  messages.py  what goes on stderr
summary.py (summary and report), export.py, lines.py, codes.py, formats.py,
schema.py, ingest.py, dashboard.py, diff.py, follow.py (the live view): the commands,
none importing another
"""

from logstat.cli.app import app
from logstat.cli.program import main, run

__all__ = ["app", "main", "run"]
