"""Generated positions for the position rules and the fuel-ratio claim.

Documented and seeded, so a backtest is repeatable: at every step ``per_step`` positions open at
that step's price (the map's price), each long or short with even odds, at a whole leverage drawn
uniformly from 5x to 50x. The liquidation price is ``liqmap.position_liquidation_price`` (as
``/open`` computes it, for the default 50,000 USD position); the entry fuel ratio is the map's at
the opening step (``inf`` stored as unknown, as the bot stores it). Each position is watched for
``hold_steps`` steps after its opening step (a trader who holds for a day), then closed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.catalogue import POSITION, RULES, WATCH
from alerts.inputs import Subscriptions, SymbolMetrics
from liqmap import position_liquidation_price

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

LEVERAGE_MIN = 5
LEVERAGE_MAX = 50
FIRST_POSITION_ID = 1_000_000  # watchers take the ids below


@dataclass(frozen=True)
class PositionPlan:
    per_step: int = 2
    hold_steps: int = 24
    seed: int = 13


class PositionBook:
    """Every generated position of one backtest, opened step by step (ids ascend with time, so
    the open ones are one contiguous, sorted slice)."""

    def __init__(self, symbol: str, steps: int, plan: PositionPlan) -> None:
        self.symbol, self.plan = symbol, plan
        n = steps * plan.per_step
        rng = np.random.default_rng(plan.seed)
        self.side = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
        self.leverage = rng.integers(LEVERAGE_MIN, LEVERAGE_MAX + 1, n).astype(np.float64)
        self.entry = np.full(n, np.nan)
        self.liquidation_price = np.full(n, np.nan)
        self.entry_lfr = np.full(n, np.nan)  # NaN: unknown (the bot stores inf as None)
        self.lfr_at_entry = np.full(n, np.nan)  # the raw fuel ratio, inf kept (for the claim)
        self.opened_step = np.repeat(np.arange(steps, dtype=np.int64), plan.per_step)
        self.sub_id = FIRST_POSITION_ID + np.arange(n, dtype=np.int64)
        self._lp: dict[tuple[float, int], float] = {}  # LP / entry by (leverage, side)

    def __len__(self) -> int:
        return int(self.side.size)

    def open_at(self, step: int, m: SymbolMetrics) -> None:
        """Fill in the positions that open at ``step`` from that step's map."""
        k = self.plan.per_step
        for i in range(step * k, step * k + k):
            side = int(self.side[i])
            key = (float(self.leverage[i]), side)
            if key not in self._lp:  # the formula is linear in entry for a fixed notional
                name = "long" if side > 0 else "short"
                self._lp[key] = position_liquidation_price(self.symbol, 1.0, key[0], name)
            lfr = m.lfr_long if side > 0 else m.lfr_short
            self.entry[i] = m.price
            self.liquidation_price[i] = m.price * self._lp[key]
            self.lfr_at_entry[i] = lfr
            self.entry_lfr[i] = lfr if math.isfinite(lfr) else math.nan

    def open_slice(self, step: int) -> slice:
        """Positions watched at ``step``: opened in the ``hold_steps`` steps before it."""
        k, hold = self.plan.per_step, self.plan.hold_steps
        return slice(max(step - hold, 0) * k, step * k)


def watcher_subscriptions(thresholds: FloatArray, modes: npt.NDArray[np.int8]) -> Subscriptions:
    """One watch per row of ``thresholds`` (NaN: the rule's default), ids 1, 2, ..."""
    n = thresholds.shape[0]
    return Subscriptions(
        sub_id=np.arange(1, n + 1, dtype=np.int64),
        chat_id=np.arange(1, n + 1, dtype=np.int64),
        kind=np.full(n, WATCH, dtype=np.int8),
        side=np.zeros(n, dtype=np.int8),
        entry=np.full(n, np.nan),
        leverage=np.full(n, np.nan),
        liquidation_price=np.full(n, np.nan),
        entry_lfr=np.full(n, np.nan),
        thresholds=thresholds,
        modes=modes,
        muted_until_ms=np.zeros(n, dtype=np.int64),
        in_quiet_hours=np.zeros(n, dtype=np.bool_),
        hold_in_quiet=np.ones(n, dtype=np.bool_),
    )


def subscriptions_at(
    watchers: Subscriptions, book: PositionBook, step: int, modes: npt.NDArray[np.int8]
) -> Subscriptions:
    """The watchers plus the positions open at ``step`` (each its own chat), sorted by id."""
    s = book.open_slice(step)
    n = s.stop - s.start
    return Subscriptions(
        sub_id=np.concatenate([watchers.sub_id, book.sub_id[s]]),
        chat_id=np.concatenate([watchers.chat_id, book.sub_id[s]]),
        kind=np.concatenate([watchers.kind, np.full(n, POSITION, dtype=np.int8)]),
        side=np.concatenate([watchers.side, book.side[s]]),
        entry=np.concatenate([watchers.entry, book.entry[s]]),
        leverage=np.concatenate([watchers.leverage, book.leverage[s]]),
        liquidation_price=np.concatenate([watchers.liquidation_price, book.liquidation_price[s]]),
        entry_lfr=np.concatenate([watchers.entry_lfr, book.entry_lfr[s]]),
        thresholds=np.concatenate([watchers.thresholds, np.full((n, len(RULES)), np.nan)]),
        modes=np.concatenate([watchers.modes, np.broadcast_to(modes, (n, len(RULES)))]),
        muted_until_ms=np.zeros(len(watchers) + n, dtype=np.int64),
        in_quiet_hours=np.zeros(len(watchers) + n, dtype=np.bool_),
        hold_in_quiet=np.ones(len(watchers) + n, dtype=np.bool_),
    )
