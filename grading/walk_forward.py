"""The map refitted walk-forward: its settings picked from the past only, graded on what came next.

The procedure, fixed before it was first run (README "The map refitted walk-forward"):

1. The graded hours are cut into consecutive blocks of ``BLOCK_H`` (4 weeks) from the first one.
2. Before each block, every variant of ``GRID`` is scored on the graded hours of the
   ``LOOKBACK_H`` (8 weeks) before the block's first hour: the totals score (partial Spearman of
   the hour's liquidated USD with the map's USD in the traversed range, partial on the move),
   averaged over longs and shorts. The best one grades the block (ties: the earlier in ``GRID``).
   With fewer than ``MIN_PAST_H`` (4 weeks) of graded hours before it, the block keeps the
   default settings (the first block: there is no past to pick from).
3. Each hour's walk-forward value is the map's USD in its traversed range under the settings
   picked for its block; the figure is the totals score of that series over every graded
   hour, next to the naive baseline (hours untouched) and the fixed default settings, with 95%
   day-block bootstrap intervals (whole days resampled; margins paired on the same days).

No hour at or after a block's first hour is read to pick that block's settings, so the figure is
out of sample by construction. Each variant's hourly values are computed once and can be cached
on disk (``cache_dir``): the picks then cost a few partial Spearmans per block.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from grading.data import Totals
from grading.hourly import DEFAULT_LOOKBACK_H, HourView, hour_views
from grading.scoring import Interval, partial_spearman
from grading.skill import SIDES, TooLittleData, traversed_notional, untouched_in_range
from liqmap import Candles, ModelSettings
from liqmap.times import DAY_MS, HOUR_MS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BLOCK_H = 4 * 7 * 24
LOOKBACK_H = 8 * 7 * 24
MIN_PAST_H = 4 * 7 * 24
DRAWS = 1000
SEED = 21

# The candidates, fixed before the first run: the default, and the blends that carry what the
# naive baseline knows (levels nobody has revisited) in map form.
GRID: tuple[tuple[str, ModelSettings], ...] = (
    ("default", ModelSettings()),
    ("swing stops", ModelSettings(swing_rate=0.01)),
    ("swing stops, 2 h pivot", ModelSettings(swing_rate=0.01, swing_pivot_h=2.0)),
    ("swing stops + untouched prior", ModelSettings(swing_rate=0.01, untouched_power=1.0)),
    ("resting pool", ModelSettings(resting_rate=0.1, resting_power=1.5)),
)


@dataclass(frozen=True)
class Hourly:
    """Per graded hour (``start``): what each side's score reads. ``model[name]`` is a variant's
    map USD in the traversed range, shaped (2, hours) for longs and shorts."""

    start: IntArray
    usd: FloatArray  # (2, hours)
    move: FloatArray  # (2, hours): log size of the move on that side
    baseline: FloatArray  # (2, hours): hours untouched over the traversed buckets
    model: dict[str, FloatArray]


@dataclass(frozen=True)
class Block:
    start: int
    end: int  # exclusive
    settings: str
    past_hours: int  # graded hours its pick was made on


@dataclass(frozen=True)
class WalkForward:
    hours: int
    blocks: list[Block]
    # per side: "model" (walk-forward), "baseline", "default", "margin" (model - baseline),
    # "default_margin" (default - baseline)
    sides: dict[str, dict[str, Interval]]
    seconds: float = 0.0


def _fingerprint(candles: Candles, totals: Totals, start: IntArray) -> str:
    h = hashlib.sha256()
    for a in (candles.time, candles.close, candles.oi, totals.time, totals.long_usd, start):
        if a is not None:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _variant_values(views: list[HourView]) -> FloatArray:
    return np.array([[traversed_notional(v, side) for v in views] for side in SIDES])


def hourly_table(
    candles: Candles,
    totals: Totals,
    symbol: str,
    start_ms: int,
    end_ms: int,
    grid: Sequence[tuple[str, ModelSettings]] = GRID,
    cache_dir: Path | None = None,
    lookback_h: float = DEFAULT_LOOKBACK_H,
) -> Hourly:
    """Every variant's hourly values over the totals' hours in ``[start, end)`` (cached per
    variant under ``cache_dir`` when given, keyed on the data and the settings)."""
    keep = (totals.time >= start_ms) & (totals.time < end_ms) & (totals.time % HOUR_MS == 0)
    wanted = totals.time[keep]
    key = _fingerprint(candles, totals, wanted)
    model: dict[str, FloatArray] = {}
    shared: Hourly | None = None
    for name, settings in grid:
        tag = hashlib.sha256(f"{key}{symbol}{lookback_h}{settings!r}".encode()).hexdigest()[:20]
        path = cache_dir / f"walk-{tag}.npz" if cache_dir is not None else None
        if path is not None and path.exists():
            with np.load(path) as z:
                model[name] = z["model"]
                if shared is None:
                    shared = Hourly(z["start"], z["usd"], z["move"], z["baseline"], {})
            continue
        views = hour_views(candles, symbol, wanted, settings, lookback_h)
        values = _variant_values(views)
        if shared is None:
            start = np.array([v.start for v in views], dtype=np.int64)
            ix = np.searchsorted(totals.time, start)
            usd = np.vstack([totals.long_usd[ix], totals.short_usd[ix]])
            move = np.array(
                [[np.log(v.open / v.low) for v in views], [np.log(v.high / v.open) for v in views]]
            )
            base = np.array([[untouched_in_range(v, side) for v in views] for side in SIDES])
            shared = Hourly(start, usd, move, base, {})
        model[name] = values
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                path,
                model=values,
                start=shared.start,
                usd=shared.usd,
                move=shared.move,
                baseline=shared.baseline,
            )
    if shared is None or shared.start.size == 0:
        raise TooLittleData("no graded hour in the period")
    return Hourly(shared.start, shared.usd, shared.move, shared.baseline, model)


def totals_score(values: FloatArray, table: Hourly, rows: IntArray) -> float:
    """The pick's criterion: the partial Spearman averaged over longs and shorts on ``rows``."""
    return float(
        np.mean(
            [
                partial_spearman(values[s, rows], table.usd[s, rows], table.move[s, rows])
                for s in (0, 1)
            ]
        )
    )


Selector = Callable[[Hourly, int], tuple[str, int]]


def pick_before(table: Hourly, block_start: int) -> tuple[str, int]:
    """The variant with the best totals score over the graded hours of the ``LOOKBACK_H``
    before ``block_start`` (never at or after it); the default under ``MIN_PAST_H`` of them."""
    past = np.flatnonzero(
        (table.start >= block_start - LOOKBACK_H * HOUR_MS) & (table.start < block_start)
    )
    names = list(table.model)
    if past.size < MIN_PAST_H:
        return names[0], int(past.size)
    scores = [totals_score(table.model[n], table, past) for n in names]
    return names[int(np.argmax(scores))], int(past.size)


def blocks_of(table: Hourly, select: Selector = pick_before) -> list[Block]:
    first, last = int(table.start[0]), int(table.start[-1]) + HOUR_MS
    out = []
    for b in range(first, last, BLOCK_H * HOUR_MS):
        name, past = select(table, b)
        out.append(Block(b, min(b + BLOCK_H * HOUR_MS, last), name, past))
    return out


def walk_forward_values(table: Hourly, blocks: list[Block]) -> FloatArray:
    """Each hour's value under the settings picked for its block."""
    out = np.zeros_like(table.baseline)
    for blk in blocks:
        rows = (table.start >= blk.start) & (table.start < blk.end)
        out[:, rows] = table.model[blk.settings][:, rows]
    return out


def _day_draws(start: IntArray, draws: int, seed: int) -> list[IntArray]:
    """Row indices of ``draws`` day-block resamples: whole days drawn with replacement."""
    days = start // DAY_MS
    uniq, first, counts = np.unique(days, return_index=True, return_counts=True)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(draws):
        pick = rng.integers(0, uniq.size, uniq.size)
        n = counts[pick]
        offsets = np.repeat(first[pick] - np.concatenate(([0], np.cumsum(n)[:-1])), n)
        out.append((offsets + np.arange(int(n.sum()))).astype(np.int64))
    return out


def _codes(x: FloatArray) -> tuple[IntArray, int]:
    """Each value's place among the distinct values (0 = smallest), and how many there are."""
    uniq, inverse = np.unique(x, return_inverse=True)
    return inverse.ravel().astype(np.int64), int(uniq.size)


def _resample_ranks(code: IntArray, k: int, rows: IntArray) -> FloatArray:
    """Ranks 1..n (ties averaged) of the resampled values, by counting instead of sorting."""
    counts = np.bincount(code[rows], minlength=k).astype(np.float64)
    below = np.cumsum(counts) - counts
    result: FloatArray = below[code[rows]] + (counts[code[rows]] + 1) / 2
    return result


def _partial_from_ranks(rx: FloatArray, ry: FloatArray, rz: FloatArray) -> float:
    def corr(a: FloatArray, b: FloatArray) -> float:
        a, b = a - a.mean(), b - b.mean()
        den = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
        return float(np.dot(a, b) / den) if den > 0 else 0.0

    rxy, rxz, ryz = corr(rx, ry), corr(rx, rz), corr(ry, rz)
    den = np.sqrt(max(1.0 - rxz * rxz, 0.0) * max(1.0 - ryz * ryz, 0.0))
    return float((rxy - rxz * ryz) / den) if den > 0 else 0.0


def _interval(point: float, draws: FloatArray) -> Interval:
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return Interval(point, float(lo), float(hi))


def grade_walk_forward(table: Hourly, draws: int = DRAWS, seed: int = SEED) -> WalkForward:
    """The walk-forward figure next to the baseline and the fixed default, per side."""
    n = table.start.size
    if n < MIN_PAST_H + 24:
        raise TooLittleData(f"{n} graded hours: the walk-forward needs at least {MIN_PAST_H + 24}")
    blocks = blocks_of(table)
    wf = walk_forward_values(table, blocks)
    default = table.model[next(iter(table.model))]
    resamples = _day_draws(table.start, draws, seed)
    sides: dict[str, dict[str, Interval]] = {}
    for s, side in enumerate(SIDES):
        series = {"model": wf[s], "baseline": table.baseline[s], "default": default[s]}
        y, z = table.usd[s], table.move[s]
        points = {k: partial_spearman(v, y, z) for k, v in series.items()}
        codes = {k: _codes(v) for k, v in series.items()}
        (cy, ky), (cz, kz) = _codes(y), _codes(z)
        got = {k: np.empty(draws) for k in series}
        for d, rows in enumerate(resamples):
            ry, rz = _resample_ranks(cy, ky, rows), _resample_ranks(cz, kz, rows)
            for k, (code, nk) in codes.items():
                got[k][d] = _partial_from_ranks(_resample_ranks(code, nk, rows), ry, rz)
        sides[side] = {k: _interval(points[k], got[k]) for k in series}
        sides[side]["margin"] = _interval(
            points["model"] - points["baseline"], got["model"] - got["baseline"]
        )
        sides[side]["default_margin"] = _interval(
            points["default"] - points["baseline"], got["default"] - got["baseline"]
        )
    return WalkForward(n, blocks, sides)
