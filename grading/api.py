"""Grading entry points for callers that hold the data: the CLI and the bot's ``/skill``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grading.data import Events, Totals
from grading.hourly import DEFAULT_LOOKBACK_H, hour_views
from grading.skill import Grade, grade_events, grade_totals
from liqmap import Candles, ModelSettings
from liqmap.times import HOUR_MS


def hours_between(start_ms: int, end_ms: int) -> np.ndarray:
    """Hour opens in ``[start, end)``; ``start`` rounded up to a whole hour."""
    first = -(-start_ms // HOUR_MS) * HOUR_MS
    return np.arange(first, end_ms, HOUR_MS, dtype=np.int64)


def grade_event_file(
    events: Events,
    candles: Candles,
    symbol: str,
    start_ms: int,
    end_ms: int,
    settings: ModelSettings | None = None,
    lookback_h: float = DEFAULT_LOOKBACK_H,
) -> Grade:
    views = hour_views(candles, symbol, hours_between(start_ms, end_ms), settings, lookback_h)
    return grade_events(views, events.time, events.side, events.price, events.usd)


def grade_recorded(
    symbol: str,
    events: Sequence[tuple[int, str, float, float]],
    candles: Candles,
    start_ms: int,
    end_ms: int,
    settings: ModelSettings | None = None,
) -> Grade:
    """For the bot's ``/skill SYMBOL``: recorded prints ``(time_ms, side, price, quantity)``
    (side = the side liquidated) and the candles of the period plus a week before it.
    Raises ``TooLittleData`` when there is too little to print a figure."""
    ev = sorted(events)
    recorded = Events(
        time=np.array([e[0] for e in ev], dtype=np.int64),
        side=np.array([e[1] for e in ev]),
        price=np.array([float(e[2]) for e in ev]),
        quantity=np.array([float(e[3]) for e in ev]),
    )
    return grade_event_file(recorded, candles, symbol, start_ms, end_ms, settings)


def grade_totals_file(
    totals: Totals,
    candles: Candles,
    symbol: str,
    start_ms: int,
    end_ms: int,
    settings: ModelSettings | None = None,
    lookback_h: float = DEFAULT_LOOKBACK_H,
    draws: int = 1000,
) -> Grade:
    """Hours of ``totals`` in ``[start, end)`` that have candles and a full lookback."""
    keep = (totals.time >= start_ms) & (totals.time < end_ms) & (totals.time % HOUR_MS == 0)
    views = hour_views(candles, symbol, totals.time[keep], settings, lookback_h)
    graded = np.array([v.start for v in views], dtype=np.int64)
    ix = np.searchsorted(totals.time, graded)
    return grade_totals(views, totals.long_usd[ix], totals.short_usd[ix], draws=draws)
