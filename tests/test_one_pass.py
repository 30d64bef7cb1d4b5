"""The AWS layouts' regexes stay one-pass (formats/aws.py): the next byte always
decides the way on, so polars' regex engine captures with its fast one-pass engine."""

from __future__ import annotations

import pytest

from logstat.formats import alb, aws, elb
from logstat.formats.aws import FieldLayout
from tests.one_pass import ambiguities

# How target:port_list was once written: `[^ "]+` could take the `:` that starts
# `:[0-9]+`, which made the whole ALB capture fall back to the slow engine.
AMBIGUOUS_TARGETS = r'-|[^ "]+:[0-9]+(?: [^ "]+:[0-9]+)*'


def test_the_check_finds_two_ways_on_for_one_byte() -> None:
    assert ambiguities(r"^(?:x|[a-z]y)$")
    assert ambiguities(f"^(?:{AMBIGUOUS_TARGETS})$")
    assert ambiguities(r"^(?:[0-9]+|-)(?: [0-9]+)?(?: [^ ]+)?$")  # a number or a token?
    assert not ambiguities(r"^a[^ ]+ (?:-|[0-9]{1,4}) b$")
    assert not ambiguities(f"^(?:{aws.TARGETS})$")


@pytest.mark.parametrize("layout", [alb.LAYOUT, elb.LAYOUT], ids=lambda layout: layout.source)
@pytest.mark.parametrize("mode", ["strict", "shaped", "loose", "loose-shaped"])
def test_the_regexes_that_read_most_lines_are_one_pass(layout: FieldLayout, mode: str) -> None:
    # the capture batches the summary and an export use: a group changes no way on,
    # but each batch's regex is checked as it is compiled
    names = [item.name for item in layout.fields]
    batches = [names[start : start + aws.BATCH] for start in range(0, len(names), aws.BATCH)]
    for batch in [[], *batches]:
        regex = layout.regex(frozenset(batch), mode)  # type: ignore[arg-type]
        assert ambiguities(regex) == [], (layout.source, mode, batch)
