"""Price alerts end to end on the replayed 2025-10-10 cascade: the real bot, its passes, the fake
Bot API and a real SQLite file. Price fell 116,830 -> 112,786.6 (the 20:55 candle's low) and
closed that candle at 114,198.0, then broke down in the 21:10 candle (low 109,069.0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import price_alerts, users
from tests.bot_harness import BotHarness, wait_until
from tests.test_alerts_e2e import at, step
from tests.test_positions_e2e import ask, press, texts

CHAT = 7373
ME = 9191  # the chat tests.test_positions_e2e.ask talks from
BTC = "BTC/USDT:USDT"


def fired(bot: BotHarness, chat: int = CHAT) -> list[str]:
    return [t for t in texts(bot, chat) if "(price alert #" in t]


def stored(bot: BotHarness) -> int:
    db = bot.services.db  # type: ignore[union-attr]
    return int(db.execute("select count(*) from price_alerts").fetchone()[0])


def _map_png(bot: BotHarness, chat: int) -> bytes:
    ask(bot, "/map BTC", chat)
    photo = bot.fake.messages(chat, include_edits=False)[-1].photo
    assert photo is not None
    return photo


def test_a_wick_between_two_refreshes_fires_once_and_112k_fires_at_the_crossing(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "pa.db"
    with BotHarness(db_path, at=at("20:00"), tick_seconds=3600) as bot:
        assert "Watching position #1" in ask(bot, "/open BTC long 116000 20 10000", CHAT)
        reply = ask(bot, "/alert BTC 112k", CHAT)
        assert reply.startswith("🔔 Price alert #1: BTC below 112,000.0 (-3.95% from 116,605.3")
        assert "once, when a candle's low reaches it" in reply
        # the chart of a symbol with the trader's alert draws it: not the chart everyone gets
        mine = _map_png(bot, CHAT)
        assert mine != _map_png(bot, CHAT + 1) and mine == _map_png(bot, CHAT)
        step(bot, at("20:45"))
        assert "Time zone set to UTC+03:00" in ask(bot, "/tz +3", CHAT)
        # one zone everywhere, and the trader's own stop and size in /check
        check = ask(bot, "/check BTC long 116000 20x 5000 sl 112000", CHAT)
        assert check.startswith("BTC long 116,000.0 x20 (price now 116,970.0 at 23:45 UTC+03:00")
        assert check.endswith(
            "Size $5K: margin $250 at x20.\n"
            "Your stop 112,000.0: 3.45% from entry, 69% of margin, $172 (1R)."
        )
        assert "#2: BTC below 113,000.0" in ask(bot, "/alert btc under 113,000", CHAT)
        # one refresh 20:45 -> 21:00: the 20:55 candle's low (112,786.6) crossed 113,000, its
        # close and the price at the refresh (114,198.0) did not
        step(bot, at("21:00"), every=15 * 60_000)
        assert fired(bot) == [
            "📉 BTC fell below 113,000.0 (price alert #2)\n"
            "Low 112,786.6 in the 23:55 UTC+03:00 candle; price now 114,198.0 (00:00).\n"
            + fired(bot)[0].split("\n", 2)[2]
        ]
        assert "Beyond 113,000.0: longs " in fired(bot)[0]
        assert fired(bot)[0].endswith("Done: this alert will not fire again.")
        sent = [m for m in bot.fake.messages(CHAT) if "(price alert #2)" in (m.text or "")]
        assert [b["text"] for b in sent[0].buttons] == ["📊 Map"]
    # a restart: #1 is still there and fires at its crossing, the 21:10 candle, once
    with BotHarness(db_path, at=at("21:00"), tick_seconds=3600) as bot:
        assert "#1 BTC below 112,000.0" in ask(bot, "/alert", CHAT)
        assert "muted" in ask(bot, "/mute 4h", CHAT)  # silences a price alert, never drops it
        step(bot, at("22:30"))
        assert len(fired(bot)) == 1, fired(bot)
        assert fired(bot)[0].startswith(
            "📉 BTC fell below 112,000.0 (price alert #1)\n"
            "Low 109,069.0 in the 00:10 UTC+03:00 candle"
        )
        assert "No price alerts" in ask(bot, "/alert", CHAT)
        silent = [
            c.params.get("disable_notification")
            for c in bot.fake.calls("sendMessage")
            if "(price alert #1)" in str(c.params.get("text"))
        ]
        assert silent == [True], silent
        # the long opened at 20:00: its 💀 and /positions in the chat's zone too
        dead = [t for t in texts(bot, CHAT) if "liquidated at" in t]
        assert dead[0].startswith(
            "💀 #1 BTC long x20 liquidated at ~110,642.6 (low 109,069.0, 00:10 UTC+03:00)"
        )
        assert "(low 109,069.0, 2025-10-11 00:10 UTC+03:00)" in ask(bot, "/positions", CHAT)
        # the 💀 message clears the position as /positions does
        skull = next(m for m in bot.fake.messages(CHAT) if "liquidated at" in (m.text or ""))
        assert [b["callback_data"] for b in skull.buttons] == ["pos|clear|1"]
        bot.run(bot.fake.user_presses(CHAT, skull.message_id, "pos|clear|1", user_id=CHAT))
        wait_until(
            lambda: "#1" in texts(bot, CHAT)[-1] and "liquidated at" not in texts(bot, CHAT)[-1]
        )
        assert "No open positions" in ask(bot, "/positions", CHAT)
        db = bot.services.db  # type: ignore[union-attr]
        rows = db.execute("select status from outbox where dedupe_key like 'price_alert:%'")
        assert rows.fetchall() == [("sent",), ("sent",)]


def test_commands_list_delete_limit_and_bad_input(tmp_path: Path) -> None:
    with BotHarness(tmp_path / "cmd.db", at=at("20:00"), tick_seconds=3600) as bot:
        for typed in (
            "/alert BTC 120k",
            "/alert BTC below 100k",
            "/alert ETH +5%",
            "/alert BTC 118500 every",
        ):
            assert ask(bot, typed).startswith("🔔 Price alert #"), typed
        assert "ETH above 4,194.74" in texts(bot)[2] and "+5.00% from 3,994.99" in texts(bot)[2]
        assert "again each time after price has moved back 0.5%" in texts(bot)[3]
        # the same level twice: the first one answers, nothing is stored
        before = stored(bot)
        assert ask(bot, "/alert btc above 120,000").startswith(
            "You already have #1 at 120,000.0 (BTC above 120,000.0); nothing was added."
        )
        assert stored(bot) == before
        # the same level with another repeat setting changes the alert there, nothing is added
        assert ask(bot, "/alert BTC 120k every").startswith(
            "#1 at 120,000.0 now repeats (BTC above 120,000.0, every time). I'll tell you when "
            "a candle's high reaches it, and again each time after price has moved back 0.5%."
        )
        assert "You already have #1" in ask(bot, "/alert btc above 120,000 every")
        assert ask(bot, "/alert BTC 120k").startswith("#1 at 120,000.0 now fires once")
        assert stored(bot) == before
        listed = ask(bot, "/alert")
        assert listed.splitlines()[1:5] == [
            "#1 BTC above 120,000.0 (+2.91% from now)",
            "#2 BTC below 100,000.0 (-14.24% from now)",
            "#3 ETH above 4,194.74 (+5.00% from now)",
            "#4 BTC above 118,500.0, every time (+1.62% from now)",
        ]
        # an `every` alert that fired waits to re-arm: the list says so
        price_alerts.record_fired(bot.services.db, 4, 1, bot.clock.now, 118_600.0, done=False)  # type: ignore[union-attr]
        assert ask(bot, "/alert").splitlines()[4] == (
            "#4 BTC above 118,500.0, every time (+1.62% from now); "
            "fired 1×, waits for price back below 117,907.5 to re-arm"
        )
        listing = bot.fake.messages(ME, include_edits=False)[-1]
        assert [b["callback_data"] for b in listing.buttons] == [
            f"palert|del|{i}|list" for i in (1, 2, 3, 4)
        ]
        edited = press(bot, "palert|del|3|list")
        assert "(3 of 50)" in edited and "#3" not in edited
        assert ask(bot, "/alert del 2") == "Deleted price alert #2: BTC below 100,000.0."
        assert "you have no price alert #2" in ask(bot, "/alert del 2")

        before = stored(bot)
        for bad in (
            "/alert BTC above 100k",  # already above
            "/alert BTC 0.8%",  # which way?
            "/alert BTC 120k 130k",
            "/alert DOGE 1",
            "/alert BTC 1m",  # far-fetched
            "/alert BTC +120k",
            "/alert BTC <b>",
            "/alert del two",
            "/alert BTC 121k every 30%",  # a margin past the sensible
            "/alert BTC 121k 1%",  # a margin without `every`: two prices
        ):
            answer = ask(bot, bad)
            assert answer.startswith("⚠️ ") and "Usage: /alert" in answer, (bad, answer)
        assert "price is already above 100,000.0 (116,605.3 now)" in texts(bot)[-10]
        assert stored(bot) == before

        # no symbol: buttons of the symbols the bot follows, each finishing the command
        assert ask(bot, "/alert 125k") == "Which symbol? (/alert BTC ...)"
        picks = bot.fake.messages(ME, include_edits=False)[-1].buttons
        assert [b["callback_data"] for b in picks] == ["pick|alert|BTC|125k", "pick|alert|ETH|125k"]
        assert press(bot, "pick|alert|BTC|125k").startswith("🔔 Price alert #5: BTC above 125")
        assert ask(bot, "/map") == "Which symbol? (/map BTC ...)"
        # the small frictions: a percentage as typed, a mistyped command
        assert ask(bot, "/alerts set cluster_edge 0.8%").startswith(
            "Cluster edge: threshold set to 0.8 "
        )
        assert "Did you mean /map btc?" in ask(bot, "/mapp btc")
        assert "Did you mean /check?" in ask(bot, "/chek")
        assert ask(bot, "/check BTC long 116000 20 sl 118000").startswith(
            "⚠️ a long's stop sits below its entry (116,000.0), not at 118,000.0"
        )

        # a margin after `every`, as traders type it, is the alert's re-arm margin
        assert ask(bot, "/alert BTC 121k every 1%").startswith(
            "🔔 Price alert #6: BTC above 121,000.0, every time, re-arms 1% back (+3.77% from "
        )
        assert texts(bot)[-1].endswith(
            "I'll tell you when a candle's high reaches it, and again each time after price "
            "has moved back 1%. /alert lists yours."
        )
        assert ask(bot, "/alert BTC 121k every 500").startswith(
            "#6 at 121,000.0 now re-arms 500 (0.41%) back (BTC above 121,000.0, every time, "
            "re-arms 0.41% back)."
        )
        gone = price_alerts.get(bot.services.db, 6)  # type: ignore[union-attr]
        assert gone is not None and gone.rearm_pct == pytest.approx(500 / 1210)
        price_alerts.record_fired(bot.services.db, 6, 1, bot.clock.now, 121_100.0, done=False)  # type: ignore[union-attr]
        assert "waits for price back below 120,500.0 to re-arm" in ask(bot, "/alert")
        # the limit: 50 active alerts per chat, the 51st refused and not stored
        db = bot.services.db  # type: ignore[union-attr]
        now = bot.clock.now
        for i in range(50 - price_alerts.count_active(db, ME)):
            price_alerts.add(db, ME, BTC, 130_000 + i, "above", False, 116_605.3, now, now)
        full = ask(bot, "/alert BTC 140k")
        assert full.startswith("⚠️ You have 50 price alerts, the most I keep per chat.")
        assert price_alerts.count_active(db, ME) == 50
        users.register(db, 1, 1, "Other", now)  # another chat is not limited by this one's
        price_alerts.add(db, 1, BTC, 140_000, "above", False, 116_605.3, now, now)


# A kill -9 between the crossing and the send: tests/test_positions_e2e.py's kill test holds a
# price alert beside the position (one bot process pair for both).


def _photo(bot: BotHarness, chat: int, command: str) -> tuple[bytes, str]:
    ask(bot, command, chat)
    sent = bot.fake.messages(chat, include_edits=False)[-1]
    assert sent.photo is not None
    return sent.photo, sent.text or ""


def test_map_and_heatmap_read_in_the_chats_zone_and_the_heatmap_draws_its_prices(
    tmp_path: Path,
) -> None:
    with BotHarness(tmp_path / "zone.db", at=at("20:00"), tick_seconds=3600) as bot:
        ask(bot, "/tz +3", CHAT)
        utc, utc_caption = _photo(bot, CHAT + 1, "/map BTC")
        local, caption = _photo(bot, CHAT, "/map BTC")
        # the market as traders name it, the moment in the chat's zone; the chart draws that
        # moment too, so it is not the one image cached for a chat in another zone
        assert caption.startswith("BTC 1d  116,605.3  2025-10-10 23:00 UTC+03:00\n"), caption
        assert utc_caption.startswith("BTC 1d  116,605.3  2025-10-10 20:00 UTC\n"), utc_caption
        assert local != utc
        before, heat_caption = _photo(bot, CHAT, "/heatmap BTC 1d")
        assert heat_caption.startswith("BTC liquidation heatmap, 1d: brighter")
        # a short at 112,000 x10: its entry and liquidation (122,709.2) are drawn across it
        assert "Liquidation: 122,709.2" in ask(bot, "/open BTC short 112000 x10", CHAT)
        after, _ = _photo(bot, CHAT, "/heatmap BTC 1d")
        assert after != before
