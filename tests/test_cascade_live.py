"""The cascade_live pass: real liquidations of one side above the threshold within 5 minutes go
to the chats exposed to that side, once per episode, across restarts and late ticks."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlite_utils import Database

from bot.pipeline.cascade_pass import run_cascades
from market.liquidation_summary import CASCADE_LIVE_USD
from storage import liquidations, subscriptions, users
from storage.db import open_db

BTC = "BTC/USDT:USDT"
T0 = 1_770_319_800_000  # 2026-02-05 19:30 UTC
MIN = 60_000


def setup_chats(db: Database) -> None:
    for chat in (1, 2, 3, 4, 5):
        users.register(db, chat, chat, "t", T0 - 3_600_000)
    subscriptions.open_position(db, 1, BTC, "long", 70_000, 10, None, 63_600, {}, T0 - 3_600_000)
    subscriptions.open_position(db, 2, BTC, "short", 70_000, 10, None, 76_900, {}, T0 - 3_600_000)
    subscriptions.add_watch(db, 3, BTC, T0 - 3_600_000)
    subscriptions.add_watch(db, 4, BTC, T0 - 3_600_000)
    users.update(db, 4, muted_until=T0 + 24 * 3_600_000)  # /mute 1d
    subscriptions.open_position(db, 5, BTC, "long", 69_000, 5, None, 55_000, {}, T0 - 3_600_000)
    subscriptions.add_watch(db, 5, BTC, T0 - 3_600_000)


def flush(db: Database, at: int, side: str, usd_total: float, n: int = 3) -> None:
    """``n`` prints of ``side`` within two minutes from ``at`` worth ``usd_total`` together."""
    rows = []
    for i in range(n):
        price = 64_000.0 - 10 * i
        usd = usd_total / n
        rows.append(
            (
                "binanceusdm" if i % 2 else "bybit",
                BTC,
                at + i * 40_000,
                side,
                price,
                usd / price,
                usd,
            )
        )
    liquidations.insert_prints(db, rows)


def sent(db: Database) -> list[dict[str, Any]]:
    return list(db.query("select dedupe_key, chat_id, text from outbox order by id"))


def test_a_long_flush_goes_once_to_exposed_chats_only() -> None:
    db = open_db(None)
    s: Any = SimpleNamespace(db=db)
    setup_chats(db)
    flush(db, T0, "long", CASCADE_LIVE_USD * 1.2)
    for now in (T0 + 1 * MIN, T0 + 3 * MIN, T0 + 4 * MIN, T0 + 10 * MIN):
        run_cascades(s, now)
    rows = sent(db)
    # longs (1), the watcher (3), the long holder who also watches (5, one message); not the
    # short (2), not the muted watcher (4)
    assert sorted(r["chat_id"] for r in rows) == [1, 3, 5]
    by_chat = {r["chat_id"]: r["text"] for r in rows}
    assert "long liquidation cascade" in by_chat[1] and "#1" in by_chat[1]
    assert "#5" in by_chat[5] and "You watch" not in by_chat[5]
    assert "You watch BTC" in by_chat[3]
    assert "$6M of longs" in by_chat[3]
    # a restart: the same database, a fresh pass -> nothing new
    run_cascades(s, T0 + 12 * MIN)
    assert len(sent(db)) == 3
    # a second episode 30 minutes later is news again
    flush(db, T0 + 30 * MIN, "long", CASCADE_LIVE_USD * 2)
    run_cascades(s, T0 + 33 * MIN)
    assert len(sent(db)) == 6
    assert len({r["dedupe_key"] for r in sent(db)}) == 6


def test_below_the_threshold_or_spread_out_is_quiet_and_shorts_reach_shorts() -> None:
    db = open_db(None)
    s: Any = SimpleNamespace(db=db)
    setup_chats(db)
    flush(db, T0, "long", CASCADE_LIVE_USD * 0.9)
    # the same USD again, but 10 minutes apart: never 5 minutes above the threshold
    flush(db, T0 + 10 * MIN, "long", CASCADE_LIVE_USD * 0.9)
    for now in range(T0, T0 + 20 * MIN, MIN):
        run_cascades(s, now)
    assert sent(db) == []
    flush(db, T0 + 40 * MIN, "short", CASCADE_LIVE_USD * 1.5)
    run_cascades(s, T0 + 41 * MIN)
    assert sorted(r["chat_id"] for r in sent(db)) == [2, 3, 5]  # shorts and watchers


def test_a_late_tick_still_catches_the_episode_but_an_old_one_is_not_news() -> None:
    db = open_db(None)
    s: Any = SimpleNamespace(db=db)
    setup_chats(db)
    flush(db, T0, "long", CASCADE_LIVE_USD * 1.2)
    run_cascades(s, T0 + 9 * MIN)  # the 5-minute window has passed: the pass looks back
    assert len(sent(db)) == 3
    db2 = open_db(None)
    setup_chats(db2)
    flush(db2, T0, "long", CASCADE_LIVE_USD * 1.2)
    run_cascades(SimpleNamespace(db=db2), T0 + 40 * MIN)  # the bot was down: stale
    assert sent(db2) == []


def test_a_late_print_from_a_lagging_venue_is_the_same_episode() -> None:
    """One venue's stream lags: its print, timed before the first trigger, arrives after the
    alert went out. That moves the episode's first trigger earlier; still one message."""
    db = open_db(None)
    s: Any = SimpleNamespace(db=db)
    setup_chats(db)
    flush(db, T0 + 2 * MIN, "long", CASCADE_LIVE_USD * 1.5, n=1)  # Binance, alone over the line
    run_cascades(s, T0 + 3 * MIN)
    assert sorted(r["chat_id"] for r in sent(db)) == [1, 3, 5]
    flush(db, T0, "long", CASCADE_LIVE_USD * 1.2, n=1)  # OKX's print of 2 minutes earlier, late
    for now in (T0 + 4 * MIN, T0 + 6 * MIN, T0 + 9 * MIN):
        run_cascades(s, now)
    assert sorted(r["chat_id"] for r in sent(db)) == [1, 3, 5]


def test_a_held_cascade_says_when_it_fired_in_the_chats_zone_as_every_other_time() -> None:
    db = open_db(None)
    s: Any = SimpleNamespace(db=db)
    setup_chats(db)
    # chat 3 (a watcher) at UTC+03:00, in quiet hours at 19:33 UTC (22:33 there)
    users.update(db, 3, tz="Etc/GMT-3", quiet_start="22:00", quiet_end="23:00")
    flush(db, T0, "long", CASCADE_LIVE_USD * 1.2)
    run_cascades(s, T0 + 3 * MIN)
    row = next(r for r in sent(db) if r["chat_id"] == 3)
    assert row["text"].startswith("<i>Held during your quiet hours; fired 22:33 UTC+03:00.</i>\n")
    assert "UTC+03:00 (3 prints" in row["text"]  # the cascade's own time: the same zone label
