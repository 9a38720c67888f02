"""Opt-in checks against the real exchanges (skipped unless LIQBOT_LIVE=1; CI has no network).

Run: LIQBOT_LIVE=1 python -m pytest tests/test_live_exchanges.py -m live
"""

from __future__ import annotations

import os
import time

import pytest

from bot.pipeline.live_store import LiveStore
from bot.pipeline.refresh import Refresher
from bot.views.report import build_report
from market.feeds import VenueFeed
from storage import open_db

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(os.environ.get("LIQBOT_LIVE") != "1", reason="set LIQBOT_LIVE=1"),
]
VENUES = ["binanceusdm", "bybit", "okx", "bitget"]


async def test_one_real_refresh_draws_a_map_from_every_venue() -> None:
    db = open_db(":memory:")
    refresher = Refresher(db, {v: VenueFeed(v) for v in VENUES}, ["BTC/USDT:USDT"], backfill_days=1)
    now = int(time.time() * 1000)
    try:
        report = await refresher.refresh(now)
    finally:
        await refresher.close()
    assert not report.failed, report.failed
    store = LiveStore(db, VENUES, ["BTC"], refresher, refresh_ms=300_000)
    r = build_report(store.snapshot("BTC", "1d", now))
    assert r.liq.total_long > 0 and r.liq.total_short > 0
    assert set(r.venues) | set(r.left_out) == set(VENUES)
