"""Shared fixtures on the data bundled in market/data (never the team's shared folder)."""

from __future__ import annotations

import numpy as np
import pytest

from liqmap import Candles
from market.replay import DEFAULT_AT, ReplaySource


@pytest.fixture(scope="session")
def replay() -> ReplaySource:
    return ReplaySource()


@pytest.fixture(scope="session")
def btc_1d(replay: ReplaySource) -> Candles:
    """288 real 5m BTCUSDT candles with OKX OI, up to the demo moment."""
    candles, _ = replay.window_candles("BTC", "1d", DEFAULT_AT)
    return candles


@pytest.fixture(scope="session")
def btc_30d(replay: ReplaySource) -> Candles:
    """720 real 1h BTCUSDT candles with taker volume and OKX OI."""
    candles, _ = replay.window_candles("BTC", "30d", DEFAULT_AT)
    return candles


def make_candles(
    closes: list[float],
    spread: float = 0.004,
    oi: list[float] | None = None,
    taker_share: float | None = 0.5,
    interval_ms: int = 3_600_000,
) -> Candles:
    """Hand-built candles: open = previous close, high/low ``spread`` around the body."""
    c = np.asarray(closes, dtype=np.float64)
    o = np.concatenate(([c[0]], c[:-1]))
    hi = np.maximum(o, c) * (1 + spread)
    lo = np.minimum(o, c) * (1 - spread)
    vol = np.full(c.size, 100.0)
    return Candles(
        time=np.arange(c.size, dtype=np.int64) * interval_ms,
        open=o,
        high=hi,
        low=lo,
        close=c,
        volume=vol,
        interval_ms=interval_ms,
        taker_buy=None if taker_share is None else vol * taker_share,
        oi=None if oi is None else np.asarray(oi, dtype=np.float64),
    )


# The longest tests start first: with -n 2 a long test that starts last keeps one worker busy
# while the other idles. Order only; a test not named here keeps its place after these.
SLOW_FIRST = (
    "test_demo.py::test_demo_plays",
    "test_alerts_e2e.py::test_killed",
    "test_alert_rules.py::test_a_hundred_thousand",
    "test_cli.py::test_map_marks",
    "test_cli.py::test_map_png",
    "test_ccxt_lean.py::",
    "test_positions_e2e.py::test_killed",
    "test_reliability.py::test_sigterm",
    "test_webapp_browser.py::",
    "test_cli.py::test_window_any_case",
    "test_bot_e2e.py::test_map_tier",
    "test_live.py::",
    "test_engine.py::test_engine_equals_reference",
    "test_renderer.py::test_charts_are_drawn_in_another_process",
    "test_webhook.py::",
    "test_backtest_live.py::",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((i for i, key in enumerate(SLOW_FIRST) if key in item.nodeid), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: the rest keep their order
