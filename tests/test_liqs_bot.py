"""/liqs, /skill and the feed lines of /status, end to end: the real bot against the fake Bot
API, its liquidation feed (real ccxt.pro) against fake websocket venues streaming the recorded
prints of 2026-02-05 (market/data/PROVENANCE.md)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.clock import parse_utc_ms
from bot.pipeline.liquidations import open_liquidation_feed
from bot.pipeline.services import Services
from bot.views import fmt
from fakes.liquidation_ws import FakeLiquidationVenue, load_tape
from market.errors import RetryPolicy
from market.liquidation_feed import FeedTiming
from market.replay import DATA
from storage import liquidations
from tests.bot_harness import BotHarness

T = TypeVar("T")
BTC = "BTC/USDT:USDT"
TAPE = DATA / "liquidations_BTC_2026-02-05.csv"
FROM = parse_utc_ms("2026-02-05T06:00Z")
ASK = parse_utc_ms("2026-02-05T20:45Z")
FAST = FeedTiming(
    check_s=0.05,
    silence_s=5.0,
    keepalive_ms=5_000,
    backoff=RetryPolicy(base_delay_s=0.05, max_delay_s=0.2, jitter=0.5),
)
CHAT = 42


class Loop:
    """A background event loop for the fake venues (the bot has its own)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(20)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


def wait_for(cond: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def venues() -> Iterator[tuple[Loop, list[FakeLiquidationVenue]]]:
    loop = Loop()
    fakes = [FakeLiquidationVenue(v, []) for v in ("binanceusdm", "bybit")]
    for f in fakes:
        loop.run(f.start())
    yield loop, fakes
    for f in fakes:
        loop.run(f.close())
    loop.stop()


def test_liqs_and_status_from_the_live_feed(
    tmp_path: Path, venues: tuple[Loop, list[FakeLiquidationVenue]]
) -> None:
    _, fakes = venues

    def attach_feed(s: Services) -> None:  # what build_services does in live mode
        s.liquidations = open_liquidation_feed(s.settings, s.db, s.clock, FAST)

    h = BotHarness(
        tmp_path / "bot.db",
        at=FROM,
        on_services=attach_feed,
        venues="binanceusdm,bybit,bitget",
        symbols="BTC,ETH",
        exchange_urls={f.venue: f.base_url for f in fakes},
    )
    with h:
        s = h.services
        assert s is not None and s.liquidations is not None
        feed = s.liquidations
        wait_for(lambda: all(w.status.connected for w in feed.watchers))
        tapes = {f.venue: [p for p in load_tape(TAPE, f.venue) if p.time_ms < ASK] for f in fakes}
        for f in fakes:
            f.extend(tapes[f.venue])
        h.clock.now = ASK  # market time moves on while the streams stay up
        expected = sum(len(t) for t in tapes.values())

        def covered_to_ask() -> bool:
            spans = liquidations.read_coverage(s.db, BTC, FROM - 3_600_000, ASK + 1)
            return sum(p.prints for p in feed.status()) >= expected and all(
                spans.get(v, [(0, 0)])[-1][1] >= ASK - 1_000 for v in tapes
            )

        wait_for(covered_to_ask)

        status = h.send(CHAT, "/status").text or ""
        assert "Real liquidations" in status
        assert "Binance: connected since 2026-02-05 0" in status
        assert f"{len(tapes['binanceusdm'])} prints seen" in status
        assert "Bybit: connected since" in status
        assert "Bitget: no public liquidation stream" in status

        answer = h.send(CHAT, "/liqs BTC 24h").text or ""
        assert "BTC real liquidations, last 24h" in answer
        for venue, name in (("binanceusdm", "Binance"), ("bybit", "Bybit")):
            t = tapes[venue]
            longs = sum(p.price * p.quantity for p in t if p.side == "long")
            shorts = sum(p.price * p.quantity for p in t if p.side == "short")
            assert (
                f"{name}: longs {fmt.usd(longs)}, shorts {fmt.usd(shorts)} ({len(t)} prints);"
                " connected 14.7h of 24h"
            ) in answer
        assert "No stream: Bitget" in answer
        biggest = max(tapes["binanceusdm"], key=lambda p: p.price * p.quantity)
        assert f"Binance longs {fmt.usd(biggest.price * biggest.quantity)}" in answer
        assert "Where they happened" in answer
        assert "at least this much was liquidated" in answer

        one_hour = h.send(CHAT, "/liqs btc 1h").text or ""  # 19:45..20:45: the 20:30 burst only
        assert "connected 1h of 1h" in one_hour and "at least" not in one_hour
        bad = h.send(CHAT, "/liqs BTC 2h").text or ""
        assert "window must be one of 1h, 4h, 24h" in bad and "Usage: /liqs SYMBOL" in bad


def store_tape(db: Any, until: int) -> None:
    rows = [
        (p_venue, BTC, p.time_ms, p.side, p.price, p.quantity, p.price * p.quantity)
        for p_venue in ("binanceusdm", "bybit", "okx")
        for p in load_tape(TAPE, p_venue)
        if p.time_ms < until
    ]
    liquidations.insert_prints(db, rows)
    for v in ("binanceusdm", "bybit", "okx"):
        liquidations.record_coverage(db, v, [BTC], FROM, until)


def test_skill_grades_the_recorded_week_or_refuses_on_too_little(tmp_path: Path) -> None:
    with BotHarness(tmp_path / "bot.db", at=parse_utc_ms("2026-02-05T20:10Z")) as h:
        s = h.services
        assert s is not None
        store_tape(s.db, parse_utc_ms("2026-02-06T06:00Z"))
        # 14 hours of feed so far: too few to print a figure
        refused = h.send(CHAT, "/skill BTC").text or ""
        assert "No figure for BTC yet" in refused and "at least 24 hours" in refused
        h.clock.now = parse_utc_ms("2026-02-06T06:20Z")
        t0 = time.monotonic()
        graded = h.send(CHAT, "/skill BTC").text or ""
        took = time.monotonic() - t0
        assert "How good is the map: BTC/USDT:USDT, 2026-02-05 06:00 .. 2026-02-06 06:00" in graded
        assert "rests on 24 hours, 144 liquidation prints" in graded
        assert "naive baseline" in graded and "random ranking" in graded
        assert "streams connected 24h of 24h" in graded
        assert took < 10, took
        bad = h.send(CHAT, "/skill 7d").text or ""
        assert "Usage: /skill SYMBOL" in bad
        assert (h.send(CHAT, "/skill").text or "") == "Which symbol? (/skill BTC ...)"


def test_liqs_says_when_no_feed_runs(tmp_path: Path) -> None:
    with BotHarness(tmp_path / "bot.db") as h:
        answer = h.send(CHAT, "/liqs BTC").text or ""
        assert "No liquidation feed runs in this mode" in answer
        assert "no feed in this mode" in (h.send(CHAT, "/status").text or "")


def test_live_services_carry_a_feed_for_the_configured_venues(tmp_path: Path) -> None:
    from bot.app import build_services
    from bot.settings import Settings

    settings = Settings(
        market_source="live",
        db_path=str(tmp_path / "live.db"),
        venues="bybit,bitget",
        symbols="BTC",
        exchange_urls={"bybit": "http://127.0.0.1:9"},
        _env_file=None,  # type: ignore[call-arg]
    )
    s = build_services(settings)
    try:
        assert s.liquidations is not None
        assert [(x.venue, x.support) for x in s.liquidations.status()] == [
            ("bybit", "native"),
            ("bitget", "none"),
        ]
        ws = str(s.liquidations.watchers[0].exchange.urls["api"]["ws"])
        assert "ws://127.0.0.1:9/" in ws and "bybit.com" not in ws  # derived from the base
        wss = Settings(exchange_urls={"okx": "wss://proxy.example:8443"})
        assert wss.exchange_bases == {"okx": "https://proxy.example:8443"}  # REST and feed
    finally:
        assert s.refresher is not None
        asyncio.run(s.refresher.close())
        s.db.close()


def test_map_and_heatmap_mark_the_feeds_prints_of_the_window(tmp_path: Path) -> None:
    at = parse_utc_ms("2026-02-05T21:00Z")
    with BotHarness(tmp_path / "bot.db", at=at) as h:
        s = h.services
        assert s is not None
        bare = h.send(CHAT, "/map BTC")
        assert bare.photo and "Dots under the bars" not in (bare.text or "")
        store_tape(s.db, parse_utc_ms("2026-02-05T20:45Z"))
        tape = [
            p
            for v in ("binanceusdm", "bybit", "okx")
            for p in load_tape(TAPE, v)
            if p.time_ms < parse_utc_ms("2026-02-05T20:45Z")
        ]
        longs = sum(p.price * p.quantity for p in tape if p.side == "long")
        shorts = sum(p.price * p.quantity for p in tape if p.side == "short")
        renders = s.maps.renders
        marked = h.send(CHAT, "/map BTC")
        caption = marked.text or ""
        assert (
            f"Dots under the bars: real liquidations the feed recorded in this window, longs "
            f"{fmt.usd(longs)}, shorts {fmt.usd(shorts)}, sized by USD."
        ) in caption
        assert marked.photo and marked.photo != bare.photo
        assert "Shorts above" in caption and len(caption) <= 1024
        assert s.maps.renders == renders + 1
        h.send(CHAT, "/map BTC")  # same prints: the cached chart
        assert s.maps.renders == renders + 1
        # the feed records one more print within the same refresh: a new chart
        liquidations.insert_prints(
            s.db, [("bybit", BTC, at - 60_000, "long", 63_500.0, 100.0, 6_350_000.0)]
        )
        again = h.send(CHAT, "/map BTC")
        assert s.maps.renders == renders + 2
        assert f"longs {fmt.usd(longs + 6_350_000.0)}" in (again.text or "")
        heat = h.send(CHAT, "/heatmap BTC 1d")
        assert heat.photo and "Dots on the heatmap: real liquidations the feed recorded" in (
            heat.text or ""
        )
