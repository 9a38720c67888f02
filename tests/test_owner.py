"""Issue 22: the owner's channel (LIQBOT_ADMIN_CHAT_IDS): /admin for the owner only, notices of
handler errors (type and where, never the text; deduplicated), of a venue down and back, and of
an outbox backlog."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.telegram import owner
from bot.telegram.jobs import send_due
from market.liquidation_feed import VenueStreamStatus
from storage import alert_settings, outbox
from tests.bot_harness import BotHarness, wait_until

OWNER, TRADER = 5151, 5252
DAY = 86_400_000


def ask(bot: BotHarness, chat: int, text: str) -> str:
    """The first message the bot sends in ``chat`` after the user sends ``text``."""
    before = len(bot.fake.messages(chat, include_edits=False))
    bot.run(bot.fake.user_sends(chat, text, user_id=chat, first_name="Ana"))
    wait_until(lambda: len(bot.fake.messages(chat, include_edits=False)) > before)
    return bot.fake.messages(chat, include_edits=False)[before].text or ""


def owner_texts(bot: BotHarness) -> list[str]:
    return [m.text or "" for m in bot.fake.messages(OWNER, include_edits=False)]


def test_the_owner_hears_of_errors_outages_and_backlog_others_get_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {"admin_chat_ids": [OWNER], "tick_seconds": 3600, "admin_backlog_rows": 3}
    with BotHarness(tmp_path / "o.db", **settings) as bot:
        s = bot.services
        assert s is not None
        channel = owner.channel(bot.app)
        assert channel is not None
        # /admin: the owner's census; anyone else: the unknown-command answer
        assert "don't know that command" in (bot.send(TRADER, "/admin").text or "")
        bot.send(TRADER, "/start")
        bot.send(TRADER, "/watch BTC")
        admin = bot.send(OWNER, "/admin").text or ""
        assert "Users: 1 (1 active)" in admin and "1 watches in 1 chats" in admin
        assert "Backlog: 0 due" in admin and "Last errors" in admin
        scoped = bot.fake.commands({"type": "chat", "chat_id": OWNER})
        assert "admin" in [c["command"] for c in scoped]
        assert "admin" not in [c["command"] for c in bot.fake.commands()]

        # a failing button, pressed twice: one notice, the error's type and where only
        def broken(*args: object) -> None:
            raise RuntimeError("http://u:hunter2@proxy failed")

        shown = bot.send(TRADER, "/alerts")
        monkeypatch.setattr(alert_settings, "set_mode", broken)
        for _ in range(2):
            before = len(bot.fake.calls("answerCallbackQuery"))
            bot.run(bot.fake.user_presses(TRADER, shown.message_id, "alert|cluster_edge|silent"))
            wait_until(lambda b=before: len(bot.fake.calls("answerCallbackQuery")) > b)
        wait_until(lambda: len(channel.last_errors) == 2)
        bot.run(send_due(s, bot.app.bot))
        notices = [t for t in owner_texts(bot) if "Handler error" in t]
        assert notices == ["🛠 Handler error: RuntimeError in button alert"]
        admin = ask(bot, OWNER, "/admin")
        assert admin.count("RuntimeError in button alert") == 2 and "hunter2" not in admin

        # venues: the first look records; data going stale is "down", fresh again is "back"
        # (the replayed market's clock moved past the end of the bundled data, then back)
        channel.watch()
        bot.clock.now += 1000 * DAY
        channel.watch()
        bot.clock.now -= 1000 * DAY
        channel.watch()
        # the liquidation feed: its real status record, connected, dropped, back
        stream = VenueStreamStatus("bybit", "native", ["BTC/USDT:USDT"], connected=True)
        s.liquidations = SimpleNamespace(status=lambda: [stream])  # type: ignore[assignment]
        channel.watch()
        stream.connected, stream.last_error = False, "ConnectionResetError: reset by peer"
        channel.watch()
        stream.connected = True
        channel.watch()
        s.liquidations = None
        # backlog: more rows due than LIQBOT_ADMIN_BACKLOG_ROWS (3)
        with s.db.atomic():
            for n in range(4):
                outbox.enqueue(s.db, f"b{n}", TRADER, "digest", "x", bot.clock.now + 1)
        bot.clock.now += 1
        channel.watch()
        channel.watch()  # said once
        bot.run(send_due(s, bot.app.bot, bot.clock.now + 1001 * DAY))  # the "down" was queued then
        said = owner_texts(bot)
        venues = list(s.source.venues)
        assert any(t.startswith(f"🛠 Venue {venues[0]} down: data ") for t in said)
        assert any(t.startswith(f"🛠 Venue {venues[0]} back") for t in said)
        assert sum(t.startswith("🛠 Outbox backlog: ") for t in said) == 1
        assert "🛠 Liquidation feed bybit disconnected (ConnectionResetError: reset by peer)" in said
        assert "🛠 Liquidation feed bybit reconnected" in said
        assert not any("🛠" in (m.text or "") for m in bot.fake.messages(TRADER))
