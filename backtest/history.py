"""Where a backtest reads its history: the bundled replay data (the default) or any other
recorded history that serves the same calls (``bot`` passes the bot's stored live history).

A ``History`` serves the ``market.source.MarketSource`` calls a backtest makes (``snapshot``,
``oi_change``, ``funding_p95``: the same signatures) plus two of its own: the hourly price path
that claims read forward, and the span where a map can be drawn.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from liqmap import Candles
from market.replay import ReplaySource
from market.snapshot import MarketSnapshot
from market.source import WINDOW_MS


@runtime_checkable
class History(Protocol):
    name: str

    def resolve(self, symbol: str) -> str: ...

    def snapshot(self, symbol: str, window: str, at: int) -> MarketSnapshot: ...

    def oi_change(self, symbol: str, at: int, hours: float) -> float | None: ...

    def funding_p95(self, symbol: str, at: int) -> float | None: ...

    def hourly(self, symbol: str) -> Candles:
        """Every complete 1h candle of the history, oldest first (what price did next)."""
        ...

    def map_span(self, symbol: str, window: str) -> tuple[int, int]:
        """First and last moment (ms) a ``window`` map can be drawn with a full window;
        ``MarketDataError`` (one line) when there is no history for ``symbol``."""
        ...


class ReplayHistory:
    """The bundled data (``market.replay.ReplaySource``) as a backtest history."""

    name = "demo"

    def __init__(self, source: ReplaySource | None = None) -> None:
        self.source = source or ReplaySource()

    def resolve(self, symbol: str) -> str:
        return self.source.resolve(symbol)

    def snapshot(self, symbol: str, window: str, at: int) -> MarketSnapshot:
        return self.source.snapshot(symbol, window, at)

    def oi_change(self, symbol: str, at: int, hours: float) -> float | None:
        return self.source.oi_change(symbol, at, hours)

    def funding_p95(self, symbol: str, at: int) -> float | None:
        return self.source.funding_p95(symbol, at)

    def hourly(self, symbol: str) -> Candles:
        return self.source.candles(symbol, "1h", 0, 2**62)

    def map_span(self, symbol: str, window: str) -> tuple[int, int]:
        hourly = self.hourly(self.resolve(symbol))
        return int(hourly.time[0]) + WINDOW_MS[window], int(hourly.close_time[-1])

    def window_candles(self, symbol: str, window: str, at: int) -> tuple[Candles, str]:
        return self.source.window_candles(symbol, window, at)


def as_history(source: History | ReplaySource | None) -> History:
    """A history from what a caller passed: a bare ``ReplaySource`` (or nothing) is wrapped."""
    if source is None or isinstance(source, ReplaySource):
        return ReplayHistory(source)
    return source
