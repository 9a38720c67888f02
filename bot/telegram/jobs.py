"""The JobQueue's callbacks (APScheduler under PTB): thin wrappers that run the pipeline's
passes and then drain the outbox through the bot.

Market time comes from the clock (wall time live, the replay clock in the demo), so the same
jobs run a live bot and a demo replayed at 1,800x.
"""

from __future__ import annotations

import logging

from telegram import Bot

from bot.clock import HOUR_MS
from bot.pipeline.alert_pass import run_alerts
from bot.pipeline.cascade_pass import run_cascades
from bot.pipeline.digest_pass import run_digests
from bot.pipeline.services import Services
from bot.telegram.context import Context, services
from bot.telegram.send import DispatchResult, dispatch

log = logging.getLogger(__name__)


async def send_due(s: Services, bot: Bot, now: int | None = None) -> DispatchResult:
    """Drain the outbox (one drain at a time)."""
    async with s.dispatch_lock:
        when = s.clock.now_ms() if now is None else now
        return await dispatch(bot, s.db, when, speed=s.clock_speed)


async def flush(context: Context) -> DispatchResult:
    return await send_due(services(context), context.bot)


async def tick_job(context: Context) -> None:
    """Every few seconds: alerts on a new map tick (demo; live runs them after each refresh),
    digests on a new market hour, then the outbox."""
    s = services(context)
    now = s.clock.now_ms()
    tick = s.maps.tick(now)
    try:
        if s.refresher is None and tick != s.last_alert_tick:
            s.last_alert_tick = tick
            await run_alerts(s, tick)
        run_cascades(s, now)  # real liquidations: every tick, live and demo
        hour = now // HOUR_MS
        if hour != s.last_digest_hour:
            s.last_digest_hour = hour
            await run_digests(s, now)
    finally:
        await flush(context)  # whatever happened above, queued messages still go out


async def refresh_job(context: Context) -> None:
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
