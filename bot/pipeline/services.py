"""What the handlers and jobs share (kept in ``application.bot_data`` under :data:`KEY`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from bot.clock import Clock
from bot.pipeline.alert_book import AlertBook
from bot.pipeline.maps import MapService
from bot.settings import Settings
from market.source import MarketSource

if TYPE_CHECKING:  # live-only parts: ccxt loads where they are built (bot.app), not here
    from bot.pipeline.refresh import Refresher
    from market.liquidation_feed import LiquidationFeed

KEY = "liqbot"


@dataclass
class Services:
    settings: Settings
    db: Database
    source: MarketSource
    clock: Clock
    maps: MapService
    refresher: Refresher | None = None
    # real liquidations (live mode; the demo attaches one to its fake venues)
    liquidations: LiquidationFeed | None = None
    last_alert_tick: int | None = None
    last_digest_hour: int | None = None
    # The alert pass's subscriptions and state in memory (loaded by the first pass).
    alert_book: AlertBook | None = None
    # The interactive map's server (bot.web.server.WebServer) when LIQBOT_WEBAPP_URL is set.
    web: Any = None
    # The background outbox drain (bot.telegram.jobs.Sender) when it runs, else None.
    sender: Any = None
    # One dispatcher at a time: the tick job, the refresh job and /digest now all drain the
    # outbox, and two concurrent drains would send the same row twice.
    dispatch_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def clock_speed(self) -> float:
        """Market seconds per wall second (retry delays are wall time)."""
        return float(getattr(self.clock, "speed", 1.0))
