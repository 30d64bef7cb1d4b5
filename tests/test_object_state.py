"""The record of objects read (--state over object storage) forgets nothing it must keep."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from logstat.errors import LogstatError
from logstat.reading.object_state import ObjectLedger

DAY = "s3://b/AWSLogs/1/elasticloadbalancing/r/2026/12/01"


def key(balancer: str, time: str, node: str) -> str:
    return f"{DAY}/1_elasticloadbalancing_r_app.{balancer}.id_20261201T{time}Z_{node}_x.log.gz"


def test_a_late_delivery_sorting_before_what_was_read_is_still_unread() -> None:
    # two load balancers in one folder, and a node that delivers its 10:05 file late
    read = [key("lb2", "1000", "10.0.0.1"), key("lb1", "1010", "10.0.0.1")]
    ledger = ObjectLedger().after(read)
    late = [key("lb1", "1005", "10.0.0.2"), key("lb1", "1000", "10.0.0.9")]
    assert [url for url in late if not ledger.read(url)] == late
    assert all(ledger.read(url) for url in read)


def test_the_ledger_round_trips_and_forgets_only_folders_before_since() -> None:
    other = "s3://b/AWSLogs/1/elasticloadbalancing/r/2026/12/03/a.log.gz"
    flat = "s3://b/cloudfront/E1.2026-11-01-10.abc.gz"
    ledger = ObjectLedger().after([key("lb", "1000", "n"), other, flat])
    again = ObjectLedger.load(ledger.to_json())
    assert again == ledger
    kept = again.after([], since=datetime(2026, 12, 2, 12, tzinfo=UTC))
    assert not kept.read(key("lb", "1000", "n"))  # its folder ends before --since
    assert kept.read(other) and kept.read(flat)  # a folder that is no date is kept


@pytest.mark.parametrize("document", [{"version": 2, "folders": {}}, {"folders": []}, [1]])
def test_a_damaged_section_is_an_error(document: object) -> None:
    with pytest.raises(LogstatError, match="damaged 'objects' section"):
        ObjectLedger.load(document)
