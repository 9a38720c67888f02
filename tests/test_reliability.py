"""Issue 22: nothing lost, nothing twice. Each test reproduces one fault the reliability probes
found on the real parts (the real PTB Application against the fake Bot API, a real SQLite
file): settings changed twice between alert passes, a button press whose handler fails."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from storage import alert_dirty, alert_settings, open_db, subscriptions, users
from tests.bot_harness import BotHarness, wait_until

CHAT = 2222


def test_any_number_of_changes_between_passes_mark_the_chat_once() -> None:
    db = open_db(":memory:")
    users.register(db, CHAT, CHAT, "Ana", 0)
    alert_dirty.clear(db)
    # sqlite-utils' upsert is INSERT ... ON CONFLICT DO UPDATE: the second one updates, which
    # fires settings_upd while the chat is already marked
    for mode in ("silent", "off", "on", "silent"):
        alert_settings.set_mode(db, CHAT, "cluster_edge", mode)
    for value in (20.0, 25.0, 30.0):
        alert_settings.set_threshold(db, CHAT, "oi_drop", value)
    sub, _ = subscriptions.add_watch(db, CHAT, "BTC/USDT:USDT", 0)
    users.update(db, CHAT, tz="Europe/Berlin")
    subscriptions.close(db, sub.id, 1)
    assert alert_dirty.take(db) == [CHAT]
    assert alert_settings.for_chat(db, CHAT) == {
        "cluster_edge": ("silent", None),
        "oi_drop": (None, 30.0),
    }
    alert_settings.set_mode(db, CHAT, "cluster_edge", "off")  # after the pass: marked again
    assert alert_dirty.take(db) == [CHAT]


def _answered(bot: BotHarness, before: int, timeout: float = 20) -> list[bool]:
    """The answerCallbackQuery calls after the first ``before``: True for each accepted."""
    deadline = time.monotonic() + timeout
    while len(calls := bot.fake.calls("answerCallbackQuery")) <= before:
        assert time.monotonic() < deadline, "the press was never answered"
        time.sleep(0.02)
    return [c.status in (None, 200) for c in calls[before:]]


def test_switching_a_rule_twice_answers_both_presses(tmp_path: Path) -> None:
    with BotHarness(tmp_path / "bot.db") as bot:
        s = bot.services
        assert s is not None
        bot.send(CHAT, "/start")
        assert "went wrong" not in (bot.send(CHAT, "/alerts set oi 20").text or "")
        second = bot.send(CHAT, "/alerts set oi 25").text or ""
        assert "went wrong" not in second
        assert alert_settings.for_chat(s.db, CHAT)["oi_drop"][1] == 25.0
        shown = bot.send(CHAT, "/alerts")
        for mode, then in (("silent", "off"), ("off", "on")):  # the button cycles the modes
            before = len(bot.fake.calls("answerCallbackQuery"))
            bot.run(bot.fake.user_presses(CHAT, shown.message_id, f"alert|cluster_edge|{mode}"))
            assert _answered(bot, before) == [True]
            redrawn = f"alert|cluster_edge|{then}"
            wait_until(lambda b=redrawn: b in str(bot.fake.message(CHAT, shown.message_id)))
        assert alert_settings.for_chat(s.db, CHAT)["cluster_edge"][0] == "off"


def test_a_press_whose_handler_fails_is_still_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    with BotHarness(tmp_path / "bot.db") as bot:
        bot.send(CHAT, "/start")
        shown = bot.send(CHAT, "/alerts")
        monkeypatch.setattr(alert_settings, "set_mode", broken)
        before = len(bot.fake.calls("answerCallbackQuery"))
        bot.run(bot.fake.user_presses(CHAT, shown.message_id, "alert|cluster_edge|silent"))
        assert _answered(bot, before) == [True]  # the spinner stops; the apology follows
        apology = bot.run(bot.fake.wait_for_message(CHAT, timeout=10))
        assert "went wrong" in (apology.text or "")
