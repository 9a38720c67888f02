"""How the market has been moving, for the liquidation warning and the distance every position
line shows: the volatility of the last 72 h of candles (``liqmap.touch``), and the extremes of
the candles closed since a moment (a wick between two refreshes)."""

from __future__ import annotations

from bot.pipeline.position_fate import candles_between
from bot.pipeline.services import Services
from liqmap import Candles
from liqmap.times import HOUR_MS
from liqmap.touch import Volatility, volatility_now

VOLATILITY_HOURS = 72  # liqmap.touch's slow window


def recent_candles(s: Services, symbol: str, tick: int) -> Candles | None:
    """The candles of the last 72 h up to ``tick`` (the finest that cover the span)."""
    candles = candles_between(s, symbol, tick - VOLATILITY_HOURS * HOUR_MS, tick)
    return candles if candles is not None and len(candles) else None


def volatility_of(candles: Candles | None, tick: int) -> Volatility | None:
    if candles is None:
        return None
    return volatility_now(candles.high, candles.low, candles.close_time, candles.interval_ms, tick)


def volatility_at(s: Services, symbol: str, tick: int) -> Volatility | None:
    """The volatility known at ``tick`` (None without candles)."""
    return volatility_of(recent_candles(s, symbol, tick), tick)


def extremes_since(candles: Candles | None, since: int, tick: int) -> tuple[float, float] | None:
    """(lowest low, highest high) of the candles that closed in (since, tick]."""
    if candles is None:
        return None
    new = (candles.close_time > since) & (candles.close_time <= tick)
    if not new.any():
        return None
    return float(candles.low[new].min()), float(candles.high[new].max())
