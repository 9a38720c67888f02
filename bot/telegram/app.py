"""The PTB Application: builder, handlers (one per command, one per button family), the
allowlist gate, jobs, the error handler, and polling or webhook serving.

Updates are handled concurrently (a slow chart for one chat never delays another chat), but
one chat's updates still run in the order they came (:class:`PerChatOrder`)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    LinkPreviewOptions,
    MenuButtonWebApp,
    Update,
    WebAppInfo,
)
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    SimpleUpdateProcessor,
    TypeHandler,
    filters,
)

from bot.pipeline import health
from bot.pipeline.services import KEY, Services
from bot.settings import ConfigError, Settings
from bot.telegram import (
    alert_handlers,
    errors,
    handlers,
    jobs,
    liq_handlers,
    owner,
    pick,
    trade_handlers,
)
from bot.telegram.commands import COMMANDS
from bot.telegram.context import CONTEXT_TYPES
from bot.telegram.keyboards import (
    ALERT_PATTERN,
    HELP_PATTERN,
    MAP_PATTERN,
    MUTE_PATTERN,
    OPEN_PATTERN,
    PICK_PATTERN,
    POSITION_PATTERN,
    PRICE_ALERT_PATTERN,
    TZ_PATTERN,
    webapp_link,
)
from bot.telegram.rate_limit import SendLimiter
from bot.telegram.server import WEBHOOK_PATH, HttpServer

log = logging.getLogger(__name__)
CONCURRENT_UPDATES = 16
HTTP_KEY = "liqbot.http"  # bot_data: the HttpServer
MENU_BUTTON = "Map"  # the chat's menu button (beside the text field) opens the interactive map
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class PerChatOrder(SimpleUpdateProcessor):
    """Up to ``max_concurrent_updates`` updates at once, one at a time per chat: a second
    command from the same chat waits for the first (a /close after its /open), another chat's
    does not."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock, users = self._chats.get(chat.id, (asyncio.Lock(), 0))
        self._chats[chat.id] = (lock, users + 1)
        try:
            async with lock:  # asyncio.Lock is FIFO: arrival order is kept
                await coroutine
        finally:
            lock, users = self._chats[chat.id]
            if users <= 1:
                del self._chats[chat.id]  # no chat keeps a lock once it is idle
            else:
                self._chats[chat.id] = (lock, users - 1)


async def _post_init(app: Application) -> None:
    found = app.bot_data.get(KEY)
    if isinstance(found, Services) and found.refresher is not None:
        from bot.pipeline.live import SymbolChoiceError, validate_symbols  # live only: ccxt

        try:  # a symbol no venue lists stops the start with the valid choices
            await validate_symbols(found.refresher, found.settings.symbols)
        except SymbolChoiceError as e:
            await found.refresher.close()
            raise ConfigError(f"LIQBOT_SYMBOLS: {e}") from None
    if isinstance(found, Services) and found.liquidations is not None:
        await found.liquidations.start()  # one task per venue; reconnects on its own
    if isinstance(found, Services):
        found.maps.renderer.start()  # the chart worker imports matplotlib while we start
    await app.bot.set_my_commands([BotCommand(c.name, c.description) for c in COMMANDS])
    if isinstance(found, Services):
        await _owner_commands(app, found.settings.admin_chat_ids)
    if isinstance(found, Services) and found.settings.webapp_base:
        await _open_webapp(app, found)
    if isinstance(found, Services) and found.settings.send_loop:
        found.sender = jobs.Sender(found, app.bot)
        found.sender.start()
    if (
        isinstance(found, Services)
        and found.settings.health_port
        and not found.settings.webhook_base
    ):
        # polling mode: /healthz on its own port (webhook mode serves it on the webhook's)
        await http_server(app).start(found.settings.health_host, found.settings.health_port)


async def _owner_commands(app: Application, owners: list[int]) -> None:
    """The owner's command list also shows /admin (a chat-scoped list: nobody else sees it)."""
    listed = [BotCommand(c.name, c.description) for c in COMMANDS]
    listed.append(BotCommand("admin", "Owner: users, subscriptions, backlog, errors"))
    for chat in owners:
        try:
            await app.bot.set_my_commands(listed, scope=BotCommandScopeChat(chat))
        except TelegramError as e:  # the owner never started the bot: /admin still answers
            log.warning("owner command list for chat %s not set: %s", chat, e)


async def _post_stop(app: Application) -> None:
    """After the updates and jobs have ended, while the bot's HTTP client is still open: the
    sends in flight finish and are recorded (``app.shutdown`` closes the client next)."""
    found = app.bot_data.get(KEY)
    if isinstance(found, Services) and found.sender is not None:
        await found.sender.stop()
        found.sender = None


async def _open_webapp(app: Application, found: Services) -> None:
    """The interactive map: its server (on this loop) and the chat menu button that opens it."""
    settings = found.settings
    assert settings.webapp_base is not None
    if found.web is not None and settings.webhook_base:
        # one server, one port: the webhook's (post_init runs before it starts)
        http_server(app).mount(found.web.routes())
    elif found.web is not None:
        await found.web.start(settings.webapp_listen, settings.webapp_port)
    url = webapp_link(settings.webapp_base, settings.symbols[0], "1d")
    try:
        await app.bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(MENU_BUTTON, WebAppInfo(url))
        )
    except TelegramError as e:  # the map's buttons still work; the menu keeps /commands
        log.warning("could not set the menu button to the interactive map: %s", e)


async def _post_shutdown(app: Application) -> None:
    server = app.bot_data.get(HTTP_KEY)
    if isinstance(server, HttpServer):
        await server.stop()
    found = app.bot_data.get(KEY)
    if isinstance(found, Services):
        if found.web is not None:
            await found.web.stop()
        if found.liquidations is not None:
            await found.liquidations.stop()  # every websocket closed before the database
        if found.sender is not None:  # post_stop did not run (the app never started)
            await found.sender.stop()
            found.sender = None
        if found.refresher is not None:
            await found.refresher.close()  # every exchange session closed
        found.maps.close()
        found.db.close()
    log.info("liqbot stopped")


def build_application(settings: Settings, services: Services) -> Application:
    """The real PTB Application with every handler, the rate limiter and the error handler."""
    check_webhook_secret(settings)
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
        .rate_limiter(
            SendLimiter(chat_gap_s=settings.chat_gap_seconds)
        )  # paces every send; the outbox is the one retry layer
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW))
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(PerChatOrder(CONCURRENT_UPDATES))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data[KEY] = services
    # The allowlist is checked once, before every handler (it stops the update there).
    app.add_handler(TypeHandler(Update, handlers.gate), group=-1)
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
        "stop": trade_handlers.stop_command,
        "account": trade_handlers.account_command,
        "watch": trade_handlers.watch_command,
        "unwatch": trade_handlers.unwatch_command,
        "alerts": trade_handlers.alerts_command,
        "alert": alert_handlers.alert_command,
        "digest": trade_handlers.digest_command,
        "quiet": trade_handlers.quiet_command,
        "mute": trade_handlers.mute_command,
        "liqs": liq_handlers.liqs_command,
        "skill": liq_handlers.skill_command,
    }
    missing = {c.name for c in COMMANDS} ^ set(commands)
    assert not missing, f"commands without a handler or without help: {missing}"
    # An edited "/open ..." must not open a second position: commands answer new messages only.
    fresh = ~filters.UpdateType.EDITED
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback, filters=fresh))
    # owner only, and not in /help: anyone else gets the unknown-command answer from it
    app.add_handler(CommandHandler("admin", owner.admin_command, filters=fresh))
    owner.attach(app, services)
    app.add_handler(CallbackQueryHandler(handlers.map_button, pattern=MAP_PATTERN))
    app.add_handler(CallbackQueryHandler(handlers.help_button, pattern=HELP_PATTERN))
    app.add_handler(CallbackQueryHandler(trade_handlers.position_button, pattern=POSITION_PATTERN))
    app.add_handler(CallbackQueryHandler(trade_handlers.alert_button, pattern=ALERT_PATTERN))
    app.add_handler(CallbackQueryHandler(handlers.tz_button, pattern=TZ_PATTERN))
    app.add_handler(CallbackQueryHandler(trade_handlers.open_far_button, pattern=OPEN_PATTERN))
    app.add_handler(CallbackQueryHandler(trade_handlers.mute_button, pattern=MUTE_PATTERN))
    app.add_handler(
        CallbackQueryHandler(alert_handlers.price_alert_button, pattern=PRICE_ALERT_PATTERN)
    )
    app.add_handler(CallbackQueryHandler(pick.pick_button, pattern=PICK_PATTERN))
    app.add_handler(CallbackQueryHandler(handlers.expired_button))  # every press gets an answer
    app.add_handler(MessageHandler(filters.COMMAND & fresh, handlers.unknown_command))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & fresh, handlers.plain_text))
    app.add_error_handler(errors.on_error)
    if app.job_queue is not None:
        one_at_a_time = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 60}
        if services.refresher is not None:
            app.job_queue.run_repeating(
                jobs.map_refit_job,
                interval=86_400,
                first=60,
                name="map_refit",
                job_kwargs=one_at_a_time,
            )
            app.job_queue.run_repeating(
                jobs.refresh_job,
                interval=settings.refresh_seconds,
                first=1,
                name="refresh",
                job_kwargs=one_at_a_time,
            )
        if settings.admin_chat_ids:
            app.job_queue.run_repeating(
                owner.watch_job,
                interval=owner.WATCH_SECONDS,
                first=owner.WATCH_SECONDS,
                name="owner watch",
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


def check_webhook_secret(settings: Settings) -> None:
    """Webhook mode without a secret would take forged updates from anyone who finds the URL."""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if settings.webhook_base and not secret:
        raise ConfigError(
            "LIQBOT_WEBHOOK_SECRET is not set: webhook mode (LIQBOT_WEBHOOK_URL) needs it "
            "(1-256 characters A-Z a-z 0-9 _ -), or anyone could post updates to the webhook"
        )


class BotApiUnreachable(Exception):
    """The Telegram Bot API could not be reached at start (network, DNS, a proxy)."""


def serve(app: Application, settings: Settings) -> None:
    """Run until stopped: polling, or a webhook when LIQBOT_WEBHOOK_URL is set. A token that
    Telegram rejects is a :class:`ConfigError`; an unreachable API is :class:`BotApiUnreachable`."""
    try:
        _serve(app, settings)
    except InvalidToken:
        raise ConfigError(
            "Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather (the token is not "
            "shown here)"
        ) from None
    except NetworkError as e:
        raise BotApiUnreachable(str(e)) from None


def _serve(app: Application, settings: Settings) -> None:
    if settings.webhook_base:
        asyncio.run(_run_webhook(app, settings))
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)


def http_server(app: Application) -> HttpServer:
    """The bot's HTTP server (created on first use): mount more routes on it before the bot
    starts. It serves in webhook mode, and in polling mode when LIQBOT_HEALTH_PORT is set."""
    server = app.bot_data.get(HTTP_KEY)
    if not isinstance(server, HttpServer):
        services = app.bot_data[KEY]
        server = HttpServer(lambda: health.check(services))
        app.bot_data[HTTP_KEY] = server
    return server


async def _run_webhook(app: Application, settings: Settings) -> None:
    """Webhook mode on our own aiohttp server (webhook and /healthz on one port), with the
    lifecycle PTB's run_webhook has: init, post_init, listen, setWebhook, start; on SIGTERM or
    Ctrl-C: stop, post_stop (sends in flight recorded), shutdown, post_shutdown."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGABRT):
        loop.add_signal_handler(sig, stop.set)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    server = http_server(app)
    server.serve_webhook(app, secret)
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        await server.start(settings.webhook_listen, settings.webhook_port)
        await app.bot.set_webhook(
            f"{settings.webhook_base}{WEBHOOK_PATH}",
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
        await app.start()
        await stop.wait()
    finally:
        await server.stop()  # no more updates in
        if app.running:
            await app.stop()
            if app.post_stop:
                await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
