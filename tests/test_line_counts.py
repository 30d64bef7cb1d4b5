"""Line counts add field by field: every field, so a field added later is not lost."""

from __future__ import annotations

import dataclasses

from logstat.line_counts import LineCounts


def test_every_field_adds() -> None:
    names = [field.name for field in dataclasses.fields(LineCounts)]
    one = LineCounts(*range(1, len(names) + 1))
    other = LineCounts(*range(10, 10 * (len(names) + 1), 10))
    one.add(other)
    assert [getattr(one, name) for name in names] == [11 * n for n in range(1, len(names) + 1)]
    total = LineCounts.total([LineCounts(*[1] * len(names))] * 3)
    assert total == LineCounts(*[3] * len(names))
