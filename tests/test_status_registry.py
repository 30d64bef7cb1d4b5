"""The vendor-aware status registry: its data files, `Registry.lookup` and `tag()`."""

from __future__ import annotations

import csv
import re
from importlib import resources
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logstat.status import Meaning, load_registry, producer_chain, status_class, tag
from logstat.status.details import explain

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
STATUS_FILES = resources.files("logstat.status")

# What the IIS format hands to tag(): its vendor family, most specific first.
IIS_CHAIN = ["iis", "iis_arr", "iis_ancm", "exchange", "microsoft"]
CHAINS: dict[str, list[str]] = {
    "nginx": ["nginx"],
    "apache": ["apache"],
    "iis": IIS_CHAIN,
    "alb": ["alb"],
    "cloudflare": ["cloudflare"],
    "arcgis": ["esri", "iis", "iis_arr", "iis_ancm"],
}


def read_table(filename: str) -> list[dict[str, str]]:
    text = STATUS_FILES.joinpath(filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


CODES = read_table("codes.csv")
OTHER_TABLES = [
    "win32.csv",
    "alb_error_reasons.csv",
    "alb_classification_reasons.csv",
    "haproxy_termination_states.csv",
    "haproxy_termination_flags.csv",
    "envoy_response_flags.csv",
    "envoy_response_code_details.csv",
    "cloudfront_result_types.csv",
    "caddy_error_traces.csv",
    "google_lb_status_details.csv",
    "azure_front_door_error_info.csv",
    "azure_app_gateway_error_info.csv",
]


def row_key(row: dict[str, str]) -> tuple[int, int | None, str]:
    return int(row["code"]), int(row["substatus"]) if row["substatus"] else None, row["vendor"]


# --- the data files -----------------------------------------------------------------


def test_codes_table_has_every_reference_row() -> None:
    reference_path = REFERENCE / "status-codes.csv"
    if not reference_path.exists():
        pytest.skip("shared/reference is not beside this checkout")
    with reference_path.open(newline="") as handle:
        reference = list(csv.DictReader(handle))
    assert len(reference) == 386
    ours = {row_key(row): row for row in CODES}
    for expected in reference:
        row = ours.get(row_key(expected))
        assert row is not None, f"missing {expected}"
        for field in ("name", "class", "source_url"):
            assert row[field] == expected[field], (field, expected)


def test_codes_table_shape() -> None:
    assert len(CODES) >= 386
    keys = [row_key(row) for row in CODES]
    assert len(keys) == len(set(keys)), "one row per (code, substatus, vendor)"
    for row in CODES:
        assert re.fullmatch(r"-?\d+", row["code"]), row
        assert row["code"] == str(int(row["code"])), "codes are plain integers (000 -> 0)"
        assert row["class"] == status_class(int(row["code"])), row


@pytest.mark.parametrize("filename", ["codes.csv", *OTHER_TABLES])
def test_every_meaning_is_a_short_sourced_sentence(filename: str) -> None:
    for row in read_table(filename):
        meaning = row["meaning"]
        assert meaning.strip() == meaning and meaning, row
        assert "\n" not in meaning and len(meaning) <= 110, row
        assert row["source_url"].startswith(("https://", "http://")), row
        label = row.get("name") or row.get("reason") or ""
        assert meaning.casefold() != label.casefold(), row


def test_wikipedia_only_rows_say_unverified() -> None:
    for row in CODES:
        unverified = "wikipedia.org" in row["source_url"]
        assert row["meaning"].endswith("(unverified)") == unverified, row


@pytest.mark.parametrize("filename", ["codes.csv", *OTHER_TABLES])
def test_meanings_are_not_copied_from_the_notes(filename: str) -> None:
    notes_path = REFERENCE / "status-notes.md"
    if not notes_path.exists():
        pytest.skip("shared/reference is not beside this checkout")

    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower())

    # No run of 7 words may be lifted from the research notes.
    span = 7
    notes = words(notes_path.read_text(encoding="utf-8"))
    lifted = {tuple(notes[i : i + span]) for i in range(len(notes) - span + 1)}
    for row in read_table(filename):
        meaning = words(row["meaning"])
        runs = {tuple(meaning[i : i + span]) for i in range(len(meaning) - span + 1)}
        assert not runs & lifted, (row, runs & lifted)


def test_side_tables_cover_the_notes() -> None:
    for code in (0, 2, 3, 5, 64, 121, 995, 1236, 1326, 50, 87, 1231, 1232):
        found = explain("win32_status", code)
        assert found is not None and (found.name or "").startswith("ERROR_"), code
    reasons = [
        *(f"Auth{suffix}" for suffix in ("InvalidCookie", "UserinfoResponseSizeExceeded")),
        "AWSALBTGCookieInvalid",
        "WeightedTargetGroupsUnhandledException",
        "LambdaInvalidResponse",
        "LambdaUnhandledException",
        "WAFServiceError",
    ]
    for reason in reasons:
        assert explain("error_reason", reason), reason
    assert len(read_table("alb_error_reasons.csv")) == 46
    assert len(read_table("alb_classification_reasons.csv")) == 19
    assert explain("classification_reason", "BothTeClPresent")
    assert explain("win32_status", 424242) is None
    assert explain("error_reason", "NoSuchReason") is None


# --- lookup -------------------------------------------------------------------------


def test_status_class() -> None:
    assert [status_class(code) for code in (100, 199, 404, 599)] == ["1xx", "1xx", "4xx", "5xx"]
    assert [status_class(code) for code in (0, 9, 99, 600, 783, 9999, -1)] == ["other"] * 7
    assert status_class(None) == "none"


def test_499_depends_on_the_vendor_order() -> None:
    registry = load_registry()
    assert registry.lookup(499, None, ["esri", "nginx"]).vendor == "esri"
    assert registry.lookup(499, None, ["nginx", "esri"]).vendor == "nginx"
    nginx = registry.lookup(499, None, ["nginx"])
    assert nginx.vendor == "nginx" and nginx.registered
    assert "token" in registry.lookup(499, None, ["esri", "nginx"]).meaning.lower()
    assert "token" not in nginx.meaning.lower()


def test_iis_substatus_exact_then_plain() -> None:
    registry = load_registry()
    listing = registry.lookup(403, 14, IIS_CHAIN)
    assert (listing.vendor, listing.substatus) == ("iis", 14)
    assert listing.name == "Directory listing denied"
    unknown_substatus = registry.lookup(403, 99, IIS_CHAIN)
    assert unknown_substatus.vendor in ("iis", "iana") and unknown_substatus.code == 403
    assert unknown_substatus.substatus is None and unknown_substatus.registered
    # A module's sub-status row beats core IIS's plain row even though "iis" is listed first.
    assert registry.lookup(500, 30, IIS_CHAIN).vendor == "iis_ancm"
    assert registry.lookup(400, 601, IIS_CHAIN).vendor == "iis_arr"
    assert registry.lookup(500, 19, IIS_CHAIN).vendor == "iis"


def test_exchange_451_is_not_a_legal_block() -> None:
    registry = load_registry()
    assert registry.lookup(451, 0, IIS_CHAIN).vendor == "exchange"
    assert registry.lookup(451, None, ["nginx"]).vendor == "iana"


def test_unregistered_codes_fall_back_to_their_class() -> None:
    registry = load_registry()
    teapot_range = registry.lookup(477, None, ["nginx"])
    assert teapot_range == Meaning(
        code=477,
        substatus=None,
        vendor="class",
        name="Unregistered",
        meaning="No known vendor defines 477; read it as a client error by its class.",
        status_class="4xx",
        source_url="",
        registered=False,
    )
    for code in (9999, 0, -7):
        meaning = registry.lookup(code, None, [])
        assert (meaning.vendor, meaning.status_class) == ("class", "other")
        assert not meaning.registered
    # 0 means something to nginx, ALB and Envoy, but nothing to IANA.
    assert registry.lookup(0, None, ["nginx"]).vendor == "nginx"


def test_by_code_lists_iana_first() -> None:
    rows = load_registry().by_code(499)
    vendors = [row.vendor for row in rows]
    assert {"nginx", "esri", "cloudflare", "haproxy"} <= set(vendors)
    assert "iana" not in vendors
    assert load_registry().by_code(404)[0].vendor == "iana"
    assert len(load_registry().by_code(403)) > 20  # IIS sub-statuses included
    assert load_registry().by_code(4242) == []


def test_vendors_are_known_for_validation() -> None:
    vendors = load_registry().vendors()
    assert {"nginx", "iana", "esri", "laravel", "iis_ancm", "alb", "cloudflare"} <= set(vendors)
    assert "class" not in vendors and vendors == sorted(vendors)


# --- tag ----------------------------------------------------------------------------


Tagged = tuple[str | None, str | None, str | None, bool | None]


def lookup_frame(frame: pl.DataFrame) -> list[Tagged]:
    """What tag() should produce, one Registry.lookup per row."""
    registry = load_registry()
    expected = []
    for row in frame.iter_rows(named=True):
        if row["status"] is None:
            expected.append((None, None, None, None))
            continue
        meaning = registry.lookup(row["status"], row["substatus"], CHAINS.get(row["source"], []))
        expected.append((meaning.name, meaning.meaning, meaning.vendor, meaning.registered))
    return expected


def tagged_rows(frame: pl.DataFrame) -> list[Tagged]:
    result = tag(frame.lazy(), CHAINS).collect()
    assert result.height == frame.height
    assert result.select(frame.columns).equals(frame), "input columns and row order unchanged"
    assert result.schema["status_registered"] == pl.Boolean
    columns = ["status_name", "status_meaning", "status_vendor", "status_registered"]
    return list(result.select(columns).iter_rows())


# Codes that matter (registered somewhere, pseudo-codes) mixed with arbitrary ones.
registered_codes = sorted({int(row["code"]) for row in CODES})
codes = st.one_of(st.sampled_from(registered_codes), st.integers(-5, 1100), st.none())
substatuses = st.one_of(st.none(), st.sampled_from([0, 1, 2, 5, 14, 19, 30, 99, 601]))
sources = st.one_of(st.sampled_from([*CHAINS, "elb", "unknown"]), st.none())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(sources, codes, substatuses), max_size=40))
def test_tag_agrees_with_lookup(rows: list[tuple[str | None, int | None, int | None]]) -> None:
    frame = pl.DataFrame(
        rows,
        schema={"source": pl.String, "status": pl.Int16, "substatus": pl.Int32},
        orient="row",
    ).with_row_index("line_no")
    assert tagged_rows(frame) == lookup_frame(frame)


def test_tag_examples_and_nulls() -> None:
    frame = pl.DataFrame(
        {
            "source": ["nginx", "arcgis", "iis", "iis", "alb", None, "nginx", "nginx"],
            "status": [499, 499, 403, 403, 502, 404, None, 9999],
            "substatus": [None, None, 14, 99, None, None, None, None],
        },
        schema={"source": pl.String, "status": pl.Int16, "substatus": pl.Int32},
    )
    tagged = tag(frame.lazy(), CHAINS).collect()
    assert tagged["status_vendor"].to_list() == [
        "nginx", "esri", "iis", "iis", "alb", "iana", None, "class",
    ]  # fmt: skip
    assert tagged["status_name"][2] == "Directory listing denied"
    assert tagged["status_registered"].to_list() == [True] * 6 + [None, False]
    assert tagged.row(6)[3:] == (None, None, None, None)


def test_tag_without_substatus_and_with_prefix() -> None:
    frame = pl.LazyFrame(
        {"source": ["alb", "cloudflare", "alb"], "upstream_status": [None, 0, 502]},
        schema={"source": pl.String, "upstream_status": pl.Int16},
    )
    tagged = tag(frame, CHAINS, status="upstream_status", substatus=None, prefix="upstream")
    assert isinstance(tagged, pl.LazyFrame)
    result = tagged.collect()
    assert result.columns == [
        "source",
        "upstream_status",
        "upstream_name",
        "upstream_meaning",
        "upstream_vendor",
        "upstream_registered",
    ]
    assert result["upstream_vendor"].to_list() == [None, "cloudflare", "alb"]


def test_tag_with_no_known_sources_uses_iana() -> None:
    frame = pl.LazyFrame({"source": ["nginx", "x"], "status": [499, 404], "substatus": [None, 0]})
    result = tag(frame, {}).collect()
    assert result["status_vendor"].to_list() == ["class", "iana"]


def test_tag_streaming_keeps_order_and_count() -> None:
    count = 50_000
    numbers = range(count)
    frame = pl.LazyFrame(
        {
            "source": ["nginx", "iis", "alb", "other", None] * (count // 5),
            "status": [number % 700 for number in numbers],
            "substatus": [number % 40 for number in numbers],
        },
        schema={"source": pl.String, "status": pl.Int16, "substatus": pl.Int32},
    ).with_row_index("line_no")
    result = tag(frame, CHAINS).collect(engine="streaming")
    assert result.height == count
    assert result["line_no"].to_list() == list(range(count))
    assert result["status_meaning"].null_count() == 0


# --- meanings by who produced the status ------------------------------------------------

# Per source, the tables of the layer that wrote the log (Format.vendors)
OWN: dict[str, list[str]] = {
    "nginx": ["nginx"],
    "apache": ["apache"],
    "iis": IIS_CHAIN,
    "alb": ["alb"],
    "cloudflare": ["cloudflare"],
    "arcgis": ["iis", "iis_arr", "iis_ancm"],  # IIS in front of an ArcGIS app (--vendor esri)
}


def test_producer_chain_drops_the_proxys_tables_for_upstream_statuses() -> None:
    chain = ["esri", "nginx"]
    assert producer_chain(chain, ["nginx"], "upstream") == ("esri",)
    assert producer_chain(chain, ["nginx"], "proxy") == ("nginx", "esri")
    assert producer_chain(chain, ["nginx"], "unknown") == ("esri", "nginx")
    assert producer_chain(chain, ["nginx"], None) == ("esri", "nginx")


@pytest.mark.parametrize(
    ("code", "source", "producer", "vendor"),
    [
        (502, "alb", "proxy", "alb"),  # target `-`: the ALB got no usable response
        (502, "alb", "upstream", "iana"),  # the target's own 502, passed on
        (400, "alb", "upstream", "iana"),  # not "ALB rejected the request"
        (500, "alb", "upstream", "iana"),  # not "ALB-side failure"
        (502, "elb", "proxy", "elb"),
        (502, "elb", "upstream", "iana"),
        (522, "cloudflare", "proxy", "cloudflare"),  # produced at the edge
        (403, "cloudflare", "upstream", "iana"),  # the origin's 403, not a WAF block
        (502, "cloudflare", "unknown", "cloudflare"),  # branded or not: Cloudflare's row says
        (499, "nginx", "proxy", "nginx"),
        (502, "nginx", "proxy", "nginx"),
        (502, "nginx", "upstream", "iana"),
        (400, "nginx", "upstream", "iana"),
    ],
)
def test_meaning_follows_the_producer(code: int, source: str, producer: str, vendor: str) -> None:
    chains = {"alb": ["alb"], "elb": ["elb"], "cloudflare": ["cloudflare"], "nginx": ["nginx"]}
    frame = pl.LazyFrame(
        {"source": [source], "status": [code], "produced_by": [producer]},
        schema={"source": pl.String, "status": pl.Int16, "produced_by": pl.String},
    )
    tagged = tag(frame, chains, substatus=None, produced_by="produced_by", own_vendors=chains)
    found = tagged.collect().row(0, named=True)
    assert found["status_vendor"] == vendor
    meaning = load_registry().lookup(code, None, [vendor] if vendor != "iana" else [])
    assert found["status_meaning"] == meaning.meaning
    assert meaning.source_url.startswith("https://")


def test_an_apps_vendor_table_reads_what_the_upstream_sent() -> None:
    """--vendor esri: an upstream 499 is ArcGIS's; nginx's own 499 stays nginx's."""
    frame = pl.LazyFrame(
        {
            "source": ["nginx"] * 3,
            "status": [499] * 3,
            "produced_by": ["upstream", "proxy", "unknown"],
        }
    )
    chains = {"nginx": ["esri", "nginx"]}
    tagged = tag(
        frame, chains, substatus=None, produced_by="produced_by", own_vendors={"nginx": ["nginx"]}
    )
    assert tagged.collect()["status_vendor"].to_list() == ["esri", "nginx", "esri"]


producers = st.one_of(st.sampled_from(["proxy", "upstream", "unknown"]), st.none())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(sources, codes, substatuses, producers), max_size=40))
def test_tag_by_producer_agrees_with_lookup(
    rows: list[tuple[str | None, int | None, int | None, str | None]],
) -> None:
    frame = pl.DataFrame(
        rows,
        schema={
            "source": pl.String,
            "status": pl.Int16,
            "substatus": pl.Int32,
            "produced_by": pl.String,
        },
        orient="row",
    )
    result = tag(frame.lazy(), CHAINS, produced_by="produced_by", own_vendors=OWN).collect()
    assert result.select(frame.columns).equals(frame)
    registry = load_registry()
    for row in result.iter_rows(named=True):
        if row["status"] is None:
            assert row["status_vendor"] is None
            continue
        source = row["source"] or ""
        chain = producer_chain(CHAINS.get(source, []), OWN.get(source, []), row["produced_by"])
        meaning = registry.lookup(row["status"], row["substatus"], chain)
        assert (row["status_name"], row["status_meaning"], row["status_vendor"]) == (
            meaning.name,
            meaning.meaning,
            meaning.vendor,
        )
