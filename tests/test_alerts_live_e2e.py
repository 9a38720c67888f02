"""OI-drop alerts end to end on the fake venues (real ccxt), through the real bot: a real flush
of open interest alerts once; a venue that disappears never reads as a drop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.pipeline.alert_pass import run_alerts
from bot.pipeline.live_store import LiveStore
from bot.pipeline.refresh import Refresher
from bot.telegram.jobs import send_due
from storage import open_db
from tests.bot_harness import BotHarness
from tests.fakes.venues import FakeVenues, fake_venues_in_thread, fast_feeds
from tests.test_live import NOW, SYMBOL, VENUES

HOUR = 3_600_000
CHAT = 8181


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[FakeVenues, BotHarness, Refresher]]:
    with fake_venues_in_thread(now_ms=NOW) as fakes:
        db_path = tmp_path / "oi.db"
        feeds = fast_feeds(fakes, VENUES, attempts=1, timeout_ms=None)
        refresher = Refresher(open_db(db_path), feeds, [SYMBOL], backfill_days=1.2)
        store = LiveStore(open_db(db_path), VENUES, ["BTC"], refresher, refresh_ms=300_000)
        with BotHarness(db_path, at=NOW, source=store, tick_seconds=3600) as bot:
            bot.run(refresher.refresh(NOW))
            yield fakes, bot, refresher
            bot.run(refresher.close())
        fakes.clear()


def refresh_and_alert(fakes: FakeVenues, bot: BotHarness, refresher: Refresher, at: int) -> None:
    fakes.now_ms = at
    bot.clock.now = at
    bot.run(refresher.refresh(at))
    s = bot.services
    assert s is not None
    bot.run(run_alerts(s, s.maps.tick(at)))
    bot.run(send_due(s, bot.app.bot))


def oi_alerts(bot: BotHarness) -> list[str]:
    return [
        m.text or ""
        for m in bot.fake.messages(CHAT)
        if "open interest" in (m.text or "").split("\n")[0].lower()
    ]


def test_a_real_oi_flush_alerts_once(world: tuple[FakeVenues, BotHarness, Refresher]) -> None:
    fakes, bot, refresher = world
    bot.send(CHAT, "/watch BTC")
    for venue in VENUES:  # 30% of positions closed an hour in, on every venue
        fakes[venue].cut_open_interest(NOW + HOUR, 0.7)
    refresh_and_alert(fakes, bot, refresher, NOW + 4 * HOUR)
    alerts = oi_alerts(bot)
    assert len(alerts) == 1, [m.text for m in bot.fake.messages(CHAT)]
    assert "-3" in alerts[0]  # about -30%
    refresh_and_alert(fakes, bot, refresher, NOW + 4 * HOUR + 300_000)
    assert len(oi_alerts(bot)) == 1  # the condition holds: no repeat


def test_a_vanished_venue_is_not_an_oi_drop(
    world: tuple[FakeVenues, BotHarness, Refresher],
) -> None:
    fakes, bot, refresher = world
    bot.send(CHAT, "/watch BTC")
    fakes["binanceusdm"].hide_symbol("BTC")  # 45% of the OI stops reporting
    refresh_and_alert(fakes, bot, refresher, NOW + 4 * HOUR)
    assert oi_alerts(bot) == []
    s = bot.services
    assert s is not None
    change = s.source.oi_change("BTC", NOW + 4 * HOUR, 4)
    assert change is not None and change > -0.15
