"""The untouched-age choices of ``ModelSettings`` (off = the map as before; on =
the documented effect on hand-built candles)."""

from __future__ import annotations

import numpy as np
import pytest

from grading.hourly import hour_views
from grading.skill import traversed_notional
from liqmap import ModelInputError, ModelSettings, build_map
from liqmap.model import (
    RESTING_STEP_PCT,
    hours_untouched,
    resolve_tiers,
    surviving_levels,
)
from tests.conftest import make_candles

HOUR = 3_600_000
# A dip to ~95 in hour 2, back to 100 and flat: levels between 95 and 100 were last traded in
# hour 2 (or later), levels under the dip never within the window.
CLOSES = [100.0, 97.0, 95.0, 98.0, 100.0, 100.0, 100.0, 100.0]
OI = [1000.0, 1010.0, 1020.0, 1030.0, 1040.0, 1050.0, 1060.0, 1070.0]


def test_hours_untouched_counts_from_the_last_candle_that_reached_the_level() -> None:
    c = make_candles(CLOSES, spread=0.0)
    as_of = int(c.close_time[-1])
    # 96 was last reached by candle 3's low (open 95 -> close 98): closed at 4h, now 8h.
    # 94 was never reached: the oldest candle's age (its close at 1h, now 8h) + 1h = 8h.
    # 101 (short side) was never reached either; 99 is inside the last candle.
    long_age = hours_untouched(c, np.array([96.0, 94.0]), "long", as_of)
    short_age = hours_untouched(c, np.array([99.0, 101.0]), "short", as_of)
    assert long_age.tolist() == [4.0, 8.0]
    assert short_age.tolist() == [0.0, 8.0]


def test_off_is_the_map_as_before() -> None:
    c = make_candles(CLOSES, oi=OI)
    plain = build_map(c, "BTC")
    explicit = build_map(c, "BTC", ModelSettings(untouched_power=0.0, resting_rate=0.0))
    assert plain.long_resting is None and plain.short_resting is None
    np.testing.assert_array_equal(plain.long, explicit.long)
    np.testing.assert_array_equal(plain.short, explicit.short)
    np.testing.assert_array_equal(plain.long, plain.long_by_tier.sum(axis=0))


def test_untouched_power_weights_each_survivor_by_its_untouched_hours() -> None:
    c = make_candles(CLOSES, oi=OI)
    as_of = int(c.close_time[-1])
    tiers, _ = resolve_tiers("BTC", ModelSettings())
    levels, base_long, base_short = surviving_levels(c, tiers, ModelSettings(), as_of)
    s = ModelSettings(untouched_power=2.0)
    _, long_live, short_live = surviving_levels(c, tiers, s, as_of)
    alive = base_long > 0
    assert alive.any()
    age = hours_untouched(c, levels.long_price[alive], "long", as_of)
    np.testing.assert_allclose(long_live[alive], base_long[alive] * (age / 24.0) ** 2)
    assert np.all(long_live[~alive] == 0)
    alive = base_short > 0
    age = hours_untouched(c, levels.short_price[alive], "short", as_of)
    np.testing.assert_allclose(short_live[alive], base_short[alive] * (age / 24.0) ** 2)


def test_resting_pool_grows_with_hours_untouched_and_sits_outside_the_tiers() -> None:
    c = make_candles(CLOSES, spread=0.0, oi=OI)
    s = ModelSettings(resting_rate=0.5, resting_power=1.0)
    liq = build_map(c, "BTC", s)
    assert liq.long_resting is not None and liq.short_resting is not None
    np.testing.assert_allclose(liq.long, liq.long_by_tier.sum(axis=0) + liq.long_resting)
    np.testing.assert_allclose(liq.short, liq.short_by_tier.sum(axis=0) + liq.short_resting)
    # Per 0.1% bucket: ten points, each rate x USD seeded per hour x 0.01% x hours untouched.
    per_hour = (liq.seeded_long + liq.seeded_short) / 8.0
    point = 0.5 * per_hour * 100 * np.log1p(RESTING_STEP_PCT / 100)
    under_dip = liq.grid.index_of(np.array([90.0]))[0]  # never traded: 8h
    in_dip = liq.grid.index_of(np.array([96.5]))[0]  # last traded 4h ago (candle 3)
    assert liq.long_resting[under_dip] == pytest.approx(10 * point * 8.0, rel=1e-6)
    assert liq.long_resting[in_dip] == pytest.approx(10 * point * 4.0, rel=1e-6)
    # The long pool lives below price only, the short pool above it.
    above = liq.grid.edges[:-1] >= liq.price
    below = liq.grid.edges[1:] <= liq.price
    assert liq.long_resting[above].sum() == 0 and liq.short_resting[below].sum() == 0
    assert liq.long_resting[below].sum() > 0 and liq.short_resting[above].sum() > 0
    doubled = build_map(c, "BTC", ModelSettings(resting_rate=1.0, resting_power=1.0))
    assert doubled.long_resting is not None
    np.testing.assert_allclose(doubled.long_resting, 2 * liq.long_resting)


def test_grading_sees_the_resting_pool_in_the_traversed_range() -> None:
    c = make_candles([*CLOSES, 94.0], spread=0.0, oi=[*OI, 1080.0])
    hour = np.array([int(c.time[-1])], dtype=np.int64)
    off = hour_views(c, "BTC", hour, ModelSettings(), lookback_h=24)[0]
    on = hour_views(c, "BTC", hour, ModelSettings(resting_rate=1.0), lookback_h=24)[0]
    assert traversed_notional(on, "long") > traversed_notional(off, "long")
    assert traversed_notional(on, "short") == traversed_notional(off, "short")  # never rose


@pytest.mark.parametrize(
    "bad",
    [
        {"untouched_power": -1.0},
        {"untouched_power": float("nan")},
        {"resting_rate": -0.1},
        {"resting_power": 9.0},
    ],
)
def test_settings_refuse_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ModelInputError):
        ModelSettings(**bad)  # type: ignore[arg-type]
