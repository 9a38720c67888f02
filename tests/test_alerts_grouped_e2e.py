"""Acceptance of "alerts worth waking up for", end to end: the real bot and its jobs
on the replayed 2025-10-10 cascade, the fake Bot API, a real SQLite file. Two positions and a
watch on BTC in one chat: at most one message per refresh, each listing the positions it
concerns, with Map / Mute 1h / Close #id buttons that work."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.pipeline.alert_pass import run_alerts
from bot.pipeline.digest_pass import queue_digest
from bot.telegram.jobs import send_due
from storage import subscriptions, users
from tests.bot_harness import BotHarness
from tests.fakes.telegram_api import SentMessage
from tests.test_alerts_e2e import MIN, at

CHAT = 7272


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[BotHarness]:
    with BotHarness(tmp_path / "grouped.db", at=at("19:30"), tick_seconds=3600) as harness:
        yield harness


def alert_messages(bot: BotHarness) -> list[str]:
    return [
        m.text or ""
        for m in bot.fake.messages(CHAT, include_edits=False)
        if "Consider" in (m.text or "")
    ]


def press(bot: BotHarness, message_id: int, data: str) -> SentMessage:
    """Press a button under an alert; the edit of that message that follows."""
    bot.run(bot.fake.user_presses(CHAT, message_id, data, user_id=CHAT))
    return bot.run(
        bot.fake.wait_for_message(
            CHAT, lambda m: m.is_edit and m.message_id == message_id, include_edits=True
        )
    )


def test_cascade_day_one_message_per_refresh_listing_every_position(bot: BotHarness) -> None:
    s = bot.services
    assert s is not None
    bot.send(CHAT, "/watch BTC")
    bot.send(CHAT, "/open BTC long 121000 20")
    bot.send(CHAT, "/open BTC short 122500 10")
    ids = [x.id for x in subscriptions.open_for_chat(s.db, CHAT) if x.kind == "position"]
    per_refresh: list[int] = []
    while bot.clock.now < at("23:30"):
        before = len(alert_messages(bot))
        bot.clock.now += 5 * MIN
        bot.run(run_alerts(s, s.maps.tick(bot.clock.now)))
        bot.run(send_due(s, bot.app.bot, bot.clock.now))
        per_refresh.append(len(alert_messages(bot)) - before)
    texts = alert_messages(bot)
    assert texts, "the 21:00 cascade ran through both positions' levels but nothing was sent"
    assert max(per_refresh) <= 1, per_refresh  # one chat, one symbol: one message per refresh
    # No message repeats a (rule, position) line twice, and no identical message is sent twice.
    assert len(texts) == len(set(texts))
    # A message about positions lists each affected position on its own line.
    listed = [set(map(int, re.findall(r"^#(\d+) BTC (?:long|short)", t, re.M))) for t in texts]
    assert any(ids[0] in x or ids[1] in x for x in listed), texts
    # Fuel-ratio alerts: at most one per position per episode (re-arm above 1.1).
    for pid in ids:
        lfr = [t for t in texts if re.search(rf"^#{pid} .*fuel ratio fell below", t, re.M)]
        assert len(lfr) <= 2, lfr
        for t in lfr:
            now = re.search(rf"^#{pid} .*now (\d+\.\d\d) vs", t, re.M)
            assert now is not None and float(now.group(1)) < 1.0, t  # never "now 1.00 (below 1)"
    # Buttons on every alert: Map, Mute 1h, and Close #id for each position listed.
    msgs = [m for m in bot.fake.messages(CHAT, include_edits=False) if "Consider" in (m.text or "")]
    for m, pos in zip(msgs, listed, strict=True):
        data = [b["callback_data"] for b in m.buttons]
        assert data[:2] == ["map|BTC|1d", "mute|3600"], data
        assert sorted(int(d.split("|")[2]) for d in data if d.startswith("pos|close|")) == sorted(
            pos
        )
    # Mute 1h works from the alert.
    edited = press(bot, msgs[-1].message_id, "mute|3600")
    assert "mute|0" in [b["callback_data"] for b in edited.buttons]
    user = users.get(s.db, CHAT)
    assert user is not None and user.muted_until == bot.clock.now + 3_600_000
    after = press(bot, msgs[-1].message_id, "mute|0")  # the button flipped to Unmute
    assert "mute|0" not in [b["callback_data"] for b in after.buttons]
    user = users.get(s.db, CHAT)
    assert user is not None and user.muted_until is None


@pytest.fixture
def at_the_edge(tmp_path: Path) -> Iterator[BotHarness]:
    """15:00, five minutes before price comes within 0.3% of the 119.6K long cluster."""
    with BotHarness(tmp_path / "edge.db", at=at("15:00"), tick_seconds=3600) as harness:
        yield harness


def test_one_stop_per_position_across_check_open_alerts_and_digests(
    at_the_edge: BotHarness,
) -> None:
    """The stop a trader is told for one position is the same number in the pre-trade check,
    the /open reply, the alert and the digest (one chain-aware computation)."""
    bot = at_the_edge
    s = bot.services
    assert s is not None

    def stop_in(pattern: str, text: str) -> str:
        found = re.search(pattern, text, re.M)
        assert found is not None, text
        return found.group(1)

    bot.clock.now += 5 * MIN  # one map for all four: the check, the open, the alert, the digest
    checked = bot.send(CHAT, "/check BTC long 121000 20").text or ""
    told = stop_in(r"Suggested stop: ([\d,.]+)", checked)
    opened = bot.send(CHAT, "/open BTC long 121000 20").text or ""
    assert stop_in(r"Suggested stop: ([\d,.]+)", opened) == told
    [pos] = subscriptions.open_for_chat(s.db, CHAT)
    bot.run(run_alerts(s, s.maps.tick(bot.clock.now)))
    user = users.get(s.db, CHAT)
    assert user is not None
    assert bot.run(queue_digest(s, user, bot.clock.now, "stop-test", quiet_ok=True))
    bot.run(send_due(s, bot.app.bot, bot.clock.now))
    [alert] = alert_messages(bot)
    assert stop_in(rf"^#{pos.id} BTC long x20: .*stop ([\d,.]+), beyond", alert) == told
    assert f"Consider: reducing leverage, or a stop at {told}, 0.4% beyond" in alert
    sent = bot.fake.messages(CHAT)
    [digest] = [m.text or "" for m in sent if not m.photo and (m.text or "").startswith("Digest")]
    assert stop_in(rf"#{pos.id} long .*suggested stop ([\d,.]+)", digest) == told
