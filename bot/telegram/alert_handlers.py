"""Price alerts: ``/alert BTC 120k``, ``/alert BTC below 100k``, ``/alert ETH +5%``,
``/alert BTC 118500 every``; ``/alert`` alone lists them with a delete button each;
``/alert del 3``. A rejected command stores nothing. The crossing pass that fires them is
:mod:`bot.pipeline.price_alert_pass`."""

from __future__ import annotations

import html
import math

from telegram import Update

from alerts.price_levels import margin_pct
from bot.parsing import AlertArgs, InputError, MissingSymbol, alert_level, parse_alert, rearm_margin
from bot.telegram.common import (
    ask_symbol,
    chat_id,
    command_args,
    needs_market,
    register,
    reject,
    reply,
)
from bot.telegram.context import Context, services
from bot.telegram.keyboards import price_alert_keyboard, price_alert_list_keyboard
from bot.views import fmt
from liqmap import ModelInputError
from market.snapshot import MarketDataError
from storage import price_alerts, users
from storage.price_alerts import LIMIT, AlertLimitError, DuplicateAlertError, PriceAlert

PRICE_WINDOW = "1d"  # the map whose price every answer quotes
DELETE_WORDS = ("del", "delete", "rm", "remove")


def _zone(context: Context, chat: int) -> str:
    user = users.get(services(context).db, chat)
    return user.tz if user is not None else "UTC"


def describe(a: PriceAlert) -> str:
    """'BTC below 112,000.0, every time' (plain text; 'every time, re-arms 1% back' for an own
    margin)."""
    every = ", every time" if a.every else ""
    if a.every and a.rearm_pct is not None:
        every += f", re-arms {a.rearm_pct:.2g}% back"
    return f"{a.symbol.split('/')[0]} {a.direction} {fmt.price(a.level)}{every}"


def _moved_back(a: AlertArgs, pct: float) -> str:
    """The re-arm margin as the trader typed it: '1%', or '500 (0.41%)' for a distance."""
    if a.margin is not None and not a.margin_pct:
        return f"{a.margin:,.6g} ({pct:.2g}%)"
    return f"{pct:g}%"


@needs_market
async def alert_command(update: Update, context: Context) -> None:
    """/alert ...: set a price alert; alone, the list; ``del ID`` deletes one."""
    args = command_args(context)
    if not args or (len(args) == 1 and args[0].lower() == "list"):
        await _send_list(update, context)
        return
    if args[0].lower() in DELETE_WORDS:
        await _delete_command(update, context, args[1:])
        return
    s = services(context)
    try:
        typed = parse_alert(args, s.source.symbols)
        report = await s.maps.report(typed.symbol, PRICE_WINDOW)
        level, direction = alert_level(typed, report.price)
        own_margin = rearm_margin(typed, level) if typed.every else None
        if typed.margin is not None and not typed.every:
            raise InputError("a re-arm margin goes after every: /alert BTC 121k every 1%")
    except MissingSymbol:
        await ask_symbol(update, context, "alert", args)
        return
    except InputError as e:
        await reject(update, "alert", str(e))
        return
    register(update, context)
    chat = chat_id(update)
    try:
        alert = price_alerts.add(
            s.db,
            chat,
            typed.symbol,
            level,
            direction,
            typed.every,
            report.price,
            checked_to=report.liq.as_of,
            now=s.clock.now_ms(),
            rearm_pct=own_margin,
        )
    except AlertLimitError:
        await reply(
            update,
            f"⚠️ You have {LIMIT} price alerts, the most I keep per chat. Nothing was added: "
            "delete one first (/alert lists them with a delete button each, or "
            "<code>/alert del ID</code>).",
        )
        return
    except DuplicateAlertError as e:
        same = e.existing
        if same.every != typed.every or (
            typed.every and not math.isclose(margin_pct(same.rearm_pct), margin_pct(own_margin))
        ):
            await _switch_repeat(update, context, same, typed, own_margin)
            return
        await reply(
            update,
            f"You already have <b>#{same.id}</b> at {html.escape(fmt.price(same.level))} "
            f"({html.escape(describe(same))}); nothing was added. /alert lists yours.",
            reply_markup=price_alert_keyboard(same.id),
        )
        return
    away = fmt.pct((level / report.price - 1) * 100)
    when = fmt.when(report.price_at, _zone(context, chat), "%H:%M %Z")
    which = "high" if direction == "above" else "low"
    told = _told(typed, which, margin_pct(own_margin))
    await reply(
        update,
        f"🔔 Price alert <b>#{alert.id}</b>: <b>{html.escape(describe(alert))}</b> "
        f"({html.escape(away)} from {html.escape(fmt.price(report.price))}, "
        f"{html.escape(when)}).\n{told} /alert lists yours.",
        reply_markup=price_alert_keyboard(alert.id),
    )


def _told(typed: AlertArgs, which: str, pct: float) -> str:
    if typed.every:
        return (
            f"I'll tell you when a candle's {which} reaches it, and again each time after price "
            f"has moved back {_moved_back(typed, pct)}."
        )
    return f"I'll tell you once, when a candle's {which} reaches it."


async def _switch_repeat(
    update: Update, context: Context, same: PriceAlert, typed: AlertArgs, own: float | None
) -> None:
    """The same level with another repeat setting (or margin): the alert there changes, so a
    trader need not delete it to make it repeat; nothing is added."""
    s = services(context)
    changed = price_alerts.set_repeat(s.db, chat_id(update), same.id, typed.every, own)
    if changed is None:  # deleted meanwhile
        await reply(update, f"#{same.id} is gone; send the /alert again to add it.")
        return
    which = "high" if changed.direction == "above" else "low"
    now = (
        "now fires once"
        if not typed.every
        else "now repeats"
        if not same.every
        else f"now re-arms {_moved_back(typed, margin_pct(own))} back"
    )
    await reply(
        update,
        f"<b>#{changed.id}</b> at {html.escape(fmt.price(changed.level))} {now} "
        f"({html.escape(describe(changed))}). "
        f"{html.escape(_told(typed, which, margin_pct(own)))} /alert lists yours.",
        reply_markup=price_alert_keyboard(changed.id),
    )


async def _list_view(context: Context, chat: int) -> tuple[str, list[tuple[int, str]]]:
    """The chat's active alerts, each with its distance from the price now where a map is."""
    s = services(context)
    mine = price_alerts.active_for_chat(s.db, chat)
    if not mine:
        return (
            "No price alerts. Set one: <code>/alert BTC 120k</code>, "
            "<code>/alert BTC below 100k</code>, <code>/alert ETH +5%</code>, "
            "<code>/alert BTC 118500 every</code>.",
            [],
        )
    prices: dict[str, float | None] = {}
    for symbol in dict.fromkeys(a.symbol for a in mine):
        try:
            prices[symbol] = (await s.maps.report(symbol, PRICE_WINDOW)).price
        except (MarketDataError, ModelInputError):
            prices[symbol] = None  # the list still shows, without the distance
    lines = [f"<b>Your price alerts</b> ({len(mine)} of {LIMIT}):"]
    for a in mine:
        now = prices.get(a.symbol)
        away = f" ({fmt.pct((a.level / now - 1) * 100)} from now)" if now else ""
        lines.append(f"#{a.id} {html.escape(describe(a) + away + _waiting(a))}")
    lines.append("Tap to delete, or <code>/alert del ID</code>.")
    return "\n".join(lines), [(a.id, describe(a)) for a in mine]


def _waiting(a: PriceAlert) -> str:
    """An alert that fired sleeps until price moves back: say so, or the list would promise an
    alert that cannot fire yet."""
    if a.armed:
        return ""
    pct = margin_pct(a.rearm_pct)
    back = a.level * (1 - pct / 100 if a.direction == "above" else 1 + pct / 100)
    side = "below" if a.direction == "above" else "above"
    return f"; fired {a.fired_count}×, waits for price back {side} {fmt.price(back)} to re-arm"


async def _send_list(update: Update, context: Context) -> None:
    text, rows = await _list_view(context, chat_id(update))
    await reply(update, text, reply_markup=price_alert_list_keyboard(rows))


async def _delete_command(update: Update, context: Context, args: list[str]) -> None:
    raw = args[0].strip().lstrip("#") if len(args) == 1 else ""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:  # '²'.isdigit() is True
        await reject(update, "alert", "give the alert number, as /alert lists them: /alert del 3")
        return
    gone = price_alerts.delete(services(context).db, chat_id(update), int(raw))
    if gone is None:
        await reject(update, "alert", f"you have no price alert #{raw}; /alert lists yours")
        return
    await reply(update, f"Deleted price alert #{gone.id}: {html.escape(describe(gone))}.")


@needs_market
async def price_alert_button(update: Update, context: Context) -> None:
    """``palert|del|ID`` (under an alert or its confirmation) deletes it;
    ``palert|del|ID|list`` (under the list) deletes it and redraws the list."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split("|")
    if len(parts) not in (3, 4) or parts[1] != "del" or not parts[2].isdigit():
        await query.answer("That button has expired.")
        return
    gone = price_alerts.delete(services(context).db, chat_id(update), int(parts[2]))
    await query.answer(f"Deleted #{parts[2]}" if gone else "Already deleted.")
    if len(parts) == 4:
        text, rows = await _list_view(context, chat_id(update))
        await query.edit_message_text(text, reply_markup=price_alert_list_keyboard(rows))
    elif gone is not None:
        await query.edit_message_reply_markup(None)  # the button did its job
