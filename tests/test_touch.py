"""The touch model (liqmap/touch.py): the reflection-principle equation, the volatility it reads
from candles, and the issue's example message coming out of it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from liqmap.touch import (
    PARKINSON,
    TouchInputError,
    TouchSettings,
    Volatility,
    candle_variance,
    rolling_volatility,
    touch_chance,
    typical_moves,
    volatility_now,
    warning_levels,
)

PLAIN = TouchSettings(tail_share=0.0)  # pure Brownian motion, no fat tails


def reflection(d: float, sigma: float, h: float) -> float:
    """2 (1 - Phi(d / (sigma sqrt h))), written with the standard library's erfc."""
    return math.erfc(d / (sigma * math.sqrt(2 * h)))


@pytest.mark.parametrize("dist_pct", [0.3, 1.0, 3.2, 8.0])
@pytest.mark.parametrize("hours", [4.0, 24.0])
def test_plain_model_is_the_reflection_principle(dist_pct: float, hours: float) -> None:
    var = 0.006**2  # 0.6% per hour
    level = 100.0 * (1 - dist_pct / 100)
    got = float(touch_chance(100.0, level, var, var, hours, PLAIN))
    assert got == pytest.approx(reflection(-math.log(1 - dist_pct / 100), 0.006, hours), abs=2e-7)


def test_monte_carlo_paths_touch_as_often_as_the_equation_says() -> None:
    """Simulated driftless paths (500 steps per hour: the discrete path misses a little of
    each touch, so the equation is an upper bound within a few points)."""
    rng = np.random.default_rng(1)
    sigma, hours, steps = 0.01, 4, 500
    paths = np.cumsum(rng.normal(0, sigma / math.sqrt(steps), (3000, hours * steps)), axis=1)
    lowest = paths.min(axis=1)
    for d in (0.01, 0.02, 0.03):
        seen = float((lowest <= -d).mean())
        want = float(touch_chance(1.0, math.exp(-d), sigma**2, sigma**2, hours, PLAIN))
        assert want - 0.05 < seen <= want + 0.02


def test_the_issues_example_message_follows_from_the_equation() -> None:
    """`3.2% below, about 0.9 typical 4-hour moves; within 4 h: 35%, within 24 h: 70%`: a
    typical 4 h move of 3.55% (sigma 1.78%/h) gives 0.9 moves, 37% and 71% (plain model)."""
    sigma_h = math.log(1.0355) / 2
    v = sigma_h**2
    lp = 110_642.6
    price = lp / (1 - 0.032)
    assert float(typical_moves(price, lp, v, v, PLAIN)) == pytest.approx(0.9, abs=0.05)
    assert float(touch_chance(price, lp, v, v, 4, PLAIN)) == pytest.approx(0.37, abs=0.02)
    assert float(touch_chance(price, lp, v, v, 24, PLAIN)) == pytest.approx(0.71, abs=0.02)
    assert Volatility(v, v).typical_move_pct(settings=PLAIN) == pytest.approx(3.55, abs=0.01)


def test_closer_and_longer_mean_likelier_and_past_the_level_is_certain() -> None:
    levels = np.array([90.0, 95.0, 98.0, 99.5, 100.0, 101.0])
    c4 = touch_chance(100.0, levels, 1e-4, 1e-4, 4)
    c24 = touch_chance(100.0, levels, 1e-4, 1e-4, 24)
    assert (np.diff(c4[:5]) > 0).all() and (c24[:4] > c4[:4]).all()
    assert c4[4] == 1.0 and 0 < c4[5] < 1
    assert np.isnan(touch_chance(100.0, np.nan, 1e-4, 1e-4, 4))


def test_fat_tails_keep_the_typical_move_and_lift_far_touches() -> None:
    fat = TouchSettings(tail_share=0.25, tail_scale=2.5)
    v = 0.005**2
    far = float(touch_chance(100, 92, v, v, 4, fat)), float(touch_chance(100, 92, v, v, 4, PLAIN))
    assert far[0] > 3 * far[1]
    assert float(typical_moves(100, 97, v, v, fat)) == float(typical_moves(100, 97, v, v, PLAIN))


def test_fast_volatility_weighs_more_on_the_short_horizon() -> None:
    calm, burst = 0.003**2, 0.02**2
    four, day = Volatility(burst, calm).variance(4), Volatility(burst, calm).variance(24)
    assert calm < day < four < burst


def test_parkinson_variance_per_hour_is_the_same_from_5m_and_1h_candles() -> None:
    """A candle ranging 1% has variance ln(1.01)^2 / (4 ln 2); twelve 5 m candles ranging
    1%/sqrt(12) each carry the same variance per hour."""
    one = candle_variance(np.array([101.0]), np.array([100.0]), 3_600_000)
    assert float(one[0]) == pytest.approx(math.log(1.01) ** 2 * PARKINSON)
    r = math.exp(math.log(1.01) / math.sqrt(12))
    fine = candle_variance(np.full(12, 100 * r), np.full(12, 100.0), 300_000)
    assert float(fine.mean()) == pytest.approx(float(one[0]))
    with pytest.raises(TouchInputError):
        candle_variance(np.ones(2), np.ones(3), 3_600_000)


def test_volatility_reacts_to_a_burst_and_uses_only_closed_candles() -> None:
    n = 100
    high, low = np.full(n, 100.3), np.full(n, 100.0)
    high[-2:] = 103.0  # two wild hours at the end
    fast, slow = rolling_volatility(high, low, 3_600_000)
    assert fast[-1] > 5 * fast[-3] and slow[-1] < fast[-1]
    close_time = (np.arange(n) + 1) * 3_600_000 - 1
    before = volatility_now(high, low, close_time, 3_600_000, int(close_time[-3]))
    after = volatility_now(high, low, close_time, 3_600_000, int(close_time[-1]))
    assert before is not None and after is not None
    assert before.fast == pytest.approx(float(fast[-3])) and after.fast == pytest.approx(
        float(fast[-1])
    )
    assert volatility_now(high, low, close_time, 3_600_000, 0) is None


def test_warning_levels_escalate_closer_and_rearm_below_half() -> None:
    assert warning_levels(0.2) == pytest.approx((0.6, 0.1))
    escalate, rearm = warning_levels(0.03)
    assert rearm < 0.03 < escalate < 1
