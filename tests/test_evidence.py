"""Every figure against its naive rival: the risk claim's arithmetic on a series whose answer
is known, the walk-forward's use of the past only, and the evidence file against a fresh run."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import numpy as np
import pytest

from backtest.claims import FAILS, HOLDS, Context, risk_volatility_claim
from backtest.path import PricePath
from backtest.run import Replay
from liqmap import RISK_CHOSEN_UNTIL_MS

HOUR = 3_600_000


def synthetic(score_of: str, days: int = 12) -> Context:
    """Hourly candles around 100 whose half-range is random; steps before and after the
    moment the risk score was chosen. The next 4 h's range is 2 x the largest half-range."""
    rng = np.random.default_rng(3)
    n = days * 24 + 4
    t0 = RISK_CHOSEN_UNTIL_MS - 3 * 86_400_000
    half = rng.uniform(0.1, 2.0, n)
    time = t0 + HOUR * np.arange(n, dtype=np.int64)
    path = PricePath(time, np.full(n, 100.0), 100 + half, 100 - half, np.full(n, 100.0))
    ahead = np.array([half[i : i + 4].max() for i in range(n - 4)])  # the known answer
    steps = []
    for i, a in enumerate(ahead):
        before = time[i] < RISK_CHOSEN_UNTIL_MS
        risk = {"perfect": a, "same": -a}[score_of]
        if before:
            risk = a  # the hours the score was chosen on must not count: make them flatter it
        metrics = SimpleNamespace(price=100.0)
        steps.append(
            SimpleNamespace(at=int(time[i]), metrics=metrics, risk=risk, realised_range=-a)
        )
    replay = cast(Replay, SimpleNamespace(steps=steps))
    return Context(replay, path)


def test_risk_claim_is_the_score_minus_the_rival_on_unseen_hours_only() -> None:
    perfect = risk_volatility_claim(synthetic("perfect"))
    # the score ranks the next 4 h exactly (rho 1), the rival exactly backwards (rho -1)
    assert perfect.estimate == pytest.approx(2.0) and perfect.baseline == pytest.approx(-1.0)
    assert perfect.interval == pytest.approx((2.0, 2.0)) and perfect.verdict == HOLDS
    assert perfect.cases == 9 * 24  # the 3 days before the choice moment are left out
    same = risk_volatility_claim(synthetic("same"))
    # the score is the rival: no gain, whatever flattered it on the hours it was chosen on
    assert same.estimate == pytest.approx(0.0) and same.verdict == FAILS
    assert same.table[0]["score_rho"] == pytest.approx(1.0)  # chosen-on hours, reported apart
