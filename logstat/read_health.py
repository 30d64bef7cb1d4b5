"""Whether a run's counts say anything: a run where no line parsed, or where most
records have no status, read the logs with the wrong format far more often than it
read real logs.  Such a run still prints its summary (which shows why lines were
rejected), but ends with ExitCode.UNPARSED and a loud message, and its --fail-if
rules are not judged.

"Most" is more than half of the records read (before filters).  A real access log
has a status on (nearly) every request: nginx, Apache, IIS and Cloudflare always
log one, ALB and ELB log `-` only for requests cut off before a response.  A
wrong layout that puts a `-` field (a referer, a user name) where the status
belongs gives no status to most lines it does not reject.
"""

from __future__ import annotations

from fractions import Fraction

import polars as pl

from logstat import schema

MOST = Fraction(1, 2)  # records without a status above this share: the run is in doubt
HINT = "is the format right? (see --format and --log-format)"


def doubt(records: int, rejected: int, without_status: int) -> str | None:
    """Why the run's counts cannot be trusted, or None when they can.

    `records` and `without_status` count every parsed record (before filters), and
    `rejected` the lines that did not parse; comment and blank lines count for nothing.
    """
    if records == 0 and rejected > 0:
        lines = "line" if rejected == 1 else "lines"
        return f"none of the {rejected:,} {lines} read parsed (the summary says why): {HINT}"
    if records and Fraction(without_status, records) > MOST:
        share = 100 * without_status / records
        return f"{without_status:,} of {records:,} records ({share:.1f}%) have no status: {HINT}"
    return None


class StatusTally:
    """What `doubt` needs of a run, counted chunk by chunk (export, ingest)."""

    def __init__(self) -> None:
        self.records = 0
        self.without_status = 0

    def add(self, frame: pl.DataFrame) -> None:
        records = frame.filter(pl.col(schema.LINE_KIND) == schema.RECORD)
        self.records += records.height
        if "status" in records.columns:
            self.without_status += records["status"].null_count()
        else:
            self.without_status += records.height

    def doubt(self, rejected: int) -> str | None:
        return doubt(self.records, rejected, self.without_status)
