"""Pure scoring (numpy only): top-third share with ties split, bootstrap, partial Spearman.

No map building and no I/O here: arrays in, numbers out, so every property can be checked on
hand-built inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TOP_SHARE = 1.0 / 3.0


def top_third_weights(values: FloatArray, share: float = TOP_SHARE) -> FloatArray:
    """How much of each bucket belongs to the top ``share`` of buckets ranked by ``values``.

    The weights add up to exactly ``share * len(values)``. Buckets tied across the cut each get
    the same part, so ties are split evenly (the expectation over random tie-breaks): a flat
    map gives every bucket ``share``, which is what a random ranking scores on average.
    """
    n = values.size
    if n == 0:
        return np.zeros(0)
    slots = share * n
    order = np.argsort(-values, kind="stable")
    v = values[order]
    # Tie groups in descending order: first position and size of each.
    starts = np.flatnonzero(np.concatenate(([True], v[1:] != v[:-1])))
    sizes = np.diff(np.concatenate((starts, [n])))
    before = starts.astype(np.float64)  # slots taken by higher groups
    taken = np.clip(slots - before, 0.0, sizes) / sizes  # part of the group inside the cut
    w_sorted = np.repeat(taken, sizes)
    out = np.empty(n)
    out[order] = w_sorted
    return out


def top_third_notional(values: FloatArray, notional: FloatArray) -> float:
    """Liquidated notional falling in the top third of buckets ranked by ``values``."""
    return float(np.dot(top_third_weights(values), notional))


@dataclass(frozen=True)
class Interval:
    """A figure with its 95% bootstrap interval (None when there is too little to say)."""

    score: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {"score": self.score, "low": self.low, "high": self.high}


NONE = Interval(None, None, None)


def bootstrap_indices(n: int, draws: int, seed: int) -> IntArray:
    """(draws, n) resampled row indices: the hours, drawn with replacement."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(draws, n)).astype(np.int64)


def pooled_share(top: FloatArray, total: FloatArray, boot: IntArray) -> Interval:
    """``sum(top) / sum(total)`` over hours, with a percentile interval from resampled hours."""
    denom = float(total.sum())
    if denom <= 0:
        return NONE
    sums = total[boot].sum(axis=1)
    ratios = top[boot].sum(axis=1) / np.where(sums > 0, sums, np.nan)
    lo, hi = np.nanpercentile(ratios, [2.5, 97.5])
    return Interval(float(top.sum()) / denom, float(lo), float(hi))


def ranks(x: FloatArray) -> FloatArray:
    """Ranks 1..n, ties given their average rank."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    average = upper - (counts - 1) / 2.0
    return np.asarray(average[inverse.ravel()], dtype=np.float64)


def _corr(a: FloatArray, b: FloatArray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    return float(np.dot(a, b) / den) if den > 0 else 0.0


def partial_spearman(x: FloatArray, y: FloatArray, z: FloatArray) -> float:
    """Rank correlation of x and y with the ranks of z (the size of the move) held fixed."""
    rx, ry, rz = ranks(x), ranks(y), ranks(z)
    rxy, rxz, ryz = _corr(rx, ry), _corr(rx, rz), _corr(ry, rz)
    den = np.sqrt(max(1.0 - rxz * rxz, 0.0) * max(1.0 - ryz * ryz, 0.0))
    return float((rxy - rxz * ryz) / den) if den > 0 else 0.0


def partial_spearman_interval(
    x: FloatArray, y: FloatArray, z: FloatArray, boot: IntArray
) -> Interval:
    draws = np.array([partial_spearman(x[i], y[i], z[i]) for i in boot])
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return Interval(partial_spearman(x, y, z), float(lo), float(hi))


def partial_spearman_margin(
    x: FloatArray, x_ref: FloatArray, y: FloatArray, z: FloatArray, boot: IntArray
) -> Interval:
    """``partial(x) - partial(x_ref)`` on the same resampled hours (paired)."""
    draws = np.array(
        [partial_spearman(x[i], y[i], z[i]) - partial_spearman(x_ref[i], y[i], z[i]) for i in boot]
    )
    lo, hi = np.percentile(draws, [2.5, 97.5])
    point = partial_spearman(x, y, z) - partial_spearman(x_ref, y, z)
    return Interval(point, float(lo), float(hi))


def pooled_margin(
    top: FloatArray, top_ref: FloatArray, total: FloatArray, boot: IntArray
) -> Interval:
    """``(sum(top) - sum(top_ref)) / sum(total)`` on the same resampled hours (paired)."""
    denom = float(total.sum())
    if denom <= 0:
        return NONE
    sums = total[boot].sum(axis=1)
    diff = (top - top_ref)[boot].sum(axis=1) / np.where(sums > 0, sums, np.nan)
    lo, hi = np.nanpercentile(diff, [2.5, 97.5])
    return Interval(float((top - top_ref).sum()) / denom, float(lo), float(hi))
