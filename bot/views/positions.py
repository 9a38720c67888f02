"""Entry-time snapshots and the post-trade note: what the map said when a position was opened,
and what happened since."""

from __future__ import annotations

import html
from typing import Any

from bot.views import fmt
from bot.views.report import MapReport, finite_or_none
from liqmap import fuel_ratio
from market.snapshot import MarketSnapshot
from storage.subscriptions import Subscription


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


def post_trade_html(sub: Subscription, r: MapReport, snap: MarketSnapshot) -> str:
    """How price moved since entry, which clusters were swept, whether OI fell: was the move a
    liquidation cascade?"""
    e = html.escape
    entry = sub.entry_snapshot
    then_price = float(entry.get("price") or sub.entry or r.price)
    move = (r.price / then_price - 1) * 100
    candles = snap.venues[0].candles
    since = candles.close_time >= int(entry.get("at") or sub.opened_at)
    low = float(candles.low[since].min()) if since.any() else min(r.price, then_price)
    high = float(candles.high[since].max()) if since.any() else max(r.price, then_price)
    swept = [c for c in entry.get("below", []) if low <= c["high"]]
    swept += [c for c in entry.get("above", []) if high >= c["low"]]
    oi_then, oi_now = entry.get("oi_usd"), r.open_interest_usd
    oi_move = (oi_now / oi_then - 1) * 100 if oi_then and oi_now else None
    lines = [
        f"<b>Closed #{sub.id}</b> {e(sub.symbol.split('/')[0])} {e(sub.side or '')} "
        f"{e(fmt.price(sub.entry or 0))} x{(sub.leverage or 0):g}",
        f"Price since entry: {e(fmt.price(then_price))} -> {e(fmt.price(r.price))} "
        f"({e(fmt.pct(move))}); range {e(fmt.price(low))} - {e(fmt.price(high))}",
    ]
    if swept:
        spans = "; ".join(
            f"{fmt.price(c['low'])}-{fmt.price(c['high'])} ({fmt.usd(c['notional'])})"
            for c in swept
        )
        lines.append(f"Clusters swept since entry: {e(spans)}")
    else:
        lines.append("No cluster from your entry map was swept.")
    if oi_move is not None:
        lines.append(f"Open interest since entry: {e(fmt.pct(oi_move))}")
    if swept and oi_move is not None and oi_move < -3:
        verdict = (
            "Yes: price ran through liquidation clusters while OI fell, a cascade of forced closes."
        )
    elif swept:
        verdict = (
            "Price reached liquidation clusters, but OI did not fall: positions were replaced, "
            "not flushed."
        )
    else:
        verdict = "No: the move did not reach the liquidation clusters."
    lines.append(f"Liquidation cascade? {e(verdict)}")
    return "\n".join(lines)


def lfr_now(r: MapReport, side: str) -> float:
    return fuel_ratio(r.liq, side, r.band_pct)
