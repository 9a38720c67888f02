"""Faults stay local: an optional endpoint failing leaves the map drawn
without it and says so; an empty last backfill page keeps the pages fetched before it; a
liquidation stream that is down says so in /status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.pipeline.live_store import LiveStore
from bot.pipeline.refresh import Refresher
from bot.views.liqs import feed_status_lines
from bot.views.report import build_report
from bot.views.summary import caption_html, report_json, summary_text
from market.liquidation_feed import VenueStreamStatus
from storage import open_db
from tests.fakes.venues import FakeVenues, fake_venues, fast_feeds

NOW = int(datetime(2025, 10, 21, tzinfo=UTC).timestamp() * 1000)
MIN = 60_000
SYMBOL = "BTC/USDT:USDT"
VENUES = ["binanceusdm", "bybit", "okx", "bitget"]
BOOK_PATHS = {"binanceusdm": "depth", "bybit": "orderbook", "okx": "books", "bitget": "merge-depth"}


@pytest.fixture
async def fakes() -> AsyncIterator[FakeVenues]:
    async with fake_venues(now_ms=NOW) as f:
        yield f


def make_live(fakes: FakeVenues, venues: list[str]) -> tuple[Refresher, LiveStore]:
    db = open_db(":memory:")
    feeds = fast_feeds(fakes, venues)
    refresher = Refresher(db, feeds, [SYMBOL], backfill_days=1.5, retention_days=45)
    return refresher, LiveStore(db, venues, ["BTC"], refresher, refresh_ms=5 * MIN)


def stored(store: LiveStore, table: str, venue: str) -> int:
    row = store.db.execute(f"select count(*) from {table} where venue = ?", [venue]).fetchone()
    return int(row[0])


async def test_a_failing_book_keeps_the_rest_and_the_map_says_the_book_is_missing(
    fakes: FakeVenues,
) -> None:
    refresher, store = make_live(fakes, ["bybit", "okx"])
    try:
        for venue in ("bybit", "okx"):
            fakes[venue].inject("status", path=BOOK_PATHS[venue], status=502, times=None)
        report = await refresher.refresh(NOW)
        # the book is optional: both venues count as refreshed, and what they gave is stored
        assert not report.failed
        for venue in ("bybit", "okx"):
            assert fakes[venue].requests(BOOK_PATHS[venue]), "the book was asked for"
            assert stored(store, "candles", venue) > 400
            assert stored(store, "open_interest", venue) > 0
            assert stored(store, "funding", venue) > 0
        assert SYMBOL not in refresher.books

        snap = store.snapshot("BTC", "1d", NOW)
        assert snap.book is None
        why = snap.missing["order book"]
        assert why.startswith(("unavailable (okx: okx.order_book", "unavailable (bybit: bybit."))
        assert "502 Bad Gateway" in why and why.endswith("), cascade pressure not computed")
        r = build_report(snap)
        assert 0 <= r.risk.total <= 100  # market risk never reads the book
        assert f"order book: {why}" in summary_text(r)
        assert "order book: unavailable" in caption_html(r)
        assert report_json(r)["missing"] == {"order book": why}
        assert any(
            line.startswith("order book BTC: unavailable") for line in store.optional_status()
        )

        # the book comes back: the map has it and no longer says it is missing
        for venue in ("bybit", "okx"):
            fakes[venue].clear_faults()
        fakes.now_ms = NOW + 5 * MIN
        await refresher.refresh(NOW + 5 * MIN)
        back = store.snapshot("BTC", "1d", NOW + 5 * MIN)
        assert back.book is not None and back.missing == {}
        assert store.optional_status() == []
    finally:
        await refresher.close()


async def test_failing_leverage_tiers_are_named_with_the_fallback(fakes: FakeVenues) -> None:
    refresher, store = make_live(fakes, ["bybit"])
    try:
        fakes["bybit"].inject("status", path="risk-limit", status=502, times=None)
        report = await refresher.refresh(NOW)
        assert not report.failed
        assert fakes["bybit"].requests("risk-limit")
        missing = store.snapshot("BTC", "1d", NOW).missing
        assert "bundled table used" in missing["leverage tiers (bybit)"]
        assert any("leverage tiers bybit BTC" in line for line in store.optional_status())
    finally:
        await refresher.close()


async def test_an_empty_last_backfill_page_keeps_the_pages_before_it(fakes: FakeVenues) -> None:
    # OKX serves 100 candles a page: a 1.5-day backfill (432 candles) takes five pages.
    refresher, store = make_live(fakes, ["okx"])
    try:
        fault = fakes["okx"].inject("empty_data", path="candles", times=None, after=4)
        report = await refresher.refresh(NOW)
        assert fault.hits >= 1, "the fifth candle page was answered empty"
        assert not report.failed
        assert stored(store, "candles", "okx") == 400  # the four full pages stand
        fakes["okx"].clear_faults()
        fakes.now_ms = NOW + 5 * MIN
        await refresher.refresh(NOW + 5 * MIN)
        assert stored(store, "candles", "okx") == 433  # the rest fetched on the next refresh
    finally:
        await refresher.close()


def test_a_liquidation_stream_that_is_down_says_so_in_status() -> None:
    down = VenueStreamStatus("bybit", "native", [SYMBOL])
    down.last_error = "ConnectionRefusedError: connect call failed"
    lines = feed_status_lines([down])
    assert "⚠️ not connected (ConnectionRefusedError: connect call failed)" in lines[1]
