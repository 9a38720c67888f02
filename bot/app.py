"""The composition root: settings -> services -> the PTB Application, and `liqbot run`.

The Telegram side (the Application, its handlers and jobs) is built in :mod:`bot.telegram.app`;
this module wires the database, the market source and the clock it runs on."""

from __future__ import annotations

import logging
import re

from bot.clock import Clock, ReplayClock, WallClock
from bot.memory import map_large_blocks_apart
from bot.pipeline.liquidations import open_liquidation_feed
from bot.pipeline.live import open_live
from bot.pipeline.maps import MapService
from bot.pipeline.services import Services
from bot.settings import ConfigError, Settings, replay_start_ms
from bot.telegram.app import build_application, serve
from bot.web.server import WebServer
from market.replay import ReplaySource
from market.snapshot import MarketSource
from storage import open_db

log = logging.getLogger(__name__)

__all__ = ["ConfigError", "build_application", "build_services", "configure_logging", "run"]


CREDENTIALS = re.compile(r"://[^/\s@]+@")


class RedactSecrets(logging.Filter):
    """Replaces secrets (the bot token) in every record a handler writes, tracebacks included:
    Bot API URLs contain the token, and PTB puts it in some messages (a rejected token)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        # A proxy URL's user:password@ (LIQBOT_EXCHANGE_URLS) in any record, whoever logs it.
        if CREDENTIALS.search(message):
            message = CREDENTIALS.sub("://***@", message)
            record.msg, record.args = message, None
        if record.exc_text and CREDENTIALS.search(record.exc_text):
            record.exc_text = CREDENTIALS.sub("://***@", record.exc_text)
        for secret in self.secrets:
            if secret in message:
                message = message.replace(secret, "***")
                record.msg, record.args = message, None
            if record.exc_text and secret in record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "***")
        return True


def redact(text: str, settings: Settings) -> str:
    text = CREDENTIALS.sub("://***@", text)
    for secret in (settings.telegram_bot_token, settings.webhook_secret):
        if secret is not None and secret.get_secret_value():
            text = text.replace(secret.get_secret_value(), "***")
    return text


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=settings.log_level
    )
    secrets = [
        s.get_secret_value()
        for s in (settings.telegram_bot_token, settings.webhook_secret)
        if s is not None
    ]
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets(secrets))
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
        else:
            source, refresher = open_live(settings, db)
    if clock is None:
        if settings.market_source == "demo":
            clock = ReplayClock(replay_start_ms(settings.replay_start), settings.replay_speed)
        else:
            clock = WallClock()
    maps = MapService(source, clock, int(settings.refresh_seconds * 1000))
    # the feed is started in post_init, inside the bot's event loop
    feed = open_liquidation_feed(settings, db, clock) if refresher is not None else None
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
