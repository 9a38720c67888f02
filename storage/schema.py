"""Schema as an ordered list of migrations (sqlite-utils ``Migrations``). Never edit an applied
migration: add a new one."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.db import Table
from sqlite_utils.migrations import Migrations

migrations = Migrations("liqbot")


def _t(db: Database, name: str) -> Table:
    table = db[name]
    assert isinstance(table, Table)
    return table


@migrations()
def m001_market_history(db: Database) -> None:
    """Candles, open interest and funding per (venue, symbol, timeframe); venue health."""
    _t(db, "candles").create(
        {
            "venue": str,
            "symbol": str,
            "timeframe": str,
            "time": int,  # open time, ms UTC
            "open": float,
            "high": float,
            "low": float,
            "close": float,
            "volume": float,  # base units
            "taker_buy": float,  # base units, NULL where the venue gives none
        },
        pk=("venue", "symbol", "timeframe", "time"),
    )
    _t(db, "open_interest").create(
        {
            "venue": str,
            "symbol": str,
            "timeframe": str,  # '5m', '1h'... or 'snapshot' for polled current OI
            "time": int,
            "oi_base": float,
            "oi_usd": float,
        },
        pk=("venue", "symbol", "timeframe", "time"),
    )
    _t(db, "funding").create(
        {
            "venue": str,
            "symbol": str,
            "time": int,
            "rate": float,  # per interval, fraction
            "interval_h": float,
        },
        pk=("venue", "symbol", "time"),
    )
    _t(db, "venue_health").create(
        {
            "venue": str,
            "symbol": str,
            "last_ok": int,  # ms of the last successful refresh
            "last_attempt": int,
            "failures": int,  # consecutive failed refreshes
            "last_error": str,
        },
        pk=("venue", "symbol"),
    )


@migrations()
def m002_users(db: Database) -> None:
    """Users and their settings."""
    _t(db, "users").create(
        {
            "chat_id": int,
            "user_id": int,
            "first_name": str,
            "tz": str,  # IANA zone
            "active": int,  # 0 once the user blocked the bot
            "created_at": int,
            "digest": int,
            "quiet_start": str,  # 'HH:MM' local, NULL for none
            "quiet_end": str,
            "muted_until": int,  # ms UTC
        },
        pk="chat_id",
        defaults={"tz": "UTC", "active": 1, "digest": 1},
        not_null={"tz", "active", "digest"},
    )
