"""Price x time: the liquidation map as it stood at every k-th candle.

Each seeded level lives from its candle until the first later candle that reaches it. That first
touch is found for all levels at once with a sparse table of range minima/maxima (binary lifting),
and each level is written into the columns it lives through with a difference array. OI-decrease
scaling and decay are products over time, so they factor into a per-level and a per-column term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from liqmap.grid import PriceGrid, make_grid
from liqmap.model import (
    Candles,
    ModelInputError,
    ModelSettings,
    oi_decrease_factors,
    resolve_tiers,
    seed_levels,
)
from liqmap.times import HOUR_MS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Heatmap:
    """``long``/``short`` ``[b, j]``: notional in bucket b at column time ``times[j]``."""

    symbol: str
    grid: PriceGrid
    times: IntArray  # close time (ms) of the candle each column is evaluated at
    price: FloatArray  # close price at each column
    long: FloatArray  # (buckets, columns)
    short: FloatArray
    model: str

    @property
    def intensity(self) -> FloatArray:
        return self.long + self.short


def _sparse_table(values: FloatArray, op: np.ufunc) -> list[FloatArray]:
    """``table[j][i] = op(values[i : i + 2**j])`` for every block that fits."""
    table = [values]
    width = 1
    while 2 * width <= values.size:
        prev = table[-1]
        table.append(op(prev[:-width], prev[width:]))
        width *= 2
    return table


def first_touch(values: FloatArray, after: IntArray, level: FloatArray, side: str) -> IntArray:
    """Index of the first candle ``s > after`` whose low <= level (side 'long') or high >= level
    (side 'short'); ``len(values)`` where none does. All levels at once."""
    n = values.size
    table = _sparse_table(values, np.minimum if side == "long" else np.maximum)
    pos = after.astype(np.int64) + 1
    for j in range(len(table) - 1, -1, -1):
        width = 1 << j
        block = table[j]
        fits = pos + width <= n
        idx = np.where(fits, pos, 0)
        blk = block[np.minimum(idx, block.size - 1)]
        clear = fits & ((blk > level) if side == "long" else (blk < level))
        pos = np.where(clear, pos + width, pos)
    return np.minimum(pos, n)


def build_heatmap(
    candles: Candles,
    symbol: str,
    every: int,
    settings: ModelSettings | None = None,
    grid: PriceGrid | None = None,
    first: int = 0,
) -> Heatmap:
    """The map evaluated after every ``every``-th candle (column j after candle k*j+k-1, k=every).

    Column j equals ``build_map(candles[: every*j + every], ...)`` on the same grid. ``first``:
    columns before it are not computed (their candles only seed levels: a warm-up), so column j
    of the result is column ``first + j`` of the whole (``first`` is clamped to the columns
    there are: at least the last one is computed).
    """
    settings = settings or ModelSettings()
    n = len(candles)
    if every <= 0:
        raise ModelInputError("heatmap column step must be positive")
    whole = n // every
    if whole == 0:
        raise ModelInputError("not enough candles for one heatmap column")
    first = min(max(first, 0), whole - 1)
    cols = whole - first
    if grid is None:
        lo, hi = float(candles.low.min()), float(candles.high.max())
        centre = float(np.sqrt(lo * hi))
        span = 100 * max(hi / centre - 1, 1 - lo / centre) + settings.range_pct / 2
        grid = make_grid(centre, min(span, 95.0), settings.bucket_pct)
    tiers, _ = resolve_tiers(symbol, settings)
    levels = seed_levels(candles, tiers, settings.split_clip)
    n_tiers = len(tiers)
    seeded_at = np.repeat(np.arange(n, dtype=np.int64)[:, None], n_tiers, axis=1)
    eval_idx = (np.arange(cols, dtype=np.int64) + first) * every + every - 1

    # Per-level factor / per-column factor: keep = C[e]/C[t] * 0.5**((e_close - t_close)/h).
    kept = np.cumprod(np.maximum(oi_decrease_factors(candles), 1e-12))
    hours = (candles.close_time - candles.close_time[0]).astype(np.float64) / HOUR_MS
    halving = np.array([t.half_life_h or np.inf for t in tiers])
    level_factor = np.power(2.0, hours[:, None] / halving[None, :]) / kept[:, None]
    col_factor = np.power(0.5, hours[eval_idx][:, None] / halving[None, :])
    col_factor = col_factor * kept[eval_idx][:, None]

    sides = []
    for prices, amounts, side, series in (
        (levels.long_price, levels.long_amount, "long", candles.low),
        (levels.short_price, levels.short_amount, "short", candles.high),
    ):
        touch = first_touch(series, seeded_at.ravel(), prices.ravel(), side).reshape(prices.shape)
        # Levels already passed by their own candle's close never live (see surviving_levels).
        close = candles.close[:, None]
        dead = (prices >= close) if side == "long" else (prices <= close)
        touch = np.where(dead, seeded_at, touch)
        # Columns counted from ``first``: a level seeded in the warm-up and still alive starts
        # at column 0.
        start = np.maximum(seeded_at // every - first, 0)
        stop = np.minimum(touch // every, whole) - first
        bucket = grid.index_of(prices)
        ok = (bucket >= 0) & (stop > start) & (amounts > 0)
        value = amounts * level_factor
        size = grid.size * (cols + 1)
        total = np.zeros((grid.size, cols))
        # One tier at a time, one (buckets x columns) temporary each: a 30-day heatmap's
        # (tiers x buckets x columns) block would be ~60 MB; this peaks at three such arrays.
        for k in range(n_tiers):
            on = ok[:, k]
            if not on.any():
                continue
            base = bucket[on, k] * (cols + 1)
            at = np.concatenate([base + start[on, k], base + stop[on, k]])
            weight = np.concatenate([value[on, k], -value[on, k]])
            live = np.bincount(at, weights=weight, minlength=size).reshape(grid.size, cols + 1)
            np.cumsum(live, axis=1, out=live)  # +amount from its start, -amount from its stop
            live[:, :cols] *= col_factor[:, k][None, :]
            total += live[:, :cols]
        sides.append(np.clip(total, 0.0, None))
    return Heatmap(
        symbol=symbol,
        grid=grid,
        times=candles.close_time[eval_idx],
        price=candles.close[eval_idx],
        long=sides[0],
        short=sides[1],
        model=levels.model,
    )
