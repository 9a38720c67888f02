"""The liquidation feed's sink, written to SQLite: the one place ``market`` meets ``storage``
for live prints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlite_utils import Database

from storage import liquidations

if TYPE_CHECKING:  # a type only: the feed (and ccxt) load where the feed is built
    from market.liquidation_feed import LiquidationPrint


class StorageLiquidationSink:
    """``market.liquidation_feed.LiquidationSink`` over ``storage.liquidations``. Calls run on
    the event loop's thread (the bot's one connection); each is a short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.stored = 0  # new rows; a re-sent print is not counted

    def store_prints(self, prints: Sequence[LiquidationPrint]) -> None:
        self.stored += liquidations.insert_prints(
            self.db,
            [(p.venue, p.symbol, p.time_ms, p.side, p.price, p.quantity, p.usd) for p in prints],
        )

    def store_coverage(
        self, venue: str, symbols: Sequence[str], start_ms: int, end_ms: int
    ) -> None:
        liquidations.record_coverage(self.db, venue, symbols, start_ms, end_ms)
