"""The real liqbot Application against the fake Bot API, both in one background event loop.

Tests drive it synchronously (``send``, ``press``), so plain pytest and hypothesis tests can use
it; every wait is on a condition, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bot.app import build_application, build_services
from bot.pipeline.services import Services
from bot.settings import Settings
from market.replay import DEFAULT_AT, ReplaySource
from market.source import MarketSource
from storage import open_db, outbox
from tests.fakes.telegram_api import FakeTelegram, SentMessage

T = TypeVar("T")


class FixedClock:
    """Market time that only moves when a test moves it."""

    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now


class BotHarness:
    def __init__(
        self,
        db_path: Path,
        allowed_chat_ids: list[int] | None = None,
        at: int = DEFAULT_AT,
        source: MarketSource | None = None,
        on_services: Callable[[Services], None] | None = None,
        **settings: Any,
    ) -> None:
        self.db_path = db_path
        self.allowed = allowed_chat_ids or []
        self.clock = FixedClock(at)
        self.source = source or ReplaySource()
        # tests opt in to digests; they drain the outbox by hand (send_due) unless they ask
        self.extra = {"digest_hours": 0, "send_loop": False, "chat_gap_seconds": 0.01, **settings}
        self.on_services = on_services  # e.g. attach a liquidation feed before post_init
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.fake = FakeTelegram()
        self.services: Services | None = None
        self.app: Any = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> BotHarness:
        self._thread.start()
        self.run(self._start())
        return self

    async def _start(self) -> None:
        await self.fake.start()
        settings = Settings(
            telegram_bot_token=self.fake.token,
            telegram_api_base_url=self.fake.url,
            db_path=str(self.db_path),
            market_source="demo",
            allowed_chat_ids=self.allowed,
            **self.extra,
        )
        self.services = build_services(settings, source=self.source, clock=self.clock)
        if self.on_services is not None:
            self.on_services(self.services)
        self.app = build_application(settings, self.services)
        await self.app.initialize()
        if self.app.post_init:
            await self.app.post_init(self.app)
        await self.app.start()
        await self.app.updater.start_polling(poll_interval=0.0, timeout=dtm.timedelta(seconds=1))

    def stop(self) -> None:
        async def _stop() -> None:
            await self.app.updater.stop()
            await self.app.stop()
            if self.app.post_stop:
                await self.app.post_stop(self.app)
            await self.app.shutdown()
            if self.app.post_shutdown:
                await self.app.post_shutdown(self.app)
            await self.fake.stop()

        try:
            self.run(_stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)

    def send(self, chat_id: int, text: str, timeout: float = 30) -> SentMessage:
        """The user sends ``text``; returns the bot's next message in that chat."""
        self.run(self.fake.user_sends(chat_id, text, user_id=chat_id, first_name="Ana"))
        return self.run(self.fake.wait_for_message(chat_id, timeout=timeout))

    def press(self, chat_id: int, message_id: int, data: str, timeout: float = 30) -> SentMessage:
        """The user presses a button; returns the bot's next message or edit in that chat."""
        self.run(self.fake.user_presses(chat_id, message_id, data, user_id=chat_id))
        return self.run(self.fake.wait_for_message(chat_id, timeout=timeout, include_edits=True))

    def __enter__(self) -> BotHarness:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def start_bot_process(
    fake: FakeTelegram, db: Path, start: str, **env: str
) -> subprocess.Popen[bytes]:
    """``liqbot run`` as its own process (so a test can ``kill -9`` it), on the demo replay from
    ``start``, talking to ``fake``; ``env`` adds or overrides LIQBOT_ settings."""
    full = dict(
        os.environ,
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE_URL=fake.url,
        LIQBOT_DB_PATH=str(db),
        LIQBOT_MARKET_SOURCE="demo",
        LIQBOT_REPLAY_START=start,
        LIQBOT_TICK_SECONDS="0.2",
        LIQBOT_DIGEST_HOURS="0",
        LIQBOT_CHAT_GAP_SECONDS="0.01",  # as BotHarness: a chat's messages need not wait 1 s
        **env,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=full,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_until(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def wait_until_drained(db_path: Path, timeout: float = 30) -> dict[str, int]:
    """Wait until the bot's outbox holds nothing left to send, and return its counts by status:
    a row is marked sent after Telegram took it, so what was delivered by now is final."""
    db = open_db(db_path)
    try:
        wait_until(lambda: "pending" not in outbox.counts(db), timeout)
        return outbox.counts(db)
    finally:
        db.close()
