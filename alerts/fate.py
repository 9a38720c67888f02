"""What happened to open positions between two checks: liquidated, stopped out, or still open.

Pure and vectorised: one (positions x candles) comparison per symbol, no Python loop over
positions. A long dies at the first candle whose low reaches its liquidation price, a short at
the first whose high does; a stop works the same way and, sitting closer to price than the
liquidation, wins a tie inside one candle (the stop order fills on the way there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

OPEN, LIQUIDATED, STOPPED = 0, 1, 2
NO_CANDLE = -1


@dataclass(frozen=True)
class Fates:
    """Per position: ``outcome`` (OPEN/LIQUIDATED/STOPPED), the index of the candle that decided
    it (NO_CANDLE when open), that candle's close time and its low (longs) or high (shorts)."""

    outcome: npt.NDArray[np.int8]
    candle: IntArray
    at_ms: IntArray
    extreme: FloatArray


def first_crossing(
    side: npt.NDArray[np.int8],
    level: FloatArray,
    checked_to: IntArray,
    close_time: IntArray,
    low: FloatArray,
    high: FloatArray,
) -> IntArray:
    """Index of the first candle closing after ``checked_to`` whose low <= level (side +1) or
    high >= level (side -1); NO_CANDLE where none did (or the level is NaN)."""
    n, m = side.size, close_time.size
    if n == 0 or m == 0:
        return np.full(n, NO_CANDLE, dtype=np.int64)
    fresh = close_time[None, :] > checked_to[:, None]
    lv = level[:, None]
    with np.errstate(invalid="ignore"):  # NaN levels (no stop) never cross
        crossed = np.where(side[:, None] > 0, low[None, :] <= lv, high[None, :] >= lv)
    crossed &= fresh
    first = np.argmax(crossed, axis=1)
    return np.where(crossed.any(axis=1), first, NO_CANDLE).astype(np.int64)


def position_fates(
    side: npt.NDArray[np.int8],
    liquidation: FloatArray,
    stop: FloatArray,
    checked_to: IntArray,
    close_time: IntArray,
    low: FloatArray,
    high: FloatArray,
) -> Fates:
    """Liquidation or stop, whichever came first, for every position of one symbol."""
    liq = first_crossing(side, liquidation, checked_to, close_time, low, high)
    stp = first_crossing(side, stop, checked_to, close_time, low, high)
    big = np.iinfo(np.int64).max
    liq_k = np.where(liq == NO_CANDLE, big, liq)
    stp_k = np.where(stp == NO_CANDLE, big, stp)
    stopped = stp_k <= liq_k
    candle = np.where(stopped, stp, liq)
    outcome = np.select([candle == NO_CANDLE, stopped], [OPEN, STOPPED], LIQUIDATED).astype(np.int8)
    safe = np.clip(candle, 0, max(close_time.size - 1, 0))
    if close_time.size == 0:
        at = np.zeros(side.size, dtype=np.int64)
        extreme = np.full(side.size, np.nan)
    else:
        at = np.where(candle == NO_CANDLE, 0, close_time[safe]).astype(np.int64)
        extreme = np.where(side > 0, low[safe], high[safe])
        extreme = np.where(candle == NO_CANDLE, np.nan, extreme)
    return Fates(outcome=outcome, candle=candle, at_ms=at, extreme=extreme)
