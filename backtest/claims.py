"""The claims traders read about liquidation maps (docs/model.md §6.2), each tested on a replay.

Every claim gives its cases, an estimate with a 95% day-block interval, the same figure for a
baseline (random hours, or levels at the same distance with no cluster) and a verdict:
``holds``, ``does not hold`` (the data do not support it) or ``too few cases``. The test each
verdict applies is written in ``Claim.test``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from backtest.path import PricePath, first_true
from backtest.run import Replay
from backtest.stats import (
    bootstrap,
    difference,
    mean,
    median,
    random_hours,
    ratio_of_means,
    spearman,
    spearman_gain,
)
from liqmap import LONG, RISK_CHOSEN_UNTIL_MS, Cluster, cascade_chains
from liqmap.times import DAY_MS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

HOLDS, FAILS, FEW = "holds", "does not hold", "too few cases"
MIN_CASES = 20
MIN_DAYS = 5
ASYMMETRY_RATIO = 2.5
CLAIMED_DOWNSIDE = 1.7
OVERSHOOT_RANGE = (0.3, 0.8)
R_PCT = 1.0  # one R for the generated positions: 1% of entry
LFR_HORIZON_H = 48
LFR_BUCKETS = (
    (-math.inf, 1.0, "<1"),
    (1.0, 1.5, "1-1.5"),
    (1.5, 2.0, "1.5-2"),
    (2.0, math.inf, ">2"),
)
CASCADE_K = 3.0  # a cascade candle's range is over K x the average of the previous 24
CASCADE_LOOKBACK = 24
PUSH_H = 4  # the cascade's push: the touching candle and the 3 after it
NO_CLUSTER_PCT = 0.2  # a baseline level has no cluster of its side within this
SEED = 2025


@dataclass
class Claim:
    """One claim's test. ``estimate``/``interval`` are the claim's statistic, in ``unit``."""

    id: str
    title: str
    claim: str
    test: str
    verdict: str = FEW
    summary: str = ""
    cases: int = 0
    estimate: float = math.nan
    interval: tuple[float, float] = (math.nan, math.nan)
    baseline: float = math.nan
    baseline_interval: tuple[float, float] = (math.nan, math.nan)
    baseline_cases: int = 0
    unit: str = ""
    table: list[dict[str, Any]] = field(default_factory=list)


def _ci(t: tuple[float, float, float]) -> tuple[float, tuple[float, float]]:
    return t[0], (t[1], t[2])


def _fmt(x: float, digits: int = 2) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.{digits}f}"


def _span(ci: tuple[float, float], digits: int = 2) -> str:
    return f"[{_fmt(ci[0], digits)}, {_fmt(ci[1], digits)}]"


def _days(at: IntArray) -> int:
    return int(np.unique(np.asarray(at) // DAY_MS).size)


class Context:
    """The replay's steps as arrays, and the price path after them."""

    def __init__(self, replay: Replay, path: PricePath) -> None:
        self.replay, self.path = replay, path
        self.at = np.array([s.at for s in replay.steps], dtype=np.int64)
        self.price = np.array([s.metrics.price for s in replay.steps])
        self.first = path.next_index(self.at)

    def ok(self, hours: int, steps: IntArray | None = None) -> npt.NDArray[np.bool_]:
        first = self.first if steps is None else self.first[steps]
        return self.path.covered(first, hours)

    def range_pct(self, steps: IntArray, hours: int) -> FloatArray:
        """(highest high - lowest low) over the next ``hours``, % of the step's price."""
        hi, lo = self.path.ahead(self.first[steps], hours)
        result: FloatArray = (hi.max(axis=1) - lo.min(axis=1)) / self.price[steps] * 100.0
        return result

    def random_steps(self, n: int, hours: int, seed: int) -> IntArray:
        return random_hours(n, np.flatnonzero(self.ok(hours)), seed)


# -- cluster edge: reach, move past, overshoot ----------------------------------------------


def _level_outcomes(
    ctx: Context,
    steps: IntArray,
    side: IntArray,
    near: FloatArray,
    far: FloatArray,
    hours: int = 24,
) -> dict[str, FloatArray]:
    """For a level (near/far edge) below (side +1: price falls into it) or above (-1): the hour
    price reached the near edge within ``hours``, and how far past the far edge it traded (%)
    in the touching candle and the ``PUSH_H - 1`` after it (the cascade's push, not the day's
    drift)."""
    first = ctx.first[steps]
    hi, lo = ctx.path.ahead(first, hours + PUSH_H)
    below = side[:, None] > 0
    reach = first_true(np.where(below, lo <= near[:, None], hi >= near[:, None])[:, :hours])
    cols = np.minimum(reach[:, None] + np.arange(PUSH_H)[None, :], hours + PUSH_H - 1)
    rows = np.arange(steps.size)[:, None]
    after_lo, after_hi = lo[rows, cols].min(axis=1), hi[rows, cols].max(axis=1)
    beyond = np.where(side > 0, (far - after_lo) / far, (after_hi - far) / far) * 100
    beyond = np.where(reach < hours, beyond, 0.0)
    return {
        "reach_h": reach.astype(np.float64),
        "past": (beyond > 0).astype(np.float64),
        "overshoot": np.maximum(beyond, 0.0),
    }


def _phantoms(
    ctx: Context, side: IntArray, dist: FloatArray, width: FloatArray, hours: int, seed: int
) -> tuple[IntArray, FloatArray, FloatArray, IntArray]:
    """Levels at the same distance and width as the real ones, at random hours, with no
    cluster of their side within ``NO_CLUSTER_PCT``: (steps, near, far, side)."""
    rng = np.random.default_rng(seed)
    cand = np.flatnonzero(ctx.ok(hours))
    out_s: list[int] = []
    out_n: list[float] = []
    out_f: list[float] = []
    out_side: list[int] = []
    for sd, d, w in zip(side.tolist(), dist.tolist(), width.tolist(), strict=True):
        for _ in range(20):
            j = int(rng.choice(cand))
            p = ctx.price[j]
            near = p * (1 - d / 100) if sd > 0 else p * (1 + d / 100)
            far = near * (1 - w / 100) if sd > 0 else near * (1 + w / 100)
            lo, hi = min(near, far), max(near, far)
            cl = ctx.replay.steps[j].clusters
            own = cl.below if sd > 0 else cl.above
            tol = NO_CLUSTER_PCT / 100
            if not any(c.low <= hi * (1 + tol) and c.high >= lo * (1 - tol) for c in own):
                out_s.append(j)
                out_n.append(near)
                out_f.append(far)
                out_side.append(sd)
                break
    return (
        np.array(out_s, dtype=np.int64),
        np.array(out_n),
        np.array(out_f),
        np.array(out_side, dtype=np.int64),
    )


def edge_alert_clusters(replay: Replay, watcher: int = 1) -> list[tuple[int, Cluster]]:
    """(step, cluster) of every cluster_edge alert of ``watcher``."""
    out = []
    for f in replay.fired:
        if f.sub_id != watcher or f.rule != "cluster_edge":
            continue
        m = replay.steps[f.step].metrics
        near = m.below if f.key.startswith("below") else m.above
        rank = int(f.key[-1]) - 1
        if rank < len(near):
            out.append((f.step, near[rank]))
    return out


def cluster_edge_claim(ctx: Context) -> Claim:
    lo_c, hi_c = OVERSHOOT_RANGE
    claim = Claim(
        "cluster_overshoot",
        "Cascades overshoot the cluster by 0.3-0.8%",
        "Price reaching a dense cluster triggers a cascade that pushes it 0.3-0.8% beyond the "
        "cluster.",
        f"After each cluster_edge alert: did price reach the cluster's near edge within 4 h / "
        f"24 h, trade past its far edge within {PUSH_H} h of reaching it, and by how much (median "
        f"% beyond the far edge, over alerts that went past). Holds if that median's interval "
        f"overlaps {lo_c}-{hi_c}% and "
        f"exceeds the same figure for levels at the same distance and width with no cluster "
        f"(the difference's interval above 0).",
        unit="% beyond the far edge",
    )
    hits = [
        (s, c) for s, c in edge_alert_clusters(ctx.replay) if ctx.ok(24 + PUSH_H, np.array([s]))[0]
    ]
    if not hits:
        claim.summary = "No cluster_edge alert with 24 h of data after it."
        return claim
    steps = np.array([s for s, _ in hits], dtype=np.int64)
    side = np.array([1 if c.side == LONG else -1 for _, c in hits], dtype=np.int64)
    near = np.array([c.near_edge() for _, c in hits])
    far = np.array([c.far_edge() for _, c in hits])
    real = _level_outcomes(ctx, steps, side, near, far)
    dist = np.abs(near / ctx.price[steps] - 1) * 100
    width = np.abs(far / near - 1) * 100
    b_steps, b_near, b_far, b_side = _phantoms(ctx, side, dist, width, 24 + PUSH_H, SEED)
    base = _level_outcomes(ctx, b_steps, b_side, b_near, b_far)
    rows: list[dict[str, Any]] = []
    for name, out, st in (
        ("cluster_edge alerts", real, steps),
        ("no-cluster levels", base, b_steps),
    ):
        went = out["past"] > 0
        rows.append(
            {
                "levels": name,
                "cases": int(st.size),
                "reached_4h_pct": 100 * mean((out["reach_h"] < 4).astype(float)),
                "reached_24h_pct": 100 * mean((out["reach_h"] < 24).astype(float)),
                "past_far_edge_pct": 100 * mean(out["past"]),
                "median_overshoot_pct": median(out["overshoot"][went]),
                "share_in_0.3_0.8_pct": 100
                * mean(
                    ((out["overshoot"][went] >= lo_c) & (out["overshoot"][went] <= hi_c)).astype(
                        float
                    )
                ),
            }
        )
    claim.table = rows
    went, b_went = real["past"] > 0, base["past"] > 0
    claim.cases, claim.baseline_cases = int(went.sum()), int(b_went.sum())
    claim.estimate, claim.interval = _ci(
        bootstrap(median, ctx.at[steps][went], real["overshoot"][went])
    )
    claim.baseline, claim.baseline_interval = _ci(
        bootstrap(median, ctx.at[b_steps][b_went], base["overshoot"][b_went])
    )
    values = np.concatenate([real["overshoot"][went], base["overshoot"][b_went]])
    group = np.concatenate([np.ones(went.sum()), np.zeros(b_went.sum())])
    at = np.concatenate([ctx.at[steps][went], ctx.at[b_steps][b_went]])
    d, d_lo, d_hi = bootstrap(difference(median), at, values, group)
    r = rows[0]
    claim.summary = (
        f"{r['cases']} alerts: price reached the cluster within 4 h after "
        f"{r['reached_4h_pct']:.0f}%"
        f" and within 24 h after {r['reached_24h_pct']:.0f}% (no-cluster levels: "
        f"{rows[1]['reached_24h_pct']:.0f}%); it traded past the far edge after "
        f"{r['past_far_edge_pct']:.0f}% (levels: {rows[1]['past_far_edge_pct']:.0f}%), by a "
        f"median {_fmt(claim.estimate)}% {_span(claim.interval)} vs {_fmt(claim.baseline)}% "
        f"{_span(claim.baseline_interval)} for no-cluster levels (difference {_fmt(d)} "
        f"{_span((d_lo, d_hi))}); {r['share_in_0.3_0.8_pct']:.0f}% of overshoots were in "
        f"{lo_c}-{hi_c}%."
    )
    if claim.cases < MIN_CASES or claim.baseline_cases < MIN_CASES:
        claim.verdict = FEW
    else:
        in_range = claim.interval[0] <= hi_c and claim.interval[1] >= lo_c
        claim.verdict = HOLDS if in_range and d_lo > 0 else FAILS
    return claim


# -- asymmetry: downside vs upside over the next 48 h ----------------------------------------


def asymmetry_claim(ctx: Context) -> Claim:
    claim = Claim(
        "asymmetry_downside",
        "Long-heavy maps (>= 2.5:1): downside 1.7x upside over 48 h",
        "When long-to-short liquidation volume exceeds 2.5:1, downside volatility in the "
        "following 48 hours exceeds upside volatility by 1.7x on average.",
        "At every step whose asymmetry (longs below / shorts above within +-10%) is >= 2.5: "
        "mean downside range over the next 48 h (price - lowest low) / mean upside range "
        "(highest high - price). Holds if the interval lies above 1 and reaches 1.7; the "
        "baseline is the same number of random hours.",
        unit="downside / upside",
    )
    asym = np.array([s.metrics.asymmetry for s in ctx.replay.steps])
    pick = np.flatnonzero((asym >= ASYMMETRY_RATIO) & ctx.ok(LFR_HORIZON_H))
    rand = ctx.random_steps(pick.size, LFR_HORIZON_H, SEED + 1)

    def updown(steps: IntArray) -> tuple[FloatArray, FloatArray]:
        hi, lo = ctx.path.ahead(ctx.first[steps], LFR_HORIZON_H)
        p = ctx.price[steps]
        return (p - lo.min(axis=1)) / p * 100, (hi.max(axis=1) - p) / p * 100

    down, up = updown(pick)
    b_down, b_up = updown(rand)
    claim.cases, claim.baseline_cases = int(pick.size), int(rand.size)
    claim.estimate, claim.interval = _ci(bootstrap(ratio_of_means, ctx.at[pick], down, up))
    claim.baseline, claim.baseline_interval = _ci(
        bootstrap(ratio_of_means, ctx.at[rand], b_down, b_up)
    )
    claim.table = [
        {
            "hours": "asymmetry >= 2.5",
            "cases": int(pick.size),
            "days": _days(ctx.at[pick]),
            "mean_downside_pct": mean(down),
            "mean_upside_pct": mean(up),
            "ratio": claim.estimate,
        },
        {
            "hours": "random hours",
            "cases": int(rand.size),
            "days": _days(ctx.at[rand]),
            "mean_downside_pct": mean(b_down),
            "mean_upside_pct": mean(b_up),
            "ratio": claim.baseline,
        },
    ]
    share = 100 * pick.size / max(len(ctx.replay.steps), 1)
    if pick.size == 0:
        claim.summary = "No hour had asymmetry >= 2.5:1 (with 48 h of data after it)."
        return claim
    claim.summary = (
        f"{pick.size} hours ({share:.1f}% of all, on {_days(ctx.at[pick])} days) had asymmetry "
        f">= 2.5:1. Over the next 48 h the mean downside was {_fmt(mean(down))}% and the mean "
        f"upside {_fmt(mean(up))}%: a ratio of {_fmt(claim.estimate)} {_span(claim.interval)}, "
        f"vs {_fmt(claim.baseline)} {_span(claim.baseline_interval)} at random hours."
    )
    if pick.size < MIN_CASES or _days(ctx.at[pick]) < MIN_DAYS:
        claim.verdict = FEW
    else:
        lo, hi = claim.interval
        claim.verdict = HOLDS if lo > 1 and hi >= CLAIMED_DOWNSIDE else FAILS
    return claim


# -- cascade chains: stacked within 1% vs a 3%+ gap ------------------------------------------


def _carry(ctx: Context, steps: IntArray, side: IntArray, near: FloatArray) -> FloatArray:
    """How far past ``near`` price went in the 24 h from the step (%)."""
    hi, lo = ctx.path.ahead(ctx.first[steps], 24)
    below, above = (near - lo.min(axis=1)) / near, (hi.max(axis=1) - near) / near
    result: FloatArray = np.where(side > 0, below, above) * 100
    return result


def chains_claim(ctx: Context) -> Claim:
    claim = Claim(
        "chains_vs_gaps",
        "Stacked clusters cascade, a 3%+ gap stalls",
        "When clusters are stacked within 1% of each other the cascade continues; with a 3%+ "
        "gap after the first cluster, price stabilises after the first wave.",
        "Every step whose next hour traded into the nearest cluster (either side) is a case; "
        "'stacked' if liqmap's first cascade chain holds 2+ clusters (gaps <= 1%), 'gap' if it "
        "is one cluster followed by a gap of 3%+ (or none). The carry is how far past that "
        "cluster's near edge price went within 24 h. Holds if stacked carry minus gap carry has "
        "an interval above 0. Baseline: levels at the same distance, reached the same way, with "
        "no cluster.",
        unit="% carried past the first cluster (stacked - gap)",
    )
    steps_l, side_l, near_l, kind_l, dist_l = [], [], [], [], []
    ok = ctx.ok(24)
    for i, s in enumerate(ctx.replay.steps):
        if not ok[i]:
            continue
        k = int(ctx.first[i])
        for sd, ordered in ((1, s.clusters.below), (-1, s.clusters.above)):
            chains = cascade_chains(ordered)
            if not chains:
                continue
            first = chains[0]
            near = first.clusters[0].near_edge()
            reached = ctx.path.low[k] <= near if sd > 0 else ctx.path.high[k] >= near
            if not reached:
                continue
            grouping = 1 if len(first.clusters) >= 2 else (0 if first.stalls_after else -1)
            if grouping < 0:
                continue
            steps_l.append(i)
            side_l.append(sd)
            near_l.append(near)
            kind_l.append(grouping)
            dist_l.append(abs(near / s.metrics.price - 1) * 100)
    steps = np.array(steps_l, dtype=np.int64)
    side = np.array(side_l, dtype=np.int64)
    kind = np.array(kind_l, dtype=np.float64)
    carry = _carry(ctx, steps, side, np.array(near_l))
    # Baseline: same distances, random hours whose next candle reached the level, no cluster.
    rng = np.random.default_rng(SEED + 2)
    cand = np.flatnonzero(ok)
    b_steps: list[int] = []
    b_side: list[int] = []
    b_near: list[float] = []
    tries = 0
    while len(b_steps) < steps.size and tries < 50 * max(steps.size, 1):
        tries += 1
        pick = int(rng.integers(0, steps.size))
        j = int(rng.choice(cand))
        sd, away = int(side[pick]), dist_l[pick]
        near = ctx.price[j] * (1 - away / 100 if sd > 0 else 1 + away / 100)
        k = int(ctx.first[j])
        if not (ctx.path.low[k] <= near if sd > 0 else ctx.path.high[k] >= near):
            continue
        cl = ctx.replay.steps[j].clusters
        own = cl.below if sd > 0 else cl.above
        if any(
            abs(c.near_edge() / near - 1) * 100 <= NO_CLUSTER_PCT or c.contains(near) for c in own
        ):
            continue
        b_steps.append(j)
        b_side.append(sd)
        b_near.append(near)
    bs = np.array(b_steps, dtype=np.int64)
    b_carry = _carry(ctx, bs, np.array(b_side, dtype=np.int64), np.array(b_near))
    stacked, gap = kind == 1, kind == 0
    m_st = bootstrap(mean, ctx.at[steps][stacked], carry[stacked])
    m_gap = bootstrap(mean, ctx.at[steps][gap], carry[gap])
    m_base = bootstrap(mean, ctx.at[bs], b_carry)
    d = bootstrap(difference(mean), ctx.at[steps], carry, kind)
    claim.cases, claim.baseline_cases = int(steps.size), int(bs.size)
    claim.estimate, claim.interval = _ci(d)
    claim.baseline, claim.baseline_interval = _ci(m_base)
    claim.table = [
        {
            "first cluster": "stacked (<= 1% to the next)",
            "cases": int(stacked.sum()),
            "mean_carry_pct": m_st[0],
            "interval": [m_st[1], m_st[2]],
            "median_carry_pct": median(carry[stacked]),
        },
        {
            "first cluster": "alone, 3%+ gap after",
            "cases": int(gap.sum()),
            "mean_carry_pct": m_gap[0],
            "interval": [m_gap[1], m_gap[2]],
            "median_carry_pct": median(carry[gap]),
        },
        {
            "first cluster": "no cluster (same distance)",
            "cases": int(bs.size),
            "mean_carry_pct": m_base[0],
            "interval": [m_base[1], m_base[2]],
            "median_carry_pct": median(b_carry),
        },
    ]
    claim.summary = (
        f"{int(stacked.sum())} moves reached a stacked first cluster and carried a mean "
        f"{_fmt(m_st[0])}% {_span((m_st[1], m_st[2]))} past it within 24 h; {int(gap.sum())} "
        f"reached a lone cluster with a 3%+ gap and carried {_fmt(m_gap[0])}% "
        f"{_span((m_gap[1], m_gap[2]))}; difference {_fmt(d[0])} {_span((d[1], d[2]))} "
        f"points. Levels with no cluster at the same distance: {_fmt(m_base[0])}%."
    )
    if stacked.sum() < MIN_CASES or gap.sum() < MIN_CASES:
        claim.verdict = FEW
    else:
        claim.verdict = HOLDS if d[1] > 0 else FAILS
    return claim


# -- fuel ratio buckets: +1R before -1R -------------------------------------------------------


def lfr_claim(ctx: Context) -> Claim:
    claim = Claim(
        "lfr_first_target",
        "Fuel ratio above 2 reaches the first target more often",
        "Trades with a Liquidation Fuel Ratio above 2.0 have a meaningfully higher probability "
        "of reaching their first target.",
        f"Generated positions (see backtest/positions.py), bucketed by the fuel ratio of the "
        f"map at entry: the share that reached +1R before -1R within {LFR_HORIZON_H} h, with "
        f"R = {R_PCT:g}% of entry (a candle touching both counts as -1R first). Holds if the "
        f"share above 2 minus the share at or below 2 has an interval above 0; the baseline is "
        f"every position.",
        unit="share above 2 - share at or below 2 (points)",
    )
    book = ctx.replay.book
    n_open = len(ctx.replay.steps) * book.plan.per_step
    idx = np.arange(n_open)
    opened = book.opened_step[idx]
    lfr = book.lfr_at_entry[idx]
    first = ctx.first[opened] + 1  # entered at the step's price: from the next candle on
    keep = ~np.isnan(lfr) & ctx.path.covered(first, LFR_HORIZON_H)
    idx, opened, lfr, first = idx[keep], opened[keep], lfr[keep], first[keep]
    entry, side = book.entry[idx], book.side[idx].astype(np.float64)
    hi, lo = ctx.path.ahead(first, LFR_HORIZON_H)
    r = R_PCT / 100
    up = hi >= (entry * (1 + r))[:, None]
    down = lo <= (entry * (1 - r))[:, None]
    win_h = first_true(np.where(side[:, None] > 0, up, down))
    loss_h = first_true(np.where(side[:, None] > 0, down, up))
    win = ((win_h < loss_h) & (win_h < LFR_HORIZON_H)).astype(np.float64)
    at = ctx.at[opened]
    rows: list[dict[str, Any]] = []
    for low, high, name in LFR_BUCKETS:
        b = (lfr >= low) & (lfr < high) if math.isfinite(high) else lfr >= low
        est = bootstrap(mean, at[b], win[b])
        rows.append(
            {
                "lfr": name,
                "positions": int(b.sum()),
                "share_1R_first_pct": 100 * est[0],
                "interval": [100 * est[1], 100 * est[2]],
            }
        )
    base = bootstrap(mean, at, win)
    rows.append(
        {
            "lfr": "all",
            "positions": int(win.size),
            "share_1R_first_pct": 100 * base[0],
            "interval": [100 * base[1], 100 * base[2]],
        }
    )
    claim.table = rows
    top = (lfr > 2.0).astype(np.float64)
    d = bootstrap(difference(mean), at, win, top)
    claim.cases, claim.baseline_cases = int(top.sum()), int(win.size)
    claim.estimate, claim.interval = 100 * d[0], (100 * d[1], 100 * d[2])
    claim.baseline, claim.baseline_interval = 100 * base[0], (100 * base[1], 100 * base[2])
    parts = "; ".join(
        f"{r_['lfr']}: {r_['share_1R_first_pct']:.1f}% of {r_['positions']}" for r_ in rows[:-1]
    )
    claim.summary = (
        f"Share reaching +1R before -1R by entry fuel ratio: {parts}; all positions "
        f"{_fmt(claim.baseline, 1)}%. Above 2 minus the rest: {_fmt(claim.estimate, 1)} points "
        f"{_span(claim.interval, 1)}."
    )
    if claim.cases < MIN_CASES or claim.baseline_cases - claim.cases < MIN_CASES:
        claim.verdict = FEW
    else:
        claim.verdict = HOLDS if claim.interval[0] > 0 else FAILS
    return claim


# -- risk score deciles: the next 4 h's range -------------------------------------------------


def risk_claim(ctx: Context) -> Claim:
    claim = Claim(
        "risk_score_deciles",
        "A higher risk score means bigger moves in the next 4 h",
        "The bot's market risk score (0-100) ranks how violent the next hours can be.",
        "Steps split into ten equal groups by risk score (ties broken at random, seeded): mean "
        "realised range (highest high - lowest low) over the next 4 h, % of price. Holds if the "
        "top decile minus the bottom decile has an interval above 0; the baseline is all "
        "hours.",
        unit="top - bottom decile, points of range %",
    )
    ok = np.flatnonzero(ctx.ok(4))
    risk = np.array([ctx.replay.steps[i].risk for i in ok])
    rng_ = ctx.range_pct(ok, 4)
    tie = np.random.default_rng(SEED + 3).random(ok.size)
    order = np.lexsort((tie, risk))
    groups = np.array_split(order, 10) if ok.size >= 10 else []
    rows: list[dict[str, Any]] = []
    decile = np.full(ok.size, -1)
    for g, members in enumerate(groups):
        decile[members] = g
        est = bootstrap(mean, ctx.at[ok][members], rng_[members])
        rows.append(
            {
                "decile": g + 1,
                "hours": int(members.size),
                "risk_from": float(risk[members].min()),
                "risk_to": float(risk[members].max()),
                "mean_range_4h_pct": est[0],
                "interval": [est[1], est[2]],
            }
        )
    claim.table = rows
    claim.cases = int(ok.size)
    if len(groups) < 10:
        claim.summary = "Too few hours for deciles."
        return claim
    ends = (decile == 0) | (decile == 9)
    d = bootstrap(difference(mean), ctx.at[ok][ends], rng_[ends], (decile[ends] == 9).astype(float))
    base = bootstrap(mean, ctx.at[ok], rng_)
    claim.estimate, claim.interval = _ci(d)
    claim.baseline, claim.baseline_interval = _ci(base)
    claim.baseline_cases = int(ok.size)
    rank_r = np.corrcoef(np.argsort(np.argsort(risk + 1e-9 * tie)), np.argsort(np.argsort(rng_)))
    rho = float(rank_r[0, 1])
    claim.table.append({"spearman_rho": rho})
    claim.summary = (
        f"Over {ok.size} hours the next 4 h's range averaged {_fmt(rows[0]['mean_range_4h_pct'])}% "
        f"in the lowest risk decile (score {rows[0]['risk_from']:.0f}-{rows[0]['risk_to']:.0f}) "
        f"and {_fmt(rows[9]['mean_range_4h_pct'])}% in the highest "
        f"({rows[9]['risk_from']:.0f}-{rows[9]['risk_to']:.0f}); difference {_fmt(d[0])} "
        f"{_span((d[1], d[2]))}; all hours {_fmt(base[0])}%; rank correlation {rho:.2f}."
    )
    claim.verdict = HOLDS if d[1] > 0 else FAILS
    return claim


def risk_volatility_claim(ctx: Context) -> Claim:
    """The score against its naive rival, on hours the score was not chosen on."""
    chosen = datetime.fromtimestamp(RISK_CHOSEN_UNTIL_MS / 1000, tz=UTC).strftime("%Y-%m-%d")
    claim = Claim(
        "risk_beats_volatility",
        "Market risk ranks the next 4 h's range better than today's range alone",
        "The bot's market risk score tells a trader more about the next hours than plain "
        "volatility (the last 24 h's high-low range) does.",
        f"Per hour: the rank correlation (Spearman) of the risk score with the next 4 h's "
        f"range minus that of the last 24 h's realised range, on hours from {chosen} on only "
        f"(the score's weights were fitted on BTC hours before {chosen}). Holds if the "
        f"difference's day-block interval is above 0; the baseline is the realised range's own "
        f"correlation.",
        unit="rank correlation, score - realised range",
    )
    ok = ctx.ok(4)
    rival = np.array(
        [np.nan if s.realised_range is None else s.realised_range for s in ctx.replay.steps]
    )
    risk = np.array([s.risk for s in ctx.replay.steps])
    usable = np.flatnonzero(ok & np.isfinite(rival))
    y = ctx.range_pct(usable, 4)
    at = ctx.at[usable]
    rows: list[dict[str, Any]] = []
    for name, sel in (
        (f"chosen on (before {chosen})", at < RISK_CHOSEN_UNTIL_MS),
        (f"graded (from {chosen})", at >= RISK_CHOSEN_UNTIL_MS),
    ):
        if sel.sum() < 3:
            continue
        rows.append(
            {
                "hours": name,
                "cases": int(sel.sum()),
                "days": _days(at[sel]),
                "score_rho": spearman(risk[usable][sel], y[sel]),
                "realised_range_rho": spearman(rival[usable][sel], y[sel]),
            }
        )
    claim.table = rows
    graded = at >= RISK_CHOSEN_UNTIL_MS
    g_at, g_risk, g_rival, g_y = at[graded], risk[usable][graded], rival[usable][graded], y[graded]
    claim.cases = claim.baseline_cases = int(graded.sum())
    if claim.cases < MIN_CASES or _days(g_at) < MIN_DAYS:
        claim.summary = (
            f"{claim.cases} hours from {chosen} on in this run: the score was fitted on the "
            f"hours before, so only later hours grade it."
        )
        return claim
    claim.estimate, claim.interval = _ci(bootstrap(spearman_gain, g_at, g_risk, g_rival, g_y))
    claim.baseline, claim.baseline_interval = _ci(bootstrap(spearman, g_at, g_rival, g_y))
    score_rho = spearman(g_risk, g_y)
    claim.summary = (
        f"Over {claim.cases} hours from {chosen} on (on {_days(g_at)} days; the score was "
        f"fitted before {chosen}), the risk score's rank correlation with the next 4 h's range "
        f"was {_fmt(score_rho)} against {_fmt(claim.baseline)} "
        f"{_span(claim.baseline_interval)} for the last 24 h's range alone: a difference of "
        f"{_fmt(claim.estimate, 3)} {_span(claim.interval, 3)}."
    )
    claim.verdict = HOLDS if claim.interval[0] > 0 else FAILS
    return claim


# -- cascade candles: mean reversion ----------------------------------------------------------


def cascade_candles(ctx: Context) -> tuple[IntArray, IntArray]:
    """Steps whose next 1 h candle was a cascade candle, and every step eligible for the
    baseline (one per candle, with 24 h of data after it)."""
    path = ctx.path
    rng_ = path.high - path.low
    avg = np.convolve(rng_, np.ones(CASCADE_LOOKBACK) / CASCADE_LOOKBACK, mode="full")
    prev_avg = np.concatenate(([np.nan], avg[: rng_.size - 1]))  # mean of the 24 before k
    prev_avg[:CASCADE_LOOKBACK] = np.nan
    k_of_step = ctx.first
    _, last_step = np.unique(k_of_step[::-1], return_index=True)
    uniq = (len(k_of_step) - 1 - last_step).astype(np.int64)  # the last step before each candle
    ok = ctx.path.covered(k_of_step[uniq], 25)
    uniq = uniq[ok]
    picked = []
    for i in uniq.tolist():
        k = int(k_of_step[i])
        if not (rng_[k] > CASCADE_K * prev_avg[k]):
            continue
        down = path.close[k] < path.open[k]
        cl = ctx.replay.steps[i].clusters
        into_longs = down and any(c.near_edge() >= path.low[k] for c in cl.below)
        into_shorts = not down and any(c.near_edge() <= path.high[k] for c in cl.above)
        if into_longs or into_shorts:
            picked.append(i)
    steps = np.array(picked, dtype=np.int64)
    return steps, uniq


def cascade_claim(ctx: Context) -> Claim:
    claim = Claim(
        "cascade_reversion",
        "Liquidation overshoots mean-revert within hours",
        "Price overshoots driven by liquidations, not fundamentals, tend to mean-revert within "
        "hours.",
        f"A cascade candle: a 1 h candle whose range is over {CASCADE_K:g}x the mean of the "
        f"previous {CASCADE_LOOKBACK} and that traded into a cluster on its side of the map "
        f"drawn at its open. Reversion = the return from its close over the next 1/4/24 h, "
        f"positive when against the candle's direction. Holds if the 4 h reversion has an "
        f"interval above 0; the baseline is the same number of random hours (against the "
        f"direction of their hour's candle).",
        unit="% reversion over 4 h",
    )
    steps, uniq = cascade_candles(ctx)
    path, k_of_step = ctx.path, ctx.first
    rand = random_hours(steps.size, uniq, SEED + 4)

    def reversion(st: IntArray, h: int) -> FloatArray:
        k = k_of_step[st]
        direction = np.sign(path.close[k] - path.open[k])
        return (
            -direction
            * (path.close[np.minimum(k + h, path.close.size - 1)] / path.close[k] - 1)
            * 100
        )

    rows: list[dict[str, Any]] = []
    est4 = base4 = (math.nan, math.nan, math.nan)
    for h in (1, 4, 24):
        e = bootstrap(mean, ctx.at[steps], reversion(steps, h))
        b = bootstrap(mean, ctx.at[rand], reversion(rand, h))
        share = 100 * mean((reversion(steps, h) > 0).astype(float))
        rows.append(
            {
                "hours": h,
                "cascades": int(steps.size),
                "mean_reversion_pct": e[0],
                "interval": [e[1], e[2]],
                "share_reverting_pct": share,
                "random_hours_pct": b[0],
                "random_interval": [b[1], b[2]],
            }
        )
        if h == 4:
            est4, base4 = e, b
    claim.table = rows
    claim.cases, claim.baseline_cases = int(steps.size), int(rand.size)
    claim.estimate, claim.interval = _ci(est4)
    claim.baseline, claim.baseline_interval = _ci(base4)
    claim.summary = (
        f"{steps.size} cascade candles (range > {CASCADE_K:g}x the last 24 h's mean, into a "
        f"cluster). Reversion after 1 h {_fmt(rows[0]['mean_reversion_pct'])}%, 4 h "
        f"{_fmt(est4[0])}% {_span((est4[1], est4[2]))}, 24 h "
        f"{_fmt(rows[2]['mean_reversion_pct'])}%; random hours over 4 h {_fmt(base4[0])}% "
        f"{_span((base4[1], base4[2]))}."
    )
    if steps.size < MIN_CASES:
        claim.verdict = FEW
    else:
        claim.verdict = HOLDS if est4[1] > 0 else FAILS
    return claim


def all_claims(replay: Replay, path: PricePath) -> list[Claim]:
    ctx = Context(replay, path)
    return [
        cluster_edge_claim(ctx),
        asymmetry_claim(ctx),
        chains_claim(ctx),
        lfr_claim(ctx),
        risk_claim(ctx),
        risk_volatility_claim(ctx),
        cascade_claim(ctx),
    ]
