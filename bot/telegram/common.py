"""What every handler shares: replies, the usage reply for bad input, the typed argument
helpers and the "no map right now" guard. Both handler modules import this one (never each
other)."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Coroutine
from typing import Any

from sqlite_utils import Database
from telegram import Update

from alerts.catalogue import LIQUIDATION_WARNING
from bot.parsing import InputError, PositionArgs, parse_position, parse_symbol
from bot.telegram.commands import COMMANDS
from bot.telegram.context import Context
from bot.telegram.keyboards import symbol_keyboard
from bot.views.check import DEFAULT_WARNING_PCT
from liqmap import ModelInputError
from market.snapshot import MarketDataError
from storage import alert_settings, users

USAGE = {c.name: c for c in COMMANDS}
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


def warning_pct(db: Database, chat: int) -> float | None:
    """The chat's liquidation-warning threshold (% in 4 h; the default unless set), None when
    the chat turned the warning off: what the /check and /open replies promise."""
    mode, threshold = alert_settings.for_chat(db, chat).get(LIQUIDATION_WARNING, (None, None))
    if mode == "off":
        return None
    return DEFAULT_WARNING_PCT if threshold is None else threshold


def needs_market(handler: Handler) -> Handler:
    """No map can be drawn right now (first backfill still running, every venue down, a time
    outside the data): say so plainly instead of the generic apology."""

    @functools.wraps(handler)
    async def wrapped(update: Update, context: Context) -> None:
        try:
            await handler(update, context)
        except (MarketDataError, ModelInputError) as e:
            if update.callback_query is not None:
                await update.callback_query.answer("No map right now", show_alert=False)
            await reply(
                update,
                f"⚠️ No map right now: {html.escape(str(e))}\nThe first refresh may still be "
                "running, or the venues are down; /status shows how fresh the data is.",
            )

    return wrapped


async def reply(update: Update, text_html: str, **kwargs: Any) -> None:
    """Answer in the chat the update came from (HTML is the application's default mode)."""
    if update.effective_message is not None:
        await update.effective_message.reply_html(text_html, **kwargs)


async def reject(update: Update, command: str, problem: str, **kwargs: Any) -> None:
    """Bad input: say what is wrong, the usage and an example; nothing was stored."""
    c = USAGE[command]
    await reply(
        update,
        f"⚠️ {html.escape(problem)}\nUsage: <code>{html.escape(c.usage)}</code>\n"
        f"Example: <code>{html.escape(c.example)}</code>",
        **kwargs,
    )


def command_args(context: Context) -> list[str]:
    return list(context.args or [])


def symbol_arg(context: Context, text: str) -> str:
    """A symbol the bot follows, or :class:`InputError` with suggestions."""
    return parse_symbol(text, context.services.source.symbols)


async def ask_symbol(update: Update, context: Context, command: str, rest: list[str]) -> None:
    """A command that needs a symbol got none: buttons of the symbols the bot follows, each
    running the command with what was typed (the usage reply when it would not fit a button)."""
    bases = [s.split("/")[0] for s in context.services.source.symbols]
    markup = symbol_keyboard(command, rest, bases)
    if markup is None:
        await reject(update, command, "tell me which symbol")
        return
    register(update, context)  # the buttons answer only chats the bot knows
    await reply(update, f"Which symbol? (<code>/{command} BTC ...</code>)", reply_markup=markup)


def chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def register(update: Update, context: Context) -> bool:
    """Record the chat as a user (idempotent); True the first time."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return False
    s = context.services
    _, new = users.register(
        s.db,
        chat.id,
        user.id if user else None,
        user.first_name if user else None,
        s.clock.now_ms(),
    )
    return new


def position_args(
    context: Context,
    args: list[str],
    size: bool = False,
    risk: bool = False,
    stop: bool = False,
) -> PositionArgs:
    """SYMBOL long|short ENTRY LEVERAGE in any unambiguous order (``btc 20x long 116k``), with
    an optional size, ``risk 1%`` and the trader's own stop ``sl 112000`` where the command
    takes them."""
    return parse_position(args, context.services.source.symbols, size=size, risk=risk, stop=stop)


__all__ = [
    "InputError",
    "ask_symbol",
    "chat_id",
    "command_args",
    "needs_market",
    "position_args",
    "register",
    "reject",
    "reply",
    "symbol_arg",
]
