"""`liqbot demo`: the real bot against the fake Bot API, on the bundled data, replayed fast.

A scripted trader opens a long and a short, watches ETH and sets quiet hours on 2025-10-10, the
day of the largest liquidation cascade in the data (BTC fell from 121.5K to 101.5K). The replay
runs ~1,800x real time, so 16 market hours pass in about half a minute. The conversation, every
alert and digest is printed as the trader reads it (market time), charts are saved to a folder,
and it ends by itself. No token, no network.

A short second act shows real liquidations: no recorded prints cover 2025-10-10, so the replay
clock moves to 2026-02-05 (the largest long flush the bundled candles cover; the prints are
built from real CoinGlass hours, see market/data/PROVENANCE.md). Fake Binance, Bybit and OKX
websocket venues stream the recorded prints in replay time to the bot's real liquidation feed
(ccxt.pro), which stores them; the trader watches BTC, gets the ``cascade_live`` alert of the
20:00 hour's flush and asks ``/liqs BTC 24h``, answered from what the feed stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import HttpUrl, SecretStr

from bot.app import build_application, build_services
from bot.clock import ReplayClock, parse_utc_ms
from bot.pipeline.liquidations import open_liquidation_feed
from bot.pipeline.services import Services
from bot.settings import Settings, replay_start_ms
from bot.views import fmt
from bot.web.server import WebServer
from fakes.liquidation_ws import LIQ_VENUES, FakeLiquidationVenue, TapePrint, load_tape
from fakes.telegram_api import FakeTelegram, SentMessage
from liqmap.times import DAY_MS
from market.errors import RetryPolicy
from market.replay import DATA
from storage import outbox

if TYPE_CHECKING:  # act two builds the feed, and imports ccxt.pro, in a thread (_open_feed)
    from market.liquidation_feed import LiquidationFeed

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

# Act two: recorded real liquidation prints (2026-02-05 06:00 .. 02-06 06:00 UTC, one burst per
# hour at :30). The quiet stretch before the evening runs FAST_SPEED x, the evening SPEED x.
TAPE = DATA / "liquidations_BTC_2026-02-05.csv"
ACT2_FROM = "2026-02-05T05:50:00Z"
ACT2_OPENING: tuple[tuple[str, str], ...] = (
    ("2026-02-05T05:50:00Z", "/close 2"),
    ("2026-02-05T05:52:00Z", "/unwatch ETH"),
)
FAST_UNTIL = "2026-02-05T20:10:00Z"
FAST_SPEED = 20_000.0
ACT2_EVENING: tuple[tuple[str, str], ...] = (
    ("2026-02-05T20:15:00Z", "/watch BTC"),
    ("2026-02-05T20:45:00Z", "/liqs BTC 24h"),
    ("2026-02-05T20:50:00Z", "/skill BTC"),
    ("2026-02-05T20:55:00Z", "/map BTC"),  # the day's real liquidations under the map's bars
)
ACT2_END = "2026-02-05T21:00:00Z"


def _open_feed(settings: Settings, services: Services, clock: ReplayClock) -> LiquidationFeed:
    """Act two's feed. Run in a thread: importing ccxt.pro and the venues' classes would hold
    the loop (and the bot starts without them, as on the bundled data it always does)."""
    from market.liquidation_feed import FeedTiming

    # the feed checks its loopback streams often, so coverage follows fast replay time closely
    timing = FeedTiming(
        check_s=0.1,
        silence_s=30.0,
        keepalive_ms=10_000,
        backoff=RetryPolicy(base_delay_s=0.1, max_delay_s=1.0, jitter=0.5),
    )
    return open_liquidation_feed(settings, services.db, clock, timing)


def _at(hhmm: str, start_ms: int) -> int:
    day = datetime.fromtimestamp(start_ms / 1000, tz=UTC).date()
    h, m = (int(x) for x in hhmm.split(":"))
    t = datetime(day.year, day.month, day.day, h, m, tzinfo=UTC)
    ms = int(t.timestamp() * 1000)
    return ms if ms >= start_ms else ms + DAY_MS


def _plain(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class Pace:
    """Steps market time itself, and only while the bot keeps up, so a slow or busy machine
    replays the same day (the same ticks, digests, alerts and answers), only slower. Behind: a
    trader's message not answered yet, a map tick the tick job has not reached, a due message
    not sent, or (act two) a recorded print the venues streamed that the feed has not stored.
    A step is at most STEP_S of wall time: a loop held up by heavy work skips no market time."""

    STEP_S = 0.05
    MAX_HOLD_S = 30.0  # a bot that never catches up still ends the demo

    def __init__(self, clock: ReplayClock, services: Services, tick_seconds: float) -> None:
        self.clock, self.services, self.tick_seconds = clock, services, tick_seconds
        self.replying = False
        self.connecting = False  # act two's streams are connecting
        self.stop_at: int | None = None  # the next scripted moment: market time waits there
        self.venues: list[FakeLiquidationVenue] = []
        self.tapes: dict[str, list[TapePrint]] = {}
        self.feed: LiquidationFeed | None = None

    def behind(self) -> bool:
        s, now = self.services, self.clock.now_ms()
        if self.replying or self.connecting:
            return True
        step = int(self.tick_seconds * self.clock.speed * 1000)
        if s.last_alert_tick is not None and now - s.last_alert_tick > 2 * step + s.maps.refresh_ms:
            return True
        if outbox.due(s.db, now, limit=1):
            return True
        if self.feed is not None:
            streamed = sum(len(v.tape) for v in self.venues)
            return sum(w.status.prints for w in self.feed.watchers) < streamed
        return False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.clock.hold()
        last = held_since = loop.time()
        while True:
            await asyncio.sleep(0.01)
            now = loop.time()
            step, last = min(now - last, self.STEP_S), now
            if not self.behind():
                held_since = now
            if now - held_since < 0.001 or now - held_since > self.MAX_HOLD_S:
                ms = int(step * self.clock.speed * 1000)
                if self.stop_at is not None:
                    ms = max(0, min(ms, self.stop_at - self.clock.now_ms()))
                self.clock.advance(ms)
            self.hand_off()

    async def until(self, at_ms: int) -> None:
        """Wait for market time ``at_ms``; it stops there, so the script's moments are exact."""
        self.stop_at = at_ms
        try:
            while self.clock.now_ms() < at_ms:
                await asyncio.sleep(0.005)
        finally:
            self.stop_at = None

    def hand_off(self) -> None:
        """Each fake venue streams its recorded prints one step of market time ahead, so the
        feed has stored every venue's prints of a moment before the market reaches it (a tick
        never sees one venue's share of a burst: stored, a print waits for its own time)."""
        ahead = self.clock.now_ms() + int(self.STEP_S * self.clock.speed * 1000)
        for v in self.venues:
            tape, i = self.tapes[v.venue], len(v.tape)
            j = i
            while j < len(tape) and tape[j].time_ms <= ahead:
                j += 1
            if j > i:
                v.extend(tape[i:j])


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
        # the same market-time step at any speed: 0.2 s wall at 1,800x is 6 market minutes
        tick_seconds=min(0.5, 0.2 * SPEED / speed),
        chat_gap_seconds=1.0 / speed,  # Telegram's 1 message a second per chat, in market time
        _env_file=None,  # type: ignore[call-arg]  # the demo ignores .env: self-contained
    )
    services = build_services(settings)
    services.maps.renderer.start()  # as the bot's post_init: matplotlib loads while we start
    app = build_application(settings, services)
    clock = services.clock
    start = replay_start_ms(START)
    assert isinstance(clock, ReplayClock)
    clock.hold()  # from 12:00 sharp: starting the bot takes no market time (Pace steps it)
    clock.jump(start)
    # a fast replay's ticks may overlap on a busy machine: the pace holds market time for them
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
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
        # the interactive map, on loopback only, as the scripted trader (no Telegram login)
        web = WebServer(services, fake.token, demo_chat=TRADER)
        await web.start("127.0.0.1", 0)
        echo(f"Interactive map: {web.local_url('BTC', '1d')} (open it while the demo runs)")
        sys.stdout.flush()  # a reader of a pipe sees the address now, not at the end
        pace = Pace(clock, services, settings.tick_seconds)
        pacing = asyncio.create_task(pace.run())

        async def say(at_ms: int, text: str) -> None:
            await pace.until(at_ms)
            echo(f"[{fmt.when(clock.now_ms(), pattern=STAMP)}] trader: {text}")
            replied.clear()
            pace.replying = True  # the market waits while the bot answers, on any machine
            await fake.user_sends(TRADER, text, user_id=TRADER, first_name="Dana")
            with contextlib.suppress(TimeoutError):  # the trader reads the answer first
                await asyncio.wait_for(replied.wait(), timeout=10)
            pace.replying = False

        for hhmm, text in SCRIPT:
            await say(_at(hhmm, start), text)
        await pace.until(_at(END, start))
        # let the outbox drain (held alerts are due once the quiet hours end)
        await _drain(services)
        await _real_liquidations_act(services, pace, say, echo, speed)
        await _drain(services)
        pacing.cancel()
        clock.release()
        watcher.cancel()
        if app.job_queue is not None:  # no tick starts while the bot stops (APScheduler would
            app.job_queue.scheduler.pause()  # cancel it with an error in the log)
        await web.stop()
        await app.updater.stop()
        await app.stop()
    fake.stop_thread()
    echo(
        f"\nDone: {counts['messages']} bot messages, {counts['alerts']} alerts, "
        f"{counts['digests']} digests, {counts['charts']} charts saved in {out_dir}/"
    )
    return counts


async def _drain(services: Services) -> None:
    for _ in range(50):
        if not outbox.due(services.db, services.clock.now_ms()):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)


async def _real_liquidations_act(
    services: Services,
    pace: Pace,
    say: Callable[[int, str], Awaitable[None]],
    echo: Callable[[str], None],
    speed: float,
) -> None:
    """Act two (module docstring): fake venues -> real ccxt.pro -> the feed -> SQLite -> /liqs
    and the cascade_live pass, in replay time."""
    clock = pace.clock
    clock.jump(parse_utc_ms(ACT2_FROM), speed)
    echo(f"\n--- {ACT2_FROM[:10]}: real liquidations (recorded prints, see PROVENANCE.md) ---")
    for at, text in ACT2_OPENING:
        await say(parse_utc_ms(at), text)
    # market time waits while the streams connect (the feed, and ccxt.pro, load first), so
    # they cover the same hours at any speed on any machine (a fast replay on a busy machine
    # had them connect hours late: "connected 8.5h of 24h")
    pace.connecting = True
    venues = [FakeLiquidationVenue(v, []) for v in LIQ_VENUES]
    for v in venues:
        await v.start()
    pace.tapes = {v.venue: load_tape(TAPE, v.venue) for v in venues}
    settings = services.settings.model_copy(
        update={"exchange_urls": {v.venue: v.base_url for v in venues}}
    )
    feed = await asyncio.to_thread(_open_feed, settings, services, clock)
    services.liquidations = feed  # post_shutdown stops it with the bot
    pace.venues, pace.feed = venues, feed
    await feed.start()
    try:
        for _ in range(100):  # wait until every stream is up before time runs
            if all(w.status.connected for w in feed.watchers):
                break
            await asyncio.sleep(0.05)
        pace.connecting = False
        fast = max(FAST_SPEED, speed)
        clock.jump(speed=fast)
        await pace.until(parse_utc_ms(FAST_UNTIL))
        clock.jump(speed=speed)
        for at, text in ACT2_EVENING:
            await say(parse_utc_ms(at), text)
        await pace.until(parse_utc_ms(ACT2_END))
    finally:
        pace.feed, pace.venues = None, []
        await feed.stop()
        for v in venues:
            await v.close()
