"""Price alerts crossing their level: which candle first crossed each alert's level since its
last check, and whether an ``every`` alert is armed again afterwards.

Pure and vectorised: one (alerts x candles) comparison per symbol. An ``above`` alert fires on
the first candle whose high reaches the level, a ``below`` one on the first whose low does, so a
wick between two refreshes counts even when the last price is back on the near side. An
``every`` alert then waits until price moves back past the level by :data:`REARM_PCT` (a low
that far under an ``above`` level, a high that far over a ``below`` one) before it can fire
again: a price hovering at the level is one event, not one per candle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

REARM_PCT = 0.5  # % of the level price must move back before an `every` alert fires again


def margin_pct(own: float | None) -> float:
    """An alert's re-arm margin in % of its level: its own (``every 1%``) or the default."""
    return REARM_PCT if own is None else own


NO_CANDLE = -1


@dataclass(frozen=True)
class Crossings:
    """Per alert: ``candle``, the index of the first candle that fired it in this pass
    (NO_CANDLE: none), and ``armed``, whether it can fire again after the candles seen."""

    candle: IntArray
    armed: BoolArray


def price_crossings(
    above: BoolArray,
    level: FloatArray,
    armed: BoolArray,
    every: BoolArray,
    checked_to: IntArray,
    close_time: IntArray,
    low: FloatArray,
    high: FloatArray,
    rearm_pct: float | FloatArray = REARM_PCT,
) -> Crossings:
    """The first firing of each alert among the candles closing after its ``checked_to``.

    ``above[i]``: fires when ``high >= level[i]``; else when ``low <= level[i]``. A one-shot
    alert that fires is done (``armed`` False). An ``every`` alert's later crossings in the same
    candles do not fire again in this pass (one message per alert per pass), but its state
    follows them: fired, re-armed after moving back, fired... so ``armed`` is right for the
    next pass. ``rearm_pct`` is one margin for all or one per alert; a one-shot alert that is
    not armed (it was an ``every`` one, switched to once while waiting) re-arms the same way."""
    n, m = level.size, close_time.size
    candle = np.full(n, NO_CANDLE, dtype=np.int64)
    out_armed = armed.copy()
    if n == 0 or m == 0:
        return Crossings(candle, out_armed)
    fresh = close_time[None, :] > checked_to[:, None]
    lv = level[:, None]
    up = above[:, None]
    margin = np.broadcast_to(np.asarray(rearm_pct, dtype=np.float64), level.shape)[:, None]
    crossed = np.where(up, high[None, :] >= lv, low[None, :] <= lv) & fresh
    back = (
        np.where(
            up,
            low[None, :] <= lv * (1 - margin / 100),
            high[None, :] >= lv * (1 + margin / 100),
        )
        & fresh
    )
    # Armed alerts: the first crossing, all at once.
    hit = crossed.any(axis=1) & armed
    candle[hit] = np.argmax(crossed[hit], axis=1)
    out_armed[hit] = False
    # Re-arming, and `every` alerts crossing again: a short walk per alert that has events
    # (a handful of candles per pass; alerts without any are never visited).
    waits = every | ~armed
    for i in np.flatnonzero(waits & (crossed.any(axis=1) | back.any(axis=1))).tolist():
        state = bool(armed[i])
        k = 0
        while k < m:
            row = crossed[i, k:] if state else back[i, k:]
            if not row.any():
                break
            j = k + int(np.argmax(row))
            if state and candle[i] == NO_CANDLE:
                candle[i] = j
            state = not state
            k = j + 1  # the candle that fired cannot also re-arm it (its order is unknown)
        out_armed[i] = state
    return Crossings(candle, out_armed)
