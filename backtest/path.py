"""What price did after a moment: the history's 1h candles read forward from each step.

A step at ``at`` is followed by the candle that opens at ``at`` (or the first after it).
Horizons count whole hours; a case whose horizon runs past the data is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from backtest.history import History, as_history
from liqmap.times import HOUR_MS
from market.replay import ReplaySource

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class PricePath:
    time: IntArray  # candle open times, ms
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray

    @classmethod
    def hourly(cls, source: History | ReplaySource, symbol: str) -> PricePath:
        c = as_history(source).hourly(symbol)
        return cls(c.time, c.open, c.high, c.low, c.close)

    def next_index(self, at: IntArray) -> IntArray:
        """Index of the first candle opening at or after each ``at``."""
        return np.searchsorted(self.time, np.asarray(at, dtype=np.int64), side="left")

    def covered(self, first: IntArray, hours: int) -> BoolArray:
        """Whether ``hours`` candles from ``first`` are all in the data and contiguous."""
        last = first + hours - 1
        ok = last < self.time.size
        safe = np.minimum(last, self.time.size - 1)
        span = self.time[safe] - self.time[np.minimum(first, self.time.size - 1)]
        result: BoolArray = ok & (span == (hours - 1) * HOUR_MS)
        return result

    def ahead(self, first: IntArray, hours: int) -> tuple[FloatArray, FloatArray]:
        """Highs and lows of the ``hours`` candles from ``first``, shaped (cases, hours)."""
        idx = np.minimum(first[:, None] + np.arange(hours)[None, :], self.time.size - 1)
        return self.high[idx], self.low[idx]

    def close_after(self, first: IntArray, hours: int) -> FloatArray:
        """Close of the ``hours``-th candle from ``first``."""
        return self.close[np.minimum(first + hours - 1, self.time.size - 1)]


def first_true(mask: BoolArray) -> IntArray:
    """Per row, the first column where ``mask`` holds; the row length where none does."""
    hit = mask.any(axis=1)
    result: IntArray = np.where(hit, mask.argmax(axis=1), mask.shape[1])
    return result
