"""The composition root: settings -> services -> the PTB Application, and `liqbot run`.

The Telegram side (the Application, its handlers and jobs) is built in :mod:`bot.telegram.app`;
this module wires the database, the market source and the clock it runs on."""

from __future__ import annotations

import logging

from bot import redaction
from bot.clock import Clock, ReplayClock, WallClock
from bot.memory import map_large_blocks_apart
from bot.pipeline.maps import MapService
from bot.pipeline.services import Services
from bot.settings import ConfigError, Settings, replay_start_ms
from bot.telegram.app import build_application, serve
from bot.web.server import WebServer
from market.replay import ReplaySource
from market.source import MarketSource
from storage import open_db

log = logging.getLogger(__name__)

__all__ = ["ConfigError", "build_application", "build_services", "configure_logging", "run"]


def configure_logging(settings: Settings) -> None:
    """The log format and level; every record is redacted (:mod:`bot.redaction`), the Bot API
    token (in every request URL) and the proxy passwords included."""
    redaction.install()
    redaction.add_secrets(settings.secret_values())
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=settings.log_level
    )
    # httpx logs every request URL, and Bot API URLs contain the token.
    for noisy in ("httpx", "httpcore", "apscheduler", "ccxt"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def build_services(
    settings: Settings, source: MarketSource | None = None, clock: Clock | None = None
) -> Services:
    """Database, market source and clock for the settings (tests may pass their own)."""
    db = open_db(settings.db_path)
    refresher = None
    if source is None:
        if settings.market_source == "demo":
            source = ReplaySource()
        else:  # ccxt loads here: a bot on the bundled data starts without it
            from bot.pipeline.live import open_live

            source, refresher = open_live(settings, db)
    if clock is None:
        if settings.market_source == "demo":
            clock = ReplayClock(replay_start_ms(settings.replay_start), settings.replay_speed)
        else:
            clock = WallClock()
    maps = MapService(source, clock, int(settings.refresh_seconds * 1000))
    # the feed is started in post_init, inside the bot's event loop
    feed = None
    if refresher is not None:
        from bot.pipeline.liquidations import open_liquidation_feed

        feed = open_liquidation_feed(settings, db, clock)
    return Services(settings, db, source, clock, maps, refresher, liquidations=feed)


def run(settings: Settings) -> None:
    """`liqbot run`: polling by default, a webhook when LIQBOT_WEBHOOK_URL is set."""
    configure_logging(settings)
    map_large_blocks_apart()
    services = build_services(settings)
    app = build_application(settings, services)
    if settings.webapp_base and settings.telegram_bot_token is not None:
        # served on the bot's loop from post_init; signatures are checked with the bot's token
        services.web = WebServer(services, settings.telegram_bot_token.get_secret_value())
    log.info(
        "liqbot starting: market %s, %d symbols, refresh every %g min",
        settings.market_source,
        len(services.source.symbols),
        settings.refresh_minutes,
    )
    serve(app, settings)
