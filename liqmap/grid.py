"""Log-spaced price buckets around a centre price.

Log spacing keeps every bucket the same *percentage* wide, so a 0.1% bucket means the same
thing at 20,000 and at 120,000.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PriceGrid:
    """Buckets `[edges[i], edges[i+1])`, each `bucket_pct` percent wide.

    Built with :func:`make_grid`; ``centre`` is the price the range was drawn around.
    """

    centre: float
    edges: FloatArray

    @property
    def lows(self) -> FloatArray:
        return self.edges[:-1]

    @property
    def highs(self) -> FloatArray:
        return self.edges[1:]

    @property
    def mids(self) -> FloatArray:
        """Geometric midpoint of each bucket."""
        return np.sqrt(self.edges[:-1] * self.edges[1:])

    @property
    def size(self) -> int:
        return int(self.edges.size - 1)

    def index_of(self, prices: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Bucket index of each price; -1 where it falls outside the grid."""
        p = np.asarray(prices, dtype=np.float64)
        idx = np.searchsorted(self.edges, p, side="right") - 1
        inside = (idx >= 0) & (idx < self.size) & np.isfinite(p)
        return np.where(inside, idx, -1).astype(np.int64)


def make_grid(centre: float, range_pct: float = 30.0, bucket_pct: float = 0.1) -> PriceGrid:
    """Grid from ``centre * (1 - range_pct/100)`` to ``centre * (1 + range_pct/100)``.

    Edges are ``lo * (1 + bucket_pct/100) ** k``: equal log steps.
    """
    if not (centre > 0 and np.isfinite(centre)):
        raise ValueError(f"grid centre must be a positive price, got {centre!r}")
    if not 0 < range_pct < 100:
        raise ValueError("range_pct must be between 0 and 100")
    if not 0 < bucket_pct < range_pct:
        raise ValueError("bucket_pct must be positive and smaller than range_pct")
    lo = centre * (1 - range_pct / 100)
    hi = centre * (1 + range_pct / 100)
    step = np.log1p(bucket_pct / 100)
    count = int(np.ceil(np.log(hi / lo) / step))
    edges = lo * np.exp(step * np.arange(count + 1))
    return PriceGrid(centre=float(centre), edges=edges)


def rebin(values: FloatArray, grid: PriceGrid, bars: int) -> tuple[PriceGrid, FloatArray]:
    """Merge neighbouring buckets so the grid has at most ``bars`` buckets (for display).

    Totals are preserved; the last merged bar may hold fewer source buckets.
    """
    if bars <= 0:
        raise ValueError("bars must be positive")
    factor = max(1, int(np.ceil(grid.size / bars)))
    if factor == 1:
        return grid, values
    n = grid.size
    starts = np.arange(0, n, factor)
    merged = np.add.reduceat(values, starts, axis=-1)
    edges = np.append(grid.edges[starts], grid.edges[-1])
    return PriceGrid(centre=grid.centre, edges=edges), merged
