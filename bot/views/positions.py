"""Entry-time snapshots: what the map said when a position was opened (the post-trade note that
compares against them is in :mod:`bot.views.exit`)."""

from __future__ import annotations

from typing import Any

from bot.views.report import MapReport, finite_or_none
from liqmap import fuel_ratio


def entry_snapshot(r: MapReport, side: str) -> dict[str, Any]:
    """The map metrics stored with a position (later comparisons are against these)."""
    below, above = r.nearest(2)
    return {
        "at": r.liq.as_of,
        "window": r.window,
        "price": r.price,
        "lfr": finite_or_none(fuel_ratio(r.liq, side, r.band_pct)),
        "asymmetry": finite_or_none(r.asymmetry),
        "oi_usd": r.open_interest_usd,
        "funding": r.funding.rate if r.funding else None,
        "below": [{"low": c.low, "high": c.high, "notional": c.notional} for c in below],
        "above": [{"low": c.low, "high": c.high, "notional": c.notional} for c in above],
    }


def lfr_now(r: MapReport, side: str) -> float:
    return fuel_ratio(r.liq, side, r.band_pct)
