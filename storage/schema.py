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


@migrations()
def m003_alerts(db: Database) -> None:
    """Positions and watches (one table: both are subscriptions to a symbol), per-user rule
    settings, alert state, and the outbox every message goes through."""
    _t(db, "subscriptions").create(
        {
            "id": int,
            "chat_id": int,
            "symbol": str,
            "kind": str,  # 'position' or 'watch'
            "side": str,  # 'long' / 'short'; NULL for watches
            "entry": float,
            "leverage": float,
            "size_usd": float,
            "liquidation_price": float,
            "entry_lfr": float,  # fuel ratio at entry (also in the snapshot; a column for speed)
            "entry_snapshot": str,  # JSON: the map metrics when the position was opened
            "opened_at": int,
            "closed_at": int,
            "muted": int,
        },
        pk="id",
        foreign_keys=[("chat_id", "users", "chat_id")],
        defaults={"muted": 0},
    )
    _t(db, "subscriptions").create_index(["symbol", "closed_at"])
    _t(db, "subscriptions").create_index(["chat_id", "closed_at"])
    _t(db, "alert_settings").create(
        {"chat_id": int, "rule": str, "mode": str, "threshold": float},
        pk=("chat_id", "rule"),
    )
    _t(db, "alert_state").create(
        {
            "sub_id": int,
            "rule": str,
            "key": str,
            "armed": int,
            "last_fired_ms": int,
            "episode": int,
            "zone_low": float,
            "zone_high": float,
        },
        pk=("sub_id", "rule", "key"),
    )
    _t(db, "outbox").create(
        {
            "id": int,
            "dedupe_key": str,
            "chat_id": int,
            "kind": str,  # 'alert', 'digest', 'note'
            "text": str,  # Telegram HTML
            "photo": bytes,
            "silent": int,
            "created_at": int,
            "not_before": int,  # held in quiet hours until then
            "sent_at": int,
            "attempts": int,
            "last_error": str,
            "status": str,  # 'pending', 'sent', 'dropped'
        },
        pk="id",
        defaults={"attempts": 0, "status": "pending", "silent": 0},
    )
    _t(db, "outbox").create_index(["dedupe_key"], unique=True)
    _t(db, "outbox").create_index(["status", "not_before"])


@migrations()
def m004_liquidations(db: Database) -> None:
    """Real forced orders from the venues' public liquidation streams, and the time each stream
    was connected (so a gap in the record is never read as a quiet market)."""
    _t(db, "liquidations").create(
        {
            "venue": str,
            "symbol": str,  # ccxt unified, e.g. 'BTC/USDT:USDT'
            "time": int,  # ms UTC, the venue's trade time of the forced order
            "side": str,  # the side liquidated: 'long' (a forced sell) or 'short'
            "price": float,
            "quantity": float,  # base units
            "usd": float,  # price * quantity
        },
        # A re-sent print has the same fields, so it lands on the same key and is stored once.
        pk=("venue", "symbol", "time", "side", "price", "quantity"),
    )
    _t(db, "liquidations").create_index(["symbol", "time"])
    _t(db, "liquidation_coverage").create(
        {
            "venue": str,
            "symbol": str,
            "start": int,  # ms: the connection was established
            "end": int,  # ms: last sign of life on it (a print, a pong, a quiet check)
        },
        pk=("venue", "symbol", "start"),
    )


@migrations()
def m005_position_fate(db: Database) -> None:
    """What became of a position: liquidated or stopped out (detected from candles), closed by
    hand at an exit price; its stop; how far its candles were checked; the follow-up note after
    the exit. A trader's account size for size advice."""
    _t(db, "subscriptions").add_column(
        "status", str
    )  # NULL/'open', 'liquidated', 'stopped', 'closed'
    _t(db, "subscriptions").add_column("stop_price", float)
    _t(db, "subscriptions").add_column("checked_to", int)  # ms: candles closed by then are checked
    _t(db, "subscriptions").add_column("exit_price", float)
    _t(db, "subscriptions").add_column("exit_at", int)  # ms: the crossing candle, or the /close
    _t(db, "subscriptions").add_column("exit_extreme", float)  # that candle's low (long) / high
    _t(db, "subscriptions").add_column("followup_due", int)  # ms; NULL once queued
    _t(db, "subscriptions").create_index(["followup_due"])
    _t(db, "users").add_column("account_usd", float)


@migrations()
def m006_outbox_keyboard(db: Database) -> None:
    """Buttons under an alert: the inline keyboard as JSON, rows of [label, callback data]
    (NULL: no buttons)."""
    _t(db, "outbox").add_column("keyboard", str)


@migrations()
def m007_scale(db: Database) -> None:
    """Charts stored once and referenced from the outbox (re-sent by Telegram
    ``file_id``); an index for pruning old outbox rows; a list of chats whose alert inputs
    changed, filled by triggers, so the alert pass keeps its columns in memory and reloads
    only those chats (any write path is covered, whoever writes it)."""
    _t(db, "outbox").add_column("photo_ref", str)
    _t(db, "outbox").create_index(["created_at"])
    _t(db, "outbox").create_index(["status", "kind", "id"], index_name="outbox_pending_kind")
    _t(db, "media").create({"key": str, "data": bytes, "file_id": str, "created_at": int}, pk="key")
    _t(db, "alert_dirty").create({"chat_id": int}, pk="chat_id")
    mark = "insert or ignore into alert_dirty (chat_id) values"
    db.executescript(
        f"""
        create trigger subs_ins after insert on subscriptions begin {mark} (new.chat_id); end;
        create trigger subs_upd after update of chat_id, symbol, kind, side, entry, leverage,
            liquidation_price, entry_lfr, muted, closed_at, status on subscriptions begin
            {mark} (old.chat_id); {mark} (new.chat_id); end;
        create trigger subs_del after delete on subscriptions begin {mark} (old.chat_id); end;
        create trigger users_upd after update of tz, quiet_start, quiet_end, muted_until, active,
            chat_id on users begin {mark} (old.chat_id); {mark} (new.chat_id); end;
        create trigger users_del after delete on users begin {mark} (old.chat_id); end;
        create trigger settings_ins after insert on alert_settings begin
            {mark} (new.chat_id); end;
        create trigger settings_upd after update on alert_settings begin
            {mark} (old.chat_id); {mark} (new.chat_id); end;
        create trigger settings_del after delete on alert_settings begin
            {mark} (old.chat_id); end;
        """
    )


@migrations()
def m008_cascade_episodes(db: Database) -> None:
    """Each real-liquidation cascade episode once: a print that arrives late (another venue's
    stream lags) can move an episode's first trigger earlier; the stored episode keeps the
    identity its alert was sent under."""
    _t(db, "cascade_episodes").create(
        {"symbol": str, "side": str, "start": int, "last": int}, pk=("symbol", "side", "start")
    )


@migrations()
def m009_dirty_marks_never_conflict(db: Database) -> None:
    """The m007 triggers marked a chat with ``insert or ignore``, but SQLite applies
    the *outer* statement's conflict policy inside a trigger, so an upsert (sqlite-utils'
    ``INSERT ... ON CONFLICT DO UPDATE``) of an already-marked chat's setting failed with
    UNIQUE constraint failed: alert_dirty.chat_id. The marks now insert only a missing chat,
    which cannot conflict whatever statement fires them."""
    for name in (
        *("subs_ins", "subs_upd", "subs_del", "users_upd", "users_del"),
        *("settings_ins", "settings_upd", "settings_del"),
    ):
        db.execute(f"drop trigger if exists {name}")

    def mark(who: str) -> str:
        return (
            f"insert into alert_dirty (chat_id) select {who}.chat_id "
            f"where not exists (select 1 from alert_dirty where chat_id = {who}.chat_id);"
        )

    db.executescript(
        f"""
        create trigger subs_ins after insert on subscriptions begin {mark("new")} end;
        create trigger subs_upd after update of chat_id, symbol, kind, side, entry, leverage,
            liquidation_price, entry_lfr, muted, closed_at, status on subscriptions begin
            {mark("old")} {mark("new")} end;
        create trigger subs_del after delete on subscriptions begin {mark("old")} end;
        create trigger users_upd after update of tz, quiet_start, quiet_end, muted_until, active,
            chat_id on users begin {mark("old")} {mark("new")} end;
        create trigger users_del after delete on users begin {mark("old")} end;
        create trigger settings_ins after insert on alert_settings begin {mark("new")} end;
        create trigger settings_upd after update on alert_settings begin
            {mark("old")} {mark("new")} end;
        create trigger settings_del after delete on alert_settings begin {mark("old")} end;
        """
    )


@migrations()
def m010_price_alerts(db: Database) -> None:
    """Price alerts at a level the trader picks (``/alert BTC 120k``). ``direction``
    says which way price must cross (``above``: a candle's high reaches the level; ``below``: its
    low does); ``every`` re-arms after price moves back by a margin; ``checked_to`` is how far
    the candles were checked, as for positions. A one-shot alert that fired, or one deleted,
    keeps its row (``status``) as the record; only ``active`` ones count against the limit."""
    _t(db, "price_alerts").create(
        {
            "id": int,
            "chat_id": int,
            "symbol": str,
            "level": float,
            "direction": str,  # 'above' / 'below'
            "every": int,  # 1: re-arms after moving back by the margin
            "armed": int,  # 0 between a firing of an `every` alert and its re-arm
            "status": str,  # 'active', 'fired' (one-shot, done), 'deleted'
            "created_at": int,
            "price_at_creation": float,
            "checked_to": int,  # ms: candles closing by then are checked
            "fired_count": int,
            "last_fired_at": int,  # ms: the crossing candle's open time
            "last_fired_price": float,  # that candle's high (above) / low (below)
        },
        pk="id",
        foreign_keys=[("chat_id", "users", "chat_id")],
        defaults={"every": 0, "armed": 1, "status": "active", "fired_count": 0},
        not_null={"chat_id", "symbol", "level", "direction", "status"},
    )
    _t(db, "price_alerts").create_index(["symbol", "status"])
    _t(db, "price_alerts").create_index(["chat_id", "status"])


@migrations()
def m011_own_lp_off_for_new_users(db: Database) -> None:
    """``own_lp_in_cluster`` is now off for chats that never chose (its record shows no edge);
    the chats that had it on by default keep it on."""
    db.execute(
        """insert into alert_settings (chat_id, rule, mode, threshold)
        select chat_id, 'own_lp_in_cluster', 'on', null from users
        where chat_id not in (
            select chat_id from alert_settings where rule = 'own_lp_in_cluster')"""
    )


@migrations()
def m012_map_refits(db: Database) -> None:
    """The live map refit's weekly decisions (``storage/map_refits.py``)."""
    _t(db, "map_refits").create(
        {
            "symbol": str,
            "at_ms": int,
            "current": str,
            "candidate": str,
            "adopted": int,
            "in_use": str,
            "fit_score": float,
            "current_week": float,
            "candidate_week": float,
            "reason": str,
        }
    )
    db.execute("create index map_refits_symbol on map_refits (symbol, at_ms)")


@migrations()
def m013_price_alert_margin(db: Database) -> None:
    """An ``every`` alert's own re-arm margin, % of the level (``/alert BTC 121k every 1%``);
    null: the default."""
    _t(db, "price_alerts").add_column("rearm_pct", float)
