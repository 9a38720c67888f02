"""The bot's recorded market history as a backtest history (``liqbot backtest --source live``).

The maps come from :class:`LiveStore` exactly as the live bot draws them (same venues, same
aggregation, same 30-day funding percentile as the alert pass); this module adds what a
backtest needs beyond one map: the hourly price path and the span where maps can be drawn.
It satisfies ``backtest.history.History`` by shape (``bot.pipeline`` does not import
``backtest``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bot.pipeline.live_store import LiveDataError, LiveStore
from bot.pipeline.refresh import STEP_MS, TIMEFRAME
from liqmap import Candles
from liqmap.times import HOUR_MS, utc_minute
from market.snapshot import MarketSnapshot
from market.source import WINDOW_MS
from storage import db_file
from storage import market_history as history

PER_HOUR = HOUR_MS // STEP_MS


def hourly_from(stored: history.StoredCandles) -> Candles:
    """Complete clock hours of 5m candles -> 1h candles (an hour with a gap is left out, so
    the price path never reads a partial hour as a whole one)."""
    if stored.time.size == 0:
        raise LiveDataError("no stored candles")
    hour = stored.time // HOUR_MS
    starts = np.flatnonzero(np.r_[True, hour[1:] != hour[:-1]])
    ends = np.r_[starts[1:], hour.size]
    full = (ends - starts) == PER_HOUR
    # reduceat over every hour first (each segment runs to the next start), then keep the full
    high = np.maximum.reduceat(stored.high, starts)[full]
    low = np.minimum.reduceat(stored.low, starts)[full]
    volume = np.add.reduceat(stored.volume, starts)[full]
    starts, ends = starts[full], ends[full]
    return Candles(
        time=hour[starts] * HOUR_MS,
        open=stored.open[starts],
        high=high,
        low=low,
        close=stored.close[ends - 1],
        volume=volume,
        interval_ms=HOUR_MS,
    )


class RecordedHistory:
    """A :class:`LiveStore` read back over time, without its refresher."""

    name = "live"

    def __init__(self, store: LiveStore) -> None:
        self.store = store

    def resolve(self, symbol: str) -> str:
        return self.store.resolve(symbol)

    def snapshot(self, symbol: str, window: str, at: int) -> MarketSnapshot:
        try:
            snap = self.store.snapshot(symbol, window, at)
        except LiveDataError as e:  # a hole in the recording: say when
            raise LiveDataError(f"at {utc_minute(at)}: {e}") from None
        # The venues' health is today's, not that moment's: it must not mark history stale.
        return replace(snap, stale=())

    def oi_change(self, symbol: str, at: int, hours: float) -> float | None:
        return self.store.oi_change(symbol, at, hours)

    def funding_p95(self, symbol: str, at: int) -> float | None:
        return self.store.funding_p95(symbol, at)

    def _reference(self, symbol: str) -> tuple[str, history.StoredCandles]:
        """The first venue (the store's order, as its maps) with stored candles, and them."""
        unified = self.resolve(symbol)
        for venue in self.store.venues:
            stored = history.read_candles(self.store.db, venue, unified, TIMEFRAME, 0, 2**62)
            if stored.time.size:
                return venue, stored
        where = db_file(self.store.db) or "the database"
        raise LiveDataError(
            f"{where} has no recorded history for {unified} "
            f"(venues {', '.join(self.store.venues)}): run the bot to record it"
        )

    def hourly(self, symbol: str) -> Candles:
        return hourly_from(self._reference(symbol)[1])

    def map_span(self, symbol: str, window: str) -> tuple[int, int]:
        venue, stored = self._reference(symbol)
        first = int(stored.time[0]) + WINDOW_MS[window]
        last = int(stored.time[-1]) + STEP_MS
        if first > last:
            raise LiveDataError(
                f"{self.resolve(symbol)}: {venue} recorded {utc_minute(int(stored.time[0]))} .. "
                f"{utc_minute(last)}, less than the {window} a map needs"
            )
        return first, last
