"""Resting stops at swing extremes and round numbers
(``liqmap.stops``; off = the map as before, on = the documented amounts at the right prices)."""

from __future__ import annotations

import numpy as np
import pytest

from grading.hourly import hour_views
from grading.skill import traversed_notional
from liqmap import ModelInputError, ModelSettings, build_map
from liqmap.stops import spread_beyond, unrevisited_extremes
from tests.conftest import make_candles

HOUR = 3_600_000
# Down to 97 (candles 2-3), up to 102 (candles 5-6), back to 100. With no wicks the lows are
# 100 99 97 97 99 101 101 100 100 100 (open = previous close; the tests spell them out).
CLOSES = [100.0, 99.0, 97.0, 99.0, 101.0, 102.0, 101.0, 100.0, 100.0, 100.0]
OI = [1000.0 + 10 * i for i in range(len(CLOSES))]


def test_unrevisited_swings_are_the_extremes_price_has_not_traded_back_to() -> None:
    c = make_candles(CLOSES, spread=0.0)
    # Lows 100 99 97 97 99 101 101 100 100 100: candle 3's 97 was never traded again (candle 2
    # ties it, so it is not "unrevisited"); candle 4's 99 is a step of the rise, not a swing;
    # the last candle is its own extreme.
    assert unrevisited_extremes(c.low, c.high, 3, "long").tolist() == [3, 9]
    # Without the pivot condition every step of the rise off the low counts.
    assert unrevisited_extremes(c.low, c.high, 0, "long").tolist() == [3, 4, 9]
    # Highs 100 100 99 99 101 102 102 101 100 100: candle 6's 102 holds.
    assert unrevisited_extremes(c.low, c.high, 3, "short").tolist() == [6]


def test_spread_keeps_the_usd_and_sits_beyond_the_level() -> None:
    pts, usd = spread_beyond(np.array([100.0, 50.0]), np.array([30.0, 6.0]), 0.3, "long")
    assert usd.sum() == pytest.approx(36.0)
    assert pts.size == 60 and np.all(pts[:30] < 100.0) and np.all(pts[:30] > 99.7)
    pts, _ = spread_beyond(np.array([100.0]), np.array([1.0]), 0.3, "short")
    assert np.all(pts > 100.0) and np.all(pts < 100.3)


def test_off_is_the_map_as_before() -> None:
    c = make_candles(CLOSES, oi=OI)
    plain = build_map(c, "BTC")
    off = build_map(c, "BTC", ModelSettings(swing_rate=0.0, long_pool_factor=1))
    assert plain.long_resting is None and off.long_resting is None
    np.testing.assert_array_equal(plain.long, off.long)
    np.testing.assert_array_equal(plain.short, off.short)
    # The uniform pool alone is untouched by the new fields' defaults.
    rest = ModelSettings(resting_rate=0.1, resting_power=1.5)
    a = build_map(c, "BTC", rest)
    b = build_map(c, "BTC", ModelSettings(resting_rate=0.1, resting_power=1.5, swing_pivot_h=6))
    np.testing.assert_array_equal(a.long, b.long)


def test_swing_stops_sit_just_beyond_the_swing_and_grow_with_the_hours_it_held() -> None:
    c = make_candles(CLOSES, spread=0.0, oi=OI)
    plain = build_map(c, "BTC")
    liq = build_map(c, "BTC", ModelSettings(swing_rate=0.5))
    assert liq.long_resting is not None and liq.short_resting is not None
    # Positions are unchanged; the stops are a layer of their own.
    np.testing.assert_array_equal(liq.long_by_tier, plain.long_by_tier)
    np.testing.assert_allclose(liq.long, plain.long + liq.long_resting)
    per_hour = (liq.seeded_long + liq.seeded_short) / 10.0
    # The 97 low closed at 4h and held to 10h; the 102 high closed at 7h. The last candle's low
    # is price itself: no stop pool on price.
    assert liq.long_resting.sum() == pytest.approx(0.5 * per_hour * 6.0)
    assert liq.short_resting.sum() == pytest.approx(0.5 * per_hour * 3.0)
    filled = liq.grid.mids[liq.long_resting > 0]
    assert filled.min() > 97.0 * (1 - 0.004) and filled.max() < 97.0 * 1.001
    filled = liq.grid.mids[liq.short_resting > 0]
    assert filled.min() > 102.0 * 0.999 and filled.max() < 102.0 * 1.004
    # A side-specific factor scales the long side only.
    tilted = build_map(c, "BTC", ModelSettings(swing_rate=0.5, long_pool_factor=2.0))
    assert tilted.long_resting is not None and tilted.short_resting is not None
    np.testing.assert_allclose(tilted.long_resting, 2 * liq.long_resting)
    np.testing.assert_allclose(tilted.short_resting, liq.short_resting)


def test_the_grade_sees_the_swing_stops_an_hour_runs_through() -> None:
    # One more hour that falls from 100 through the 97 swing low to 96.
    c = make_candles([*CLOSES, 96.0], spread=0.0, oi=[*OI, 1100.0])
    start = np.array([int(c.time[-1])], dtype=np.int64)
    plain = hour_views(c, "BTC", start)[0]
    with_stops = hour_views(c, "BTC", start, ModelSettings(swing_rate=0.5))[0]
    window = build_map(c.slice(0, len(CLOSES)), "BTC", ModelSettings(swing_rate=0.5))
    assert window.long_resting is not None
    added = traversed_notional(with_stops, "long") - traversed_notional(plain, "long")
    assert added == pytest.approx(window.long_resting.sum())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"swing_rate": -1.0},
        {"swing_pivot_h": float("nan")},
        {"stop_power": 5.0},
        {"stop_band_pct": 0.0},
        {"stop_band_pct": 20.0},
        {"long_pool_factor": -0.5},
    ],
)
def test_bad_stop_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ModelInputError):
        ModelSettings(**kwargs)  # type: ignore[arg-type]
