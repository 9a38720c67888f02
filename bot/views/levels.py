"""The trader's own prices on a chart of a symbol: each open position's entry, liquidation price
and stop, and each active price alert. Plain data (they travel to the chart worker)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.views import fmt
from storage.price_alerts import PriceAlert
from storage.subscriptions import Subscription

ENTRY, LIQUIDATION, STOP, ALERT = "entry", "liquidation", "stop", "alert"


@dataclass(frozen=True)
class TraderLevel:
    """A price of the trader's to draw: ``kind`` picks the colour, ``label`` is what it says."""

    price: float
    kind: str
    label: str


def trader_levels(
    positions: Sequence[Subscription], alerts: Sequence[PriceAlert], symbol: str
) -> tuple[TraderLevel, ...]:
    """The levels of ``symbol``: for each open (not liquidated) position its entry, liquidation
    and stop (labelled with its number), then each price alert; in a stable order, so the same
    levels make the same chart (the cache key)."""
    out: list[TraderLevel] = []
    mine = [
        p
        for p in positions
        if p.symbol == symbol and p.kind == "position" and p.status == "open" and p.entry
    ]
    for p in mine:
        tag = f"#{p.id} " if len(mine) > 1 else ""  # one position needs no number
        out.append(TraderLevel(p.entry or 0.0, ENTRY, f"{tag}entry {fmt.price(p.entry)}"))
        if p.liquidation_price:
            lp = p.liquidation_price
            out.append(TraderLevel(lp, LIQUIDATION, f"{tag}liq. {fmt.price(lp)}"))
        if p.stop_price:
            out.append(TraderLevel(p.stop_price, STOP, f"{tag}stop {fmt.price(p.stop_price)}"))
    for a in alerts:
        if a.symbol == symbol:
            out.append(TraderLevel(a.level, ALERT, f"alert {fmt.price(a.level)}"))
    return tuple(out)
