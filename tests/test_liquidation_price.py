"""The liquidation-price formula against cited values."""

from __future__ import annotations

import pytest

from liqmap import brackets_for, liquidation_price, position_liquidation_price
from liqmap.brackets import DEFAULT_BRACKETS, bracket_for, unified_symbol


def test_binance_worked_example_tier_one() -> None:
    # Binance's worked example (docs/model.md §2.4): E 60,000, 20x, mmr 0.4%, cum 0
    assert float(liquidation_price(60_000, 20, "long", 0.004)) == pytest.approx(57_228.9, abs=0.05)
    assert float(liquidation_price(60_000, 20, "short", 0.004)) == pytest.approx(62_749.0, abs=0.05)


def test_higher_bracket_with_maintenance_amount() -> None:
    # BTC bracket 4 of Binance's table: notional 3M-12M, mmr 1%, cum 12,000 (bundled brackets).
    # Expected value from Binance's published form of the formula, written independently:
    # LP = (WB + cum - side*Q*E) / (Q*mmr - side*Q), WB = N/L, Q = N/E, side = +1 long / -1 short
    entry, lev, notional = 60_000.0, 20.0, 5_000_000.0
    brackets, bundled = brackets_for("BTC")
    bracket, n = bracket_for(brackets, notional, lev)
    assert bundled and (bracket.mmr, bracket.cum) == (0.01, 12_000.0) and n == notional
    q, wb = notional / entry, notional / lev
    expected_long = (wb + 12_000 - q * entry) / (q * 0.01 - q)  # 57,430.30
    expected_short = (wb + 12_000 + q * entry) / (q * 0.01 + q)  # 62,803.96
    assert expected_long == pytest.approx(57_430.30, abs=0.01)
    got_long = position_liquidation_price("BTC", entry, lev, "long", notional)
    got_short = position_liquidation_price("BTC", entry, lev, "short", notional)
    assert got_long == pytest.approx(expected_long, rel=1e-12)
    assert got_short == pytest.approx(expected_short, rel=1e-12)


def test_seed_shorthand_is_the_zero_mmr_case() -> None:
    # The seeds' E * (1 - 1/L) is the formula with mmr = 0 and cum = 0.
    assert float(liquidation_price(50_000, 10, "long", 0.0)) == pytest.approx(45_000)


def test_leverage_caps_notional_to_an_allowed_bracket() -> None:
    brackets, _ = brackets_for("BTC/USDT:USDT")
    bracket, n = bracket_for(brackets, 50_000_000, 100)  # 100x is allowed only up to 800K
    assert bracket.max_leverage >= 100 and n < 800_000


def test_unknown_symbol_uses_documented_default() -> None:
    brackets, bundled = brackets_for("PEPE")
    assert not bundled and brackets == DEFAULT_BRACKETS


@pytest.mark.parametrize(
    "text", ["BTC", "btc", "BTCUSDT", "btcusdt", "BTC/USDT", "BTC/USDT:USDT", " btc/usdt:usdt "]
)
def test_symbol_spellings(text: str) -> None:
    assert unified_symbol(text) == "BTC/USDT:USDT"


@pytest.mark.parametrize("lev", [0, -5, float("inf"), float("nan")])
def test_bad_leverage_is_rejected(lev: float) -> None:
    with pytest.raises(ValueError):
        liquidation_price(60_000, lev, "long", 0.004)
