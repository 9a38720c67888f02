"""The JobQueue's callbacks (APScheduler under PTB): thin wrappers that run the pipeline's
passes and then drain the outbox through the bot.

Market time comes from the clock (wall time live, the replay clock in the demo), so the same
jobs run a live bot and a demo replayed at 1,800x.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Bot

from bot.memory import release_freed_memory
from bot.pipeline import map_refit
from bot.pipeline.alert_pass import run_alerts
from bot.pipeline.cascade_pass import run_cascades
from bot.pipeline.digest_pass import run_digests
from bot.pipeline.services import Services
from bot.telegram.context import Context, services
from bot.telegram.send import STOP_WAIT_S, DispatchResult, Now, dispatch
from liqmap.times import DAY_MS, HOUR_MS
from storage import outbox

log = logging.getLogger(__name__)


async def send_due(
    s: Services, bot: Bot, now: int | None = None, stopping: asyncio.Event | None = None
) -> DispatchResult:
    """Drain the outbox (one drain at a time). Without ``now`` the drain reads the bot's clock
    each time it looks for due rows, so alerts queued during the drain go at once."""
    async with s.dispatch_lock:
        when: Now = s.clock.now_ms if now is None else now
        return await dispatch(bot, s.db, when, speed=s.clock_speed, stopping=stopping)


async def flush(context: Context) -> DispatchResult:
    """Send what is due: wakes the background sender when it runs, else drains here."""
    s = services(context)
    if s.sender is not None:
        s.sender.wake()
        return DispatchResult()
    return await send_due(s, context.bot)


class Sender:
    """Drains the outbox continuously: whenever woken (something was queued) and at least every
    second (rows held for quiet hours or a retry come due), as fast as the rate limiter lets."""

    IDLE_S = 1.0

    def __init__(self, s: Services, bot: Bot) -> None:
        self.s, self.bot = s, bot
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox sender")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        """Start nothing more, wait (bounded) for the sends in flight and record their outcome:
        called before the database closes, so a clean stop repeats nothing after a restart."""
        if self._task is None:
            return
        self._stopping.set()
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_WAIT_S + 5)
        except TimeoutError:  # a drain that would not end: cancelled (it cancels its sends)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.IDLE_S)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                await send_due(self.s, self.bot, stopping=self._stopping)
            except Exception:  # the sender must outlive any one failure
                log.exception("outbox drain failed")
                await asyncio.sleep(self.IDLE_S)


Job = Callable[[Context], Coroutine[Any, Any, None]]


def ends_quietly(job: Job) -> Job:
    """A job cut short by a clean stop ends without a traceback. PTB waits for the running
    jobs, then shuts the scheduler down, and APScheduler cancels a job it started in between
    (a tick every few seconds makes that likely): the cancellation is the stop, not an error.
    Each pass writes in whole transactions, so the next start redoes what was cut."""

    @functools.wraps(job)
    async def run(context: Context) -> None:
        try:
            await job(context)
        except asyncio.CancelledError:
            if context.application.running:
                raise  # cancelled for another reason: not ours to hide
            log.info("%s cut short by the stop", job.__name__)

    return run


@ends_quietly
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
            if s.sender is not None:
                s.sender.wake()  # alerts go out while the round is composed
            await run_digests(s, now)
            release_freed_memory()
            pruned = outbox.prune(
                s.db, now - int(s.settings.outbox_retention_days * DAY_MS), now - DAY_MS
            )
            if pruned:
                log.info(
                    "outbox: %d rows older than %g days deleted",
                    pruned,
                    s.settings.outbox_retention_days,
                )
    finally:
        await flush(context)  # whatever happened above, queued messages still go out


@ends_quietly
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
        release_freed_memory()  # the refresh's and the pass's temporaries
        await flush(context)


async def map_refit_job(context: Context) -> None:
    """Live, daily: hand each symbol's settings in use to the maps, and refit those whose last
    decision is a week old (``bot.pipeline.map_refit``) on the prints the feed recorded."""
    s = services(context)
    if s.refresher is None:
        return
    now = s.clock.now_ms()
    for symbol in s.source.symbols:
        if map_refit.due(s.db, symbol, now):
            await asyncio.to_thread(map_refit.refit_symbol, s.db, s.source, symbol, now)
        s.maps.by_symbol[symbol] = map_refit.settings_in_use(s.db, symbol)
