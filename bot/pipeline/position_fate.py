"""The position-fate pass: on every refresh tick (and every candle a replay or backfill adds),
each open position's liquidation price and stop are checked against the candles since its last
check, vectorised per symbol (:func:`alerts.fate.position_fates`). A crossed one is marked and
its one message queued in the same transaction (dedupe key ``fate:ID``): restart-safe, once
only. It runs before the alert rules, so no rule fires for a dead position.

Also here: the post-trade note (for /close and stop-outs) and the follow-up pass that sends the
look-back a few hours after an exit."""

from __future__ import annotations

import logging

import numpy as np

from alerts.fate import LIQUIDATED, OPEN, STOPPED, position_fates
from bot.pipeline.refresh import TIMEFRAME
from bot.pipeline.services import Services
from bot.views.exit import followup_html, liquidated_html, range_of, trade_note_html
from bot.views.report import MapReport
from liqmap import Candles, ModelInputError
from liqmap.times import HOUR_MS
from market.snapshot import MarketDataError
from storage import outbox, subscriptions, users
from storage.subscriptions import Subscription

log = logging.getLogger(__name__)
PRICE_WINDOW = "1d"  # the map whose price every answer quotes


def candles_between(s: Services, symbol: str, since: int, until: int) -> Candles | None:
    """Completed candles closing in (since, until]: the finest the source has (5m) when they cover
    the span, else the timeframe of its 1d window. Coverage beats resolution: 5m candles that stop
    part-way (the bundled 5m file ends where the hourly one goes on) would hide the rest of the
    trade, and the bot would deny a price it had itself reported."""
    source = s.source
    fine: Candles | None
    try:
        fine = source.candles(symbol, TIMEFRAME, since, until)
    except MarketDataError:
        fine = None
    if fine is not None and len(fine) and _covers(fine, since, until):
        return fine
    try:
        _, tf = source.window_candles(symbol, PRICE_WINDOW, until)
        coarse: Candles | None = (
            None if tf == TIMEFRAME else source.candles(symbol, tf, since, until)
        )
    except MarketDataError:
        return fine
    if coarse is None or len(coarse) == 0:
        return fine
    return coarse


def _covers(candles: Candles, since: int, until: int) -> bool:
    """No hour of the span is missing at either end (a candle in progress is not a gap)."""
    return (
        int(candles.time[0]) - since <= HOUR_MS and until - int(candles.close_time[-1]) <= HOUR_MS
    )


def followup_hours(s: Services) -> float:
    return float(getattr(s.settings, "followup_hours", 4.0))


async def trade_note(
    s: Services, sub: Subscription, exit_price: float, exit_ms: int, heading: str = "Closed"
) -> str:
    """The post-trade note, from the candles of the trade and the map drawn at its entry."""
    tick = s.maps.tick(exit_ms)
    entry_tick = s.maps.tick(sub.opened_at)
    # up to the moment now: the candle the exit happened in has closed by then
    until = max(s.maps.tick(), tick, entry_tick)
    candles = candles_between(s, sub.symbol, entry_tick, until)
    closing = np.ones(0, dtype=bool) if candles is None else candles.time <= exit_ms
    entry_map: MapReport | None = None
    try:
        entry_map = await s.maps.report(sub.symbol, PRICE_WINDOW, at=entry_tick)
    except (MarketDataError, ModelInputError):
        entry_map = None  # older than the stored history: the note says less
    # the range is what price did (the map's price when no candle has closed since entry); a
    # typed exit price outside it never traded, and the note says so
    seen = entry_map.price if entry_map is not None else exit_price
    low, high = range_of(
        np.ones(0) if candles is None else candles.low[closing],
        np.ones(0) if candles is None else candles.high[closing],
        seen,
    )
    untraded = not (low * (1 - 2e-3) <= exit_price <= high * (1 + 2e-3))
    hours = max((tick - entry_tick) / HOUR_MS, 5 / 60)
    oi = s.source.oi_change(sub.symbol, tick, hours)
    return trade_note_html(
        sub,
        exit_price,
        exit_ms,
        low,
        high,
        entry_map,
        oi,
        heading,
        untraded=untraded,
        zone=chat_zone(s, sub.chat_id),
    )


def chat_zone(s: Services, chat_id: int) -> str:
    """The chat's time zone: every time a message shows is in it."""
    user = users.get(s.db, chat_id)
    return user.tz if user is not None else "UTC"


async def run_position_fate(s: Services, tick: int) -> int:
    """Check every symbol's open positions up to ``tick``; returns #positions that ended."""
    ended = 0
    for symbol in subscriptions.symbols_in_use(s.db):
        try:
            ended += await _fate_for(s, symbol, tick)
        except (MarketDataError, ModelInputError) as e:
            log.warning("no candles for %s at %s: %s", symbol, tick, e)
        except Exception:  # one symbol's failure must not stop the others
            log.exception("fate pass for %s failed", symbol)
    return ended


async def _fate_for(s: Services, symbol: str, tick: int) -> int:
    rows = subscriptions.unsettled_positions(s.db, symbol)
    if not rows:
        return 0
    ids, _, sides, liq, stop, checked = (list(c) for c in zip(*rows, strict=True))
    checked_to = np.array(checked, dtype=np.int64)
    candles = candles_between(s, symbol, int(checked_to.min()), tick)
    if candles is None or len(candles) == 0:
        return 0
    side = np.array([1 if x == "long" else -1 for x in sides], dtype=np.int8)
    fates = position_fates(
        side,
        np.array(liq, dtype=np.float64),
        np.array([np.nan if x is None else x for x in stop], dtype=np.float64),
        checked_to,
        candles.close_time,
        candles.low,
        candles.high,
    )
    messages: list[tuple[Subscription, str, int, float, float, str]] = []
    for i in np.flatnonzero(fates.outcome != OPEN).tolist():
        sub = subscriptions.get(s.db, int(ids[i]))
        if sub is None:
            continue
        candle_ms = int(candles.time[fates.candle[i]])
        extreme = float(fates.extreme[i])
        if fates.outcome[i] == LIQUIDATED:
            price = float(sub.liquidation_price or extreme)
            dead = Subscription(**{**sub.__dict__, "status": subscriptions.LIQUIDATED})
            messages.append(
                (
                    sub,
                    liquidated_html(dead, candle_ms, extreme, chat_zone(s, sub.chat_id)),
                    candle_ms,
                    price,
                    extreme,
                    subscriptions.LIQUIDATED,
                )
            )
        elif fates.outcome[i] == STOPPED:
            price = float(sub.stop_price or extreme)
            text = await trade_note(s, sub, price, candle_ms, heading="🛑 Stopped out")
            messages.append((sub, text, candle_ms, price, extreme, subscriptions.STOPPED))
    follow = int(followup_hours(s) * HOUR_MS)
    with s.db.atomic():
        for sub, text, at, price, extreme, status in messages:
            due = at + follow if status == subscriptions.STOPPED and follow > 0 else None
            if subscriptions.mark_exit(s.db, sub.id, status, at, price, extreme, due):
                # a liquidated position stays listed until cleared: the button does it here,
                # as /positions does ('clear', not 'close': held alerts naming a closed
                # position are dropped, and this message must not be)
                clear = [[(f"✖ Clear #{sub.id}", f"pos|clear|{sub.id}")]]
                keyboard = clear if status == subscriptions.LIQUIDATED else None
                outbox.enqueue(
                    s.db, f"fate:{sub.id}", sub.chat_id, "alert", text, tick, keyboard=keyboard
                )
        ended = {m[0].id for m in messages}
        alive = [int(x) for x in ids if int(x) not in ended]
        subscriptions.mark_checked(s.db, alive, int(candles.close_time[-1]))
        for chat in {m[0].chat_id for m in messages}:
            drop_held_for_ended(s, chat, tick)
    return len(messages)


def drop_held_for_ended(s: Services, chat_id: int, now: int) -> int:
    """Alerts held in quiet hours about positions that have since been liquidated, stopped or
    closed are dropped (the fate message or the /close note stands); an alert that names a
    position still open, or none (a watch's), still goes. Returns #dropped."""
    live = {
        x.id
        for x in subscriptions.open_for_chat(s.db, chat_id)
        if x.kind == "position" and x.status == subscriptions.OPEN
    }
    dropped = 0
    for msg in outbox.held_alerts(s.db, chat_id, now):
        named = {
            int(data.split("|")[2])
            for row in msg.keyboard or []
            for _, data in row
            if data.startswith("pos|close|")
        }
        if named and not named & live:
            outbox.drop(s.db, msg.id, "its positions ended while it was held", now)
            dropped += 1
    return dropped


async def run_followups(s: Services, now: int) -> int:
    """Queue the follow-up note of every exit whose time has come; returns #queued."""
    queued = 0
    for sub in subscriptions.due_followups(s.db, now):
        try:
            text = await _followup(s, sub, now)
        except (MarketDataError, ModelInputError) as e:
            log.warning("follow-up for #%s waits: %s", sub.id, e)
            continue
        with s.db.atomic():
            outbox.enqueue(s.db, f"followup:{sub.id}", sub.chat_id, "note", text, now)
            subscriptions.followup_done(s.db, sub.id)
        queued += 1
    return queued


async def _followup(s: Services, sub: Subscription, now: int) -> str:
    tick = s.maps.tick(now)
    report = await s.maps.report(sub.symbol, PRICE_WINDOW, at=tick)
    since = int(sub.exit_at or sub.closed_at or now)
    candles = candles_between(s, sub.symbol, since - since % (5 * 60_000), tick)
    low, high = range_of(
        np.ones(0) if candles is None else candles.low,
        np.ones(0) if candles is None else candles.high,
        report.price,
    )
    hours = round((now - since) / HOUR_MS, 1)  # from the exit itself, like the range
    zone = chat_zone(s, sub.chat_id)
    return followup_html(sub, report.price, report.liq.as_of, low, high, hours, zone)
