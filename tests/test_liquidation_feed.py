"""The live liquidation feed against fake websocket venues on 127.0.0.1: real ccxt.pro, pointed
at the fakes through the URL override, writing through the bot's sink into SQLite."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import ccxt.pro as ccxt_pro
import pytest

from bot.pipeline.liquidation_sink import StorageLiquidationSink
from fakes.liquidation_ws import FakeLiquidationVenue, TapePrint, load_tape
from market.errors import RetryPolicy
from market.liquidation_feed import (
    FeedTiming,
    LiquidationFeed,
    MalformedPrintError,
    VenueStreamStatus,
    liquidation_support,
    parse_prints,
)
from market.liquidation_summary import WINDOWS_MS, cascade_live, summarise
from market.urls import override_urls
from storage import liquidations
from storage.db import open_db

BTC = "BTC/USDT:USDT"
LIVE = ("binanceusdm", "bybit", "okx")
T0 = 1_770_300_000_000  # 2026-02-05 14:00 UTC
FAST = FeedTiming(
    check_s=0.05,
    silence_s=0.4,
    keepalive_ms=100,
    backoff=RetryPolicy(base_delay_s=0.05, max_delay_s=0.2, jitter=0.5),
)
# ccxt's own keepalive far away, so only the feed's silence timer can notice a dead stream
QUIET_KEEPALIVE = FeedTiming(
    check_s=0.05,
    silence_s=0.4,
    keepalive_ms=60_000,
    backoff=RetryPolicy(base_delay_s=0.05, max_delay_s=0.2, jitter=0.5),
)
GAP = 0.001  # s between the fake's frames: each is its own frame, in order, 1 ms apart
EXCERPT = (
    Path(__file__).resolve().parents[1] / "market" / "data" / "liquidations_BTC_2026-02-05.csv"
)


def tape(n: int = 30) -> list[TapePrint]:
    """BTC prints on both sides plus ETH prints the feed does not follow."""
    out = []
    for i in range(n):
        side = "long" if i % 3 else "short"
        out.append(TapePrint("BTC", T0 + i * 1_000, side, 70_000.0 + 10 * i, 0.01 * (i + 1)))
        if i % 5 == 0:
            out.append(TapePrint("ETH", T0 + i * 1_000 + 1, "long", 2_000.0 + i, 0.5))
    return out


async def run_feed(
    fake: FakeLiquidationVenue, expect: int, timing: FeedTiming = FAST
) -> tuple[object, StorageLiquidationSink, VenueStreamStatus]:
    """Run the feed on one fake venue until ``expect`` prints are stored and the tape is sent."""
    db = open_db(None)
    sink = StorageLiquidationSink(db)
    feed = LiquidationFeed(
        sink,
        [fake.venue],
        [BTC],
        urls={fake.venue: fake.base_url},
        timing=timing,
        # no ccxt pacing of the listing, no 250 ms wait in its close: these tests read the sink
        config={"rateLimit": 1, "timeout_on_exit": 0},
    )
    await feed.start()
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline and not (fake.done and sink.stored >= expect):
        await asyncio.sleep(0.02)
    await asyncio.sleep(FAST.check_s * 3)  # one more coverage extension
    status = feed.status()[0]
    # What was handed to the sink is not kept in ccxt's cache (it grew by every print before).
    assert all(not (w.exchange.liquidations or []) for w in feed.watchers)
    await feed.stop()
    return db, sink, status


def stored(db: object) -> list[tuple[object, ...]]:
    return db.execute(  # type: ignore[attr-defined,no-any-return]
        "select venue, symbol, time, side, price, quantity from liquidations order by time"
    ).fetchall()


def expected_rows(venue: str, prints: list[TapePrint]) -> list[tuple[object, ...]]:
    return [
        (venue, BTC, p.time_ms, p.side, p.price, pytest.approx(p.quantity))
        for p in prints
        if p.coin == "BTC"
    ]


@pytest.mark.parametrize("venue", LIVE)
async def test_every_print_is_stored_once_with_its_side_and_coverage(venue: str) -> None:
    prints = tape()
    async with FakeLiquidationVenue(venue, prints, interval_s=GAP) as fake:
        db, _, status = await run_feed(fake, 30)
    assert stored(db) == expected_rows(venue, prints)
    usd = db.execute("select sum(usd) from liquidations").fetchone()[0]  # type: ignore[attr-defined]
    assert usd == pytest.approx(sum(p.price * p.quantity for p in prints if p.coin == "BTC"))
    cover = liquidations.read_coverage(db, BTC, 0, 2**62)  # type: ignore[arg-type]
    assert len(cover[venue]) == 1
    assert fake.connections == 1 and status.reconnects == 0 and status.prints == 30


@pytest.mark.parametrize("venue", LIVE)
async def test_a_dropped_connection_loses_nothing_the_venue_resends_and_shows_a_gap(
    venue: str,
) -> None:
    prints = tape()
    async with FakeLiquidationVenue(venue, prints, interval_s=GAP) as fake:
        fake.drop_at(12, resend=4)
        db, sink, status = await run_feed(fake, 30)
    assert stored(db) == expected_rows(venue, prints)
    resent = [i for _, i in fake.sent]
    assert len(resent) > len(set(resent))  # prints really came twice...
    assert status.prints > sink.stored == 30  # ...were heard twice, stored once
    assert fake.connections == 2 and status.reconnects == 1
    spans = liquidations.read_coverage(db, BTC, 0, 2**62)[venue]  # type: ignore[arg-type]
    assert len(spans) == 2 and spans[0][1] < spans[1][0]  # the gap is on record


@pytest.mark.parametrize("kind", ["json", "fields"])
@pytest.mark.parametrize("venue", LIVE)
async def test_a_malformed_frame_is_skipped_and_the_stream_goes_on(venue: str, kind: str) -> None:
    prints = tape()
    async with FakeLiquidationVenue(venue, prints, interval_s=GAP) as fake:
        fake.malformed_at(6, kind)  # type: ignore[arg-type]
        assert prints[6].coin == "BTC"  # a bad frame on a followed symbol
        db, _, status = await run_feed(fake, 30)
    assert stored(db) == expected_rows(venue, prints)
    assert status.malformed == 1 and fake.connections == 1


@pytest.mark.parametrize("venue", LIVE)
async def test_a_silent_stream_is_found_dead_and_reopened(venue: str) -> None:
    prints = tape()
    async with FakeLiquidationVenue(venue, prints, interval_s=GAP) as fake:
        fake.silence_at(15)
        silent_from = time.time()
        db, _, status = await run_feed(fake, 30, QUIET_KEEPALIVE)
    assert stored(db) == expected_rows(venue, prints)
    assert fake.connections == 2 and status.reconnects == 1
    assert "no frame for" in (status.last_error or "")  # our timer, not ccxt's keepalive
    spans = liquidations.read_coverage(db, BTC, 0, 2**62)[venue]  # type: ignore[arg-type]
    assert len(spans) == 2
    gap_ms = spans[1][0] - spans[0][1]
    assert gap_ms >= QUIET_KEEPALIVE.silence_s * 1000 * 0.9
    assert spans[0][0] >= silent_from * 1000 - 1000


@pytest.mark.parametrize("venue", LIVE)
async def test_duplicate_frames_are_stored_once(venue: str) -> None:
    prints = tape()
    async with FakeLiquidationVenue(venue, prints, interval_s=GAP) as fake:
        fake.duplicate_at(3)
        fake.duplicate_at(20)
        db, sink, status = await run_feed(fake, 30)
    assert stored(db) == expected_rows(venue, prints)
    assert status.prints == 32 and sink.stored == 30


async def test_the_recorded_excerpt_replays_through_the_feed_with_its_real_totals() -> None:
    prints = load_tape(EXCERPT, "bybit")[:40]
    async with FakeLiquidationVenue("bybit", prints, interval_s=0.001) as fake:
        db, _, _ = await run_feed(fake, len(prints))
    for side in ("long", "short"):
        got = (
            db.execute(  # type: ignore[attr-defined]
                "select sum(usd) from liquidations where side = ?", [side]
            ).fetchone()[0]
            or 0.0
        )
        want = sum(p.price * p.quantity for p in prints if p.side == side)
        assert got == pytest.approx(want)


def test_bitget_has_no_stream_and_says_so() -> None:
    assert liquidation_support("bitget") == "none"
    assert liquidation_support("binanceusdm") == "native"
    assert liquidation_support("bybit") == "native"
    assert liquidation_support("okx") == "emulated"
    feed = LiquidationFeed(StorageLiquidationSink(open_db(None)), ["bybit", "bitget"], [BTC])
    assert [(s.venue, s.support) for s in feed.status()] == [
        ("bybit", "native"),
        ("bitget", "none"),
    ]
    assert [w.venue for w in feed.watchers] == ["bybit"]


def test_websocket_urls_follow_the_override() -> None:
    binance = ccxt_pro.binanceusdm()
    override_urls(binance, "http://127.0.0.1:8001")
    assert binance.urls["api"]["ws"]["linear"] == "ws://127.0.0.1:8001/ws"
    assert binance.urls["api"]["fapiPublic"] == "http://127.0.0.1:8001/fapi/v1"
    bybit = ccxt_pro.bybit()
    override_urls(bybit, "https://mirror.local/bybit")
    assert (
        bybit.urls["api"]["ws"]["public"]["linear"] == "wss://mirror.local/bybit/v5/public/linear"
    )


def test_okx_prints_take_the_position_side_and_every_detail() -> None:
    liq = {
        "symbol": BTC,
        "info": {
            "instId": "BTC-USDT-SWAP",
            "details": [
                {"posSide": "short", "side": "buy", "sz": "3", "bkPx": "70000", "ts": "1"},
                {"posSide": "net", "side": "sell", "sz": "2", "bkPx": "69000", "ts": "2"},
            ],
        },
    }
    a, b = parse_prints("okx", liq, 0.01)
    assert (a.side, a.quantity, a.usd) == ("short", 0.03, pytest.approx(2_100.0))
    assert (b.side, b.quantity) == ("long", 0.02)
    with pytest.raises(MalformedPrintError):
        parse_prints("okx", {"symbol": BTC, "info": {"details": [{"posSide": "long"}]}}, 0.01)


def test_prune_keeps_history_days_of_prints_and_coverage() -> None:
    db = open_db(None)
    rows = [("bybit", BTC, t, "long", 70_000.0, 0.1, 7_000.0) for t in (1_000, 5_000, 9_000)]
    assert liquidations.insert_prints(db, rows) == 3
    assert liquidations.insert_prints(db, rows) == 0
    liquidations.record_coverage(db, "bybit", [BTC], 0, 2_000)
    liquidations.record_coverage(db, "bybit", [BTC], 4_000, 9_500)
    assert liquidations.prune_liquidations(db, 3_000) == 2  # one print, one coverage span
    assert len(liquidations.read_prints(db, BTC, 0, 10_000)) == 2
    assert liquidations.read_coverage(db, BTC, 0, 10_000) == {"bybit": [(4_000, 9_500)]}


def _excerpt_in_db() -> object:
    db = open_db(None)
    rows = [
        (p_venue, BTC, p.time_ms, p.side, p.price, p.quantity, p.price * p.quantity)
        for p_venue in ("binanceusdm", "bybit", "okx")
        for p in load_tape(EXCERPT, p_venue)
    ]
    liquidations.insert_prints(db, rows)
    return db


def test_liqs_summary_on_the_recorded_day() -> None:
    db = _excerpt_in_db()
    since, until = 1_770_271_200_000, 1_770_271_200_000 + WINDOWS_MS["24h"]
    liquidations.record_coverage(db, "bybit", [BTC], since, until)  # type: ignore[arg-type]
    liquidations.record_coverage(db, "okx", [BTC], since, since + 3_600_000)  # type: ignore[arg-type]
    got = liquidations.read_prints(db, BTC, since, until)  # type: ignore[arg-type]
    cover = liquidations.read_coverage(db, BTC, since, until)  # type: ignore[arg-type]
    s = summarise(
        got.venue,
        got.time,
        got.side,
        got.price,
        got.usd,
        cover,
        since,
        until,
        venues=["binanceusdm", "bybit", "okx", "bitget"],
    )
    # the real CoinGlass totals of those 24 hours, to the rounding of quantities
    assert s.long_usd == pytest.approx(460_647_448, abs=500)
    assert s.short_usd == pytest.approx(122_641_400, abs=500)
    by = {v.venue: v for v in s.venues}
    assert by["bybit"].long_usd == pytest.approx(0.30 * 460_647_448, rel=1e-4)
    assert s.fully_covered("bybit") and not s.fully_covered("okx")
    assert by["okx"].covered_ms == 3_600_000 and by["bitget"].prints == 0
    assert s.largest[0].side == "long" and s.largest[0].venue == "binanceusdm"
    # the largest print: 45% of the 20:00 hour's $134.45M of longs
    assert s.largest[0].usd == pytest.approx(0.45 * 134_454_356, rel=1e-4)
    assert s.bands[0].low <= s.largest[0].price < s.bands[0].high


def test_cascade_live_fires_per_side_above_the_threshold() -> None:
    db = _excerpt_in_db()
    got = liquidations.read_prints(db, BTC, 0, 2**62)  # type: ignore[arg-type]
    hour_20 = 1_770_321_600_000  # 2026-02-05 20:00, the $134M long hour
    now = hour_20 + 1_800_000 + 5_000  # just after its prints (open + 30 min)
    fired = cascade_live(got.time, got.side, got.price, got.usd, now)
    # both sides of that hour pass the $5M default: $134.45M of longs, $7.92M of shorts
    assert [(c.side, c.prints) for c in fired] == [("long", 3), ("short", 3)]
    assert fired[0].usd == pytest.approx(134_454_356, rel=1e-4)
    assert fired[1].usd == pytest.approx(7_923_895, rel=1e-4)
    only_longs = cascade_live(got.time, got.side, got.price, got.usd, now, threshold_usd=1e7)
    assert [c.side for c in only_longs] == ["long"]
    assert cascade_live(got.time, got.side, got.price, got.usd, now + 6 * 60_000) == []
    # 06:00's hour: $0.54M longs, $0.22M shorts, below the default
    assert cascade_live(got.time, got.side, got.price, got.usd, 1_770_273_005_000) == []
