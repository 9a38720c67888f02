"""Intervals that respect how market data clusters in time: a day-block bootstrap.

Cases from the same day (consecutive hours of one episode) are not independent, so the
bootstrap resamples whole days with replacement. Seeded: the same run gives the same interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from liqmap.times import DAY_MS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
REPS = 1000
LEVEL = 0.95


def _day_blocks(at: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Case order grouped by day, and each day's start and count in that order."""
    days = np.asarray(at, dtype=np.int64) // DAY_MS
    order = np.argsort(days, kind="stable")
    _, starts, counts = np.unique(days[order], return_index=True, return_counts=True)
    return order, starts.astype(np.int64), counts.astype(np.int64)


def bootstrap(
    stat: Callable[..., float],
    at: IntArray,
    *columns: FloatArray,
    reps: int = REPS,
    seed: int = 7,
) -> tuple[float, float, float]:
    """``stat(*columns)`` and its 95% day-block interval. NaN for no cases."""
    at = np.asarray(at, dtype=np.int64)
    if at.size == 0:
        return np.nan, np.nan, np.nan
    point = float(stat(*columns))
    order, starts, counts = _day_blocks(at)
    cols = [np.asarray(c)[order] for c in columns]
    rng = np.random.default_rng(seed)
    values = np.empty(reps)
    for r in range(reps):
        pick = rng.integers(0, starts.size, starts.size)
        n = counts[pick]
        offsets = np.repeat(starts[pick] - np.concatenate(([0], np.cumsum(n)[:-1])), n)
        idx = offsets + np.arange(int(n.sum()))
        values[r] = stat(*(c[idx] for c in cols))
    if np.isnan(values).all():  # the statistic is undefined on every resample (e.g. one group)
        return point, np.nan, np.nan
    lo, hi = np.nanpercentile(values, [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
    return point, float(lo), float(hi)


def _day_sums(at: IntArray, *columns: FloatArray) -> tuple[FloatArray, ...]:
    days = np.asarray(at, dtype=np.int64) // DAY_MS
    _, where = np.unique(days, return_inverse=True)
    n = int(where.max()) + 1 if where.size else 0
    return tuple(np.bincount(where, weights=c, minlength=n).astype(np.float64) for c in columns)


def ratio_interval(
    at: IntArray, num: FloatArray, den: FloatArray, seed: int = 7
) -> tuple[float, float, float]:
    """sum(num) / sum(den) and its 95% day-block interval, from per-day sums (as
    :func:`bootstrap` resamples days, but fast for hundreds of thousands of cases)."""
    if np.asarray(at).size == 0:
        return np.nan, np.nan, np.nan
    s, n = _day_sums(at, num, den)
    point = float(s.sum() / n.sum()) if n.sum() > 0 else np.nan
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, s.size, (REPS, s.size))
    with np.errstate(invalid="ignore", divide="ignore"):
        values = s[pick].sum(axis=1) / n[pick].sum(axis=1)
    lo, hi = np.nanpercentile(values, [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
    return point, float(lo), float(hi)


def mean(x: FloatArray) -> float:
    return float(np.mean(x)) if x.size else np.nan


def median(x: FloatArray) -> float:
    return float(np.median(x)) if x.size else np.nan


def ratio_of_means(a: FloatArray, b: FloatArray) -> float:
    return float(np.mean(a) / np.mean(b)) if a.size and np.mean(b) > 0 else np.nan


def difference(stat: Callable[[FloatArray], float]) -> Callable[[FloatArray, FloatArray], float]:
    """``stat(values[group]) - stat(values[~group])`` for a 0/1 group column."""

    def diff(values: FloatArray, group: FloatArray) -> float:
        g = group > 0.5
        if not g.any() or g.all():
            return np.nan
        return stat(values[g]) - stat(values[~g])

    return diff


def random_hours(n: int, candidates: Sequence[int] | IntArray, seed: int) -> IntArray:
    """``n`` hours drawn (without replacement when possible) from ``candidates``: the
    baseline of an alert is the same number of alerts at random hours."""
    cand = np.asarray(candidates, dtype=np.int64)
    if cand.size == 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(cand, size=n, replace=n > cand.size))


def ranks(x: FloatArray) -> FloatArray:
    """Ranks 1..n, ties given their average rank."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    average = np.cumsum(counts) - (counts - 1) / 2.0
    return np.asarray(average[inverse.ravel()], dtype=np.float64)


def spearman(x: FloatArray, y: FloatArray) -> float:
    """Rank correlation (ties averaged); NaN under 3 cases or with no spread."""
    if x.size < 3:
        return np.nan
    rx, ry = ranks(x), ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = float(np.sqrt(np.dot(rx, rx) * np.dot(ry, ry)))
    return float(np.dot(rx, ry) / den) if den > 0 else np.nan


def spearman_gain(x: FloatArray, rival: FloatArray, y: FloatArray) -> float:
    """``spearman(x, y) - spearman(rival, y)``: how much better ``x`` ranks ``y``."""
    return spearman(x, y) - spearman(rival, y)
