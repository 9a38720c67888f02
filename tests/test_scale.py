"""Send limits, the outbox's charts and pruning, the in-memory alert book, faults
that stay local, and the fuzz findings (each one a test)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import numpy as np
import pytest

from bot.pipeline.alert_book import AlertBook
from bot.pipeline.refresh import plausible_oi
from bot.redaction import RedactSecrets
from bot.settings import ConfigError, Settings
from bot.telegram.app import check_webhook_secret
from bot.telegram.rate_limit import SendLimiter
from bot.telegram.send import dispatch
from storage import alert_settings, open_db, outbox, subscriptions, users
from tests.bot_harness import BotHarness

NOW = 1_760_126_400_000


def test_limiter_holds_30_in_every_one_second_window() -> None:
    """The old token bucket let 60 through in one second (a burst of 30 on top of 30/s)."""
    limiter = SendLimiter(per_second=30, chat_gap_s=0)
    starts: list[float] = []
    answers: list[float] = []

    async def one() -> None:
        await limiter.acquire(None)
        starts.append(time.monotonic())
        await asyncio.sleep(0.002)
        answers.append(time.monotonic())
        limiter.release()

    async def run() -> None:
        await asyncio.gather(*(one() for _ in range(45)))

    t0 = time.monotonic()
    asyncio.run(run())
    assert time.monotonic() - t0 >= 1.0  # the 31st waited a second
    for t in starts:  # any window, as a receiver between start and answer would see it
        assert sum(1 for s in starts if t <= s < t + 1.0) <= 30


def test_a_chat_action_takes_no_turn_of_its_chat() -> None:
    """`/map` in a group sent "uploading photo...", then waited 3 s for its own photo's turn."""
    limiter = SendLimiter(chat_gap_s=1.0)
    group = -100123

    async def ok(*args: object, **kwargs: object) -> bool:
        return True

    async def send(endpoint: str) -> None:
        await limiter.process_request(ok, (), {}, endpoint, {"chat_id": group}, None)

    async def run() -> tuple[float, float]:
        await send("sendChatAction")
        after_action = limiter.chat_ready_in(group)
        await send("sendPhoto")
        return after_action, limiter.chat_ready_in(group)

    after_action, after_photo = asyncio.run(run())
    assert after_action == 0.0  # the photo goes at once
    assert after_photo > 2.5  # a message still takes the group's turn (20 a minute)
    assert len(limiter._sent) == 2  # both count in the 30 a second


def test_webhook_mode_refuses_to_start_without_its_secret() -> None:
    s = Settings(telegram_bot_token="1:x", webhook_url="https://bot.example/x", _env_file=None)
    with pytest.raises(ConfigError, match="LIQBOT_WEBHOOK_SECRET"):
        check_webhook_secret(s)
    ok = Settings(
        telegram_bot_token="1:x",
        webhook_url="https://bot.example/x",
        webhook_secret="abc_-1",
        _env_file=None,
    )
    check_webhook_secret(ok)


def test_dedupe_is_exact_and_pruning_keeps_pending_rows(tmp_path: Path) -> None:
    db = open_db(tmp_path / "o.db")
    day = 86_400_000
    with db.atomic():
        outbox.store_media(db, "chart|A", b"\x89PNG...", NOW - 9 * day)
        outbox.enqueue(
            db, "digest:1:s1:chart", 1, "digest", "c", NOW - 9 * day, photo_ref="chart|A"
        )
        outbox.enqueue(db, "digest:1:s1:0", 1, "digest", "t", NOW - 9 * day)
        outbox.enqueue(db, "alert:2:x:1", 2, "alert", "a", NOW - 9 * day)
    assert outbox.queued(db, "digest:1:s1:chart")
    assert not outbox.queued(db, "digest:1:s")  # no prefix match any more
    first = outbox.due(db, NOW)[0]
    assert first.kind == "alert"  # alerts go before a digest round
    outbox.mark_sent(db, first.id, NOW - 9 * day)
    digest_text = next(m for m in outbox.due(db, NOW) if m.text == "t")
    outbox.mark_sent(db, digest_text.id, NOW)
    assert outbox.prune(db, NOW - 7 * day) == 2  # the two sent rows; the pending chart stays
    assert outbox.counts(db) == {"pending": 1}
    assert outbox.media(db, "chart|A")[0] is not None  # still referenced by a pending row


def test_one_upload_per_chart_then_file_id(tmp_path: Path) -> None:
    from telegram.ext import ExtBot

    from tests.fakes.telegram_api import FakeTelegram

    png = (Path(__file__).parent / "data").glob("*.png")
    data = next(iter(png), None)
    image = data.read_bytes() if data else _tiny_png()
    db = open_db(tmp_path / "o.db")
    with db.atomic():
        outbox.store_media(db, "chart|BTC", image, NOW)
        for chat in (11, 12, 13, 14):
            users.register(db, chat, chat, "T", NOW)
            outbox.enqueue(db, f"d:{chat}", chat, "digest", "chart", NOW, photo_ref="chart|BTC")

    async def run() -> tuple[int, list[object]]:
        async with FakeTelegram() as fake:
            bot = ExtBot(fake.token, base_url=fake.base_url, rate_limiter=SendLimiter())
            async with bot:
                result = await dispatch(bot, db, NOW)
            return result.sent, [c.params.get("photo") for c in fake.calls("sendPhoto")]

    sent, photos = asyncio.run(run())
    assert sent == 4
    assert sum(1 for p in photos if isinstance(p, str) and p.startswith("FAKE-FILE")) == 3
    assert outbox.media(db, "chart|BTC") == (None, outbox.media(db, "chart|BTC")[1])


def _tiny_png() -> bytes:
    import io

    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def test_a_bad_quiet_setting_skips_that_user_never_the_symbol(tmp_path: Path) -> None:
    """'1٢:00' stored by the old /quiet made the pass of the symbol fail for every user."""
    db = open_db(tmp_path / "a.db")
    for chat in (1, 2):
        users.register(db, chat, chat, "T", NOW)
        subscriptions.add_watch(db, chat, "BTC/USDT:USDT", NOW)
    users.update(db, 1, quiet_start="1٢:00", quiet_end="0١:00")
    book = AlertBook.load(db)
    quiet, bad = book.quiet_now(NOW)
    subs, _ = book.subscriptions("BTC/USDT:USDT", quiet, bad)
    assert subs.chat_id.tolist() == [2]


def test_the_book_follows_every_write_and_joins_overrides(tmp_path: Path) -> None:
    db = open_db(tmp_path / "a.db")
    for chat in (1, 2, 3):
        users.register(db, chat, chat, "T", NOW)
        subscriptions.add_watch(db, chat, "BTC/USDT:USDT", NOW)
    book = AlertBook.load(db)
    alert_settings.set_mode(db, 2, "oi_drop", "off")
    sub, _ = subscriptions.add_watch(db, 3, "ETH/USDT:USDT", NOW)
    users.update(db, 1, muted_until=NOW + 60_000)
    assert book.catch_up(db) == 3
    quiet, bad = book.quiet_now(NOW)
    btc, _ = book.subscriptions("BTC/USDT:USDT", quiet, bad)
    from alerts.catalogue import RULE_INDEX

    flush = btc.modes[:, RULE_INDEX["oi_drop"]].tolist()
    modes = dict(zip(btc.chat_id.tolist(), flush, strict=True))
    assert modes == {1: 1, 2: 0, 3: 1}
    assert btc.muted_until_ms.tolist()[0] == NOW + 60_000
    assert book.symbols["ETH/USDT:USDT"].cols["sub_id"].tolist() == [sub.id]
    subscriptions.close(db, sub.id, NOW)
    book.catch_up(db)
    assert "ETH/USDT:USDT" not in book.symbols
    assert book.catch_up(db) == 0  # nothing changed: nothing read


def test_zero_or_implausible_open_interest_is_not_data() -> None:
    base = np.array([100.0, 0.0, 101.0, 38.0, 102.0, 500.0])
    assert plausible_oi(base, prev=99.0).tolist() == [True, False, True, False, True, False]
    assert not plausible_oi(np.array([0.0]), None)[0]


def test_proxy_credentials_are_redacted_in_every_record() -> None:
    record = logging.LogRecord(
        "market",
        logging.WARNING,
        __file__,
        1,
        "retry %s",
        ("http://bob:hunter2@proxy:8080/x",),
        None,
    )
    RedactSecrets([]).filter(record)
    assert "hunter2" not in record.getMessage() and "://***@proxy" in record.getMessage()


def test_unicode_digits_and_forged_presses_change_nothing(tmp_path: Path) -> None:
    with BotHarness(tmp_path / "bot.db") as bot:
        s = bot.services
        assert s is not None
        for text in ("/quiet 1٢:0٠-0١:0٠", "/quiet １２:００-０１:００", "/mute ٣h"):
            reply = bot.send(501, text)
            assert "look" in (reply.text or "")
        user = users.get(s.db, 501)
        assert user is None or user.quiet_start is None
        reply = bot.send(501, "/close ²")
        assert "position number" in (reply.text or "")
        # A chat that never started the bot presses a forged alert button: nothing stored.
        forge_press(bot, 777, "alert|oi_drop|off")
        bot.run(bot.fake.wait_for_call("answerCallbackQuery"))
        assert alert_settings.for_chat(s.db, 777) == {}


def forge_press(bot: BotHarness, chat: int, data: str) -> None:
    """A callback query nobody was shown a button for (the webhook is open to anyone who finds
    it in polling-less setups; the data are whatever the sender wrote)."""
    user = {"id": chat, "is_bot": False, "first_name": "Mallory"}
    bot.fake._queue_update(
        {
            "callback_query": {
                "id": f"forged-{chat}-{time.monotonic_ns()}",
                "from": user,
                "chat_instance": str(chat),
                "data": data,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": chat, "type": "private"},
                    "text": "x",
                },
            }
        }
    )
