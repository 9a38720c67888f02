"""Real-liquidation commands: ``/liqs SYMBOL [1h|4h|24h]`` (what the venues' streams recorded)
and ``/skill SYMBOL`` (the map graded against them over the last 7 days)."""

from __future__ import annotations

import asyncio
import html

from telegram import Update

from bot.parsing import InputError
from bot.pipeline.liquidations import SKILL_DAYS, TooLittleData, grade_recent, recent_summary
from bot.telegram.common import ask_symbol, command_args, reject, reply, symbol_arg
from bot.telegram.context import Context, services
from bot.views.liqs import liqs_html, settings_line, skill_html
from market.liquidation_summary import WINDOWS_MS
from market.snapshot import MarketDataError
from storage import map_refits, users


def _zone(context: Context, update: Update) -> str:
    """The chat's time zone (UTC for a chat that never set one)."""
    chat = update.effective_chat
    user = users.get(services(context).db, chat.id) if chat is not None else None
    return user.tz if user is not None and user.tz else "UTC"


def parse_liqs_window(text: str | None) -> str:
    """1h, 4h or 24h (case-insensitive), or InputError."""
    if text is None:
        return "24h"
    w = text.strip().lower()
    if w not in WINDOWS_MS:
        raise InputError(f"window must be one of {', '.join(WINDOWS_MS)}")
    return w


async def liqs_command(update: Update, context: Context) -> None:
    """/liqs SYMBOL [1h|4h|24h]: real liquidations recorded, per venue, largest, where."""
    args = command_args(context)
    if not args:
        await ask_symbol(update, context, "liqs", [])
        return
    try:
        if not args or len(args) > 2:
            raise InputError("tell me which symbol" if not args else "too many arguments")
        symbol = symbol_arg(context, args[0])
        window = parse_liqs_window(args[1] if len(args) > 1 else None)
    except InputError as e:
        await reject(update, "liqs", str(e))
        return
    s = services(context)
    feed = s.liquidations
    if feed is None:
        await reply(
            update,
            "No liquidation feed runs in this mode (it runs with live market "
            "data); nothing was recorded.",
        )
        return
    statuses = feed.status()
    streaming = [st.venue for st in statuses if st.support != "none"]
    venues = [st.venue for st in statuses]
    summary = recent_summary(s.db, symbol, window, s.clock.now_ms(), venues)
    await reply(update, liqs_html(symbol, window, summary, streaming, _zone(context, update)))


async def skill_command(update: Update, context: Context) -> None:
    """/skill SYMBOL: how well the map placed the last 7 days' recorded liquidations."""
    args = command_args(context)
    if not args:
        await ask_symbol(update, context, "skill", [])
        return
    try:
        if len(args) != 1:
            raise InputError("tell me which symbol" if not args else "too many arguments")
        symbol = symbol_arg(context, args[0])
    except InputError as e:
        await reject(update, "skill", str(e))
        return
    s = services(context)
    now = s.clock.now_ms()
    try:  # a few seconds of numpy: off the event loop
        graded = await asyncio.to_thread(grade_recent, s.db, s.source, symbol, now)
    except (TooLittleData, MarketDataError) as e:
        await reply(
            update,
            f"No figure for {html.escape(symbol.split('/')[0])} yet: {html.escape(str(e))}.\n"
            f"/skill grades the map against the liquidations the bot recorded in the last "
            f"{SKILL_DAYS} days; <code>liqbot skill</code> grades it on the bundled real data.\n"
            + html.escape(settings_line(map_refits.history(s.db, symbol), _zone(context, update))),
        )
        return
    await reply(
        update,
        skill_html(graded.grade, symbol, graded.start_ms, graded.end_ms, graded.covered_ms)
        + "\n"
        + html.escape(settings_line(map_refits.history(s.db, symbol), _zone(context, update))),
    )
