"""The alerts' measured record, as the file the bot reads (``alerts/evidence.json``).

Written only by ``liqbot backtest SYMBOL --from A --to B --evidence PATH`` from that run: per
rule, how often it fired and what the next 4 h did after it next to random hours; and how far
pushes past a cluster went beyond its far edge (what a stop buffer must clear). Never typed by
hand: a test checks the bundled file's figures against a fresh run of the same command.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np

from alerts.advice import STOP_BUFFER_PCT
from backtest.claims import PUSH_H, Context, _level_outcomes, edge_alert_clusters
from backtest.output import clean
from backtest.rule_stats import RuleStats
from liqmap import LONG

OVERSHOOT_PERCENTILES = (50, 75, 90)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%MZ")


def overshoot(ctx: Context) -> dict[str, Any]:
    """After each cluster_edge alert that price carried past the cluster's far edge (within
    24 h, then ``PUSH_H`` hours of push): how far beyond the far edge it went, in %."""
    hits = [
        (s, c) for s, c in edge_alert_clusters(ctx.replay) if ctx.ok(24 + PUSH_H, np.array([s]))[0]
    ]
    if not hits:
        return {"alerts": 0, "past_far_edge": 0}
    steps = np.array([s for s, _ in hits], dtype=np.int64)
    side = np.array([1 if c.side == LONG else -1 for _, c in hits], dtype=np.int64)
    near = np.array([c.near_edge() for _, c in hits])
    far = np.array([c.far_edge() for _, c in hits])
    out = _level_outcomes(ctx, steps, side, near, far)
    went = out["overshoot"][out["past"] > 0]
    result: dict[str, Any] = {"alerts": int(steps.size), "past_far_edge": int(went.size)}
    if went.size:
        for q in OVERSHOOT_PERCENTILES:
            result[f"p{q}_pct"] = float(np.percentile(went, q))
        result["stop_buffer_pct"] = STOP_BUFFER_PCT
        result["beyond_stop_buffer_share"] = float(np.mean(went > STOP_BUFFER_PCT))
    return result


def _edge(r: RuleStats) -> bool | None:
    """Whether the next 4 h after its alerts moved more than random hours: the random hours'
    mean lies below the alerts' 95% interval. None: too few alerts to say."""
    if r.alerts < 5 or not math.isfinite(r.interval[0]):
        return None
    return bool(r.interval[0] > r.baseline_4h_range_pct)


def evidence_json(
    symbol: str, start: int, end: int, stats: list[RuleStats], ctx: Context, generated: str
) -> dict[str, Any]:
    """What ``alerts/evidence.json`` holds (``generated``: the run's date, YYYY-MM-DD)."""
    rules = {r.rule: {**r.record(), "edge": _edge(r)} for r in stats}
    result: dict[str, Any] = clean(
        {
            "symbol": symbol,
            "from": _iso(start),
            "to": _iso(end),
            "generated": generated,
            "command": f"liqbot backtest {symbol.split('/')[0]} --from {_iso(start)} "
            f"--to {_iso(end)} --evidence PATH",
            "rules": rules,
            "overshoot": overshoot(ctx),
        }
    )
    return result
