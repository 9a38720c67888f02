"""What a trader reads when a position ends: the liquidation message, PnL and R multiple, the
post-trade note (were the exits affected by cluster-driven volatility?) and the
follow-up a few hours later (was the stop in the cascade zone?)."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.views import fmt
from bot.views.report import MapReport
from storage.subscriptions import Subscription

JUST_PAST_PCT = 0.5  # an exit this close beyond a cluster's far edge was taken by its sweep


@dataclass(frozen=True)
class Pnl:
    price_pct: float  # move in the position's favour, % of entry (a short's gain is positive)
    margin_pct: float  # % of the margin (price move x leverage; -100 at liquidation)
    usd: float | None  # with a size
    r_multiple: float | None  # with a stop


def pnl(sub: Subscription, exit_price: float) -> Pnl:
    assert sub.entry is not None and sub.leverage is not None
    sign = 1.0 if sub.side == "long" else -1.0
    move = sign * (exit_price / sub.entry - 1) * 100
    margin = -100.0 if sub.liquidated else max(move * sub.leverage, -100.0)
    usd = None
    if sub.size_usd is not None:
        usd = -sub.size_usd / sub.leverage if sub.liquidated else sub.size_usd * move / 100
    r = None
    if sub.stop_price is not None and sub.stop_price != sub.entry:
        r = sign * (exit_price - sub.entry) / abs(sub.entry - sub.stop_price)
    return Pnl(move, margin, usd, r)


def _head(sub: Subscription) -> str:
    base = sub.symbol.split("/")[0]
    return f"#{sub.id} {base} {sub.side} {fmt.price(sub.entry)} x{(sub.leverage or 0):g}"


def pnl_lines(sub: Subscription, exit_price: float) -> list[str]:
    p = pnl(sub, exit_price)
    e = html.escape
    text = f"PnL: <b>{e(fmt.pct(p.margin_pct))}</b> of margin, {e(fmt.pct(p.price_pct))} of price"
    if p.usd is not None:
        gain = "+" if p.usd > 0 else ""  # a loss already reads "-$500"
        text += f", <b>{e(gain + fmt.usd(p.usd))}</b>"
    lines = [text]
    if p.r_multiple is not None:
        lines.append(
            f"R multiple: <b>{p.r_multiple:+.2f}R</b> (stop {e(fmt.price(sub.stop_price))})"
        )
    return lines


def liquidated_html(sub: Subscription, candle_ms: int, extreme: float, zone: str = "UTC") -> str:
    """The one message a liquidation gets (its time in the chat's ``zone``)."""
    e = html.escape
    which = "low" if sub.side == "long" else "high"
    lines = [
        f"💀 <b>{e(_head(sub).replace(f' {fmt.price(sub.entry)}', ''))} liquidated</b> at "
        f"~{e(fmt.price(sub.liquidation_price))} ({which} {e(fmt.price(extreme))}, "
        f"{e(fmt.when(candle_ms, zone, '%H:%M %Z'))})",
    ]
    loss = "Loss: your margin (-100%)"
    if sub.size_usd is not None and sub.leverage:
        loss += (
            f", about {fmt.usd(sub.size_usd / sub.leverage)} on a {fmt.usd(sub.size_usd)} position"
        )
    lines.append(e(loss) + ".")
    lines.append(
        f"I give no more advice for it. /close {sub.id} clears it, with the post-trade note."
    )
    return "\n".join(lines)


def _clusters(sub: Subscription, against: bool) -> list[dict[str, Any]]:
    """Clusters from the entry-time map: the side that runs against the position, or with it."""
    snap = sub.entry_snapshot
    below, above = list(snap.get("below", [])), list(snap.get("above", []))
    longish = sub.side == "long"
    return (below if longish else above) if against else (above if longish else below)


def exit_cluster(sub: Subscription, exit_price: float) -> tuple[str, dict[str, Any]] | None:
    """('inside' | 'just past', cluster) when the exit sat in or just beyond a cluster that
    runs against the position (where stops get swept), else None."""
    for c in _clusters(sub, against=True):
        low, high = float(c["low"]), float(c["high"])
        if low <= exit_price <= high:
            return "inside", c
        far = low if sub.side == "long" else high
        beyond = (far - exit_price) if sub.side == "long" else (exit_price - far)
        if 0 < beyond <= far * JUST_PAST_PCT / 100:
            return "just past", c
    return None


def _span(c: dict[str, Any]) -> str:
    return f"{fmt.price(c['low'])}-{fmt.price(c['high'])} ({fmt.usd(c['notional'])})"


def ran_through(entry_map: MapReport, start: float, low: float, high: float) -> tuple[float, float]:
    """Estimated USD of long and short liquidations between the start price and the trade's low
    and high, on the map drawn when the position was opened."""
    mids = entry_map.liq.grid.mids
    longs = float(entry_map.liq.long[(mids >= low) & (mids <= start)].sum())
    shorts = float(entry_map.liq.short[(mids <= high) & (mids >= start)].sum())
    return longs, shorts


def trade_note_html(
    sub: Subscription,
    exit_price: float,
    exit_ms: int,
    low: float,
    high: float,
    entry_map: MapReport | None,
    oi_change: float | None,
    heading: str = "Closed",
    untraded: bool = False,
    zone: str = "UTC",
) -> str:
    """PnL, R and the look back: where the exit sat against the clusters, how much estimated
    liquidation notional price ran through, whether OI fell (venues present at both ends)."""
    e = html.escape
    entry = float(sub.entry or exit_price)
    lines = [
        f"<b>{e(heading)} {e(_head(sub))}</b> at {e(fmt.price(exit_price))} "
        f"({e(fmt.when(exit_ms, zone, '%Y-%m-%d %H:%M %Z'))})",
        *pnl_lines(sub, exit_price),
        f"Price since entry: {e(fmt.price(entry))} -> {e(fmt.price(exit_price))} "
        f"({e(fmt.pct((exit_price / entry - 1) * 100))}); range {e(fmt.price(low))} - "
        f"{e(fmt.price(high))}",
    ]
    if untraded:
        lines.append(
            f"⚠️ {e(fmt.price(exit_price))} did not trade between entry and now (range above): "
            "the PnL is as you typed it; the look back uses the range that traded."
        )
    at = exit_cluster(sub, exit_price)
    swept = [
        c
        for c in _clusters(sub, True) + _clusters(sub, False)
        if low <= float(c["high"]) and high >= float(c["low"])
    ]
    if at is not None:
        where, c = at
        sweeping = " while price swept it" if c in swept else ""
        lines.append(
            f"Your exit sat {where} the {e(_span(c))} cluster{sweeping}: the cascade zone, "
            "where stops are run before price turns."
        )
    else:
        lines.append("Your exit was clear of the clusters on your entry map.")
    if entry_map is not None:
        longs, shorts = ran_through(entry_map, entry_map.price, low, high)
        lines.append(
            f"Estimated liquidations price ran through during the trade: longs {e(fmt.usd(longs))}"
            f", shorts {e(fmt.usd(shorts))}"
        )
    if oi_change is not None:
        lines.append(f"Open interest over the trade: {e(fmt.pct(oi_change * 100))}")
    if swept and oi_change is not None and oi_change < -0.03:
        verdict = "yes: price ran through liquidation clusters while OI fell, forced closes."
    elif swept:
        verdict = "price reached liquidation clusters, but OI did not fall much."
    else:
        verdict = "no: the move did not reach the clusters on your entry map."
    lines.append(f"Liquidation cascade? {e(verdict)}")
    return "\n".join(lines)


def followup_html(
    sub: Subscription,
    price_now: float,
    now_ms: int,
    low: float,
    high: float,
    hours: float,
    zone: str = "UTC",
) -> str:
    """Hours after the exit: where price went, and whether the cluster the exit sat at was swept
    (so the trader learns whether the stop sat in the cascade zone)."""
    e = html.escape
    exit_price = float(sub.exit_price or sub.liquidation_price or price_now)
    sign = 1.0 if sub.side == "long" else -1.0
    lines = [
        f"🔁 <b>{hours:g} h after your {'liquidation' if sub.liquidated else 'exit'}</b> from "
        f"{e(_head(sub))} at {e(fmt.price(exit_price))}",
        f"Price now {e(fmt.price(price_now))} ({e(fmt.when(now_ms, zone, '%H:%M %Z'))}, "
        f"{e(fmt.pct((price_now / exit_price - 1) * 100))} from your exit); range since "
        f"{e(fmt.price(low))} - {e(fmt.price(high))}",
    ]
    at = exit_cluster(sub, exit_price)
    if at is not None:
        _, c = at
        far = float(c["low"]) if sub.side == "long" else float(c["high"])
        went = low <= far if sub.side == "long" else high >= far
        back = sign * (price_now - exit_price) > 0
        if went and back:
            lines.append(
                f"The {e(_span(c))} cluster you exited at was swept and price came back "
                "past your exit: your stop sat in the cascade zone. Next time, put it "
                "beyond the cluster or size down."
            )
        elif went:
            lines.append(
                f"The {e(_span(c))} cluster you exited at was swept and price kept going:"
                " the exit saved you from the rest of the move."
            )
        else:
            lines.append(f"The {e(_span(c))} cluster you exited at was not swept (yet).")
    else:
        better = sign * (price_now - exit_price) > 0
        if sub.liquidated:  # nobody chose this exit: the lesson is the leverage
            lines.append(
                "Price came back past your liquidation since: with lower leverage (or a stop "
                "you chose) the position would have survived the move."
                if better
                else "Price kept going against the position: the move would have hit a stop too."
            )
        else:
            lines.append(
                "Price moved back your way since: the exit was early."
                if better
                else "Price kept going against the position: the exit held up."
            )
    return "\n".join(lines)


def range_of(low: np.ndarray, high: np.ndarray, fallback: float) -> tuple[float, float]:
    if low.size == 0:
        return fallback, fallback
    lo, hi = float(np.nanmin(low)), float(np.nanmax(high))
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else (fallback, fallback)
