"""The bot end to end with its market on the fake venues (real ccxt), not the replay."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.pipeline.live_store import LiveStore
from bot.pipeline.refresh import Refresher
from storage import open_db
from tests.bot_harness import PNG_MAGIC, BotHarness
from tests.fakes.venues import fake_venues_in_thread, fast_feeds
from tests.test_live import NOW, SYMBOL, VENUES


def test_map_and_check_on_the_fake_venues(tmp_path: Path) -> None:
    with fake_venues_in_thread(now_ms=NOW) as fakes:
        db_path = tmp_path / "live.db"
        db = open_db(db_path)

        async def refresh() -> Refresher:
            feeds = fast_feeds(fakes, VENUES, timeout_ms=None)
            refresher = Refresher(db, feeds, [SYMBOL], backfill_days=1.2)
            report = await refresher.refresh(NOW)
            await refresher.close()
            assert not report.failed
            return refresher

        refresher = asyncio.run(refresh())
        store = LiveStore(db, VENUES, ["BTC"], refresher, refresh_ms=300_000)
        with BotHarness(db_path, at=NOW, source=store) as bot:
            photo = bot.send(1, "/map BTC")
            assert photo.photo is not None and photo.photo[:8] == PNG_MAGIC
            caption = photo.text or ""
            assert "binanceusdm, bybit, okx" in caption and "bitget (no OI history yet)" in caption
            check = bot.send(1, "/check BTC short 111000 25").text or ""
            assert "Liquidation" in check and "Fuel ratio" in check
            status = bot.send(1, "/status").text or ""
            assert "okx BTC" in status and "bitget BTC" in status
            assert "not a symbol I follow" in (bot.send(1, "/map ETH").text or "")
