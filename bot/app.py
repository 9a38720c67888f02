"""The composition root: settings -> services -> the PTB Application, and `liqbot run`."""

from __future__ import annotations

import logging

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import handlers, jobs, trade_handlers
from bot.clock import Clock, ReplayClock, WallClock
from bot.commands import COMMANDS
from bot.live import SymbolChoiceError, open_live, validate_symbols
from bot.maps import MapService
from bot.services import KEY, Services
from bot.settings import Settings, replay_start_ms
from market.replay import ReplaySource
from market.snapshot import MarketSource
from storage import open_db

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """Settings that cannot start the bot; the message says what to set."""


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
        for secret in self.secrets:
            if secret in message:
                message = message.replace(secret, "***")
                record.msg, record.args = message, None
            if record.exc_text and secret in record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "***")
        return True


def redact(text: str, settings: Settings) -> str:
    for secret in (settings.telegram_bot_token, settings.webhook_secret):
        if secret is not None and secret.get_secret_value():
            text = text.replace(secret.get_secret_value(), "***")
    return text


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=settings.log_level
    )
    secrets = [s.get_secret_value() for s in (settings.telegram_bot_token, settings.webhook_secret)
               if s is not None]  # fmt: skip
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets(secrets))
    # httpx logs every request URL, and Bot API URLs contain the token.
    for noisy in ("httpx", "httpcore", "apscheduler", "ccxt"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def build_services(settings: Settings, source: MarketSource | None = None,
                   clock: Clock | None = None) -> Services:  # fmt: skip
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
    return Services(settings, db, source, clock, maps, refresher)


async def _post_init(app: Application) -> None:
    found = app.bot_data.get(KEY)
    if isinstance(found, Services) and found.refresher is not None:
        try:  # a symbol no venue lists stops the start with the valid choices
            await validate_symbols(found.refresher, found.settings.symbols)
        except SymbolChoiceError as e:
            await found.refresher.close()
            raise ConfigError(f"LIQBOT_SYMBOLS: {e}") from None
    await app.bot.set_my_commands([BotCommand(c.name, c.description) for c in COMMANDS])


async def _post_shutdown(app: Application) -> None:
    found = app.bot_data.get(KEY)
    if isinstance(found, Services):
        if found.refresher is not None:
            await found.refresher.close()  # every exchange session closed
        found.maps.close()
        found.db.close()
    log.info("liqbot stopped")


def build_application(settings: Settings, services: Services) -> Application:
    """The real PTB Application with every handler, the rate limiter and the error handler."""
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather in Telegram, then put "
            "TELEGRAM_BOT_TOKEN=... in .env (see .env.example)"
        )
    app = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.bot_api_base)
        .base_file_url(settings.bot_file_base)
        .rate_limiter(AIORateLimiter(max_retries=3))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data[KEY] = services
    allowed: filters.BaseFilter = filters.ALL
    if settings.allowed_chat_ids:
        allowed = filters.Chat(chat_id=settings.allowed_chat_ids)
        app.add_handler(MessageHandler(~allowed, handlers.not_allowed), group=-1)
    commands = {
        "start": handlers.start,
        "help": handlers.help_command,
        "map": handlers.map_command,
        "heatmap": handlers.heatmap_command,
        "check": handlers.check_command,
        "status": handlers.status_command,
        "tz": handlers.tz_command,
        "open": trade_handlers.open_command,
        "positions": trade_handlers.positions_command,
        "close": trade_handlers.close_command,
        "watch": trade_handlers.watch_command,
        "unwatch": trade_handlers.unwatch_command,
        "alerts": trade_handlers.alerts_command,
        "digest": trade_handlers.digest_command,
        "quiet": trade_handlers.quiet_command,
        "mute": trade_handlers.mute_command,
    }
    missing = {c.name for c in COMMANDS} ^ set(commands)
    assert not missing, f"commands without a handler or without help: {missing}"
    # An edited "/open ..." must not open a second position: commands answer new messages only.
    fresh = allowed & ~filters.UpdateType.EDITED
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback, filters=fresh))
    app.add_handler(CallbackQueryHandler(handlers.button))
    app.add_handler(MessageHandler(filters.COMMAND & fresh, handlers.unknown_command))
    app.add_error_handler(handlers.on_error)
    if app.job_queue is not None:
        one_at_a_time = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 60}
        if services.refresher is not None:
            app.job_queue.run_repeating(
                jobs.refresh_job,
                interval=settings.refresh_seconds,
                first=1,
                name="refresh",
                job_kwargs=one_at_a_time,
            )
        app.job_queue.run_repeating(
            jobs.tick_job,
            interval=settings.tick_seconds,
            first=0.5,
            name="tick",
            job_kwargs=one_at_a_time,
        )
    return app


def run(settings: Settings) -> None:
    """`liqbot run`: polling by default, a webhook when LIQBOT_WEBHOOK_URL is set."""
    configure_logging(settings)
    services = build_services(settings)
    app = build_application(settings, services)
    log.info(
        "liqbot starting: market %s, %d symbols, refresh every %g min",
        settings.market_source,
        len(services.source.symbols),
        settings.refresh_minutes,
    )
    if settings.webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path="telegram",
            webhook_url=f"{settings.webhook_url.rstrip('/')}/telegram",
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
