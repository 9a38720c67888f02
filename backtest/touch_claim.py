"""Claim ``liquidation_touch``: the touch model's chances are calibrated and beat distance alone.

For every generated position (``backtest/positions.py``) at every step it is watched and still
alive, the model's chance that price touches its liquidation price within 4 h and 24 h
(``liqmap.touch``, volatility from the hourly candles closed by then) is set against what
happened next (the next 4 / 24 hourly candles' lows or highs). The table is a reliability table
per predicted decile (0-10%, 10-20%, ...): predicted mean, observed share and the observed
share's 95% day-block interval. The baseline is a chance that depends on the % distance alone:
the share of hours whose next 4 / 24 h moved at least that far either way, fitted on the
history *outside* the backtested span (or, when that is under 60 days, on the other half of
the span). Both are scored with the Brier score.

Then the warning rule itself (``liqmap.touch.warning_levels``: fire at the threshold, escalate
once, re-arm below half of it) is replayed on the same positions for a range of thresholds: how
many warnings a position gets per week held, how many of them were false (no touch within the
next 24 h), and the share of the positions liquidated while held that were warned at least 15
minutes before. A check sees the price at its step and the extreme of the candles since the
previous check (as the live pass does); the reply to ``/open`` is the first check. With hourly
steps the liquidation's minute inside its hour is unknown, so a warning counts as 15 minutes
early only if it came at a step before the hour the liquidation traded in (a lower bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from backtest.cascade_term import cascade_span, chain_edges, walk_forward
from backtest.cascade_term import summary as cascade_summary
from backtest.claims import FAILS, FEW, HOLDS, MIN_CASES, MIN_DAYS, Claim, Context
from backtest.path import first_true
from backtest.stats import ratio_interval
from liqmap.times import DAY_MS
from liqmap.touch import (
    DEFAULT_TOUCH,
    rolling_volatility,
    touch_chance,
    warning_levels,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

HORIZONS = (4, 24)
THRESHOLDS = (0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5)
WANTED_WARNED = 0.9  # the default: the highest threshold that warns 90% of liquidations early
LEAD_MS = 15 * 60_000
FIT_MIN_DAYS = 60
SEED = 2026


@dataclass
class TouchClaim(Claim):
    """The claim plus its Brier scores and the threshold sweep (all in ``--json``)."""

    brier: list[dict[str, Any]] = field(default_factory=list)
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    default_threshold_pct: float = math.nan
    baseline_fit: str = ""
    cascade_term: dict[str, Any] = field(default_factory=dict)


# -- the cases ---------------------------------------------------------------------------------


@dataclass
class _Cases:
    at: IntArray
    step: IntArray
    side: IntArray
    price: FloatArray
    level: FloatArray
    fast: FloatArray
    slow: FloatArray
    predicted: dict[int, FloatArray]
    touched: dict[int, FloatArray]
    baseline: dict[int, FloatArray]


def _liquidation_candle(ctx: Context) -> tuple[IntArray, IntArray]:
    """Per generated position: the index of the first hourly candle (from the one after its
    opening step) whose low/high reached its liquidation price, and the candle index where it
    is closed (after ``hold_steps``). ``path.time.size`` for never."""
    book, n_steps, path = ctx.replay.book, len(ctx.replay.steps), ctx.path
    opened = book.opened_step
    k0 = ctx.first[opened]
    close_step = np.minimum(opened + book.plan.hold_steps, n_steps - 1)
    k_close = ctx.first[close_step]
    width = int((k_close - k0).max(initial=0)) + max(HORIZONS) + 1
    hi, lo = path.ahead(k0, width)
    side, lp = book.side[:, None], book.liquidation_price[:, None]
    hit = np.where(side > 0, lo <= lp, hi >= lp)
    rel = first_true(hit)
    liq = np.where(rel < width, k0 + rel, path.time.size)
    liq = np.where(k0 + rel < path.time.size, liq, path.time.size)
    return liq.astype(np.int64), k_close.astype(np.int64)


def _baseline_curve(
    path_low: FloatArray, path_high: FloatArray, path_close: FloatArray, starts: IntArray, h: int
) -> FloatArray:
    """Sorted moves (% of the price before the start) of ``h`` hours from each start, either
    way: the baseline's chance at distance d is the share of moves >= d."""
    idx = starts[:, None] + np.arange(h)[None, :]
    ref = path_close[starts - 1]
    down = (1 - path_low[idx].min(axis=1) / ref) * 100
    up = (path_high[idx].max(axis=1) / ref - 1) * 100
    return np.sort(np.concatenate([down, up]))


def _survival(curve: FloatArray, dist_pct: FloatArray) -> FloatArray:
    if curve.size == 0:
        return np.full(dist_pct.shape, np.nan)
    out: FloatArray = 1.0 - np.searchsorted(curve, dist_pct, side="left") / curve.size
    return out


def _fit_starts(ctx: Context, mask: BoolArray) -> IntArray:
    """Candle indices (with a candle before and 24 h after, all in ``mask``) to fit on."""
    path = ctx.path
    idx = np.flatnonzero(mask)
    idx = idx[(idx >= 1) & path.covered(idx, max(HORIZONS))]
    last = np.minimum(idx + max(HORIZONS) - 1, path.time.size - 1)
    return idx[mask[last]]


def _baseline(
    ctx: Context, at: IntArray, dist_pct: FloatArray
) -> tuple[dict[int, FloatArray], str]:
    path, spec = ctx.path, ctx.replay.spec
    margin = max(HORIZONS) * 3_600_000
    outside = (path.time < spec.start - margin) | (path.time > spec.end + margin)
    starts = _fit_starts(ctx, outside)
    out: dict[int, FloatArray] = {}
    if starts.size >= FIT_MIN_DAYS * 24:
        for h in HORIZONS:
            out[h] = _survival(
                _baseline_curve(path.low, path.high, path.close, starts, h), dist_pct
            )
        return out, f"fitted on the {starts.size} hours of history outside the span"
    mid = (spec.start + spec.end) // 2
    first_half = at < mid
    fits = {
        True: _fit_starts(ctx, (path.time >= mid) & (path.time <= spec.end + margin)),
        False: _fit_starts(ctx, path.time < mid),
    }
    for h in HORIZONS:
        res = np.full(at.shape, np.nan)
        for half, st in fits.items():
            sel = first_half == half
            res[sel] = _survival(
                _baseline_curve(path.low, path.high, path.close, st, h), dist_pct[sel]
            )
        out[h] = res
    return out, "fitted on the other half of the span (under 60 days of history outside it)"


def _cases(ctx: Context, fast: FloatArray, slow: FloatArray, liq: IntArray) -> tuple[_Cases, str]:
    book, n_steps = ctx.replay.book, len(ctx.replay.steps)
    hold = book.plan.hold_steps
    pos = np.repeat(np.arange(len(book)), hold)
    step = book.opened_step[pos] + np.tile(np.arange(1, hold + 1), len(book))
    keep = step < n_steps
    pos, step = pos[keep], step[keep]
    first = ctx.first[step]
    keep = (liq[pos] >= first) & ctx.path.covered(first, max(HORIZONS)) & (first >= 1)
    pos, step, first = pos[keep], step[keep], first[keep]
    price, level = ctx.price[step], book.liquidation_price[pos]
    f, s = fast[first - 1], slow[first - 1]
    at = ctx.at[step]
    predicted = {h: touch_chance(price, level, f, s, h) for h in HORIZONS}
    touched = {h: (liq[pos] < first + h).astype(np.float64) for h in HORIZONS}
    dist = np.abs(level / price - 1) * 100
    baseline, how = _baseline(ctx, at, dist)
    ok = np.isfinite(f) & np.isfinite(s)
    for h in HORIZONS:
        ok &= np.isfinite(baseline[h])
    return (
        _Cases(
            at[ok],
            step[ok],
            book.side[pos][ok].astype(np.int64),
            price[ok],
            level[ok],
            f[ok],
            s[ok],
            {h: v[ok] for h, v in predicted.items()},
            {h: v[ok] for h, v in touched.items()},
            {h: v[ok] for h, v in baseline.items()},
        ),
        how,
    )


def _reliability(c: _Cases, h: int) -> list[dict[str, Any]]:
    p, y = c.predicted[h], c.touched[h]
    bins = np.minimum((p * 10).astype(np.int64), 9)
    rows = []
    for b in range(10):
        sel = bins == b
        n = int(sel.sum())
        days = int(np.unique(c.at[sel] // DAY_MS).size)
        share = ratio_interval(c.at[sel], y[sel], np.ones(n), seed=SEED + b + h)
        pred = float(p[sel].mean()) if n else math.nan
        judged = n >= MIN_CASES and days >= MIN_DAYS
        rows.append(
            {
                "horizon_h": h,
                "decile": f"{10 * b}-{10 * b + 10}%",
                "cases": n,
                "days": days,
                "predicted_pct": 100 * pred,
                "observed_pct": 100 * share[0],
                "interval": [100 * share[1], 100 * share[2]],
                "inside": bool(judged and share[1] <= pred <= share[2]),
                "judged": judged,
            }
        )
    return rows


def _brier(c: _Cases, h: int) -> dict[str, Any]:
    p, y, b = c.predicted[h], c.touched[h], c.baseline[h]
    ones = np.ones(p.size)
    model = ratio_interval(c.at, (p - y) ** 2, ones, SEED)
    base = ratio_interval(c.at, (b - y) ** 2, ones, SEED)
    diff = ratio_interval(c.at, (p - y) ** 2 - (b - y) ** 2, ones, SEED)
    return {
        "horizon_h": h,
        "cases": int(p.size),
        "touched_pct": 100 * float(y.mean()) if y.size else math.nan,
        "model": model[0],
        "model_interval": [model[1], model[2]],
        "baseline": base[0],
        "baseline_interval": [base[1], base[2]],
        "difference": diff[0],
        "difference_interval": [diff[1], diff[2]],
    }


# -- the warning rule, replayed ----------------------------------------------------------------


def _check_chances(
    ctx: Context, fast: FloatArray, slow: FloatArray, liq: IntArray
) -> tuple[FloatArray, IntArray, BoolArray]:
    """Per position and check (the /open reply, then each watched step): the 4 h chance at the
    worst price since the previous check (NaN once liquidated or past the data), the check's
    time, and whether it was alive at that check."""
    book, n_steps, path = ctx.replay.book, len(ctx.replay.steps), ctx.path
    hold = book.plan.hold_steps
    # the extreme of the candles since the previous step (none for sub-hour steps in an hour)
    lo_since = np.full(n_steps, np.inf)
    hi_since = np.full(n_steps, -np.inf)
    for i in range(1, n_steps):
        a, b = int(ctx.first[i - 1]), int(ctx.first[i])
        if b > a:
            lo_since[i] = path.low[a:b].min()
            hi_since[i] = path.high[a:b].max()
    n = len(book)
    steps = book.opened_step[:, None] + np.arange(hold + 1)[None, :]
    valid = steps < n_steps
    steps = np.minimum(steps, n_steps - 1)
    first = ctx.first[steps]
    alive = valid & (liq[:, None] >= first) & (first >= 1)
    price = ctx.price[steps]
    side = book.side[:, None]
    worst = np.where(
        side > 0, np.minimum(price, lo_since[steps]), np.maximum(price, hi_since[steps])
    )
    worst[:, 0] = price[:, 0]  # the /open reply sees the price it quotes
    kv = np.maximum(first - 1, 0)
    lp = np.broadcast_to(book.liquidation_price[:, None], (n, hold + 1))
    chance = touch_chance(worst, lp, fast[kv], slow[kv], 4)
    chance = np.where(alive, chance, np.nan)
    return chance, ctx.at[steps], alive


def _cascade_term(ctx: Context, c: _Cases) -> dict[str, Any]:
    """The clusters' rival (``backtest.cascade_term``) on the same cases."""
    near, far = chain_edges(ctx.replay.steps)
    span = cascade_span(near, far, c.step, c.side, c.price, c.level)
    left = np.maximum(np.abs(np.log(c.level / c.price)) - span, 1e-9)
    nearer = c.price * np.exp(-np.sign(c.side) * left)
    through = {h: touch_chance(c.price, nearer, c.fast, c.slow, h) for h in HORIZONS}
    return walk_forward(c.at, c.touched, c.predicted, through, span > 0)


def _sweep(
    ctx: Context, fast: FloatArray, slow: FloatArray, liq: IntArray, k_close: IntArray
) -> list[dict[str, Any]]:
    book, n_steps, path = ctx.replay.book, len(ctx.replay.steps), ctx.path
    hold = book.plan.hold_steps
    chance, when, alive = _check_chances(ctx, fast, slow, liq)
    full = book.opened_step + hold < n_steps  # held the whole time within the data
    died = full & (liq < k_close)
    liq_ms = path.time[np.minimum(liq, path.time.size - 1)]
    first = ctx.first[
        np.minimum(book.opened_step[:, None] + np.arange(hold + 1)[None, :], n_steps - 1)
    ]
    touched_24h = liq[:, None] < first + 24
    weeks = float(alive[full][:, 1:].sum()) * ctx.replay.spec.every_ms / (7 * DAY_MS)
    rows = []
    for t in THRESHOLDS:
        escalate, rearm = warning_levels(t)
        armed = np.ones(len(book), dtype=np.bool_)
        escalated = np.zeros(len(book), dtype=np.bool_)
        fired = np.zeros(chance.shape, dtype=np.bool_)
        for j in range(hold + 1):
            c = chance[:, j]
            known = np.isfinite(c)
            back = known & (c < rearm)
            armed |= back
            escalated &= ~back
            first_warn = known & armed & (c >= t)
            esc = known & ~armed & ~escalated & (c >= escalate)
            fire = first_warn | esc
            armed &= ~first_warn
            escalated |= esc | (first_warn & (c >= escalate))  # one message when both at once
            fired[:, j] = fire
        early = fired & (when <= liq_ms[:, None] - LEAD_MS)
        warned_early = early[died].any(axis=1)
        f = fired[full][:, 1:]  # messages: the /open reply (column 0) is sent anyway
        rows.append(
            {
                "threshold_pct": 100 * t,
                "open_replies_warning_pct": 100 * float(fired[full][:, 0].mean())
                if full.any()
                else math.nan,
                "warnings": int(f.sum()),
                "warnings_per_position_week": float(f.sum()) / weeks if weeks else math.nan,
                "false_per_position_week": float((f & ~touched_24h[full][:, 1:]).sum()) / weeks
                if weeks
                else math.nan,
                "liquidated": int(died.sum()),
                "warned_15min_pct": 100 * float(warned_early.mean()) if died.any() else math.nan,
                "warned_15min_after_open_pct": 100 * float(early[died][:, 1:].any(axis=1).mean())
                if died.any()
                else math.nan,
            }
        )
    return rows


def choose_threshold(rows: list[dict[str, Any]]) -> float:
    """The highest threshold that still warned >= 90% of the liquidated positions 15 minutes
    early (the lowest one when none did)."""
    good = [r["threshold_pct"] for r in rows if (r["warned_15min_pct"] or 0) >= 100 * WANTED_WARNED]
    return float(max(good) if good else min(r["threshold_pct"] for r in rows))


def liquidation_touch_claim(ctx: Context) -> TouchClaim:
    claim = TouchClaim(
        "liquidation_touch",
        "The chance of touching your liquidation price is calibrated",
        "The liquidation warning's chance that price touches a position's liquidation price "
        "within 4 h / 24 h (Brownian motion with the recent candles' volatility, fat tails) "
        "matches what happened, and beats a chance from the % distance alone.",
        "Generated positions at every step they were watched and alive: the predicted 4 h and "
        "24 h touch chance against whether the next 4 / 24 hourly candles reached the "
        "liquidation price. Reliability per predicted decile (deciles with >= 20 cases on >= 5 "
        "days are judged); the baseline is the share of hours that moved at least the same % "
        "either way, fitted on another period. Holds if, at both horizons, the predicted mean "
        "lies inside the observed share's 95% day-block interval in most judged deciles and the "
        "Brier score is below the baseline's.",
        unit="Brier score, 4 h",
    )
    path = ctx.path
    fast, slow = rolling_volatility(path.high, path.low, 3_600_000, DEFAULT_TOUCH)
    liq, k_close = _liquidation_candle(ctx)
    cases, claim.baseline_fit = _cases(ctx, fast, slow, liq)
    claim.cases = claim.baseline_cases = int(cases.at.size)
    if cases.at.size == 0:
        claim.summary = "No position step with 24 h of candles after it."
        return claim
    claim.table = [row for h in HORIZONS for row in _reliability(cases, h)]
    claim.brier = [_brier(cases, h) for h in HORIZONS]
    b4 = claim.brier[0]
    claim.estimate, claim.interval = b4["model"], tuple(b4["model_interval"])
    claim.baseline = b4["baseline"]
    claim.baseline_interval = tuple(b4["baseline_interval"])
    claim.cascade_term = _cascade_term(ctx, cases)
    claim.thresholds = _sweep(ctx, fast, slow, liq, k_close)
    claim.default_threshold_pct = choose_threshold(claim.thresholds)
    for r in claim.thresholds:
        r["chosen"] = r["threshold_pct"] == claim.default_threshold_pct
    verdicts = []
    parts = []
    for h, br in zip(HORIZONS, claim.brier, strict=True):
        rows = [r for r in claim.table if r["horizon_h"] == h and r["judged"]]
        inside = sum(r["inside"] for r in rows)
        most = bool(rows) and inside > len(rows) / 2
        beats = br["model"] < br["baseline"]
        verdicts.append((len(rows), most and beats))
        parts.append(
            f"{h} h: inside the interval in {inside} of {len(rows)} judged deciles; Brier "
            f"{br['model']:.4f} vs {br['baseline']:.4f} for distance alone (difference "
            f"{br['difference']:.4f} [{br['difference_interval'][0]:.4f}, "
            f"{br['difference_interval'][1]:.4f}]; {br['touched_pct']:.1f}% touched)"
        )
    chosen = next(r for r in claim.thresholds if r["chosen"])
    claim.summary = (
        f"{cases.at.size:,} position-steps. "
        + "; ".join(parts)
        + f". Warning at {chosen['threshold_pct']:g}% (4 h): "
        f"{chosen['warnings_per_position_week']:.2f} warnings per position-week "
        f"({chosen['false_per_position_week']:.2f} not followed by a "
        f"touch within 24 h); {chosen['warned_15min_pct']:.1f}% of the {chosen['liquidated']} "
        f"positions liquidated while held were warned >= 15 min before "
        f"({chosen['warned_15min_after_open_pct']:.1f}% by alerts after the /open reply). "
        + cascade_summary(claim.cascade_term)
    )
    if any(n == 0 for n, _ in verdicts) or claim.cases < MIN_CASES:
        claim.verdict = FEW
    else:
        claim.verdict = HOLDS if all(ok for _, ok in verdicts) else FAILS
    return claim
