"""The walk-forward's procedure, live: once a week, on the liquidation prints the bot recorded.

1. The fit: every variant of ``GRID`` is graded (events mode: the share of liquidated USD in the
   map's top third of price buckets, averaged over longs and shorts) on the recorded prints of
   the ``FIT_WEEKS`` weeks before the most recent week; the best is the candidate.
2. The check, on the most recent week, which the fit did not see: the candidate is adopted only
   when it scores above the settings in use there. Otherwise the settings in use stay.
3. Too few recorded hours or prints (``grading.skill.TooLittleData``) in either part: no change.

Every decision is returned with its figures, for the bot to log and store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from grading.api import grade_recorded
from grading.skill import Grade, TooLittleData
from grading.walk_forward import GRID
from liqmap import Candles, ModelSettings
from liqmap.times import DAY_MS, HOUR_MS

FIT_WEEKS = 4
WEEK_MS = 7 * DAY_MS
GRID_BY_NAME: dict[str, ModelSettings] = dict(GRID)
DEFAULT_NAME = GRID[0][0]

Prints = Sequence[tuple[int, str, float, float]]  # (time_ms, side liquidated, price, quantity)
Scorer = Callable[[str, int, int], float]  # (settings name, start, end) -> score


@dataclass(frozen=True)
class RefitDecision:
    at_ms: int
    current: str
    candidate: str | None  # None: too little data to pick one
    adopted: bool
    in_use: str  # the settings after the decision
    fit_score: float | None  # the candidate's score on the fit weeks
    current_week: float | None  # on the most recent week (unseen by the fit)
    candidate_week: float | None
    reason: str


def events_score(grade: Grade) -> float:
    """The model's share of liquidated USD in its top third, averaged over the sides that have
    a figure (the pick's criterion)."""
    shares = [s.model.score for s in (grade.long, grade.short) if s.model.score is not None]
    if not shares:
        raise TooLittleData("no side has enough liquidated hours")
    return float(sum(shares) / len(shares))


def decide(score: Scorer, now_ms: int, current: str, names: Sequence[str]) -> RefitDecision:
    """The procedure above with ``score`` grading one settings name on ``[start, end)``."""
    week_start = now_ms // HOUR_MS * HOUR_MS - WEEK_MS
    fit_start = week_start - FIT_WEEKS * WEEK_MS
    try:
        fit = {n: score(n, fit_start, week_start) for n in names}
    except TooLittleData as e:
        return RefitDecision(now_ms, current, None, False, current, None, None, None, str(e))
    candidate = max(names, key=lambda n: fit[n])  # ties: the earlier name
    if candidate == current:
        why = f"{current} still scores best on the {FIT_WEEKS} weeks before the last"
        return RefitDecision(
            now_ms, current, candidate, False, current, fit[candidate], None, None, why
        )
    try:
        now_cur = score(current, week_start, week_start + WEEK_MS)
        now_new = score(candidate, week_start, week_start + WEEK_MS)
    except TooLittleData as e:
        why = f"too little in the last week to check {candidate}: {e}"
        return RefitDecision(
            now_ms, current, candidate, False, current, fit[candidate], None, None, why
        )
    adopted = now_new > now_cur
    why = (
        f"{candidate} beat {current} on the last week ({now_new:.3f} vs {now_cur:.3f})"
        if adopted
        else f"{candidate} did not beat {current} on the last week ({now_new:.3f} vs {now_cur:.3f})"
    )
    in_use = candidate if adopted else current
    return RefitDecision(
        now_ms, current, candidate, adopted, in_use, fit[candidate], now_cur, now_new, why
    )


def refit(
    symbol: str,
    prints: Prints,
    candles: Candles,
    now_ms: int,
    current: str,
    grid: Mapping[str, ModelSettings] = GRID_BY_NAME,
) -> RefitDecision:
    """:func:`decide` on recorded ``prints`` and ``candles`` (reaching a week before the fit)."""

    def score(name: str, start: int, end: int) -> float:
        mine = [p for p in prints if start <= p[0] < end]
        return events_score(grade_recorded(symbol, mine, candles, start, end, grid[name]))

    names = list(grid)
    return decide(score, now_ms, current if current in grid else DEFAULT_NAME, names)
