"""`logstat codes`: codes, IIS status.substatus and classes, and readings by producer."""

from __future__ import annotations

import csv
import json

import pytest

from logstat.errors import LogstatError
from logstat.status import load_registry
from logstat.status.explain import Reading, explain, parse_term
from tests.helpers import run_cli

ALB = ("alb", ("alb",))
NGINX = ("nginx", ("nginx",))


def by_producer(readings: list[Reading]) -> dict[str | None, Reading]:
    return {reading.produced_by: reading for reading in readings}


def test_terms() -> None:
    assert parse_term("502").code == 502
    assert (parse_term("500.19").code, parse_term("500.19").substatus) == (500, 19)
    assert parse_term("000").code == 0
    assert parse_term("5XX").status_class == "5xx"
    for bad in ("abc", "5x", "6xx", "500.", "1.2.3", ""):
        with pytest.raises(LogstatError):
            parse_term(bad)


def test_a_source_shows_its_own_reading_and_the_passed_on_one() -> None:
    readings = by_producer(explain(["502"], load_registry(), ALB))
    assert set(readings) == {"proxy", "upstream"}
    own, passed = readings["proxy"], readings["upstream"]
    assert (own.meaning.vendor, own.by) == ("alb", "ALB")
    assert "load balancer" in own.meaning.meaning
    assert (passed.meaning.vendor, passed.by) == ("iana", "target")
    assert passed.meaning.name == "Bad Gateway"
    assert all(reading.meaning.source_url.startswith("https://") for reading in readings.values())


def test_the_apps_vendor_reads_what_was_passed_on() -> None:
    readings = by_producer(explain(["499"], load_registry(), NGINX, ("esri",)))
    assert readings["proxy"].meaning.vendor == "nginx"
    assert readings["upstream"].meaning.vendor == "esri"


def test_an_iis_substatus() -> None:
    [reading] = explain(["500.19"], load_registry())
    assert (reading.meaning.code, reading.meaning.substatus, reading.meaning.vendor) == (
        500,
        19,
        "iis",
    )
    # an unknown sub-status reads as its plain code, as a summary reads it
    plain = explain(["403.99"], load_registry())
    assert plain and all(reading.meaning.substatus is None for reading in plain)
    assert {reading.meaning.vendor for reading in plain} >= {"iana", "iis"}


def test_a_class_lists_its_codes() -> None:
    registry = load_registry()
    readings = explain(["5xx"], registry)
    codes = {reading.meaning.code for reading in readings}
    assert {500, 502, 503, 504, 522, 561} <= codes
    assert all(500 <= code <= 599 for code in codes)
    assert all(reading.meaning.substatus is None for reading in readings)
    # with a source: the codes its tables and IANA know, split only where the reading differs
    alb = explain(["5xx"], registry, ALB)
    alb_codes = [reading.meaning.code for reading in alb]
    assert 522 not in alb_codes and 561 in alb_codes
    assert alb_codes.count(502) == 2 and alb_codes.count(505) == 2
    assert alb_codes.count(508) == 1  # ALB has no 508 of its own: one reading
    assert [reading.produced_by for reading in alb if reading.meaning.code == 508] == [None]


def test_cli_codes_forms() -> None:
    code, out, err = run_cli("codes", "502", "--source", "alb")
    assert code == 0, err
    rows = list(csv.reader(out.splitlines(), delimiter="\t"))
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("502", "ALB (own status)", "alb"),
        ("502", "target (passed on by ALB)", "iana"),
    ]
    code, out, err = run_cli("codes", "500.19", "5xx", "--json")
    assert code == 0, err
    found = json.loads(out)
    assert found[0]["query"] == "500.19" and (found[0]["code"], found[0]["substatus"]) == (500, 19)
    assert {row["query"] for row in found[1:]} == {"5xx"}
    assert {row["status_class"] for row in found[1:]} == {"5xx"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["codes", "5x"], "not a status code"),
        (["codes", "502", "--source", "squid"], "--source"),
        (["codes", "499", "--vendor", "acme"], "unknown vendor"),
    ],
)
def test_cli_codes_usage_errors(args: list[str], message: str) -> None:
    code, out, err = run_cli(*args)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
