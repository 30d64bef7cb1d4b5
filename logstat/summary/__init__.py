"""Summaries: parsed lines folded into counts that merge, then made into the report.

    partial = PartialSummary(settings)
    for frame in frames:          # pipeline.read, chunk by chunk
        partial.add(frame)
    partial.add_files(runs)       # the files those frames came from
    report = partial.summary(vendors)

A partial summary merges exactly with another of the same settings
(`merge`, `fold`): chunks of a file, files, or tasks on other machines.
`summarize_frames` does the above in one call.
"""

from logstat.summary.partial import PartialSummary, fold, summarize_frames
from logstat.summary.settings import (
    CLASS_ORDER,
    DRILLABLE,
    LAYERS,
    TOP_FIELDS,
    ReportSettings,
    parse_choice,
    parse_top_fields,
)

__all__ = [
    "CLASS_ORDER",
    "DRILLABLE",
    "LAYERS",
    "TOP_FIELDS",
    "PartialSummary",
    "ReportSettings",
    "fold",
    "parse_choice",
    "parse_top_fields",
    "summarize_frames",
]
