"""Issue 22: nothing lost, nothing twice. Each test reproduces one fault the reliability probes
found on the real parts (the real PTB Application against the fake Bot API, a real SQLite
file): settings changed twice between alert passes, a button press whose handler fails."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlite_utils import Database
from telegram.ext import ExtBot

from bot.clock import parse_utc_ms
from bot.telegram.jobs import ends_quietly, send_due
from bot.telegram.rate_limit import SendLimiter
from bot.telegram.send import dispatch, in_flight_bound
from market.replay import DEFAULT_AT
from storage import alert_dirty, alert_settings, open_db, outbox, subscriptions, users
from tests.bot_harness import BotHarness, start_bot_process, wait_until
from tests.fakes.telegram_api import FakeTelegram

CHAT = 2222
NOW = DEFAULT_AT


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


class WallClock:
    """Market time that runs with the wall clock from ``start`` (as the live bot's does)."""

    def __init__(self, start: int) -> None:
        self.start, self.t0 = start, time.monotonic()

    def now_ms(self) -> int:
        return self.start + int((time.monotonic() - self.t0) * 1000)


def _outbox_with(tmp_path: Path, digests: int) -> Database:
    db = open_db(tmp_path / "out.db")
    with db.atomic():
        for chat in range(1, digests + 2):
            users.register(db, chat, chat, "T", NOW)
        for chat in range(1, digests + 1):
            outbox.enqueue(db, f"digest:{chat}", chat, "digest", f"digest {chat}", NOW)
    return db


async def test_an_alert_queued_during_a_digest_drain_goes_out_within_seconds(
    tmp_path: Path,
) -> None:
    # 60 digests take about 2 s at the 30/s cap; an alert queued 0.3 s in, a moment of market
    # time later (so after the drain's start), goes before the rest of them
    db = _outbox_with(tmp_path, 60)
    clock = WallClock(NOW)
    async with FakeTelegram() as fake:
        bot = ExtBot(fake.token, base_url=fake.base_url, rate_limiter=SendLimiter())
        async with bot:
            # the background sender's drain: send_due on the bot's clock
            s = SimpleNamespace(db=db, clock=clock, dispatch_lock=asyncio.Lock(), clock_speed=1.0)
            drain = asyncio.create_task(send_due(s, bot))  # type: ignore[arg-type]
            await asyncio.sleep(0.3)
            with db.atomic():
                outbox.enqueue(db, "alert:1", 61, "alert", "ALERT", clock.now_ms())
            queued = time.monotonic()
            while not fake.messages(61) and not drain.done():
                await asyncio.sleep(0.01)
            latency = time.monotonic() - queued
            result = await drain
    assert fake.messages(61), "the alert waited behind the whole digest round"
    assert latency < 1.5
    later_digests = (
        len(fake.calls("sendMessage"))
        - 1
        - fake.calls("sendMessage").index(
            next(c for c in fake.calls("sendMessage") if c.params.get("chat_id") == 61)
        )
    )
    assert later_digests >= 20  # it jumped the queue
    assert result.sent == 61


async def test_in_flight_is_what_the_cap_needs_at_the_answer_time(tmp_path: Path) -> None:
    # Telegram answering in 0.1 s: 30/s needs ceil(30 x 0.1) + 1 = 4 requests in flight; each
    # one in flight is a message a kill -9 may repeat (sent, not yet marked)
    db = _outbox_with(tmp_path, 40)
    async with FakeTelegram() as fake:
        fake.set_delay(0.1, "sendMessage")
        at_once, most, bound = 0, 0, 0
        pause = fake._pause
        limiter = SendLimiter()

        async def counted(method: str) -> None:
            nonlocal at_once, most, bound
            at_once += 1
            most = max(most, at_once)
            bound = max(bound, in_flight_bound(limiter.answer_s))  # as measured so far
            try:
                await pause(method)
            finally:
                at_once -= 1

        fake._pause = counted  # type: ignore[method-assign]
        bot = ExtBot(fake.token, base_url=fake.base_url, rate_limiter=limiter)
        async with bot:
            result = await dispatch(bot, db, NOW)
    assert result.sent == 40
    assert limiter.answer_s >= 0.1  # measured: the delay and the round trip
    assert most <= bound < 16, (most, bound)


def test_sigterm_waits_for_sends_in_flight_and_records_them(tmp_path: Path) -> None:
    db_path = tmp_path / "stop.db"
    START = parse_utc_ms("2025-10-10T12:00:00Z")  # the replayed clock's start
    db = open_db(db_path)
    with db.atomic():
        for chat in range(1, 7):
            users.register(db, chat, chat, "T", NOW)
            outbox.enqueue(db, f"a:{chat}", chat, "alert", f"alert {chat}", START)
    with FakeTelegram() as fake:
        fake.set_delay(1.0, "sendMessage")  # every send is in flight for a second
        bot = start_bot_process(fake, db_path, "2025-10-10T12:00:00Z")
        try:
            wait_until(lambda: len(fake.calls("sendMessage")) >= 2)
        finally:
            bot.send_signal(signal.SIGTERM)
            try:
                code = bot.wait(30)
            except subprocess.TimeoutExpired:  # a stop that hangs: fail, and leave no process
                bot.kill()
                raise
        stderr = bot.stderr.read().decode() if bot.stderr else ""
        received = {m.chat_id for c in range(1, 7) for m in fake.messages(c)}
    assert code == 0, stderr
    for bad in ("Traceback", "closed database", "was destroyed", "Event loop is closed"):
        assert bad not in stderr, stderr
    sent = {
        r[0] for r in open_db(db_path).execute("select chat_id from outbox where status = 'sent'")
    }
    assert received and sent == received  # what Telegram took is recorded: nothing repeats


async def test_a_job_cut_short_by_the_stop_ends_without_a_traceback() -> None:
    # APScheduler cancels a job it started between PTB's wait for the running jobs and its
    # shutdown ("Error running job" with a CancelledError traceback on a clean stop)
    started = asyncio.Event()

    async def slow(context: object) -> None:
        started.set()
        await asyncio.sleep(10)

    for running in (False, True):
        started.clear()
        context = SimpleNamespace(application=SimpleNamespace(running=running))
        task = asyncio.create_task(ends_quietly(slow)(context))  # type: ignore[arg-type]
        await started.wait()
        task.cancel()
        if running:  # not a stop: the cancellation goes on
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            await task
