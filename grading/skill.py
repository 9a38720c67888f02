"""The two grades: single liquidation prints ranked by bucket, and hourly totals correlated with
the map's notional inside the hour's traversed range."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from grading.hourly import HourView, hours_untouched
from grading.scoring import (
    NONE,
    Interval,
    bootstrap_indices,
    partial_spearman_interval,
    partial_spearman_margin,
    pooled_margin,
    pooled_share,
    top_third_notional,
)
from liqmap.times import HOUR_MS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SIDES = ("long", "short")
ALIGNMENTS = 10
BUCKET_PCT = 0.1
BOOTSTRAP_DRAWS = 1000
# Below these, a share or a correlation is mostly luck: no figure is printed.
MIN_HOURS = 24
MIN_EVENTS = 30
MIN_SIDE_HOURS = 12


class TooLittleData(ValueError):
    """Too few hours or events to print a figure."""


@dataclass(frozen=True)
class SideGrade:
    model: Interval
    random: Interval  # events: a random ranking; totals: the placebo (another hour's map)
    baseline: Interval
    margin: Interval  # model - baseline, paired on the same resampled hours
    hours: int  # hours with liquidations on this side
    usd: float


@dataclass(frozen=True)
class Grade:
    mode: str  # "events" or "totals"
    hours: int
    events: int  # single prints (events mode) or hours with any liquidation (totals mode)
    long: SideGrade
    short: SideGrade

    def side(self, name: str) -> SideGrade:
        return self.long if name == "long" else self.short


def bucket_edges(low: float, high: float, alignment: float) -> tuple[FloatArray, int]:
    """Edges of the 0.1% log buckets covering ``[low, high]``, the grid shifted by
    ``alignment`` of a bucket, and the index of the first bucket."""
    step = np.log1p(BUCKET_PCT / 100.0)
    k_lo = int(np.floor(np.log(low) / step + alignment))
    k_hi = int(np.floor(np.log(high) / step + alignment))
    k = np.arange(k_lo, k_hi + 2, dtype=np.float64)
    return np.exp((k - alignment) * step), k_lo


def bucket_of(prices: FloatArray, k_lo: int, n: int, alignment: float) -> IntArray:
    """Bucket of each price; prints just outside the hour's candle range go to the edge bucket
    (venues' prints differ from the candle venue by a few basis points)."""
    step = np.log1p(BUCKET_PCT / 100.0)
    k = np.floor(np.log(prices) / step + alignment).astype(np.int64) - k_lo
    inside: IntArray = np.clip(k, 0, n - 1)
    return inside


def _hour_tops(
    view: HourView, side: str, prices: FloatArray, usd: FloatArray, rng: np.random.Generator
) -> tuple[float, float, float]:
    """Top-third USD of one hour and side for the map, a random ranking and the baseline,
    averaged over the bucket alignments."""
    levels = view.long if side == "long" else view.short
    tops = np.zeros(3)
    for a in range(ALIGNMENTS):
        shift = a / ALIGNMENTS
        edges, k_lo = bucket_edges(view.low, view.high, shift)
        n = edges.size - 1
        where = bucket_of(prices, k_lo, n, shift)
        notional = np.bincount(where, weights=usd, minlength=n).astype(np.float64)
        lo, hi = edges[:-1], edges[1:]
        tops[0] += top_third_notional(levels.between(lo, hi), notional)
        tops[1] += top_third_notional(rng.random(n), notional)
        tops[2] += top_third_notional(hours_untouched(view, lo, hi, side), notional)
    return tops[0] / ALIGNMENTS, tops[1] / ALIGNMENTS, tops[2] / ALIGNMENTS


def grade_events(
    views: list[HourView],
    time_ms: IntArray,
    side: npt.NDArray[np.str_],
    price: FloatArray,
    usd: FloatArray,
    seed: int = 12,
    draws: int = BOOTSTRAP_DRAWS,
) -> Grade:
    """Share of liquidated USD in the top third of the hour's buckets, per side."""
    rng = np.random.default_rng(seed)
    starts = np.array([v.start for v in views], dtype=np.int64)
    hour_ix = np.searchsorted(starts, time_ms, side="right") - 1
    inside = (hour_ix >= 0) & (time_ms < starts[np.maximum(hour_ix, 0)] + HOUR_MS)
    if len(views) < MIN_HOURS or int(inside.sum()) < MIN_EVENTS:
        raise TooLittleData(
            f"{len(views)} hours and {int(inside.sum())} events in the period: a figure needs "
            f"at least {MIN_HOURS} hours and {MIN_EVENTS} events"
        )
    boot = bootstrap_indices(len(views), draws, seed)
    grades = {}
    for name in SIDES:
        tops = np.zeros((len(views), 3))
        total = np.zeros(len(views))
        mine = inside & (side == name)
        order = np.argsort(hour_ix[mine], kind="stable")
        h_sel, p_sel, u_sel = hour_ix[mine][order], price[mine][order], usd[mine][order]
        cuts = np.searchsorted(h_sel, np.arange(len(views) + 1))
        for i, view in enumerate(views):
            a, b = cuts[i], cuts[i + 1]
            if b > a:
                tops[i] = _hour_tops(view, name, p_sel[a:b], u_sel[a:b], rng)
                total[i] = u_sel[a:b].sum()
        hours = int((total > 0).sum())
        if hours < MIN_SIDE_HOURS:
            grades[name] = SideGrade(NONE, NONE, NONE, NONE, hours, float(total.sum()))
            continue
        grades[name] = SideGrade(
            model=pooled_share(tops[:, 0], total, boot),
            random=pooled_share(tops[:, 1], total, boot),
            baseline=pooled_share(tops[:, 2], total, boot),
            margin=pooled_margin(tops[:, 0], tops[:, 2], total, boot),
            hours=hours,
            usd=float(total.sum()),
        )
    return Grade("events", len(views), int(inside.sum()), grades["long"], grades["short"])


def _range(view: HourView, side: str, open_: float, low: float, high: float) -> tuple[float, float]:
    return (low, open_) if side == "long" else (open_, high)


def traversed_notional(view: HourView, side: str) -> float:
    """The map's USD inside the range the hour traversed on that side."""
    levels = view.long if side == "long" else view.short
    lo, hi = _range(view, side, view.open, view.low, view.high)
    return float(levels.between(lo, np.nextafter(hi, np.inf)))


def placebo_notional(other: HourView, view: HourView, side: str) -> float:
    """Another hour's map shape (relative to its own price) over this hour's traversed range."""
    levels = other.long if side == "long" else other.short
    scale = other.ref / view.open
    lo, hi = _range(view, side, view.open, view.low, view.high)
    return float(levels.between(lo * scale, np.nextafter(hi * scale, np.inf)))


def untouched_in_range(view: HourView, side: str) -> float:
    """Baseline: hours untouched, summed over the 0.1% buckets the hour traversed (sampled at a
    tenth of a bucket, so no alignment luck)."""
    lo, hi = _range(view, side, view.open, view.low, view.high)
    if hi <= lo:
        return 0.0
    step = np.log1p(BUCKET_PCT / 100.0) / ALIGNMENTS
    pts = np.exp(np.arange(np.log(lo), np.log(hi), step))
    width = np.exp(np.log1p(BUCKET_PCT / 100.0))
    b_lo, b_hi = (pts / width, pts) if side == "long" else (pts, pts * width)
    return float(hours_untouched(view, b_lo, b_hi, side).sum() / ALIGNMENTS)


def placebo_partner(n: int, seed: int) -> IntArray:
    """For each hour, another hour (a random permutation without fixed points)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    fixed = np.flatnonzero(perm == np.arange(n))
    perm[fixed] = (fixed + n // 2) % n
    return perm.astype(np.int64)


def grade_totals(
    views: list[HourView],
    long_usd: FloatArray,
    short_usd: FloatArray,
    seed: int = 12,
    draws: int = BOOTSTRAP_DRAWS,
) -> Grade:
    """Per side, partial Spearman (on the move's size) of real liquidated USD with the map's
    notional in the traversed range, next to the placebo and the baseline."""
    n = len(views)
    if n < MIN_HOURS:
        raise TooLittleData(f"{n} hours in the period: a figure needs at least {MIN_HOURS}")
    boot = bootstrap_indices(n, draws, seed)
    partner = placebo_partner(n, seed)
    grades = {}
    for name, usd in (("long", long_usd), ("short", short_usd)):
        model = np.array([traversed_notional(v, name) for v in views])
        placebo = np.array(
            [placebo_notional(views[partner[i]], v, name) for i, v in enumerate(views)]
        )
        base = np.array([untouched_in_range(v, name) for v in views])
        move = np.array(
            [np.log(v.open / v.low) if name == "long" else np.log(v.high / v.open) for v in views]
        )
        hours = int((usd > 0).sum())
        if hours < MIN_SIDE_HOURS:
            grades[name] = SideGrade(NONE, NONE, NONE, NONE, hours, float(usd.sum()))
            continue
        grades[name] = SideGrade(
            model=partial_spearman_interval(model, usd, move, boot),
            random=partial_spearman_interval(placebo, usd, move, boot),
            baseline=partial_spearman_interval(base, usd, move, boot),
            margin=partial_spearman_margin(model, base, usd, move, boot),
            hours=hours,
            usd=float(usd.sum()),
        )
    busy = int(((long_usd + short_usd) > 0).sum())
    return Grade("totals", n, busy, grades["long"], grades["short"])
