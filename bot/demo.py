"""`liqbot demo`: the real bot against the fake Bot API, on the bundled data, replayed fast.

A scripted trader opens a long and a short, watches ETH and sets quiet hours on 2025-10-10, the
day of the largest liquidation cascade in the data (BTC fell from 121.5K to 101.5K). The replay
runs ~1,800x real time, so 16 market hours pass in about half a minute. The conversation, every
alert and digest is printed as the trader reads it (market time), charts are saved to a folder,
and it ends by itself. No token, no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import HttpUrl, SecretStr

from bot.app import build_application, build_services
from bot.settings import Settings, replay_start_ms
from bot.views import fmt
from fakes.telegram_api import FakeTelegram, SentMessage
from storage import outbox

START = "2025-10-10T12:00:00Z"
SPEED = 1800.0
TRADER = 1001
# (market time UTC, what the trader sends)
SCRIPT: tuple[tuple[str, str], ...] = (
    ("12:00", "/start"),
    ("12:01", "/tz Europe/Berlin"),
    ("12:03", "/map BTC"),
    ("12:06", "/open BTC long 121500 20 10000"),
    ("12:09", "/open BTC short 121600 10 5000"),
    ("12:12", "/watch ETH"),
    ("12:15", "/quiet 02:00-06:00"),
    ("23:00", "/positions"),
    ("23:20", "/close 1"),
)
STAMP = "%m-%d %H:%M UTC"
END = "04:30"  # next day, after the quiet hours (02:00-06:00 Berlin = 00:00-04:00 UTC)


def _at(hhmm: str, start_ms: int) -> int:
    day = datetime.fromtimestamp(start_ms / 1000, tz=UTC).date()
    h, m = (int(x) for x in hhmm.split(":"))
    t = datetime(day.year, day.month, day.day, h, m, tzinfo=UTC)
    ms = int(t.timestamp() * 1000)
    return ms if ms >= start_ms else ms + 86_400_000


def _plain(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip()


async def run_demo(
    out_dir: Path, speed: float = SPEED, echo: Callable[[str], None] = print
) -> dict[str, int]:
    """Play the script; returns counts of what the bot sent (for tests)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fake = FakeTelegram().start_in_thread()
    work = Path(tempfile.mkdtemp(prefix="liqbot-demo-"))
    settings = Settings(
        telegram_bot_token=SecretStr(fake.token),
        telegram_api_base_url=HttpUrl(fake.url),
        db_path=str(work / "demo.db"),
        market_source="demo",
        replay_start=START,
        replay_speed=speed,
        tick_seconds=0.2,
        _env_file=None,  # type: ignore[call-arg]  # the demo ignores .env: self-contained
    )
    services = build_services(settings)
    app = build_application(settings, services)
    clock = services.clock
    start = replay_start_ms(START)
    counts = {"messages": 0, "alerts": 0, "digests": 0, "charts": 0}

    replied = asyncio.Event()

    def show(msg: SentMessage) -> None:
        replied.set()
        counts["messages"] += 1
        text = _plain(msg.text or "")
        kind = "bot"
        if text.startswith(("⚠", "🔴", "🟠", "🟡", "🚨")) or "Consider" in text:
            kind = "ALERT"
        if text.startswith("Digest") or text.startswith("Digest chart"):
            kind = "DIGEST"
        counts["alerts"] += kind == "ALERT"
        counts["digests"] += kind == "DIGEST" and not text.startswith("Digest chart")
        if msg.photo:
            counts["charts"] += 1
            when = datetime.fromtimestamp(clock.now_ms() / 1000, tz=UTC).strftime("%m%d-%H%M")
            path = out_dir / f"{counts['charts']:02d}-{when}.png"
            path.write_bytes(msg.photo)
            text += f"\n[chart saved: {path}]"
        edit = " (edited)" if msg.is_edit else ""
        echo(
            f"[{fmt.when(clock.now_ms(), pattern=STAMP)}] {kind}{edit}:\n  "
            + text.replace("\n", "\n  ")
        )

    async def printer() -> None:
        while True:
            try:
                msg = await fake.wait_for_message(TRADER, timeout=3600)
            except TimeoutError:
                continue
            show(msg)

    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=dtm.timedelta(seconds=1))
        watcher = asyncio.create_task(printer())
        echo(f"liqbot demo: replaying {START} at {speed:g}x, charts in {out_dir}/")
        for hhmm, text in SCRIPT:
            await _sleep_until(clock.now_ms, _at(hhmm, start), speed)
            echo(f"[{fmt.when(clock.now_ms(), pattern=STAMP)}] trader: {text}")
            replied.clear()
            await fake.user_sends(TRADER, text, user_id=TRADER, first_name="Dana")
            with contextlib.suppress(TimeoutError):  # the trader reads the answer first
                await asyncio.wait_for(replied.wait(), timeout=10)
        await _sleep_until(clock.now_ms, _at(END, start), speed)
        # let the outbox drain (held alerts are due once the quiet hours end)
        for _ in range(50):
            if not outbox.due(services.db, clock.now_ms()):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        watcher.cancel()
        await app.updater.stop()
        await app.stop()
    fake.stop_thread()
    echo(
        f"\nDone: {counts['messages']} bot messages, {counts['alerts']} alerts, "
        f"{counts['digests']} digests, {counts['charts']} charts saved in {out_dir}/"
    )
    return counts


async def _sleep_until(now_ms: Callable[[], int], target_ms: int, speed: float) -> None:
    while (left := target_ms - now_ms()) > 0:
        await asyncio.sleep(min(left / 1000 / speed, 0.5))
