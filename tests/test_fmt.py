"""One number formatter for every coin (liqmap.units), used by texts, alerts, axes and captions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.clock import zone_info
from bot.views import alert_message, fmt
from bot.views.summary import caption_html, summary_text
from liqmap import units
from tests.scaled import DOGE, PEPE, scaled_report


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (116_605.3, "116,605.3"),  # BTC
        (116_605.34, "116,605.3"),
        (2_431.55, "2,431.55"),  # ETH
        (231.456, "231.456"),
        (12.3456, "12.3456"),
        (0.16052, "0.16052"),  # DOGE
        (0.160520, "0.16052"),
        (0.0000116605, "0.0000116605"),  # PEPE
        (0.00001247, "0.00001247"),
        (1_000_000.0, "1,000,000.0"),
        (-0.5, "-0.5"),
        (0.0, "0"),
        (float("nan"), "n/a"),
        (None, "n/a"),
    ],
)
def test_price_table(x: float | None, expected: str) -> None:
    assert units.price(x) == expected
    assert fmt.price is units.price and alert_message.fmt is fmt  # one implementation


@pytest.mark.parametrize(
    ("x", "step", "expected"),
    [
        (116_000.0, 2_000.0, "116,000"),
        (0.155, 0.005, "0.155"),
        (0.16, 0.005, "0.160"),
        (0.0000115, 0.0000005, "0.0000115"),
        (0.0, 0.0000005, "0"),
    ],
)
def test_axis_ticks_carry_the_decimals_their_step_needs(
    x: float, step: float, expected: str
) -> None:
    assert units.price_tick(x, step) == expected


def test_amounts_percentages_and_relative_units() -> None:
    assert units.usd(950) == "$950"
    assert units.usd(12_345) == "$12.3K"
    assert units.usd(4_560_000) == "$4.56M"
    assert units.usd(-1.2e9) == "-$1.2B"
    assert units.notional(1.35e9, relative=True) == "1.35B rel."
    assert units.axis_amount(2e6, relative=True) == "2M"
    assert units.pct(2.411) == "+2.41%" and units.pct(2.411, signed=False) == "2.41%"
    assert fmt.usd is units.usd and fmt.pct is units.pct


@pytest.mark.parametrize(
    ("coin", "factor", "price"), [("DOGE", DOGE, "0.16052"), ("PEPE", PEPE, "0.0000116605")]
)
def test_scaled_real_maps_read_without_exponents(coin: str, factor: float, price: str) -> None:
    r = scaled_report(f"{coin}/USDT:USDT", factor)
    text = summary_text(r) + caption_html(r)
    assert f"Price {price}" in text
    assert not re.search(r"\d[eE][+-]?\d", text)  # never 1.16605e-05
    below, above = r.nearest(2)
    for c in below + above:  # each nearest cluster's edges with their significant digits
        assert f"{units.price(c.near_edge())} - {units.price(c.far_edge())}" in text


@pytest.mark.parametrize(
    ("symbol", "shown"),
    [
        ("BTC/USDT:USDT", "BTC"),  # the bot's usual market: the trader's name for it
        ("BTC/USDC:USDC", "BTC (USDC)"),
        ("BTC/USD:BTC", "BTC (USD, BTC-settled)"),
        ("BTC/USDT", "BTC (USDT spot)"),
        ("BTC", "BTC"),
    ],
)
def test_a_market_is_named_as_traders_name_it_and_never_ambiguously(
    symbol: str, shown: str
) -> None:
    assert fmt.market(symbol) == shown


def test_a_typed_offset_reads_back_as_typed_and_stored_city_zones_still_work() -> None:
    assert fmt.when(0, "UTC+05:30", "%H:%M %Z") == "05:30 UTC+05:30"
    assert fmt.when(0, "UTC-09:30", "%H:%M %Z") == "14:30 UTC-09:30"
    assert fmt.when(0, "Asia/Kolkata", "%H:%M %Z") == "05:30 Asia/Kolkata"  # stored before
    assert fmt.zone_label("UTC+05:30") == "UTC+05:30"
    assert zone_info("UTC+05:30").utcoffset(None) == timedelta(hours=5, minutes=30)
    for bad in ("UTC+15:00", "UTC+05:75", "UTC+5:30", "Mars/Olympus"):
        with pytest.raises((ValueError, KeyError)):
            zone_info(bad)
