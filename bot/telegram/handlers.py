"""Market commands and their buttons: /start, /help, /map, /heatmap, /check, /status, /tz.
Bad input gets a clear reply that says what is wrong and shows the right form; nothing is
stored from a rejected command."""

from __future__ import annotations

import functools
import html
import logging
import math
from zoneinfo import available_timezones

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop

from bot.parsing import (
    InputError,
    MissingSymbol,
    offset_label,
    parse_window,
    parse_zone,
    suggest_command,
    suggest_typo,
)
from bot.pipeline.health import check, health_lines
from bot.pipeline.liquidations import recorded_marks
from bot.pipeline.moves import volatility_at
from bot.pipeline.position_fate import chat_zone
from bot.pipeline.trader_levels import chat_levels
from bot.telegram import owner
from bot.telegram.commands import COMMANDS, help_html
from bot.telegram.common import (
    ask_symbol,
    chat_id,
    command_args,
    needs_market,
    position_args,
    register,
    reject,
    reply,
    symbol_arg,
    warning_pct,
)
from bot.telegram.context import Context, services
from bot.telegram.keyboards import map_keyboard, start_keyboard, webapp_link, webapp_row
from bot.tiers import TierError, looks_like_tiers, parse_tiers, tier_code, tier_note
from bot.views import fmt
from bot.views.check import (
    CheckError,
    check_html,
    check_position,
    own_stop_error,
    own_stop_html,
    size_advice,
)
from bot.views.liqs import feed_status_lines, marks_caption, swept_since_line
from bot.views.real_prints import RealLiquidations
from bot.views.report import MapReport
from bot.views.summary import caption_html
from storage import users

log = logging.getLogger(__name__)


async def start(update: Update, context: Context) -> None:
    """/start: a greeting, what the bot does, and buttons for the BTC and ETH maps and help."""
    register(update, context)
    name = update.effective_user.first_name if update.effective_user else "trader"
    keyboard = start_keyboard()
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


async def help_command(update: Update, context: Context) -> None:
    """/help: every command with its usage and an example."""
    await reply(update, help_html())


async def _send_map(
    update: Update,
    context: Context,
    symbol: str,
    window: str,
    tiers: tuple[float, ...] | None = None,
    stacked: bool = False,
) -> None:
    """The map chart with its caption (clusters, chains, risk) and the window/tier buttons."""
    s = services(context)
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_PHOTO)
    report = await s.maps.report(symbol, window, tiers=tiers)
    real = recorded_marks(s.db, symbol, window, report.liq.as_of)
    mine = chat_levels(s.db, chat.id, symbol) if chat is not None else ()
    zone = chat_zone(s, chat.id) if chat is not None else "UTC"
    png = await s.maps.chart(report, by_tier=stacked, real=real, levels=mine, zone=zone)
    if update.effective_message is not None:
        await update.effective_message.reply_photo(
            png,
            caption=caption_html(report, _marks(report, real), zone),
            reply_markup=map_keyboard(
                symbol, window, tier_code(tiers), stacked, _webapp(update, context, symbol, window)
            ),
        )


def _webapp(update: Update, context: Context, symbol: str, window: str) -> str | None:
    """The interactive map's URL for this chat: only with LIQBOT_WEBAPP_URL set and in a private
    chat (Telegram refuses ``web_app`` buttons elsewhere, and a page opened from a plain link
    has no Telegram login to show)."""
    base = services(context).settings.webapp_base
    chat = update.effective_chat
    if base is None or chat is None or chat.type != ChatType.PRIVATE:
        return None
    return webapp_link(base, symbol, window)


def _marks(report: MapReport, real: RealLiquidations | None) -> str:
    """The caption's lines on real prints: first whether they already crossed a listed cluster
    (the price quoted is a candle close; the feed is newer), then what the dots are."""
    if not real:
        return ""
    below, above = report.nearest(2)
    edges_below = [c.near_edge() for c in below]
    edges_above = [c.near_edge() for c in above]
    swept = swept_since_line(real, report.price, report.price_at, edges_below, edges_above)
    return "\n".join(x for x in (swept, marks_caption(real)) if x)


STACK_WORDS = ("stack", "stacked", "bytier", "by-tier", "tiers")


def map_options(args: list[str], default: str = "1d") -> tuple[str, tuple[float, ...] | None, bool]:
    """After the symbol, in any order: a window (7d), a tier slice (10-25x, 10,25x, 25x) and
    'stack' (bars stacked by tier)."""
    window: str | None = None
    tiers: tuple[float, ...] | None = None
    stacked = False
    for arg in args:
        word = arg.strip().lower()
        if word in STACK_WORDS:
            stacked = True
        elif looks_like_tiers(word):
            try:
                tiers = parse_tiers(word)
            except TierError as e:
                raise InputError(str(e)) from None
        elif window is None:
            window = parse_window(word)
        else:
            raise InputError(
                f"too many arguments: {arg[:20]!r} is not a tier slice (10-25x) or 'stack'"
            )
    return window or default, tiers, stacked


@needs_market
async def map_command(update: Update, context: Context) -> None:
    """/map SYMBOL [window] [tiers] [stack]: the liquidation map as a chart with a caption."""
    args = command_args(context)
    if not args:
        await ask_symbol(update, context, "map", [])
        return
    try:
        if not args or len(args) > 4:
            raise InputError("tell me which symbol" if not args else "too many arguments")
        symbol = symbol_arg(context, args[0])
        window, tiers, stacked = map_options(list(args[1:]))
    except InputError as e:
        await reject(update, "map", str(e))
        return
    await _send_map(update, context, symbol, window, tiers, stacked)


@needs_market
async def heatmap_command(update: Update, context: Context) -> None:
    """/heatmap SYMBOL [window] [tiers]: price x time liquidation intensity as a chart."""
    args = command_args(context)
    if not args:
        await ask_symbol(update, context, "heatmap", [])
        return
    try:
        if not args or len(args) > 3:
            raise InputError("tell me which symbol" if not args else "too many arguments")
        symbol = symbol_arg(context, args[0])
        window, tiers, _ = map_options(list(args[1:]), default="7d")
    except InputError as e:
        await reject(update, "heatmap", str(e))
        return
    s = services(context)
    if update.effective_chat is not None:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.UPLOAD_PHOTO)
    tick = s.maps.tick()
    real = recorded_marks(s.db, symbol, window, tick)
    chat = chat_id(update)
    mine, zone = chat_levels(s.db, chat, symbol), chat_zone(s, chat)
    png = await s.maps.heatmap(symbol, window, tiers, real=real, at=tick, levels=mine, zone=zone)
    sliced = f" ({html.escape(tier_note(tiers))} only)" if tiers and tier_note(tiers) else ""
    caption = (
        f"<b>{html.escape(fmt.market(symbol))}</b> liquidation heatmap, {html.escape(window)}"
        f"{sliced}: brighter = more liquidations resting at that price at that time."
    )
    if real:
        caption += "\n" + html.escape(marks_caption(real, heatmap=True))
    url = _webapp(update, context, symbol, window)
    if update.effective_message is not None:
        await update.effective_message.reply_photo(
            png,
            caption=caption,
            reply_markup=InlineKeyboardMarkup([webapp_row(url)]) if url else None,
        )


@needs_market
async def check_command(update: Update, context: Context) -> None:
    """/check: the pre-trade check (liquidation, clusters, suggested stop, risks, size advice)."""
    s = services(context)
    try:
        p = position_args(context, command_args(context), size=True, risk=True, stop=True)
        if p.size is not None and not (math.isfinite(p.size) and 0 < p.size <= 1e10):
            raise InputError("the size must be a positive amount in USD")
        if p.stop is not None and (problem := own_stop_error(p.side, p.entry, p.stop)):
            raise InputError(problem)
        advice_for = None
        if p.risk is not None:
            user = users.get(s.db, chat_id(update))
            account = user.account_usd if user else None
            advice_for = p.risk.usd(account)
            if advice_for is None:
                raise InputError(
                    "set your account size once with /account 10000, or give the "
                    "risk in USD: risk 200"
                )
        report = await s.maps.report(p.symbol, "1d")
        user = users.get(s.db, chat_id(update))
        result = check_position(
            report,
            p.side,
            p.entry,
            p.leverage,
            p.size,
            zone=user.tz if user else "UTC",
            own_stop=p.stop,  # sizing and risk judge the trader's stop when given
        )
    except MissingSymbol:
        await ask_symbol(update, context, "check", command_args(context))
        return
    except (InputError, CheckError) as e:
        await reject(update, "check", str(e))
        return
    advice = size_advice(result, advice_for) if advice_for is not None else None
    label = ""
    if p.risk is not None and advice_for is not None:
        label = fmt.usd(advice_for) + (
            f" = {p.risk.value:g}% of your account" if p.risk.percent else ""
        )
    vol = volatility_at(services(context), p.symbol, report.liq.as_of)
    zone = users.get(s.db, chat_id(update))
    tz, warn = zone.tz if zone else "UTC", warning_pct(s.db, chat_id(update))
    text = check_html(result, report, advice, label, vol, tz, warn)
    own = own_stop_html(result, p.stop, p.size)
    await reply(update, text + ("\n" + own if own else ""))


async def status_command(update: Update, context: Context) -> None:
    """/status: how fresh each venue's data is, the liquidation streams, the model in use."""
    s = services(context)
    now = s.clock.now_ms()
    source = "demo replay of bundled real data" if s.settings.market_source == "demo" else "live"
    lines = [f"<b>Market data</b>: {html.escape(source)}"]
    lines.append(f"Market time: {fmt.when(now)}")
    if s.settings.market_source == "demo":
        lines.append(f"Replay speed: {s.clock_speed:g}x real time")
    for row in s.source.status(now):
        age = (
            "no data" if row.last_data is None else f"{(now - row.last_data) / 60_000:.0f} min old"
        )
        flag = " ⚠️ stale" if row.stale else ""
        lines.append(
            html.escape(f"{row.venue} {row.symbol.split('/')[0]}: {age}{flag}")
            + (f" ({html.escape(row.note)})" if row.note else "")
        )
    lines.extend(f"⚠️ {html.escape(line)}" for line in s.source.optional_status())
    feed = s.liquidations.status() if s.liquidations is not None else []
    lines.extend(feed_status_lines(feed))
    m = s.maps.settings
    tiers = ", ".join(f"{t:g}x" for t in sorted(m.tier_weights))
    lines.append(
        f"Model: OI-delta seeding (volume proxy without OI), tiers {html.escape(tiers)}, "
        f"buckets {m.bucket_pct:g}%, refresh every {s.settings.refresh_minutes:g} min"
    )
    if owner.is_owner(update, context):  # the owner also sees what /healthz says
        lines += ["", *map(html.escape, health_lines(check(s)))]
    await reply(update, "\n".join(lines))


@functools.cache
def _zones() -> frozenset[str]:
    """The IANA zones a typed name, abbreviation or offset may mean."""
    return frozenset(available_timezones())


async def tz_command(update: Update, context: Context) -> None:
    """``/tz Europe/Berlin``, ``/tz berlin``, ``/tz CET``, ``/tz +3``; asks with buttons when
    a name fits several zones."""
    args = command_args(context)
    if not args:
        await reject(update, "tz", "tell me your time zone or city")
        return
    typed = " ".join(args)
    zone, choices = parse_zone(typed, _zones())
    if zone is None and choices:
        rows = [[InlineKeyboardButton(z, callback_data=f"tz|{z}")] for z in choices]
        await reply(
            update,
            f"Which zone did you mean by <code>{html.escape(typed[:40])}</code>?",
            reply_markup=InlineKeyboardMarkup(rows),
        )
        return
    if zone is None:
        await reject(
            update,
            "tz",
            f"{typed[:40]!r} is not a time zone I know (try Europe/London, berlin, CET or +3)",
        )
        return
    typed_offset = offset_label(typed)
    if typed_offset is not None and zone != "UTC" and fmt.zone_label(zone) != typed_offset:
        # 'utc+5:30' is stored as typed: every time then reads 'UTC+05:30', not the name of the
        # zone that keeps that offset (Asia/Kolkata), which the trader never typed
        zone = typed_offset
    await _set_zone(update, context, zone)


async def _set_zone(update: Update, context: Context, zone: str) -> None:
    """Store the chat's zone and say what time it is there, the zone written as every later
    time will write it (:func:`fmt.zone_label`)."""
    register(update, context)
    s = services(context)
    users.update(s.db, chat_id(update), tz=zone)
    label = fmt.zone_label(zone)
    await reply(
        update,
        f"Time zone set to <b>{html.escape(label)}</b>. "
        f"It is {html.escape(fmt.when(s.clock.now_ms(), zone))} there (market time); "
        "every time I show is in this zone.",
    )


async def tz_button(update: Update, context: Context) -> None:
    """``tz|ZONE``: the zone picked from the /tz choices."""
    query = update.callback_query
    assert query is not None
    zone = (query.data or "").partition("|")[2]
    if zone not in _zones():
        await query.answer("That button has expired.")
        return
    await query.answer(zone)
    await _set_zone(update, context, zone)


async def plain_text(update: Update, context: Context) -> None:
    """A message that is not a command (``map btc``, ``btc``, ``hi``, ``👉 /map btc``): a short
    helpful reply instead of silence."""
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    names = tuple(c.name for c in COMMANDS)
    guess = suggest_command(text[:200], services(context).source.symbols, names)
    if guess is not None:
        await reply(
            update,
            f"Commands start with a slash. Did you mean <code>{html.escape(guess)}"
            "</code>? Tap it to copy, or send /help for the list.",
        )
    else:
        hint = "Hi! I answer commands: try <code>/map BTC</code> or "
        hint += "<code>/check BTC long 116000 20</code>, or send /help for the list."
        await reply(update, hint)


async def unknown_command(update: Update, context: Context) -> None:
    """An unknown /command: "did you mean" the nearest one (``/mapp btc`` -> ``/map btc``),
    else a pointer to /help."""
    message = update.effective_message
    words = ((message.text or "") if message is not None else "")[:200].split()
    name = words[0].lstrip("/").split("@")[0] if words else ""
    guess = suggest_typo(name, tuple(c.name for c in COMMANDS)) if name.isascii() else None
    if guess is None:
        await reply(update, "I don't know that command. Send /help for the list.")
        return
    meant = " ".join([f"/{guess}", *words[1:]])
    await reply(
        update,
        f"I don't know /{html.escape(name[:30])}. Did you mean <code>{html.escape(meant)}</code>? "
        "Send /help for the list.",
    )


async def gate(update: Update, context: Context) -> None:
    """Allowlisted mode: any update from another chat gets one short answer and goes no
    further (runs in group -1, before every handler)."""
    allowed = context.services.settings.allowed_chat_ids
    chat = update.effective_chat
    if not allowed or (chat is not None and chat.id in allowed):
        return
    if update.callback_query is not None:
        await update.callback_query.answer("Sorry, this bot is private.")
    elif update.message is not None:
        await reply(update, "Sorry, this bot is private.")
    raise ApplicationHandlerStop


async def help_button(update: Update, context: Context) -> None:
    """The "All commands" button: the help text."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await reply(update, help_html())


async def expired_button(update: Update, context: Context) -> None:
    """Any button no handler claims (old keyboards, forged data) still gets an answer."""
    if update.callback_query is not None:
        await update.callback_query.answer("That button has expired.")


@needs_market
async def map_button(update: Update, context: Context) -> None:
    """``map|BASE|WINDOW[|TIERS|S]``: redraws the map in place for that window, tier slice and
    stacking (or refreshes it)."""
    query = update.callback_query
    assert query is not None
    s = services(context)
    data = (query.data or "").split("|")
    try:
        if len(data) not in (3, 5):
            raise InputError("bad button")
        symbol = symbol_arg(context, data[1])
        window = parse_window(data[2])
        tiers = parse_tiers(data[3]) if len(data) == 5 and data[3] else None
        stacked = len(data) == 5 and data[4] == "1"
    except (InputError, TierError):
        await query.answer("That button has expired.")
        return
    note = tier_note(tiers) if tiers else ""
    await query.answer(f"{symbol.split('/')[0]} {window} {note}".strip() + "…")
    message = query.message
    report = await s.maps.report(symbol, window, tiers=tiers)
    real = recorded_marks(s.db, symbol, window, report.liq.as_of)
    mine = chat_levels(s.db, chat_id(update), symbol)
    zone = chat_zone(s, chat_id(update))
    png = await s.maps.chart(report, by_tier=stacked, real=real, levels=mine, zone=zone)
    webapp = _webapp(update, context, symbol, window)
    keyboard = map_keyboard(symbol, window, tier_code(tiers), stacked, webapp)
    if message is None or not getattr(message, "photo", None):
        # a button on a text message
        await _send_map(update, context, symbol, window, tiers, stacked)
        return
    try:
        await query.edit_message_media(
            InputMediaPhoto(png, caption=caption_html(report, _marks(report, real), zone)),
            reply_markup=keyboard,
        )
    except BadRequest as e:
        if "not modified" not in str(e).lower():
            raise
