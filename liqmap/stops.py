"""Resting stops the OI seeding cannot see: just beyond recent swing extremes.

Long stops (and late longs' liquidations) bunch just under the lows price has not revisited,
short ones just over the unrevisited highs (round prices were tried too, and lost). Pure numpy on
plain arrays, so ``liqmap.model`` can lay these points next to its other resting pool.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Points inside a stop band sit 0.01% apart (ten per 0.1% bucket), like the resting pool.
BAND_STEP_PCT = 0.01


def unrevisited_extremes(low: FloatArray, high: FloatArray, pivot: int, side: str) -> IntArray:
    """Candles whose low (long side) or high (short side) price has not traded back to since
    and that were a swing: the extreme of the ``pivot`` candles before them too.

    Strictly below every later low is what "not revisited" means; the left condition drops the
    candles of a one-way slide, each of which is only a step of the same move.
    """
    n = low.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    x = low if side == "long" else -high
    later = np.full(n, np.inf)
    if n > 1:
        later[:-1] = np.minimum.accumulate(x[::-1])[::-1][1:]
    keep = x < later
    if pivot > 0:
        padded = np.concatenate((np.full(pivot, np.inf), x))
        windows = np.lib.stride_tricks.sliding_window_view(padded[:-1], pivot)
        keep &= x <= windows.min(axis=1)
    return np.flatnonzero(keep).astype(np.int64)


def spread_beyond(
    prices: FloatArray, usd: FloatArray, band_pct: float, side: str
) -> tuple[FloatArray, FloatArray]:
    """Spread each level's USD evenly over ``band_pct`` beyond it (long: below, short: above),
    on points 0.01% apart starting half a step past the level."""
    m = max(round(band_pct / BAND_STEP_PCT), 1)
    step = np.log1p(BAND_STEP_PCT / 100.0)
    offs = (np.arange(m) + 0.5) * step
    sign = -1.0 if side == "long" else 1.0
    pts = prices[:, None] * np.exp(sign * offs[None, :])
    return pts.ravel(), np.repeat(usd / m, m)
