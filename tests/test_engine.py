"""The vectorised engine against the plain reference, on real data and generated inputs, and the
model's invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqmap import (
    Candles,
    ModelInputError,
    ModelSettings,
    build_heatmap,
    build_map,
    cumulative_curves,
    make_grid,
)
from liqmap.model import (
    DEFAULT_HALF_LIVES_H,
    MODEL_OI_DELTA,
    MODEL_VOLUME_PROXY,
    resolve_tiers,
    surviving_levels,
)
from tests.conftest import make_candles
from tests.reference import reference_map

# Tolerance: the engine and the reference sum the same terms in a different order, so buckets
# agree to float rounding: |engine - reference| <= 1e-9 * largest bucket + 1e-6 USD.
REL_TOL = 1e-9


def assert_matches_reference(c: Candles, symbol: str, s: ModelSettings) -> None:
    liq = build_map(c, symbol, s)
    ref_long, ref_short = reference_map(c, symbol, s, liq.as_of, list(liq.grid.edges))
    scale = max(liq.long.max(initial=0), liq.short.max(initial=0), 1.0)
    np.testing.assert_allclose(liq.long, ref_long, rtol=0, atol=REL_TOL * scale + 1e-6)
    np.testing.assert_allclose(liq.short, ref_short, rtol=0, atol=REL_TOL * scale + 1e-6)


def test_engine_equals_reference_on_real_5m_data(btc_1d: Candles) -> None:
    assert_matches_reference(btc_1d, "BTC/USDT:USDT", ModelSettings())


def test_engine_equals_reference_on_real_1h_data_with_taker_volume(btc_30d: Candles) -> None:
    assert btc_30d.taker_buy is not None and btc_30d.oi is not None
    assert_matches_reference(btc_30d, "BTC/USDT:USDT", ModelSettings())


def test_engine_equals_reference_without_oi_and_without_decay(btc_30d: Candles) -> None:
    no_oi = Candles(
        btc_30d.time,
        btc_30d.open,
        btc_30d.high,
        btc_30d.low,
        btc_30d.close,
        btc_30d.volume,
        btc_30d.interval_ms,
        taker_buy=None,
    )
    assert_matches_reference(no_oi, "BTC/USDT:USDT", ModelSettings(half_lives_h=None))


@st.composite
def candle_series(draw: st.DrawFn) -> Candles:
    n = draw(st.integers(1, 60))
    steps = draw(st.lists(st.floats(-0.06, 0.06), min_size=n, max_size=n))
    wick = draw(st.lists(st.floats(0, 0.03), min_size=n, max_size=n))
    close = 100.0 * np.exp(np.cumsum(steps))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * (1 + np.array(wick))
    low = np.minimum(open_, close) * (1 - np.array(wick) / 2)
    volume = np.array(draw(st.lists(st.floats(0, 1e4), min_size=n, max_size=n)))
    taker = None
    if draw(st.booleans()):
        shares = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
        taker = volume * shares
    oi = None
    if draw(st.booleans()):
        oi = np.array(draw(st.lists(st.floats(1.0, 1e5), min_size=n, max_size=n)))
    ratio = None
    if draw(st.booleans()):
        ratio = np.array(draw(st.lists(st.floats(0, 5), min_size=n, max_size=n)))
    return Candles(
        time=np.arange(n, dtype=np.int64) * 300_000,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        interval_ms=300_000,
        taker_buy=taker,
        oi=oi,
        long_short_ratio=ratio,
    )


tier_sets = st.dictionaries(
    st.sampled_from([2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 75.0, 100.0, 125.0]),
    st.floats(0, 1),
    min_size=1,
    max_size=5,
)
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(candle_series(), tier_sets, st.booleans())
def test_engine_equals_reference_on_generated_inputs(
    c: Candles, weights: dict[float, float], decay: bool
) -> None:
    halves = {t: 3.0 if t == 5.0 else None for t in weights}  # every tier named: 5x decays
    s = ModelSettings(tier_weights=weights, half_lives_h=halves if decay else None)
    assert_matches_reference(c, "ETH/USDT:USDT", s)


@PROPS
@given(candle_series(), tier_sets)
def test_no_surviving_level_beyond_a_later_extreme(c: Candles, weights: dict[float, float]) -> None:
    s = ModelSettings(tier_weights=weights, half_lives_h=None)
    tiers, _ = resolve_tiers("BTC", s)
    levels, long_live, short_live = surviving_levels(c, tiers, s, int(c.close_time[-1]))
    for t in range(len(c)):
        later_low = c.low[t + 1 :].min() if t + 1 < len(c) else np.inf
        later_high = c.high[t + 1 :].max() if t + 1 < len(c) else -np.inf
        for k in range(len(tiers)):
            if long_live[t, k] > 0:
                assert levels.long_price[t, k] < min(later_low, c.close[t])
            if short_live[t, k] > 0:
                assert levels.short_price[t, k] > max(later_high, c.close[t])
    liq = build_map(c, "BTC", s)  # so every long sits below the price and every short above
    below = liq.grid.highs <= liq.price
    above = liq.grid.lows >= liq.price
    assert not np.any(liq.long[above] > 0) and not np.any(liq.short[below] > 0)


@PROPS
@given(candle_series(), tier_sets)
def test_cumulative_curves_are_monotone_away_from_price(
    c: Candles, weights: dict[float, float]
) -> None:
    liq = build_map(c, "BTC", ModelSettings(tier_weights=weights, half_lives_h=None))
    cum_long, cum_short = cumulative_curves(liq)
    below = liq.grid.mids < liq.price
    assert np.all(np.diff(cum_long[below]) <= 1e-9)  # grows moving down, away from price
    assert np.all(np.diff(cum_short[~below]) >= -1e-9)  # grows moving up
    assert cum_long[below][0] == pytest.approx(liq.long[below].sum()) if below.any() else True


@PROPS
@given(candle_series(), tier_sets)
def test_surviving_notional_never_exceeds_seeded(c: Candles, weights: dict[float, float]) -> None:
    liq = build_map(c, "BTC", ModelSettings(tier_weights=weights, half_lives_h=None))
    assert liq.total_long <= liq.seeded_long * (1 + 1e-12) + 1e-9
    assert liq.total_short <= liq.seeded_short * (1 + 1e-12) + 1e-9


@PROPS
@given(candle_series(), tier_sets, st.randoms())
def test_tier_order_is_irrelevant(c: Candles, weights: dict[float, float], rnd) -> None:  # type: ignore[no-untyped-def]
    items = list(weights.items())
    rnd.shuffle(items)
    a = build_map(c, "BTC", ModelSettings(tier_weights=weights, half_lives_h=None))
    b = build_map(c, "BTC", ModelSettings(tier_weights=dict(items), half_lives_h=None))
    np.testing.assert_allclose(a.long, b.long, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(a.short, b.short, rtol=1e-12, atol=1e-9)


def test_tier_filter_is_a_slice_of_the_full_map(btc_30d: Candles) -> None:
    full = build_map(btc_30d, "BTC")
    parts = [
        build_map(btc_30d, "BTC", ModelSettings(tier_filter=(t,))) for t in (5, 10, 25, 50, 100)
    ]
    np.testing.assert_allclose(sum(p.long for p in parts), full.long, rtol=1e-9, atol=1e-6)
    only = build_map(btc_30d, "BTC", ModelSettings(tier_filter=(10, 25)))
    assert [t.leverage for t in only.tiers] == [10, 25]
    assert only.total_long < full.total_long


def test_long_level_swept_by_later_low_short_by_later_high() -> None:
    # One candle opens OI at ~100; then price dips 6% and recovers: the 25x long (at ~96.4) is
    # swept, the 10x (~90.4) is not; shorts above are never reached.
    c = make_candles([100, 100, 94, 100], spread=0.0, oi=[1000, 2000, 2000, 2000])
    s = ModelSettings(tier_weights={10: 0.5, 25: 0.5}, half_lives_h=None)
    tiers, _ = resolve_tiers("BTC", s)
    _, long_live, short_live = surviving_levels(c, tiers, s, int(c.close_time[-1]))
    assert long_live[1, 0] > 0  # 10x
    assert long_live[1, 1] == 0  # 25x swept by the 94 low
    assert np.all(short_live[1] > 0)
    assert build_map(c, "BTC", s).model == MODEL_OI_DELTA


def test_oi_drop_scales_live_levels() -> None:
    c = make_candles([100, 100, 100], spread=0.0, oi=[1000, 2000, 1500])
    s = ModelSettings(tier_weights={10: 1.0}, half_lives_h=None)
    liq = build_map(c, "BTC", s)
    seeded = 1000 * 100.0  # 1000 new units at 100
    assert liq.total_long + liq.total_short == pytest.approx(seeded * 0.75)  # 25% closed


def test_volume_proxy_when_oi_is_missing() -> None:
    c = make_candles([100, 101, 102], oi=None)
    liq = build_map(c, "BTC")
    assert liq.model == MODEL_VOLUME_PROXY and "proxy" in liq.units


def test_heatmap_columns_equal_snapshots(btc_1d: Candles) -> None:
    heat = build_heatmap(btc_1d, "BTC", every=12)
    for j in (0, 5, heat.times.size - 1):
        stop = 12 * j + 12
        snap = build_map(btc_1d.slice(0, stop), "BTC", grid=heat.grid)
        np.testing.assert_allclose(heat.long[:, j], snap.long, rtol=0, atol=1e-6 * snap.long.max())
        np.testing.assert_allclose(
            heat.short[:, j], snap.short, rtol=0, atol=1e-6 * snap.short.max()
        )


def test_heatmap_warm_up_columns_are_skipped_not_computed(btc_1d: Candles) -> None:
    """``first`` drops the warm-up columns without changing the ones kept (levels seeded in the
    warm-up and still alive are there from column 0)."""
    whole = build_heatmap(btc_1d, "BTC", every=12)
    first = whole.times.size // 2
    kept = build_heatmap(btc_1d, "BTC", every=12, grid=whole.grid, first=first)
    assert kept.long.shape == (whole.grid.size, whole.times.size - first)
    np.testing.assert_array_equal(kept.times, whole.times[first:])
    for mine, full in ((kept.long, whole.long), (kept.short, whole.short)):
        assert mine[:, 0].sum() > 0
        np.testing.assert_allclose(mine, full[:, first:], rtol=0, atol=1e-9 * full.max())


def test_grid_is_log_spaced() -> None:
    g = make_grid(100_000, 30, 0.1)
    ratios = g.edges[1:] / g.edges[:-1]
    assert np.allclose(ratios, 1.001)
    assert g.edges[0] == pytest.approx(70_000) and g.edges[-1] >= 130_000


def test_every_tier_needs_a_half_life_or_an_explicit_no_decay() -> None:
    # A tier left out of half_lives_h used to never decay without a word.
    with pytest.raises(ModelInputError, match="no half-life for tier"):
        ModelSettings(tier_weights={10: 0.5, 7: 0.5})
    with pytest.raises(ModelInputError, match="must be > 0"):
        ModelSettings(half_lives_h={**DEFAULT_HALF_LIVES_H, 10: 0.0})
    # An explicit None keeps that tier undecayed, in the snapshot and in the heatmap alike.
    s = ModelSettings(tier_weights={10: 0.5, 25: 0.5}, half_lives_h={10: None, 25: 2.0})
    c = make_candles([100, 100, 100, 100, 100, 100], spread=0.0, oi=[1, 2, 2, 2, 2, 2])
    tiers, _ = resolve_tiers("BTC", s)
    assert [t.half_life_h for t in tiers] == [None, 2.0]
    liq = build_map(c, "BTC", s)
    heat = build_heatmap(c, "BTC", every=len(c), settings=s, grid=liq.grid)
    np.testing.assert_allclose(heat.long[:, -1], liq.long, rtol=1e-9, atol=1e-9)
    # the 25x levels decayed, the 10x did not: 10x holds more than half of what was left
    assert liq.long_by_tier[0].sum() > 2 * liq.long_by_tier[1].sum() > 0
