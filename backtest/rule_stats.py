"""Per rule: how often it would have woken one trader, and what followed its alerts.

Symbol-wide rules are counted for one watcher with the default thresholds (watcher 1); the
position rules per position-week of the generated positions (one trader holding one position
all the time). After each alert: the next 4 h's range, next to the same number of random hours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alerts.catalogue import (
    CATALOGUE_BY_NAME,
    DEFAULT_MODES,
    LIQUIDATION_WARNING,
    MODE_OFF,
    RULES,
)
from backtest.claims import Context
from backtest.path import PricePath
from backtest.positions import FIRST_POSITION_ID
from backtest.run import Replay
from backtest.stats import bootstrap, mean
from liqmap.times import DAY_MS

FOLLOW_H = 4
WEEK_MS = 7 * DAY_MS


@dataclass
class RuleStats:
    rule: str
    per: str  # "watcher" or "position"
    alerts: int
    alerts_per_week: float
    exposure_weeks: float
    next_4h_range_pct: float = math.nan
    interval: tuple[float, float] = (math.nan, math.nan)
    baseline_4h_range_pct: float = math.nan
    baseline_interval: tuple[float, float] = (math.nan, math.nan)
    enabled: bool = True
    sweep: list[dict[str, Any]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The rule's measured record, as the evidence file and the HTML page show it."""
        return {
            "per": self.per,
            "alerts": self.alerts,
            "alerts_per_week": self.alerts_per_week,
            "next_4h_range_pct": self.next_4h_range_pct,
            "interval": list(self.interval),
            "random_hours_pct": self.baseline_4h_range_pct,
            "random_interval": list(self.baseline_interval),
        }


def position_weeks(replay: Replay) -> float:
    """Total time positions were watched, in weeks."""
    book, n = replay.book, len(replay.steps)
    watched = sum((book.open_slice(i).stop - book.open_slice(i).start) for i in range(n))
    result: float = watched * replay.spec.every_ms / WEEK_MS
    return result


def position_load(replay: Replay) -> dict[str, Any]:
    """What one generated position's holder receives in all, per position-week: every rule
    that fired for the position (the symbol-wide rules too, which reach a position's chat),
    and the messages (one per chat per pass, as the bot groups them). ``non_urgent``: without
    the liquidation warning; ``new_chat_defaults``: only the rules a new chat has on."""
    weeks = position_weeks(replay)
    fired = [f for f in replay.fired if f.sub_id >= FIRST_POSITION_ID]
    on = {r for r, mode in zip(RULES, DEFAULT_MODES, strict=True) if mode != MODE_OFF}

    def per_week(n: int) -> float:
        return n / weeks if weeks > 0 else math.nan

    def messages(keep: set[str]) -> float:
        return per_week(len({(f.sub_id, f.step) for f in fired if f.rule in keep}))

    non_urgent = set(RULES) - {LIQUIDATION_WARNING}
    return {
        "position_weeks": weeks,
        "alerts_per_position_week": {r: per_week(sum(f.rule == r for f in fired)) for r in RULES},
        "messages_per_position_week": messages(set(RULES)),
        "non_urgent_messages_per_position_week": messages(non_urgent),
        "new_chat_defaults": {
            "rules": sorted(on & non_urgent),
            "non_urgent_messages_per_position_week": messages(on & non_urgent),
            "non_urgent_messages_per_position_day": messages(on & non_urgent) / 7,
        },
    }


def rule_stats(replay: Replay, path: PricePath) -> list[RuleStats]:
    ctx = Context(replay, path)
    weeks, pos_weeks = replay.weeks, position_weeks(replay)
    ok = ctx.ok(FOLLOW_H)
    out = []
    for r, rule in enumerate(RULES):
        positions_only = "watch" not in CATALOGUE_BY_NAME[rule].applies_to
        if positions_only:
            fired = [f for f in replay.fired if f.rule == rule and f.sub_id >= FIRST_POSITION_ID]
            exposure = pos_weeks
        else:
            fired = [f for f in replay.fired if f.rule == rule and f.sub_id == 1]
            exposure = weeks
        s = RuleStats(
            rule,
            "position" if positions_only else "watcher",
            len(fired),
            len(fired) / exposure if exposure > 0 else math.nan,
            exposure,
            enabled=rule in replay.spec.rules,
        )
        steps = np.unique(np.array([f.step for f in fired], dtype=np.int64))
        steps = steps[ok[steps]] if steps.size else steps
        if steps.size:
            e = bootstrap(mean, ctx.at[steps], ctx.range_pct(steps, FOLLOW_H))
            rand = ctx.random_steps(steps.size, FOLLOW_H, 100 + r)
            b = bootstrap(mean, ctx.at[rand], ctx.range_pct(rand, FOLLOW_H))
            s.next_4h_range_pct, s.interval = e[0], (e[1], e[2])
            s.baseline_4h_range_pct, s.baseline_interval = b[0], (b[1], b[2])
        for w, sw in enumerate(replay.watchers):
            if sw is None or sw[0] != rule:
                continue
            n = sum(1 for f in replay.fired if f.rule == rule and f.sub_id == w + 1)
            s.sweep.append({"threshold": sw[1], "alerts": n, "alerts_per_week": n / weeks})
        if s.sweep:
            default = CATALOGUE_BY_NAME[rule].default
            s.sweep.append(
                {
                    "threshold": default,
                    "alerts": s.alerts,
                    "alerts_per_week": s.alerts_per_week,
                    "default": True,
                }
            )
            s.sweep.sort(key=lambda row: row["threshold"])
        out.append(s)
    return out
