"""Commands that make the bot watch for a trader: positions, watches, alert rules, digests,
quiet hours and mute. Same rule as every handler: a rejected command stores nothing."""

from __future__ import annotations

import html
import math
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from alerts.catalogue import CATALOGUE_BY_NAME, MODE_NAMES, RULE_CATALOGUE
from bot.parsing import InputError, parse_number
from bot.pipeline.digest_pass import queue_digest
from bot.telegram.common import (
    chat_id,
    command_args,
    needs_market,
    position_args,
    register,
    reject,
    reply,
    symbol_arg,
)
from bot.telegram.context import Context, services
from bot.telegram.jobs import flush
from bot.telegram.keyboards import position_keyboard
from bot.views import fmt
from bot.views.check import CheckError, check_html, check_position
from bot.views.positions import entry_snapshot, lfr_now, post_trade_html
from bot.views.summary import cluster_line
from storage import alert_settings, subscriptions, users

ALERT_WINDOW = "1d"
MAX_SIZE_USD = 1e10
MAX_OPEN = 50  # positions and watches per chat: enough for a trader, bounded for the bot
MODES = tuple(MODE_NAMES.values())  # off, on, silent


@needs_market
async def open_command(update: Update, context: Context) -> None:
    s = services(context)
    try:
        symbol, side, entry, leverage, rest = position_args(context, command_args(context), extra=1)
        size = parse_number(rest[0], "the size (USD)") if rest else None
        if size is not None and not (math.isfinite(size) and 0 < size <= MAX_SIZE_USD):
            raise InputError("the size must be a positive amount in USD")
        report = await s.maps.report(symbol, ALERT_WINDOW)
        check = check_position(report, side, entry, leverage, size)
        if len(subscriptions.open_for_chat(s.db, chat_id(update))) >= MAX_OPEN:
            raise InputError(f"you already follow {MAX_OPEN} positions and watches; /close some")
    except (InputError, CheckError) as e:
        await reject(update, "open", str(e))
        return
    register(update, context)
    sub = subscriptions.open_position(
        s.db, chat_id(update), symbol, side, entry, leverage, size, check.liquidation_price,
        entry_snapshot(report, side), s.clock.now_ms(),
    )  # fmt: skip
    await reply(
        update,
        f"✅ Watching position <b>#{sub.id}</b>. I'll alert you when the map turns against it.\n\n"
        + check_html(check, report),
        reply_markup=position_keyboard(sub.id, False),
    )


@needs_market
async def positions_command(update: Update, context: Context) -> None:
    s = services(context)
    subs = [x for x in subscriptions.open_for_chat(s.db, chat_id(update)) if x.kind == "position"]
    if not subs:
        await reply(
            update, "No open positions. Register one with <code>/open BTC long 116000 20</code>."
        )
        return
    for sub in subs:
        report = await s.maps.report(sub.symbol, ALERT_WINDOW)
        assert sub.side is not None and sub.entry is not None
        now = lfr_now(report, sub.side)
        then = sub.entry_snapshot.get("lfr")
        lp = sub.liquidation_price or math.nan
        below, above = report.nearest(1)
        nearest = "; ".join(cluster_line(c, report.price) for c in below + above) or "none"
        worse = " ⚠️" if then is not None and then >= 1 and now < 1 else ""
        text = (
            f"<b>#{sub.id} {html.escape(sub.symbol.split('/')[0])} {sub.side}</b> "
            f"{html.escape(fmt.price(sub.entry))} x{sub.leverage:g}"
            + (" (muted)" if sub.muted else "")
            + f"\nPrice {html.escape(fmt.price(report.price))} "
            f"({html.escape(fmt.pct((report.price / sub.entry - 1) * 100))} since entry)"
            f"\nFuel ratio {html.escape(fmt.ratio(now))} now vs "
            f"{html.escape(fmt.ratio(then) if then is not None else 'n/a')} at entry{worse}"
            f"\nLiquidation {html.escape(fmt.price(lp))} "
            f"({html.escape(fmt.pct((lp / report.price - 1) * 100))} away)"
            f"\nNearest clusters: {html.escape(nearest)}"
        )
        await reply(update, text, reply_markup=position_keyboard(sub.id, sub.muted))


def _own_open(
    context: Context, chat_id: int, text: str
) -> subscriptions.Subscription:
    raw = text.strip().lstrip("#")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:  # '²'.isdigit() is True
        raise InputError("give the position number, as shown by /positions (e.g. /close 3)")
    sub = subscriptions.get(services(context).db, int(raw))
    if sub is None or sub.chat_id != chat_id or sub.closed_at is not None or sub.kind != "position":
        raise InputError(f"you have no open position #{raw}; see /positions")
    return sub


@needs_market
async def close_command(update: Update, context: Context) -> None:
    args = command_args(context)
    try:
        if len(args) != 1:
            raise InputError("give one position number" if not args else "too many arguments")
        sub = _own_open(context, chat_id(update), args[0])
    except InputError as e:
        await reject(update, "close", str(e))
        return
    await _close(update, context, sub)


async def _close(
    update: Update, context: Context, sub: subscriptions.Subscription
) -> None:
    s = services(context)
    now = s.clock.now_ms()
    subscriptions.close(s.db, sub.id, now)
    report = await s.maps.report(sub.symbol, "30d")
    snap = s.source.snapshot(sub.symbol, "30d", s.maps.tick())
    await reply(update, post_trade_html(sub, report, snap))


async def _one_symbol(
    update: Update, context: Context, command: str
) -> str | None:
    """The single SYMBOL argument of ``command``, or None after telling the user what is wrong."""
    args = command_args(context)
    try:
        if len(args) != 1:
            raise InputError("tell me one symbol" if not args else "too many arguments")
        return symbol_arg(context, args[0])
    except InputError as e:
        await reject(update, command, str(e))
        return None


async def watch_command(update: Update, context: Context) -> None:
    symbol = await _one_symbol(update, context, "watch")
    if symbol is None:
        return
    s = services(context)
    if len(subscriptions.open_for_chat(s.db, chat_id(update))) >= MAX_OPEN:
        await reject(update, "watch", f"you already follow {MAX_OPEN} positions and watches")
        return
    register(update, context)
    _, created = subscriptions.add_watch(s.db, chat_id(update), symbol, s.clock.now_ms())
    base = html.escape(symbol.split("/")[0])
    if created:
        await reply(update, f"👀 Watching <b>{base}</b>: cluster edges, OI drops, funding, "
                    "squeezes and asymmetry. /unwatch " + base + " to stop.")  # fmt: skip
    else:
        await reply(update, f"You already watch <b>{base}</b>.")


async def unwatch_command(update: Update, context: Context) -> None:
    symbol = await _one_symbol(update, context, "unwatch")
    if symbol is None:
        return
    s = services(context)
    found = [x for x in subscriptions.open_for_chat(s.db, chat_id(update))
             if x.kind == "watch" and x.symbol == symbol]  # fmt: skip
    base = html.escape(symbol.split("/")[0])
    if not found:
        await reply(update, f"You were not watching <b>{base}</b>.")
        return
    for w in found:
        subscriptions.close(s.db, w.id, s.clock.now_ms())
    await reply(update, f"Stopped watching <b>{base}</b>.")


def _rule(text: str) -> str:
    key = text.strip().lower().replace("-", "_")
    aliases = {"edge": "cluster_edge", "lfr": "lfr_degraded", "oi": "oi_drop",
               "funding": "funding_extreme", "lp": "own_lp_in_cluster"}  # fmt: skip
    key = aliases.get(key, key)
    if key not in CATALOGUE_BY_NAME:
        raise InputError(f"unknown rule; rules: {', '.join(CATALOGUE_BY_NAME)}")
    return key


def alerts_view(
    context: Context, chat_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    mine = alert_settings.for_chat(services(context).db, chat_id)
    lines = ["<b>Alert rules</b> (tap to switch: on → silent → off)"]
    rows = []
    for rule in RULE_CATALOGUE:
        mode, threshold = mine.get(rule.name, (None, None))
        mode = mode or "on"
        value = rule.default if threshold is None else threshold
        lines.append(
            f"{'🟢' if mode == 'on' else '🔕' if mode == 'silent' else '⚪'} <b>{rule.title}</b> "
            f"<code>{rule.name}</code>: {mode}, threshold {value:g} {html.escape(rule.unit)}"
            f" ({'/'.join(rule.applies_to)}s)\n  {html.escape(rule.description)}"
        )
        order = {"on": "silent", "silent": "off", "off": "on"}
        nxt = order.get(mode, "on")
        rows.append([InlineKeyboardButton(f"{rule.title}: {mode} → {nxt}",
                                          callback_data=f"alert|{rule.name}|{nxt}")])  # fmt: skip
    lines.append("Change a threshold: <code>/alerts set cluster_edge 0.8</code>")
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def alerts_command(update: Update, context: Context) -> None:
    args = command_args(context)
    chat = chat_id(update)
    if not args:
        text, keyboard = alerts_view(context, chat)
        await reply(update, text, reply_markup=keyboard)
        return
    try:
        if args[0].lower() != "set" or len(args) != 3:
            raise InputError("use /alerts, or /alerts set RULE VALUE")
        rule = _rule(args[1])
        value = parse_number(args[2], "the threshold")
        if not (math.isfinite(value) and 0 < value <= 1000):
            raise InputError("the threshold must be a positive number")
    except InputError as e:
        await reject(update, "alerts", str(e))
        return
    register(update, context)
    alert_settings.set_threshold(services(context).db, chat, rule, value)
    info = CATALOGUE_BY_NAME[rule]
    await reply(
        update, f"{html.escape(info.title)}: threshold set to {value:g} {html.escape(info.unit)}."
    )


@needs_market
async def digest_command(update: Update, context: Context) -> None:
    args = [a.lower() for a in command_args(context)]
    if len(args) != 1 or args[0] not in ("on", "off", "now"):
        await reject(update, "digest", "choose on, off or now")
        return
    register(update, context)
    s = services(context)
    chat = chat_id(update)
    if args[0] == "now":
        user = users.get(s.db, chat)
        assert user is not None
        if not subscriptions.open_for_chat(s.db, chat):
            await reply(update, "Nothing to digest yet: /watch a symbol or /open a position first.")
            return
        slot = f"now-{s.clock.now_ms()}"
        if not await queue_digest(s, user, s.clock.now_ms(), slot=slot, quiet_ok=True):
            await reply(update, "⚠️ No map for your symbols right now; /status shows the data.")
        else:
            await flush(context)
        return
    users.update(s.db, chat, digest=int(args[0] == "on"))
    await reply(update, f"4-hourly digest {'on' if args[0] == 'on' else 'off'}.")


_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")  # ASCII: \d takes '١' and '１' too


async def quiet_command(update: Update, context: Context) -> None:
    args = command_args(context)
    try:
        if len(args) != 1:
            raise InputError("give one range like 23:00-07:00, or off")
        if args[0].lower() == "off":
            start = end = None
        else:
            parts = args[0].split("-")
            if len(parts) != 2 or not all(_HHMM.match(p) for p in parts) or parts[0] == parts[1]:
                raise InputError("quiet hours look like 23:00-07:00 (24-hour clock, your zone)")
            start, end = parts
    except InputError as e:
        await reject(update, "quiet", str(e))
        return
    register(update, context)
    s = services(context)
    users.update(s.db, chat_id(update), quiet_start=start, quiet_end=end)
    user = users.get(s.db, chat_id(update))
    zone = html.escape(user.tz if user else "UTC")
    if start is None:
        await reply(update, "Quiet hours off.")
    else:
        await reply(
            update,
            f"Quiet hours {start}-{end} ({zone}): alerts are held (or sent silently, per rule "
            "mode) and digests skipped. /tz to change the zone.",
        )


_DURATION = re.compile(r"^([0-9]{1,4})(m|h|d)$")


async def mute_command(update: Update, context: Context) -> None:
    args = [a.lower() for a in command_args(context)]
    try:
        if len(args) != 1:
            raise InputError("give a duration like 30m, 2h or 1d, or off")
        if args[0] == "off":
            until = None
        else:
            m = _DURATION.match(args[0])
            if not m:
                raise InputError("a duration looks like 30m, 2h or 1d")
            minutes = int(m.group(1)) * {"m": 1, "h": 60, "d": 1440}[m.group(2)]
            if not 0 < minutes <= 30 * 1440:
                raise InputError("mute for between 1 minute and 30 days")
            until = services(context).clock.now_ms() + minutes * 60_000
    except InputError as e:
        await reject(update, "mute", str(e))
        return
    register(update, context)
    s = services(context)
    users.update(s.db, chat_id(update), muted_until=until)
    if until is None:
        await reply(update, "Alerts unmuted.")
    else:
        await reply(update, f"🔕 Alerts muted for {html.escape(args[0])}. /mute off to undo.")


async def alert_button(update: Update, context: Context) -> None:
    """``alert|RULE|MODE``: switches one alert rule (on -> silent -> off) and redraws the list."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split("|")
    if len(parts) != 3 or parts[1] not in CATALOGUE_BY_NAME or parts[2] not in MODES:
        await query.answer("That button has expired.")
        return
    chat = chat_id(update)
    if users.get(services(context).db, chat) is None:  # forged: this chat never started the bot
        await query.answer("Send /start first.")
        return
    alert_settings.set_mode(services(context).db, chat, parts[1], parts[2])
    await query.answer(f"{CATALOGUE_BY_NAME[parts[1]].title}: {parts[2]}")
    text, keyboard = alerts_view(context, chat)
    await query.edit_message_text(text, reply_markup=keyboard)


@needs_market
async def position_button(update: Update, context: Context) -> None:
    """``pos|close|ID`` closes the position (with the post-trade note); ``pos|mute|ID`` and
    ``pos|unmute|ID`` switch its alerts."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split("|")
    if len(parts) != 3 or parts[1] not in ("close", "mute", "unmute"):
        await query.answer("That button has expired.")
        return
    try:
        sub = _own_open(context, chat_id(update), parts[2])
    except InputError:
        await query.answer("That position is already closed.")
        return
    if parts[1] == "close":
        await query.answer(f"Closing #{sub.id}")
        await _close(update, context, sub)
        return
    subscriptions.set_muted(services(context).db, sub.id, parts[1] == "mute")
    await query.answer(f"#{sub.id} {'muted' if parts[1] == 'mute' else 'unmuted'}")
    await query.edit_message_reply_markup(position_keyboard(sub.id, parts[1] == "mute"))
