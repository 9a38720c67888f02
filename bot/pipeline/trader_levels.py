"""What one trader's charts of a symbol draw: their open positions' entries, liquidation prices
and stops, and their active price alerts (read here, drawn by :mod:`bot.views.charts`)."""

from __future__ import annotations

from sqlite_utils import Database

from bot.views.levels import TraderLevel, trader_levels
from storage import price_alerts, subscriptions


def chat_levels(db: Database, chat_id: int, symbol: str) -> tuple[TraderLevel, ...]:
    return trader_levels(
        subscriptions.open_for_chat(db, chat_id),
        price_alerts.alerts_for(db, chat_id, symbol),
        symbol,
    )
