"""The touch model's cluster rival: would a cascade through the clusters between price and a
liquidation price make the touch chance better?

The idea a trader has read: a long's liquidation price sits below a band of other longs'
liquidations; if price reaches that band, their forced selling runs it through the band, so the
liquidation price is nearer than its plain distance says. As a model: the clusters of the
position's side between price and its liquidation price are grouped into chains
(``liqmap.clusters.cascade_chains``); with chance ``q`` a move runs through the nearest chain
(from its near edge to its far edge, capped at the liquidation price), so the distance left
shrinks by the chain's span:

    P = (1 - q) * P(d) + q * P(d - span)

``q`` is fitted walk-forward: the cases are cut into four blocks in time; each block after the
first is scored with the ``q`` (0, 0.05, ... 1) that gave the lowest Brier score on every case
at least a day before it (a day: no 24 h outcome overlaps the block). The verdict is on the
pooled out-of-sample difference in Brier score against the plain model (``liqmap.touch``): the
term *adds* only if that difference's 95% day-block interval lies below zero at 4 h and 24 h.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from backtest.maps import MapStep
from backtest.stats import ratio_interval
from liqmap.clusters import cascade_chains
from liqmap.times import DAY_MS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BLOCKS = 4
Q_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)
SEED = 2027


def chain_edges(steps: Sequence[MapStep]) -> tuple[FloatArray, FloatArray]:
    """Near and far edges of each step's chains, shape (steps, 2, most chains), NaN-padded:
    side 0 the long chains below price, side 1 the short chains above, nearest first."""
    chains = [
        [
            [(c.clusters[0].near_edge(), c.clusters[-1].far_edge()) for c in cascade_chains(side)]
            for side in (s.clusters.below, s.clusters.above)
        ]
        for s in steps
    ]
    k = max((len(side) for step in chains for side in step), default=0)
    near = np.full((len(steps), 2, max(k, 1)), np.nan)
    far = np.full_like(near, np.nan)
    for i, step in enumerate(chains):
        for j, side in enumerate(step):
            for c, (a, b) in enumerate(side):
                near[i, j, c], far[i, j, c] = a, b
    return near, far


def cascade_span(
    near: FloatArray,
    far: FloatArray,
    step: IntArray,
    side: IntArray,
    price: FloatArray,
    level: FloatArray,
) -> FloatArray:
    """Per case: the log span of the nearest chain whose near edge lies between price and the
    liquidation price ``level`` (far edge capped at the level); 0 where there is none."""
    long = np.asarray(side) > 0
    j = np.where(long, 0, 1)
    a, b = near[step, j], far[step, j]  # (cases, chains)
    p, lv = np.asarray(price)[:, None], np.asarray(level)[:, None]
    with np.errstate(invalid="ignore"):
        ahead = np.where(long[:, None], (a < p) & (a > lv), (a > p) & (a < lv))
        span = np.where(
            long[:, None],
            np.log(a / np.maximum(b, lv)),
            np.log(np.minimum(b, lv) / a),
        )
    first = np.argmax(ahead, axis=1)
    rows = np.arange(first.size)
    out: FloatArray = np.where(ahead[rows, first], np.maximum(span[rows, first], 0.0), 0.0)
    return out


def _brier(p: FloatArray, y: FloatArray) -> float:
    return float(np.mean((p - y) ** 2)) if y.size else np.nan


def walk_forward(
    at: IntArray,
    touched: dict[int, FloatArray],
    plain: dict[int, FloatArray],
    through: dict[int, FloatArray],
    has_chain: npt.NDArray[np.bool_],
) -> dict[str, Any]:
    """The term's out-of-sample record (see the module docstring), for ``--json``.

    ``plain[h]``: the model's chance; ``through[h]``: its chance at the distance left after the
    nearest chain's span (equal to ``plain`` where there is no chain)."""
    at = np.asarray(at, dtype=np.int64)
    edges = np.quantile(at, np.linspace(0, 1, BLOCKS + 1)[1:-1]) if at.size else np.array([])
    block = np.searchsorted(edges, at, side="right")
    horizons = []
    adds = bool(at.size)
    for h in sorted(plain):
        y, p0, p1 = touched[h], plain[h], through[h]
        q_used = np.full(at.size, np.nan)
        folds = []
        for k in range(1, BLOCKS):
            test = block == k
            if not test.any():
                continue
            fit = at < at[test].min() - DAY_MS
            if not fit.any():
                continue
            scores = [_brier((1 - q) * p0[fit] + q * p1[fit], y[fit]) for q in Q_GRID]
            q = float(Q_GRID[int(np.argmin(scores))])
            q_used[test] = q
            folds.append({"from_ms": int(at[test].min()), "cases": int(test.sum()), "q": q})
        scored = np.isfinite(q_used)
        p = (1 - q_used[scored]) * p0[scored] + q_used[scored] * p1[scored]
        yy, base = y[scored], p0[scored]
        diff = ratio_interval(
            at[scored], (p - yy) ** 2 - (base - yy) ** 2, np.ones(int(scored.sum())), SEED + h
        )
        horizons.append(
            {
                "horizon_h": h,
                "cases": int(scored.sum()),
                "folds": folds,
                "brier_plain": _brier(base, yy),
                "brier_with_clusters": _brier(p, yy),
                "difference": diff[0],
                "difference_interval": [diff[1], diff[2]],
            }
        )
        adds = adds and bool(scored.any()) and diff[2] < 0
    return {
        "form": "P = (1 - q) P(d) + q P(d - span of the nearest chain between price and "
        "the liquidation price); q fitted walk-forward",
        "cases_with_chain_pct": 100 * float(np.mean(has_chain)) if has_chain.size else np.nan,
        "horizons": horizons,
        "adds": adds,
    }


def summary(term: dict[str, Any]) -> str:
    """One sentence for the claim's summary."""
    parts = [
        f"{r['horizon_h']} h {r['difference']:+.5f} [{r['difference_interval'][0]:+.5f}, "
        f"{r['difference_interval'][1]:+.5f}] (q "
        + "/".join(f"{f['q']:g}" for f in r["folds"])
        + ")"
        for r in term["horizons"]
    ]
    verdict = (
        "it adds, worth putting into the model"
        if term["adds"]
        else "it does not add, so the model leaves clusters out"
    )
    return (
        f"A cascade through the clusters between price and the liquidation price "
        f"({term['cases_with_chain_pct']:.0f}% of cases have one), fitted walk-forward, changes "
        f"the Brier score by {', '.join(parts)}: {verdict}."
    )
