"""Positions, watches, alerts, digests and the outbox, end to end: the real bot and its jobs on
the replayed 2025-10-10 session, the fake Bot API, a real SQLite file. Market time only moves
when a test moves it (one alert pass per 5-minute refresh tick)."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.pipeline.alert_pass import run_alerts
from bot.pipeline.digest_pass import run_digests
from bot.telegram.jobs import send_due
from storage import open_db, outbox, subscriptions, users
from tests.bot_harness import BotHarness, start_bot_process, wait_until, wait_until_drained
from tests.fakes.telegram_api import FakeTelegram

MIN = 60_000
CHAT = 5151


def at(hhmm: str, day: int = 10) -> int:
    h, m = (int(x) for x in hhmm.split(":"))
    return int(datetime(2025, 10, day, h, m, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[BotHarness]:
    # The background tick is slowed down: tests run the alert pass and the dispatcher themselves.
    with BotHarness(tmp_path / "alerts.db", at=at("12:05"), tick_seconds=3600) as harness:
        yield harness


def step(bot: BotHarness, until: int, every: int = 5 * MIN) -> None:
    """Advance market time to ``until``, one refresh tick at a time: alert pass, then send."""
    s = bot.services
    assert s is not None
    while bot.clock.now < until:
        bot.clock.now = min(bot.clock.now + every, until)
        bot.run(run_alerts(s, s.maps.tick(bot.clock.now)))
        bot.run(send_due(s, bot.app.bot, bot.clock.now))


def alerts_in(bot: BotHarness, chat: int = CHAT) -> list[str]:
    return [
        m.text or ""
        for m in bot.fake.messages(chat, include_edits=False)
        if "Consider" in (m.text or "")
    ]


def test_move_to_a_cluster_edge_alerts_once_per_episode(bot: BotHarness) -> None:
    bot.send(CHAT, "/watch BTC")
    step(bot, at("15:40"))
    edges = [
        re.search(r"is [\d.]+% from ([\d,.]+)", a).group(1)  # type: ignore[union-attr]
        for a in alerts_in(bot)
        if "long-liquidation cluster below" in a or "short-liquidation cluster" in a
    ]
    assert edges, "price reached a cluster edge on the way down (15:05) but nothing fired"
    assert len(edges) == len(set(edges)), f"an edge alerted twice: {edges}"
    # the 15:05 approach to the 119.6K long cluster, while price sat there for 30 minutes: once
    assert sum(e.startswith("119,6") for e in edges) == 1, edges


def test_fuel_ratio_degradation_on_a_position(bot: BotHarness) -> None:
    reply = bot.send(CHAT, "/open BTC short 121600 10")
    assert "Watching position <b>#" not in (reply.text or "")  # HTML was parsed by the fake
    sub = subscriptions.open_for_chat(bot.services.db, CHAT)[0]  # type: ignore[union-attr]
    assert sub.entry_snapshot["lfr"] >= 1.0
    step(bot, at("14:10"))
    degraded = [a for a in alerts_in(bot) if "fuel ratio fell below 1" in a]
    assert len(degraded) == 1, degraded
    assert re.search(r"now 0\.\d\d vs 1\.\d\d at entry", degraded[0])


def test_funding_extreme_with_a_user_threshold(bot: BotHarness) -> None:
    bot.send(CHAT, "/watch BTC")
    # BTC funding that day was +0.0039%/8h; a trader's own threshold of 0.003% makes it extreme
    assert "threshold set to 0.003" in (bot.send(CHAT, "/alerts set funding 0.003").text or "")
    step(bot, at("12:30"))
    funding = [a for a in alerts_in(bot) if "funding" in a.lower().split("\n")[0]]
    assert len(funding) == 1, alerts_in(bot)


def test_quiet_hours_hold_alerts_until_they_end_and_mute_drops_them(bot: BotHarness) -> None:
    bot.send(CHAT, "/tz +3")
    bot.send(CHAT, "/watch BTC")
    bot.send(CHAT, "/quiet 15:00-18:10")  # 12:00-15:10 UTC: covers the 15:05 approach
    step(bot, at("15:09"))
    assert alerts_in(bot) == []
    s = bot.services
    assert s is not None
    held = [m for m in outbox.due(s.db, at("23:59")) if m.kind == "alert"]
    assert held and all(m.not_before == at("15:10") for m in held)
    step(bot, at("15:15"))
    delivered = alerts_in(bot)
    assert len(delivered) == len(held)  # delivered once the quiet hours ended, marked as held
    # the held note writes its time as the lines under it do: one zone label everywhere
    held_line = re.compile(r"Held during your quiet hours; fired 18:0\d UTC\+03:00\.\nBTC: ")
    assert all(held_line.match(a) for a in delivered), delivered
    assert all(re.search(r"\n[\d,.]+ · 18:0\d UTC\+03:00\n", a) for a in delivered), delivered

    other = 6262
    bot.send(other, "/watch BTC")
    bot.send(other, "/mute 1d")
    step(bot, at("17:30"))
    assert alerts_in(bot, other) == []
    assert alerts_in(bot)  # the unmuted user still got the 17:12 approach


def test_digest_at_the_local_hour_once_and_not_in_quiet_hours(tmp_path: Path) -> None:
    with BotHarness(tmp_path / "d.db", at=at("14:55"), tick_seconds=3600, digest_hours=4) as bot:
        s = bot.services
        assert s is not None
        bot.send(CHAT, "/tz Asia/Tokyo")  # UTC+9: local midnight is 15:00 UTC
        bot.send(CHAT, "/open BTC long 121500 20")
        quiet = 7373
        bot.send(quiet, "/tz Asia/Tokyo")
        bot.send(quiet, "/watch ETH")
        bot.send(quiet, "/quiet 23:30-01:00")
        assert bot.run(run_digests(s, at("14:55"))) == 0  # 23:55 in Tokyo: not a digest hour
        bot.clock.now = at("15:01")
        assert bot.run(run_digests(s, at("15:01"))) == 1  # only the user outside quiet hours
        assert bot.run(run_digests(s, at("15:06"))) == 0  # same slot: not twice
        bot.run(send_due(s, bot.app.bot, at("15:01")))
        sent = bot.fake.messages(CHAT, include_edits=False)
        chart = [m for m in sent if m.photo]
        digest = [m for m in sent if (m.text or "").startswith("Digest Sat 00:01 Asia/Tokyo")]
        assert len(chart) == 1 and len(digest) == 1
        body = digest[0].text or ""
        assert "BTC" in body and "#1 long 121,500.0 x20: LFR" in body and "at entry" in body
        assert "OI 4h" in body and "funding" in body and "min old" in body
        assert len(body) <= 4096
        assert not [m for m in bot.fake.messages(quiet) if (m.text or "").startswith("Digest")]


def test_blocked_user_is_deactivated_and_nothing_is_lost_silently(bot: BotHarness) -> None:
    bot.send(CHAT, "/watch BTC")
    bot.fake.block_chat(CHAT)
    step(bot, at("15:40"))
    s = bot.services
    assert s is not None
    assert users.get(s.db, CHAT).active is False  # type: ignore[union-attr]
    assert subscriptions.open_for_chat(s.db, CHAT) == []
    counts = outbox.counts(s.db)
    assert counts.get("dropped", 0) >= 1 and counts.get("pending", 0) == 0


def test_flood_control_429_is_retried_after_thewait_until(bot: BotHarness) -> None:
    s = bot.services
    assert s is not None
    bot.send(CHAT, "/start")
    with s.db.atomic():
        outbox.enqueue(s.db, "t:1", CHAT, "alert", "first <b>alert</b>", bot.clock.now)
    bot.fake.inject_retry_after(1, method="sendMessage", count=10)  # PTB's limiter retries too
    result = bot.run(send_due(s, bot.app.bot, bot.clock.now))
    assert result.sent == 0 and result.paused
    bot.fake.clear_faults()
    assert bot.run(send_due(s, bot.app.bot, bot.clock.now)).sent == 0  # still waiting
    later = bot.clock.now + 10_000
    assert bot.run(send_due(s, bot.app.bot, later)).sent == 1
    assert bot.run(send_due(s, bot.app.bot, later + 60_000)).sent == 0
    assert [m.text for m in bot.fake.messages(CHAT)].count("first alert") == 1


def test_killed_bot_delivers_pending_alerts_once_after_restart(tmp_path: Path) -> None:
    db_path = tmp_path / "kill.db"
    db = open_db(db_path)
    users.register(db, CHAT, CHAT, "Kim", 0)
    now = at("12:00")
    with db.atomic():
        outbox.enqueue(db, "k:a", CHAT, "alert", "alert A", now)

    def texts() -> list[str | None]:
        return [m.text for m in fake.messages(CHAT)]

    with FakeTelegram() as fake:
        first = start_bot_process(fake, db_path, "2025-10-10T12:00:00Z")
        try:
            wait_until(lambda: "alert A" in texts())  # A is delivered and marked sent
            fake.inject_server_error(method="sendMessage", count=10_000)
            with db.atomic():
                outbox.enqueue(db, "k:b", CHAT, "alert", "alert B", now)
                outbox.enqueue(db, "k:c", CHAT, "alert", "alert C", now)
            wait_until(lambda: len([c for c in fake.calls("sendMessage") if c.status == 502]) >= 2)
        finally:
            first.send_signal(signal.SIGKILL)  # killed, not stopped: no shutdown code runs
            first.wait(10)
        fake.clear_faults()
        # restarted a minute later, as a restart is: the retries the first one set are due
        second = start_bot_process(fake, db_path, "2025-10-10T12:01:00Z")
        try:
            wait_until(lambda: {"alert B", "alert C"} <= set(texts()))
            assert wait_until_drained(db_path) == {"sent": 3}  # nothing left that could repeat
        finally:
            second.terminate()
            assert second.wait(20) == 0, second.stderr.read() if second.stderr else ""
    assert texts().count("alert A") == 1
    assert texts().count("alert B") == 1 and texts().count("alert C") == 1
    assert outbox.counts(open_db(db_path)) == {"sent": 3}
