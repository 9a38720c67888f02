"""The touch model's cluster rival (backtest/cascade_term.py): which chain a cascade would run
through, and a walk-forward fit that finds the term when outcomes follow it and not otherwise."""

from __future__ import annotations

import math

import numpy as np

from backtest.cascade_term import cascade_span, walk_forward
from liqmap.times import DAY_MS
from liqmap.touch import touch_chance

NAN = math.nan


def test_the_nearest_chain_between_price_and_the_liquidation_price_is_the_span() -> None:
    # one step; side 0 = long chains below price, side 1 = short chains above (nearest first)
    near = np.array([[[101.0, 97.0, 93.0], [103.0, 112.0, NAN]]])
    far = np.array([[[100.5, 95.0, 91.0], [104.0, 115.0, NAN]]])
    step = np.zeros(5, dtype=np.int64)
    side = np.array([1, 1, -1, -1, 1])
    price = np.array([100.0, 100.0, 100.0, 100.0, 100.0])
    level = np.array([90.0, 96.0, 110.0, 102.0, 98.0])
    span = cascade_span(near, far, step, side, price, level)
    assert span[0] == math.log(97 / 95)  # 101 is above price: a chain already passed
    assert span[1] == math.log(97 / 96)  # capped at the liquidation price
    assert span[2] == math.log(104 / 103)
    assert span[3] == 0.0  # the short chain starts beyond the liquidation price
    assert span[4] == 0.0  # nothing between 100 and 98


def _cases(cascades: bool, n: int = 40_000) -> tuple[dict[str, object], float]:
    rng = np.random.default_rng(1)
    at = np.sort(rng.integers(0, 200, n)) * DAY_MS + rng.integers(0, DAY_MS, n)
    dist = rng.uniform(0.01, 0.06, n)
    span = np.where(rng.random(n) < 0.8, rng.uniform(0, 0.6, n) * dist, 0.0)
    var = 0.006**2
    plain = {h: touch_chance(1.0, np.exp(-dist), var, var, h) for h in (4, 24)}
    through = {h: touch_chance(1.0, np.exp(-(dist - span)), var, var, h) for h in (4, 24)}
    truth = through if cascades else plain
    u = rng.random(n)
    touched = {h: (u < truth[h]).astype(np.float64) for h in (4, 24)}
    args = {"at": at, "touched": touched, "plain": plain, "through": through, "has_chain": span > 0}
    return args, float(np.mean(span > 0))


def test_walk_forward_finds_a_cascade_that_is_there() -> None:
    args, _ = _cases(cascades=True)
    term = walk_forward(**args)  # type: ignore[arg-type]
    assert term["adds"]
    assert all(f["q"] >= 0.7 for r in term["horizons"] for f in r["folds"])
    assert len(term["horizons"][0]["folds"]) == 3


def test_walk_forward_does_not_credit_a_cascade_that_is_not_there() -> None:
    args, with_chain = _cases(cascades=False)
    term = walk_forward(**args)  # type: ignore[arg-type]
    assert not term["adds"]
    assert term["cases_with_chain_pct"] == 100 * with_chain
    assert all(f["q"] <= 0.3 for r in term["horizons"] for f in r["folds"])
