"""The weekly live refit of the map's settings (``grading.live_refit``) on the liquidation prints
the feed recorded, its decision stored (``storage.map_refits``) and logged, and the settings in
use handed to the maps."""

from __future__ import annotations

import logging

from sqlite_utils import Database

from bot.pipeline.liquidations import _candles
from grading.hourly import DEFAULT_LOOKBACK_H
from grading.live_refit import FIT_WEEKS, GRID_BY_NAME, WEEK_MS, RefitDecision, refit
from liqmap import ModelSettings
from liqmap.times import HOUR_MS
from market.snapshot import MarketDataError
from market.source import MarketSource
from storage import liquidations, map_refits

log = logging.getLogger(__name__)


def settings_in_use(db: Database, symbol: str) -> ModelSettings:
    name, _ = map_refits.in_use(db, symbol)
    return GRID_BY_NAME.get(name, ModelSettings())


def due(db: Database, symbol: str, now_ms: int) -> bool:
    """A week since the last decision (or none yet)."""
    rows = map_refits.history(db, symbol)
    return not rows or now_ms - rows[-1].at_ms >= WEEK_MS


def refit_symbol(db: Database, source: MarketSource, symbol: str, now_ms: int) -> RefitDecision:
    """Run the procedure on the last ``FIT_WEEKS`` + 1 weeks of recorded prints, store and log
    the decision. CPU-heavy (a few seconds): call it in a worker thread."""
    current, _ = map_refits.in_use(db, symbol)
    end = now_ms // HOUR_MS * HOUR_MS
    since = end - (FIT_WEEKS + 1) * WEEK_MS
    p = liquidations.read_prints(db, symbol, since, end)
    prints = list(zip(p.time.tolist(), p.side, p.price.tolist(), p.quantity.tolist(), strict=True))
    try:
        candles = _candles(source, symbol, since - int(DEFAULT_LOOKBACK_H) * HOUR_MS, end)
        decision = refit(symbol, prints, candles, now_ms, current)
    except MarketDataError as e:
        decision = RefitDecision(now_ms, current, None, False, current, None, None, None, str(e))
    map_refits.record(
        db,
        map_refits.RefitRow(
            symbol,
            decision.at_ms,
            decision.current,
            decision.candidate,
            decision.adopted,
            decision.in_use,
            decision.fit_score,
            decision.current_week,
            decision.candidate_week,
            decision.reason,
        ),
    )
    log.info(
        "map refit %s: %s (%s; %d prints)",
        symbol,
        f"adopted {decision.in_use}" if decision.adopted else f"kept {decision.in_use}",
        decision.reason,
        len(prints),
    )
    return decision
