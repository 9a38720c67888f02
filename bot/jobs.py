"""Scheduled work on PTB's JobQueue (APScheduler): the market refresh, the alert pass, digests
and the outbox dispatcher.

Market time comes from the clock (wall time live, the replay clock in the demo), so the same
jobs run a live bot and a demo replayed at 600x.
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.ext import ContextTypes

from alerts.inputs import metrics_from_map
from bot.alert_pass import run_symbol
from bot.digest import HOUR_MS, digest_messages, digest_slot, in_quiet_hours
from bot.dispatch import DispatchResult, dispatch
from bot.report import MapReport
from bot.services import Services, services
from liqmap import ModelInputError
from market.replay import ReplayError
from storage import outbox, subscriptions, users
from storage.users import User

log = logging.getLogger(__name__)
ALERT_WINDOW = "1d"


async def run_alerts(s: Services, tick: int) -> int:
    """Evaluate every symbol somebody follows against its map at ``tick``; returns #events."""
    fired = 0
    for symbol in subscriptions.symbols_in_use(s.db):
        try:
            fired += await _alerts_for(s, symbol, tick)
        except (ReplayError, ModelInputError) as e:
            log.warning("no map for %s at %s: %s", symbol, tick, e)
        except Exception:  # one symbol's failure must not stop the others
            log.exception("alert pass for %s failed", symbol)
    return fired


async def _alerts_for(s: Services, symbol: str, tick: int) -> int:
    """The alert pass of one symbol at ``tick``; returns #events."""
    report = await s.maps.report(symbol, ALERT_WINDOW, at=tick)
    funding = report.funding
    p95 = getattr(s.source, "funding_p95", None)
    metrics = metrics_from_map(
        report.liq,
        report.clusters,
        oi_change_4h=s.source.oi_change(symbol, tick, 4),
        funding_rate=funding.rate if funding else None,
        funding_interval_h=funding.interval_h if funding else 8.0,
        funding_p95_abs=p95(symbol, tick) if p95 else None,
        band_pct=report.band_pct,
        venues=report.venues,
        stale=report.stale,
    )
    return len(run_symbol(s.db, metrics, tick))


async def queue_digest(
    s: Services, user: User, now: int, slot: str, quiet_ok: bool = False
) -> bool:
    """Build one user's digest and put it in the outbox (chart first, then the text); False if
    there is nothing to digest, quiet hours, or this slot was queued before."""
    if not quiet_ok and in_quiet_hours(now, user.tz, user.quiet_start, user.quiet_end):
        return False
    key = f"digest:{user.chat_id}:{slot}"
    if s.db.execute("select 1 from outbox where dedupe_key like ?", [key + ":%"]).fetchone():
        return False  # this slot was queued already (a restart, a second tick)
    subs = subscriptions.open_for_chat(s.db, user.chat_id)
    symbols = list(dict.fromkeys(x.symbol for x in subs))
    if not symbols:
        return False
    tick = s.maps.tick(now)
    reports: dict[str, MapReport] = {}
    for symbol in symbols:
        try:
            reports[symbol] = await s.maps.report(symbol, ALERT_WINDOW, at=tick)
        except (ReplayError, ModelInputError) as e:
            log.warning("digest without %s: %s", symbol, e)
    if not reports:
        return False
    changes = {sym: s.source.oi_change(sym, tick, 4) for sym in reports}
    texts = digest_messages(user, reports, subs, changes, now)
    chart = await s.maps.chart(next(iter(reports.values())))
    with s.db.atomic():
        first = next(iter(reports))
        caption = f"Digest chart: {first.split('/')[0]} {ALERT_WINDOW}"
        outbox.enqueue(s.db, f"{key}:chart", user.chat_id, "digest", caption, now, photo=chart)
        for i, text in enumerate(texts):
            outbox.enqueue(s.db, f"{key}:{i}", user.chat_id, "digest", text, now)
    return True


async def run_digests(s: Services, now: int) -> int:
    """Queue the digest of every user whose local digest hour this is (skipped in quiet hours)."""
    if s.settings.digest_hours <= 0:
        return 0
    queued = 0
    for user in users.active_users(s.db):
        if not user.digest:
            continue
        slot = digest_slot(now, user.tz, s.settings.digest_hours)
        try:
            if slot is not None and await queue_digest(s, user, now, slot):
                queued += 1
        except Exception:  # one user's digest must not stop the others
            log.exception("digest for %s failed", user.chat_id)
    return queued


async def send_due(s: Services, bot: Bot, now: int | None = None) -> DispatchResult:
    """Drain the outbox (one drain at a time)."""
    async with s.dispatch_lock:
        when = s.clock.now_ms() if now is None else now
        return await dispatch(bot, s.db, when, speed=s.clock_speed)


async def flush(context: ContextTypes.DEFAULT_TYPE) -> DispatchResult:
    return await send_due(services(context), context.bot)


async def tick_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every few seconds: alerts on a new map tick (demo; live runs them after each refresh),
    digests on a new market hour, then the outbox."""
    s = services(context)
    now = s.clock.now_ms()
    tick = s.maps.tick(now)
    try:
        if s.refresher is None and tick != s.last_alert_tick:
            s.last_alert_tick = tick
            await run_alerts(s, tick)
        hour = now // HOUR_MS
        if hour != s.last_digest_hour:
            s.last_digest_hour = hour
            await run_digests(s, now)
    finally:
        await flush(context)  # whatever happened above, queued messages still go out


async def refresh_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Live: fetch every venue and symbol into the history, then run the alert pass on it."""
    s = services(context)
    if s.refresher is None:
        return
    now = s.clock.now_ms()
    report = await s.refresher.refresh(now)
    log.info(
        "refresh: %d ok, %d failed in %.1fs",
        len(report.outcomes) - len(report.failed),
        len(report.failed),
        report.seconds,
    )
    tick = s.maps.tick(now)
    s.last_alert_tick = tick
    try:
        await run_alerts(s, tick)
    finally:
        await flush(context)
