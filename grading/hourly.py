"""Hour by hour: the map as it stood at each hour's open (built only from earlier candles), the
naive "untouched for how long" baseline, and what each says about the price range of the hour.

A map is kept as its surviving levels sorted by price with running sums, so the notional inside
any price interval (any bucket alignment, any traversed range) is two binary searches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from liqmap import Candles, ModelSettings
from liqmap.model import resolve_tiers, resting_pool, surviving_levels
from liqmap.times import HOUR_MS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# The bot's default /map and /heatmap window: the map a trader sees is built from 7 days.
DEFAULT_LOOKBACK_H = 7 * 24


@dataclass(frozen=True)
class SideLevels:
    """One side of one map: level prices ascending and the running sum of their USD."""

    price: FloatArray
    cum: FloatArray  # cum[i] = USD of levels price[:i]; len(price) + 1 values

    def between(self, lo: FloatArray | float, hi: FloatArray | float) -> FloatArray:
        """USD of levels with ``lo <= price < hi`` (element-wise)."""
        a = np.searchsorted(self.price, lo, side="left")
        b = np.searchsorted(self.price, hi, side="left")
        return np.asarray(self.cum[b] - self.cum[a], dtype=np.float64)


def _side(prices: FloatArray, amounts: FloatArray) -> SideLevels:
    live = amounts > 0
    p, a = prices[live], amounts[live]
    order = np.argsort(p, kind="stable")
    return SideLevels(p[order], np.concatenate(([0.0], np.cumsum(a[order]))))


@dataclass(frozen=True)
class HourView:
    """What was known at one hour's open, and what price did in that hour."""

    start: int  # hour open, ms
    ref: float  # last close before the hour: the price the map was drawn at
    open: float
    high: float
    low: float
    long: SideLevels
    short: SideLevels
    # Price history before the hour (for the baseline): candle close times, lows, highs.
    past_close_time: IntArray
    past_low: FloatArray
    past_high: FloatArray


def hour_range(candles: Candles, start: int) -> tuple[float, float, float] | None:
    """Open, high, low of the hour from its candles (any interval dividing an hour)."""
    a = int(np.searchsorted(candles.time, start, side="left"))
    b = int(np.searchsorted(candles.time, start + HOUR_MS, side="left"))
    if b <= a or int(candles.time[a]) != start:
        return None
    return float(candles.open[a]), float(candles.high[a:b].max()), float(candles.low[a:b].min())


def hour_views(
    candles: Candles,
    symbol: str,
    hour_starts: IntArray,
    settings: ModelSettings | None = None,
    lookback_h: float = DEFAULT_LOOKBACK_H,
) -> list[HourView]:
    """For each hour with candles in it and before it: the map at its open and its range.

    Hours whose own candles or whose lookback are missing are left out (never guessed).
    """
    settings = settings or ModelSettings()
    tiers, _ = resolve_tiers(symbol, settings)
    close_time = candles.close_time
    out = []
    for start in hour_starts.tolist():
        rng = hour_range(candles, start)
        stop = int(np.searchsorted(close_time, start, side="right"))
        first = int(np.searchsorted(candles.time, start - lookback_h * HOUR_MS, side="left"))
        if rng is None or stop - first < 2 or int(close_time[stop - 1]) != start:
            continue
        window = candles.slice(first, stop)
        levels, long_live, short_live = surviving_levels(window, tiers, settings, start)
        ref = float(window.close[-1])
        pool = resting_pool(window, levels, settings, start, ref)
        out.append(
            HourView(
                start=start,
                ref=ref,
                open=rng[0],
                high=rng[1],
                low=rng[2],
                long=_side(
                    np.concatenate((levels.long_price.ravel(), pool.long_price)),
                    np.concatenate((long_live.ravel(), pool.long_usd)),
                ),
                short=_side(
                    np.concatenate((levels.short_price.ravel(), pool.short_price)),
                    np.concatenate((short_live.ravel(), pool.short_usd)),
                ),
                past_close_time=window.close_time,
                past_low=window.low,
                past_high=window.high,
            )
        )
    return out


def hours_untouched(view: HourView, lo: FloatArray, hi: FloatArray, side: str) -> FloatArray:
    """The naive baseline: hours since price last traded in ``[lo, hi)``, on the level's side.

    Long liquidations sit below price: a bucket counts only if it starts below the hour's open,
    and its last trade is the last candle whose low went under the bucket's top. Shorts mirror
    that. Never traded within the lookback: older than the oldest candle (its age + 1h).
    Wrong side of the open: 0.
    """
    now = view.start
    if side == "long":
        # suffix minimum of lows: non-decreasing, so the last candle under x is a binary search
        sm = np.minimum.accumulate(view.past_low[::-1])[::-1]
        last = np.searchsorted(sm, hi, side="left") - 1
        right_side = lo < view.open
    else:
        sm = np.maximum.accumulate(view.past_high[::-1])[::-1]
        last = np.searchsorted(-sm, -lo, side="left") - 1
        right_side = hi > view.open
    span = (now - int(view.past_close_time[0])) / HOUR_MS + 1.0
    age = np.where(
        last >= 0,
        (now - view.past_close_time[np.maximum(last, 0)]) / HOUR_MS,
        span,
    )
    return np.where(right_side, age, 0.0).astype(np.float64)
