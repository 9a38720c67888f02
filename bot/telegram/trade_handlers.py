"""Commands that make the bot watch for a trader: positions, watches, alert rules, digests,
quiet hours and mute. Same rule as every handler: a rejected command stores nothing."""

from __future__ import annotations

import html
import math

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from alerts.catalogue import CATALOGUE_BY_NAME, MODE_NAMES, RULE_CATALOGUE
from alerts.findings import liquidation_first
from bot.parsing import (
    InputError,
    MissingSymbol,
    parse_duration,
    parse_number,
    parse_percent,
    parse_quiet,
)
from bot.pipeline.alert_pass import ALERT_WINDOW, MIN_CLUSTER, WAKE
from bot.pipeline.digest_pass import queue_digest
from bot.pipeline.moves import volatility_at
from bot.pipeline.position_fate import drop_held_for_ended, followup_hours, trade_note
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
from bot.telegram.jobs import flush
from bot.telegram.keyboards import far_entry_keyboard, liquidated_keyboard, position_keyboard
from bot.views import fmt
from bot.views.check import (
    CheckError,
    FarEntry,
    check_html,
    check_position,
    position_risk_line,
    position_risk_now,
)
from bot.views.distance import liquidation_distance
from bot.views.evidence import record_line
from bot.views.exit import pnl_lines
from bot.views.positions import entry_snapshot, lfr_now
from bot.views.report import MapReport
from bot.views.summary import cluster_line
from liqmap.model import is_proxy
from liqmap.times import HOUR_MS
from storage import alert_settings, subscriptions, users

MAX_SIZE_USD = 1e10
MAX_OPEN = 50  # positions and watches per chat: enough for a trader, bounded for the bot
MODES = tuple(MODE_NAMES.values())  # off, on, silent


async def _open(update: Update, context: Context, args: list[str], far_ok: bool = False) -> None:
    """Open a position from /open's arguments; an entry far from price asks for a button."""
    s = services(context)
    try:
        p = position_args(context, args, size=True, stop=True)
        size = p.size
        if size is not None and not (math.isfinite(size) and 0 < size <= MAX_SIZE_USD):
            raise InputError("the size must be a positive amount in USD")
        report = await s.maps.report(p.symbol, ALERT_WINDOW)
        zone = _zone(context, chat_id(update))
        if p.stop is not None and (problem := stop_problem(p.side, p.stop, report, zone)):
            raise InputError(problem)
        check = check_position(
            report, p.side, p.entry, p.leverage, size, far_ok, zone, own_stop=p.stop
        )
        if len(subscriptions.open_for_chat(s.db, chat_id(update))) >= MAX_OPEN:
            raise InputError(f"you already follow {MAX_OPEN} positions and watches; /close some")
    except FarEntry as e:
        again = " ".join(
            [p.symbol.split("/")[0], p.side, f"{p.entry:g}", f"{p.leverage:g}"]
            + ([f"{p.size:g}"] if p.size is not None else [])
            + ([f"sl {p.stop:g}"] if p.stop is not None else [])
        )
        markup = far_entry_keyboard(again) if len(again) <= 56 else None
        await reject(
            update,
            "open",
            f"{e}. If it is a limit entry, confirm with the button.",
            reply_markup=markup,
        )
        return
    except MissingSymbol:
        await ask_symbol(update, context, "open", args)
        return
    except (InputError, CheckError) as e:
        await reject(update, "open", str(e))
        return
    register(update, context)
    sub = subscriptions.open_position(
        s.db,
        chat_id(update),
        p.symbol,
        p.side,
        p.entry,
        p.leverage,
        size,
        check.liquidation_price,
        entry_snapshot(report, p.side),
        s.clock.now_ms(),
        checked_to=report.liq.as_of,
        stop_price=p.stop,
    )
    stop = (
        stop_set_html(sub, p.stop)
        if p.stop is not None
        else f"<code>/stop {sub.id} PRICE</code> sets a stop."
    )
    await reply(
        update,
        f"✅ Watching position <b>#{sub.id}</b>. I'll alert you when the map turns against it, "
        f"and tell you if it is liquidated. {stop}\n\n"
        + check_html(
            check,
            report,
            volatility=volatility_at(s, p.symbol, report.liq.as_of),
            zone=_zone(context, chat_id(update)),
            warning_pct=warning_pct(s.db, chat_id(update)),
        ),
        reply_markup=position_keyboard(sub.id, False),
    )


@needs_market
async def open_command(update: Update, context: Context) -> None:
    """/open: registers a position (after the same check as /check) and shows its check."""
    await _open(update, context, command_args(context))


@needs_market
async def open_far_button(update: Update, context: Context) -> None:
    """``openfar|ARGS``: the trader confirmed a limit entry far from price."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await _open(update, context, (query.data or "").partition("|")[2].split(), far_ok=True)


def _moment(report: MapReport, zone: str = "UTC") -> str:
    """The map moment every answer quotes: its time in the chat's zone."""
    return fmt.when(report.price_at, zone, "%H:%M %Z")


def _zone(context: Context, chat: int) -> str:
    user = users.get(services(context).db, chat)
    return user.tz if user is not None else "UTC"


def _liquidated_text(sub: subscriptions.Subscription, zone: str = "UTC") -> str:
    """How /positions shows a liquidated or stopped position: its fate, no advice."""
    which = "low" if sub.side == "long" else "high"
    return (
        f"<b>#{sub.id} {html.escape(sub.symbol.split('/')[0])} {sub.side}</b> "
        f"{html.escape(fmt.price(sub.entry))} x{(sub.leverage or 0):g}: 💀 <b>liquidated</b> at "
        f"~{html.escape(fmt.price(sub.liquidation_price))} ({which} "
        f"{html.escape(fmt.price(sub.exit_extreme))}, "
        f"{html.escape(fmt.when(sub.exit_at or 0, zone, '%Y-%m-%d %H:%M %Z'))}).\n"
        f"No advice for it any more. /close {sub.id} clears it, with PnL and the post-trade note."
    )


@needs_market
async def positions_command(update: Update, context: Context) -> None:
    """/positions: each open position with price, PnL, fuel ratio, liquidation and clusters."""
    s = services(context)
    subs = [x for x in subscriptions.open_for_chat(s.db, chat_id(update)) if x.kind == "position"]
    zone = _zone(context, chat_id(update))
    if not subs:
        await reply(
            update, "No open positions. Register one with <code>/open BTC long 116000 20</code>."
        )
        return
    for sub in subs:
        if sub.liquidated:
            await reply(
                update, _liquidated_text(sub, zone), reply_markup=liquidated_keyboard(sub.id)
            )
            continue
        report = await s.maps.report(sub.symbol, ALERT_WINDOW)
        assert sub.side is not None and sub.entry is not None
        now = lfr_now(report, sub.side)
        then = sub.entry_snapshot.get("lfr")
        lp = sub.liquidation_price or math.nan
        vol = volatility_at(s, sub.symbol, report.liq.as_of)
        below, above = report.nearest(1)
        proxy = is_proxy(report)  # relative units: never a `$`
        nearest = "; ".join(cluster_line(c, report.price, proxy) for c in below + above) or "none"
        worse = " ⚠️" if then is not None and then >= 1 and now < 1 else ""
        stop = ""
        if sub.stop_price is not None:
            away = fmt.pct((sub.stop_price / report.price - 1) * 100)
            stop = f"\nStop {html.escape(fmt.price(sub.stop_price))} ({html.escape(away)} away)"
        text = (
            f"<b>#{sub.id} {html.escape(sub.symbol.split('/')[0])} {sub.side}</b> "
            f"{html.escape(fmt.price(sub.entry))} x{sub.leverage:g}"
            + (" (muted)" if sub.muted else "")
            + f"\nPrice {html.escape(fmt.price(report.price))} at "
            f"{html.escape(_moment(report, zone))} "
            f"({html.escape(fmt.pct((report.price / sub.entry - 1) * 100))} since entry)"
            + "\n"
            + "\n".join(pnl_lines(sub, report.price))
            + f"\nFuel ratio {html.escape(fmt.ratio(now))} now vs "
            f"{html.escape(fmt.ratio(then) if then is not None else 'n/a')} at entry{worse}"
            + "\n"
            + html.escape(_cap(liquidation_distance(report.price, lp, vol)))
            + stop
            + f"\nNearest clusters: {html.escape(nearest)}"
            + f"\nMarket risk {report.risk.total:.0f}/100 | "
            + html.escape(
                position_risk_line(
                    position_risk_now(
                        report, sub.side, sub.entry, sub.leverage or 1.0, lp, sub.stop_price
                    )
                )
            )
        )
        await reply(update, text, reply_markup=position_keyboard(sub.id, sub.muted))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _own_open(context: Context, chat_id: int, text: str) -> subscriptions.Subscription:
    """The chat's own open position of that number, or InputError."""
    raw = text.strip().lstrip("#")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:  # '²'.isdigit() is True
        raise InputError("give the position number, as shown by /positions (e.g. /close 3)")
    sub = subscriptions.get(services(context).db, int(raw))
    if sub is None or sub.chat_id != chat_id or sub.closed_at is not None or sub.kind != "position":
        raise InputError(f"you have no open position #{raw}; see /positions")
    return sub


def _exit_price(text: str, price_now: float) -> float:
    """The exit price typed after /close ID (default: the map's price now)."""
    value = parse_number(text, "the exit price")
    if not (math.isfinite(value) and value > 0):
        raise InputError("the exit price must be a positive price")
    if abs(value / price_now - 1) > 0.5:
        raise InputError(
            f"exit {fmt.price(value)} is more than 50% from the price now "
            f"({fmt.price(price_now)}); check the number"
        )
    return value


@needs_market
async def close_command(update: Update, context: Context) -> None:
    """/close ID [EXIT_PRICE]: closes a position with PnL and the post-trade note."""
    args = command_args(context)
    s = services(context)
    try:
        if not args or len(args) > 2:
            raise InputError("give one position number" if not args else "too many arguments")
        sub = _own_open(context, chat_id(update), args[0])
        exit_price = None
        if len(args) == 2:
            if sub.liquidated:
                raise InputError(f"#{sub.id} was liquidated: send /close {sub.id} alone")
            report = await s.maps.report(sub.symbol, ALERT_WINDOW)
            exit_price = _exit_price(args[1], report.price)
    except InputError as e:
        await reject(update, "close", str(e))
        return
    await _close(update, context, sub, exit_price)


async def _close(
    update: Update,
    context: Context,
    sub: subscriptions.Subscription,
    exit_price: float | None = None,
) -> None:
    """Close at ``exit_price`` (default: the price of the map every answer quotes now; a
    liquidated position at its liquidation price): PnL, R, the note; the follow-up later."""
    s = services(context)
    now = s.clock.now_ms()
    report = await s.maps.report(sub.symbol, ALERT_WINDOW)
    if sub.liquidated:
        price, at = float(sub.liquidation_price or report.price), int(sub.exit_at or now)
    else:
        price, at = (exit_price if exit_price is not None else report.price), report.liq.as_of
    text = await trade_note(s, sub, price, at)
    hours = followup_hours(s)
    due = now + int(hours * HOUR_MS) if hours > 0 else None
    subscriptions.close(s.db, sub.id, now, exit_price=price, followup_due=due)
    drop_held_for_ended(s, sub.chat_id, now)
    later = f"\n<i>I'll look back at this exit in {hours:g} h.</i>" if due else ""
    await reply(update, text + later)


def stop_problem(side: str, stop: float, report: MapReport, zone: str) -> str | None:
    """Why ``stop`` cannot be a ``side`` position's stop against the price now, or None: the
    one check behind ``/stop ID PRICE`` and ``/open ... sl PRICE``."""
    if not (math.isfinite(stop) and stop > 0):
        return "the stop must be a positive price"
    below = side == "long"
    if (below and stop >= report.price) or (not below and stop <= report.price):
        where = "below" if below else "above"
        now = f"{fmt.price(report.price)}, {_moment(report, zone)}"
        return f"a {side}'s stop sits {where} the price now ({now})"
    if abs(stop / report.price - 1) > 0.5:
        return "the stop is more than 50% from the price now; check the number"
    return None


def stop_set_html(sub: subscriptions.Subscription, stop: float) -> str:
    """What a stop set on ``sub`` means: its distance from entry, 1R in margin, and a warning
    when the liquidation comes first (the reply of /stop, and of /open with ``sl``)."""
    assert sub.entry is not None and sub.leverage is not None and sub.side is not None
    risk_pct = abs(stop / sub.entry - 1) * 100
    warn = ""
    lp = sub.liquidation_price
    if lp is not None and liquidation_first(sub.side, lp, stop):
        warn = f"\n⚠️ The liquidation ({html.escape(fmt.price(lp))}) comes before this stop."
    return (
        f"🛑 Stop of #{sub.id} at <b>{html.escape(fmt.price(stop))}</b> ({risk_pct:.2f}% from "
        f"entry, {risk_pct * sub.leverage:.0f}% of margin = 1R). I'll tell you when it is hit."
        + warn
    )


@needs_market
async def stop_command(update: Update, context: Context) -> None:
    """``/stop ID PRICE`` (or ``off``): the exit is detected when price reaches it."""
    args = command_args(context)
    s = services(context)
    try:
        if len(args) != 2:
            raise InputError("give the position number and the stop price")
        sub = _own_open(context, chat_id(update), args[0])
        if sub.liquidated:
            raise InputError(f"#{sub.id} was liquidated; /close {sub.id} clears it")
        stop: float | None = None
        if args[1].strip().lower() != "off":
            report = await s.maps.report(sub.symbol, ALERT_WINDOW)
            stop = parse_number(args[1], "the stop price")
            assert sub.side is not None
            problem = stop_problem(sub.side, stop, report, _zone(context, sub.chat_id))
            if problem:
                raise InputError(problem)
    except InputError as e:
        await reject(update, "stop", str(e))
        return
    subscriptions.set_stop(s.db, sub.id, stop)
    if stop is None:
        await reply(update, f"Stop of #{sub.id} removed.")
        return
    await reply(update, stop_set_html(sub, stop))


async def account_command(update: Update, context: Context) -> None:
    """``/account 10000``: the account size that ``risk 1%`` in /check is a share of."""
    args = command_args(context)
    s = services(context)
    if not args:
        user = users.get(s.db, chat_id(update))
        size = user.account_usd if user else None
        await reply(
            update,
            "No account size set: <code>/account 10000</code>."
            if size is None
            else f"Account size: {html.escape(fmt.usd(size))}.",
        )
        return
    try:
        if len(args) != 1:
            raise InputError("give one amount in USD")
        size = parse_number(args[0], "the account size")
        if not (math.isfinite(size) and 0 < size <= MAX_SIZE_USD):
            raise InputError("the account size must be a positive amount in USD")
    except InputError as e:
        await reject(update, "account", str(e))
        return
    register(update, context)
    users.update(s.db, chat_id(update), account_usd=size)
    example = "<code>/check BTC long 116000 20 risk 1%</code>"
    await reply(
        update, f"Account size set to {html.escape(fmt.usd(size))}. {example} sizes for 1% of it."
    )


async def _one_symbol(update: Update, context: Context, command: str) -> str | None:
    """The single SYMBOL argument of ``command``, or None after telling the user what is wrong."""
    args = command_args(context)
    if not args:
        await ask_symbol(update, context, command, [])
        return None
    try:
        if len(args) != 1:
            raise InputError("tell me one symbol" if not args else "too many arguments")
        return symbol_arg(context, args[0])
    except InputError as e:
        await reject(update, command, str(e))
        return None


async def watch_command(update: Update, context: Context) -> None:
    """/watch SYMBOL: symbol-wide alerts (cluster edges, OI drops, funding, squeezes)."""
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
        await reply(
            update,
            f"👀 Watching <b>{base}</b>: cluster edges, OI drops, funding, "
            "squeezes and asymmetry. /unwatch " + base + " to stop.",
        )
    else:
        await reply(update, f"You already watch <b>{base}</b>.")


async def unwatch_command(update: Update, context: Context) -> None:
    """/unwatch SYMBOL: stops those alerts."""
    symbol = await _one_symbol(update, context, "unwatch")
    if symbol is None:
        return
    s = services(context)
    found = [
        x
        for x in subscriptions.open_for_chat(s.db, chat_id(update))
        if x.kind == "watch" and x.symbol == symbol
    ]
    base = html.escape(symbol.split("/")[0])
    if not found:
        await reply(update, f"You were not watching <b>{base}</b>.")
        return
    for w in found:
        subscriptions.close(s.db, w.id, s.clock.now_ms())
    await reply(update, f"Stopped watching <b>{base}</b>.")


def _amount(text: str) -> float:
    """'5M', '$500k', '2.5B', '0' -> USD."""
    try:
        value = parse_number(text, "the minimum")
    except InputError:
        raise InputError("give an amount like 5M, 500K or 0 (no minimum)") from None
    if not math.isfinite(value) or value < 0:
        raise InputError("give an amount like 5M, 500K or 0 (no minimum)")
    if value > 1e12:
        raise InputError("the minimum must be at most 1000B")
    return value


async def _set_min_cluster(update: Update, context: Context, chat: int, text: str) -> None:
    """``/alerts set min_cluster 5M``: cluster rules skip clusters under this notional."""
    try:
        value = _amount(text)
    except InputError as e:
        await reject(update, "alerts", str(e))
        return
    register(update, context)
    alert_settings.set_threshold(services(context).db, chat, MIN_CLUSTER, value)
    said = "no minimum" if value == 0 else f"at least {fmt.usd(value)}"
    await reply(update, f"Cluster alerts: {said} per cluster (and a large share of its side).")


async def _set_wake(update: Update, context: Context, chat: int, text: str) -> None:
    """``/alerts set wake on|off``: the liquidation warning reaches you in quiet hours (on, the
    default) or waits for them to end like every other alert (off)."""
    choice = text.strip().lower()
    if choice not in ("on", "off"):
        await reject(update, "alerts", "use /alerts set wake on, or /alerts set wake off")
        return
    register(update, context)
    alert_settings.set_threshold(services(context).db, chat, WAKE, 1.0 if choice == "on" else 0.0)
    said = (
        "reaches you in quiet hours too"
        if choice == "on"
        else "waits for your quiet hours to end, like the other alerts"
    )
    await reply(update, f"Liquidation warning: {said}.")


def _rule(text: str) -> str:
    """A rule name as typed (aliases allowed), or InputError listing the rules."""
    key = text.strip().lower().replace("-", "_")
    aliases = {
        "edge": "cluster_edge",
        "lfr": "lfr_degraded",
        "oi": "oi_drop",
        "funding": "funding_extreme",
        "lp": "own_lp_in_cluster",
    }
    key = aliases.get(key, key)
    if key not in CATALOGUE_BY_NAME:
        raise InputError(f"unknown rule; rules: {', '.join(CATALOGUE_BY_NAME)}")
    return key


def alerts_view(context: Context, chat_id: int) -> tuple[str, InlineKeyboardMarkup]:
    """The chat's alert rules with modes and thresholds, and a button per rule."""
    mine = alert_settings.for_chat(services(context).db, chat_id)
    lines = ["<b>Alert rules</b> (tap to switch: on → silent → off)"]
    rows = []
    for rule in RULE_CATALOGUE:
        mode, threshold = mine.get(rule.name, (None, None))
        mode = mode or rule.default_mode
        value = rule.default if threshold is None else threshold
        kinds = " and ".join(
            {"watch": "watches", "position": "positions"}[k] for k in rule.applies_to
        )
        lines.append(
            f"{'🟢' if mode == 'on' else '🔕' if mode == 'silent' else '⚪'} <b>{rule.title}</b> "
            f"<code>{rule.name}</code>: {mode}, threshold {value:g} {html.escape(rule.unit)}"
            f" ({kinds})\n  {html.escape(rule.description)}"
        )
        record = record_line(rule.name)
        if record:
            lines.append(f"  <i>{html.escape(record)}</i>")
        order = {"on": "silent", "silent": "off", "off": "on"}
        nxt = order.get(mode, "on")
        rows.append(
            [
                InlineKeyboardButton(
                    f"{rule.title}: {mode} → {nxt}", callback_data=f"alert|{rule.name}|{nxt}"
                )
            ]
        )
    lines.append("Change a threshold: <code>/alerts set cluster_edge 0.8</code>")
    lines.append("Only clusters of at least an amount: <code>/alerts set min_cluster 5M</code>")
    wakes = mine.get(WAKE, (None, None))[1] != 0
    lines.append(
        "The liquidation warning "
        + ("reaches you in quiet hours" if wakes else "waits out your quiet hours")
        + f": <code>/alerts set wake {'off' if wakes else 'on'}</code>"
    )
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def alerts_command(update: Update, context: Context) -> None:
    """/alerts: the rules and their buttons; /alerts set RULE VALUE changes a threshold."""
    args = command_args(context)
    chat = chat_id(update)
    if not args:
        text, keyboard = alerts_view(context, chat)
        await reply(update, text, reply_markup=keyboard)
        return
    try:
        if args[0].lower() != "set" or len(args) != 3:
            raise InputError("use /alerts, or /alerts set RULE VALUE")
        if args[1].strip().lower() == MIN_CLUSTER:
            await _set_min_cluster(update, context, chat, args[2])
            return
        if args[1].strip().lower() == WAKE:
            await _set_wake(update, context, chat, args[2])
            return
        rule = _rule(args[1])
        info = CATALOGUE_BY_NAME[rule]
        value = (  # '0.8%' where the rule asks for a percentage, as traders type it
            parse_percent(args[2], "the threshold")
            if info.unit.startswith("%")
            else parse_number(args[2], "the threshold")
        )
        if not (math.isfinite(value) and info.low <= value <= info.high):
            raise InputError(
                f"{info.title}: the threshold must be between {info.low:g} and {info.high:g} "
                f"{info.unit} (default {info.default:g})"
            )
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
    """/digest on|off|now: the 4-hourly digest switched, or one sent now."""
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


async def quiet_command(update: Update, context: Context) -> None:
    """/quiet 23:00-07:00|off: alerts held (or silent) and digests skipped in those hours."""
    args = command_args(context)
    try:
        if not args:
            raise InputError("give one range like 23:00-07:00, or off")
        if len(args) == 1 and args[0].lower() == "off":
            start = end = None
        else:
            start, end = parse_quiet(" ".join(args))
    except InputError as e:
        await reject(update, "quiet", str(e))
        return
    register(update, context)
    s = services(context)
    users.update(s.db, chat_id(update), quiet_start=start, quiet_end=end)
    user = users.get(s.db, chat_id(update))
    zone = html.escape(fmt.zone_label(user.tz) if user else "UTC")
    if start is None:
        await reply(update, "Quiet hours off.")
    else:
        await reply(
            update,
            f"Quiet hours {start}-{end} ({zone}): alerts are held (or sent silently, per rule "
            "mode) and digests skipped. /tz to change the zone.",
        )


async def mute_command(update: Update, context: Context) -> None:
    """/mute 2h|off: every alert muted for a while."""
    args = [a.lower() for a in command_args(context)]
    typed = " ".join(args)
    try:
        if not args:
            raise InputError("give a duration like 30m, 2h or 1d, or off")
        if typed == "off":
            until = None
        else:
            minutes = parse_duration(typed)
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
        await reply(update, f"🔕 Alerts muted for {html.escape(typed)}. /mute off to undo.")


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
    """``pos|close|ID`` closes the position (with the post-trade note; ``pos|clear|ID``, under
    the liquidation message, the same); ``pos|mute|ID`` and ``pos|unmute|ID`` switch its
    alerts."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split("|")
    if len(parts) != 3 or parts[1] not in ("close", "clear", "mute", "unmute"):
        await query.answer("That button has expired.")
        return
    try:
        sub = _own_open(context, chat_id(update), parts[2])
    except InputError:
        await query.answer("That position is already closed.")
        return
    if parts[1] in ("close", "clear"):
        await query.answer(f"Closing #{sub.id}")
        await _close(update, context, sub)
        return
    subscriptions.set_muted(services(context).db, sub.id, parts[1] == "mute")
    await query.answer(f"#{sub.id} {'muted' if parts[1] == 'mute' else 'unmuted'}")
    await query.edit_message_reply_markup(position_keyboard(sub.id, parts[1] == "mute"))


async def mute_button(update: Update, context: Context) -> None:
    """``mute|SECONDS`` (the ``Mute 1h`` button under an alert): as ``/mute``; ``mute|0``
    unmutes. The pressed button turns into its opposite."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split("|")
    if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) > 30 * 86_400:
        await query.answer("That button has expired.")
        return
    register(update, context)
    s = services(context)
    seconds = int(parts[1])
    until = s.clock.now_ms() + seconds * 1000 if seconds else None
    users.update(s.db, chat_id(update), muted_until=until)
    span = f"{seconds // 3600}h" if seconds >= 3600 else f"{seconds // 60} min"
    await query.answer(f"🔕 Alerts muted for {span}." if seconds else "🔔 Alerts unmuted.")
    markup = getattr(query.message, "reply_markup", None)
    if isinstance(markup, InlineKeyboardMarkup):
        flipped = [
            [
                InlineKeyboardButton("🔔 Unmute", callback_data="mute|0")
                if b.callback_data == query.data and seconds
                else InlineKeyboardButton("🔕 Mute 1h", callback_data="mute|3600")
                if b.callback_data == query.data
                else b
                for b in row
            ]
            for row in markup.inline_keyboard
        ]
        await query.edit_message_reply_markup(InlineKeyboardMarkup(flipped))
