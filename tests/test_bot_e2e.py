"""The real PTB Application end to end through the fake Bot API, market on the replay source."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.telegram.commands import COMMANDS
from storage import open_db, users
from tests.bot_harness import PNG_MAGIC, BotHarness

CHAT = 4242


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotHarness]:
    with BotHarness(tmp_path_factory.mktemp("bot") / "liqbot.db") as harness:
        yield harness


def test_commands_are_registered_and_documented(bot: BotHarness) -> None:
    registered = [c["command"] for c in bot.fake.commands()]
    assert registered == [c.name for c in COMMANDS]
    help_text = bot.send(CHAT, "/help").text or ""
    for c in COMMANDS:
        assert c.usage in help_text and c.example in help_text


def test_start_registers_the_user_with_first_steps(bot: BotHarness) -> None:
    reply = bot.send(CHAT, "/start")
    assert "liquidation maps" in (reply.text or "")
    assert {"map|BTC|1d", "help"} <= {b["callback_data"] for b in reply.buttons}
    assert bot.services is not None
    user = users.get(bot.services.db, CHAT)
    assert user is not None and user.first_name == "Ana" and user.tz == "UTC"


def test_map_sends_a_png_with_summary_and_buttons(bot: BotHarness) -> None:
    reply = bot.send(CHAT, "/map btc")
    assert reply.method == "sendPhoto" and reply.photo is not None
    assert reply.photo[:8] == PNG_MAGIC
    caption = reply.text or ""
    assert "BTC 1d  116,605.3  2025-10-10 20:00 UTC" in caption and "116,605.3" in caption
    assert "Shorts above" in caption and "Longs below" in caption and "Market risk" in caption
    data = {b["callback_data"] for b in reply.buttons}
    assert {"map|BTC|1d", "map|BTC|7d", "map|BTC|30d"} <= data

    edited = bot.press(CHAT, reply.message_id, "map|BTC|7d")
    assert edited.method == "editMessageMedia" and edited.message_id == reply.message_id
    assert "BTC 7d" in (edited.text or "")
    assert bot.fake.calls("answerCallbackQuery")


def test_one_render_serves_many_requests(bot: BotHarness) -> None:
    assert bot.services is not None
    before = bot.services.maps.renders
    for chat in range(9000, 9006):
        bot.run(bot.fake.user_sends(chat, "/map ETH 30d", user_id=chat))
    photos = [bot.run(bot.fake.wait_for_message(chat, timeout=60)) for chat in range(9000, 9006)]
    assert all(p.photo and p.photo[:8] == PNG_MAGIC for p in photos)
    assert bot.services.maps.renders - before == 1


def test_heatmap(bot: BotHarness) -> None:
    reply = bot.send(CHAT, "/heatmap BTC 1d")
    assert reply.photo is not None and reply.photo[:8] == PNG_MAGIC
    assert "heatmap" in (reply.text or "") and "only" not in (reply.text or "")
    sliced = bot.send(CHAT, "/heatmap BTC 1d 50-100x")
    assert "tiers 50x, 100x only" in (sliced.text or ""), sliced.text  # the caption says the slice


def test_check_reads_like_a_trader_would(bot: BotHarness) -> None:
    text = bot.send(CHAT, "/check BTC long 116000 20").text or ""
    assert "BTC long 116,000.0 x20" in text
    lp = float(re.search(r"Liquidation: ([\d,.]+)", text).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert lp == pytest.approx(116_000 * (1 - 1 / 20) / (1 - 0.004), rel=1e-6)
    assert "Fuel ratio" in text and "Market risk" in text and "Position risk" in text
    assert "Suggested stop" in text and "Shorts above" in text and "Longs below" in text
    short = bot.send(CHAT, "/check BTCUSDT short 117000 10").text or ""
    assert "BTC short 117,000.0 x10" in short


def test_status_and_timezone(bot: BotHarness) -> None:
    status = bot.send(CHAT, "/status").text or ""
    assert "binanceusdm BTC" in status and "Model" in status
    assert "Europe/Berlin" in (bot.send(CHAT, "/tz Europe/Berlin").text or "")
    assert bot.services is not None
    assert users.get(bot.services.db, CHAT).tz == "Europe/Berlin"  # type: ignore[union-attr]
    rejected = bot.send(CHAT, "/tz Mars/Olympus").text or ""
    assert "not a time zone" in rejected and "Usage: /tz ZONE" in rejected
    assert users.get(bot.services.db, CHAT).tz == "Europe/Berlin"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/map", "Which symbol?"),  # with a button per symbol
        ("/map BTCC", "Did you mean BTC"),
        ("/map DOGE", "not a symbol I follow"),
        ("/map BTC 2w", "window must be one of"),
        ("/map BTC 1d extra", "too many arguments"),
        ("/check BTC long 116000", "I need the symbol"),
        ("/check BTC up 116000 20", "long or short"),
        ("/check BTC long abc 20", "entry price must be a number"),
        ("/check BTC long 116000 0", "leverage must be between 1 and"),
        ("/check BTC long 116000 nan", "leverage must be a number"),
        ("/check BTC long -5 20", "entry must be a positive price"),
        ("/check BTC long 1 20", "away from the price now"),
        ("/check BTC long 116000 500", "leverage must be between 1 and 150"),
        ("/frobnicate", "I don't know that command"),
        ("/tz Europe", "not a time zone I know"),
    ],
)
def test_bad_input_gets_a_clear_reply(bot: BotHarness, text: str, expected: str) -> None:
    reply = bot.send(CHAT, text).text or ""
    assert expected in reply


def test_allowlist_and_restart_keeps_settings(tmp_path: Path) -> None:
    db = tmp_path / "allow.db"
    with BotHarness(db, allowed_chat_ids=[1]) as bot:
        assert "private" in (bot.send(2, "/map BTC").text or "")
        assert "Europe/Lisbon" in (bot.send(1, "/tz Europe/Lisbon").text or "")
    with BotHarness(db, allowed_chat_ids=[1]) as bot:  # a restart: same database file
        assert bot.services is not None
        assert users.get(bot.services.db, 1).tz == "Europe/Lisbon"  # type: ignore[union-attr]
    assert users.get(open_db(db), 2) is None  # the stranger was never stored


def test_map_tier_slice_stacking_and_chains(bot: BotHarness) -> None:
    reply = bot.send(CHAT, "/map BTC 7d 10-25x")
    assert reply.photo is not None and reply.photo[:8] == PNG_MAGIC
    caption = reply.text or ""
    assert "BTC 7d" in caption and "tiers 10x, 25x" in caption
    assert "Chain above: 2 clusters" in caption  # the structure in words
    data = {b["callback_data"] for b in reply.buttons}
    assert {"map|BTC|7d|10-25|0", "map|BTC|7d|10-25|1", "map|BTC|7d"} <= data
    stacked = bot.press(CHAT, reply.message_id, "map|BTC|7d|10-25|1")
    assert stacked.method == "editMessageMedia" and stacked.photo != reply.photo
    assert "tiers 10x, 25x" in (stacked.text or "")
    everything = bot.press(CHAT, reply.message_id, "map|BTC|7d||1")  # all tiers, stacked
    assert "tiers" not in (everything.text or "").split("\n")[0]
    assert "not a tier" in (bot.send(CHAT, "/map BTC 7d 7x").text or "")


def test_alert_thresholds_outside_their_meaning_are_refused(bot: BotHarness) -> None:
    """`/alerts set cluster_edge 50` would alert on nearly any cluster: refused, with the range."""
    for command, rng in (
        ("/alerts set cluster_edge 50", "between 0.05 and 5"),
        ("/alerts set asymmetry 0.5", "between 1.2 and 20"),
        ("/alerts set lfr 100", "between 0.2 and 3"),
    ):
        text = bot.send(CHAT, command).text or ""
        assert "⚠️" in text and rng in text, text
    assert "threshold set to 0.8" in (bot.send(CHAT, "/alerts set cluster_edge 0.8").text or "")
