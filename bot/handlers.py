"""Command and button handlers: parse, validate, answer. Bad input gets a clear reply that says
what is wrong and shows the right form; nothing is stored from a rejected command."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import fmt
from bot.check import CheckError, check_html, check_position
from bot.commands import COMMANDS, help_html
from bot.report import WINDOWS
from bot.services import services
from bot.summary import caption_html
from bot.symbols import SymbolError, parse_symbol
from liqmap import ModelInputError
from market.replay import ReplayError
from storage import users

log = logging.getLogger(__name__)
USAGE = {c.name: c for c in COMMANDS}


class InputError(ValueError):
    """Bad command arguments; the text is shown to the user (escaped)."""


Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def needs_market(handler: Handler) -> Handler:
    """No map can be drawn right now (first backfill still running, every venue down, a time
    outside the data): say so plainly instead of the generic apology."""

    @functools.wraps(handler)
    async def wrapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await handler(update, context)
        except (ReplayError, ModelInputError) as e:
            if update.callback_query is not None:
                await update.callback_query.answer("No map right now", show_alert=False)
            await reply(
                update,
                f"⚠️ No map right now: {html.escape(str(e))}\nThe first refresh may still be "
                "running, or the venues are down; /status shows how fresh the data is.",
            )

    return wrapped


async def reply(update: Update, text_html: str, **kwargs: object) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_html(text_html, **kwargs)  # type: ignore[arg-type]


async def reject(update: Update, command: str, problem: str) -> None:
    c = USAGE[command]
    await reply(
        update,
        f"⚠️ {html.escape(problem)}\nUsage: <code>{html.escape(c.usage)}</code>\n"
        f"Example: <code>{html.escape(c.example)}</code>",
    )


def _args(context: ContextTypes.DEFAULT_TYPE) -> list[str]:
    return list(context.args or [])


def _symbol(context: ContextTypes.DEFAULT_TYPE, text: str) -> str:
    try:
        return parse_symbol(text, services(context).source.symbols)
    except SymbolError as e:
        raise InputError(str(e)) from None


def _window(text: str | None, default: str = "1d") -> str:
    if text is None:
        return default
    w = text.strip().lower()
    if w not in WINDOWS:
        raise InputError(f"window must be one of {', '.join(WINDOWS)}")
    return w


def _number(text: str, what: str) -> float:
    cleaned = text.strip().replace(",", "").replace("_", "").lower().removesuffix("x")
    try:
        value = float(cleaned)
    except ValueError:
        raise InputError(f"{what} must be a number, not {text[:20]!r}") from None
    return value


def map_keyboard(symbol: str, window: str) -> InlineKeyboardMarkup:
    base = symbol.split("/")[0]
    row = [
        InlineKeyboardButton(("• " if w == window else "") + w, callback_data=f"map|{base}|{w}")
        for w in WINDOWS
    ]
    row.append(InlineKeyboardButton("🔄 Refresh", callback_data=f"map|{base}|{window}"))
    return InlineKeyboardMarkup([row])


def _register(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return False
    s = services(context)
    _, new = users.register(
        s.db,
        chat.id,
        user.id if user else None,
        user.first_name if user else None,
        s.clock.now_ms(),
    )
    return new


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _register(update, context)
    name = update.effective_user.first_name if update.effective_user else "trader"
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("📊 BTC map", callback_data="map|BTC|1d"),
                InlineKeyboardButton("📊 ETH map", callback_data="map|ETH|1d"),
            ],
            [InlineKeyboardButton("❓ All commands", callback_data="help")],
        ]
    )
    await reply(
        update,
        f"Hi {html.escape(name or 'trader')}! I draw <b>liquidation maps</b> for crypto "
        "perpetuals: where leveraged longs (below price) and shorts (above) would be "
        "force-closed.\n\n"
        "Try <code>/map BTC</code> for the chart, or check a trade before you take it:\n"
        "<code>/check BTC long 116000 20</code>\n\nSet your zone for digests: "
        "<code>/tz Europe/Berlin</code>.",
        reply_markup=keyboard,
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, help_html())


async def _send_map(
    update: Update, context: ContextTypes.DEFAULT_TYPE, symbol: str, window: str
) -> None:
    s = services(context)
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_PHOTO)
    report = await s.maps.report(symbol, window)
    png = await s.maps.chart(report)
    if update.effective_message is not None:
        await update.effective_message.reply_photo(
            png,
            caption=caption_html(report),
            parse_mode=ParseMode.HTML,
            reply_markup=map_keyboard(symbol, window),
        )


@needs_market
async def map_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = _args(context)
    try:
        if not args or len(args) > 2:
            raise InputError("tell me which symbol" if not args else "too many arguments")
        symbol = _symbol(context, args[0])
        window = _window(args[1] if len(args) > 1 else None)
    except InputError as e:
        await reject(update, "map", str(e))
        return
    await _send_map(update, context, symbol, window)


@needs_market
async def heatmap_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = _args(context)
    try:
        if not args or len(args) > 2:
            raise InputError("tell me which symbol" if not args else "too many arguments")
        symbol = _symbol(context, args[0])
        window = _window(args[1] if len(args) > 1 else None, default="7d")
    except InputError as e:
        await reject(update, "heatmap", str(e))
        return
    s = services(context)
    if update.effective_chat is not None:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.UPLOAD_PHOTO)
    png = await s.maps.heatmap(symbol, window)
    if update.effective_message is not None:
        await update.effective_message.reply_photo(
            png,
            caption=f"<b>{html.escape(symbol)}</b> liquidation heatmap, {html.escape(window)}: "
            "brighter = more liquidations resting at that price at that time.",
            parse_mode=ParseMode.HTML,
        )


def parse_position(
    context: ContextTypes.DEFAULT_TYPE, args: list[str], extra: int = 0
) -> tuple[str, str, float, float, list[str]]:
    """SYMBOL long|short ENTRY LEVERAGE [+ ``extra`` optional args]."""
    if len(args) < 4:
        raise InputError("I need the symbol, long or short, the entry price and the leverage")
    if len(args) > 4 + extra:
        raise InputError("too many arguments")
    symbol = _symbol(context, args[0])
    side = args[1].strip().lower()
    if side not in ("long", "short"):
        raise InputError(f"the side must be long or short, not {args[1][:20]!r}")
    entry = _number(args[2], "the entry price")
    leverage = _number(args[3], "the leverage")
    return symbol, side, entry, leverage, args[4:]


@needs_market
async def check_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    s = services(context)
    try:
        symbol, side, entry, leverage, _ = parse_position(context, _args(context))
        report = await s.maps.report(symbol, "1d")
        result = check_position(report, side, entry, leverage)
    except (InputError, CheckError) as e:
        await reject(update, "check", str(e))
        return
    await reply(update, check_html(result, report))


async def status_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    s = services(context)
    now = s.clock.now_ms()
    source = "demo replay of bundled real data" if s.settings.market_source == "demo" else "live"
    lines = [f"<b>Market data</b>: {html.escape(source)}"]
    lines.append(f"Market time: {fmt.when(now)}")
    if s.settings.market_source == "demo":
        lines.append(f"Replay speed: {s.settings.replay_speed:g}x real time")
    for row in s.source.status(now):
        age = (
            "no data" if row.last_data is None else f"{(now - row.last_data) / 60_000:.0f} min old"
        )
        flag = " ⚠️ stale" if row.stale else ""
        lines.append(
            html.escape(f"{row.venue} {row.symbol.split('/')[0]}: {age}{flag}")
            + (f" ({html.escape(row.note)})" if row.note else "")
        )
    m = s.maps.settings
    tiers = ", ".join(f"{t:g}x" for t in sorted(m.tier_weights))
    lines.append(
        f"Model: OI-delta seeding (volume proxy without OI), tiers {html.escape(tiers)}, "
        f"buckets {m.bucket_pct:g}%, refresh every {s.settings.refresh_minutes:g} min"
    )
    await reply(update, "\n".join(lines))


async def tz_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = _args(context)
    if len(args) != 1:
        await reject(
            update, "tz", "tell me one IANA time zone name" if not args else "too many arguments"
        )
        return
    zone = args[0].strip()
    try:
        if not zone or len(zone) > 64 or ".." in zone or zone.startswith("/"):
            raise ZoneInfoNotFoundError(zone)
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # 'Europe' is a folder: OSError
        await reject(update, "tz", f"{zone[:40]!r} is not a time zone I know (try Europe/London, "
                     "America/New_York, Asia/Singapore)")  # fmt: skip
        return
    _register(update, context)
    s = services(context)
    chat = update.effective_chat
    assert chat is not None
    users.update(s.db, chat.id, tz=zone)
    await reply(
        update,
        f"Time zone set to <b>{html.escape(zone)}</b>. "
        f"It is {html.escape(fmt.when(s.clock.now_ms(), zone))} there (market time).",
    )


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, "I don't know that command. Send /help for the list.")


async def not_allowed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, "Sorry, this bot is private.")


@needs_market
async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Inline buttons: ``map|BASE|WINDOW`` switches window or refreshes; ``help``."""
    query = update.callback_query
    if query is None:
        return
    s = services(context)
    chat = update.effective_chat
    if s.settings.allowed_chat_ids and (chat is None or chat.id not in s.settings.allowed_chat_ids):
        await query.answer("Sorry, this bot is private.")
        return
    from bot.trade_handlers import trade_button

    if await trade_button(update, context):
        return
    data = (query.data or "").split("|")
    if data == ["help"]:
        await query.answer()
        await reply(update, help_html())
        return
    if len(data) != 3 or data[0] != "map":
        await query.answer("That button has expired.")
        return
    try:
        symbol = _symbol(context, data[1])
        window = _window(data[2])
    except InputError:
        await query.answer("That button has expired.")
        return
    await query.answer(f"{symbol.split('/')[0]} {window}…")
    message = query.message
    report = await s.maps.report(symbol, window)
    png = await s.maps.chart(report)
    keyboard = map_keyboard(symbol, window)
    if message is None or not getattr(message, "photo", None):
        await _send_map(update, context, symbol, window)  # a button on a text message
        return
    try:
        await query.edit_message_media(
            InputMediaPhoto(png, caption=caption_html(report), parse_mode=ParseMode.HTML),
            reply_markup=keyboard,
        )
    except BadRequest as e:
        if "not modified" not in str(e).lower():
            raise


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One error handler: log (no secrets: PTB errors carry no token) and answer politely."""
    log.error("handler failed: %s", context.error, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(
                "Sorry, something went wrong on my side. Please try again in a minute."
            )
        except Exception:  # the apology itself failed (network, blocked): nothing more to do
            log.warning("could not send the error apology")
