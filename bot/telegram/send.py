"""Drains the outbox to Telegram. A row is marked sent only after Telegram accepted it.

- ``RetryAfter`` (429): the row waits the time Telegram asked for, and the rate limiter holds
  every sender that long (the flood limit is per bot). This is the only retry layer: the
  limiter itself never retries.
- Network errors and 5xx: exponential backoff per row.
- ``Forbidden`` (the user blocked the bot) or a chat that no longer exists: the user is
  deactivated, their positions and watches closed, their pending rows dropped.
- Any other ``BadRequest`` (our bug: the message itself is wrong): retried a few times, then
  dropped, so one bad row never blocks the queue.

At-least-once. Two paths send a message twice: the process dies between Telegram's answer and
``mark_sent`` (sent again after the restart), or Telegram accepted the message but its answer
was lost (a timeout): the row is retried. Everything else is sent exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.telegram.rate_limit import OVERALL_PER_SECOND, SendLimiter, retry_after_seconds
from storage import chats as storage_chats
from storage import outbox, subscriptions, users
from storage.outbox import OutMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_MS = 2_000
MAX_BACKOFF_MS = 5 * 60_000


@dataclass
class DispatchResult:
    sent: int = 0
    retried: int = 0
    dropped: int = 0
    paused: bool = False


def _retry_after_ms(e: RetryAfter) -> int:
    return int(retry_after_seconds(e) * 1000) + 500


FETCH = 256  # rows read ahead per query; re-read at least every REFETCH_S for new alerts
REFETCH_S = 1.0
# The most requests ever in flight, whatever the answer time (Telegram answers in ~0.1-0.3 s).
CONCURRENCY = 16
# A clean stop waits this long for the requests in flight (PTB's own timeouts end them sooner).
STOP_WAIT_S = 15.0

Now = int | Callable[[], int]  # market time: fixed (tests, a one-off drain) or the bot's clock


def in_flight_bound(answer_s: float, per_second: int = OVERALL_PER_SECOND) -> int:
    """Requests in flight that the rate cap needs when Telegram answers in ``answer_s``: one
    started every 1/``per_second`` s, each out for ``answer_s``, and one spare. A kill -9 can
    repeat at most this many messages (each was sent, its answer not yet recorded), so no more
    are ever in flight than the cap can use."""
    return math.ceil(per_second * answer_s) + 1


async def dispatch(
    bot: Bot,
    db: Database,
    now: Now,
    limit: int | None = None,
    speed: float = 1.0,
    concurrency: int = CONCURRENCY,
    stopping: asyncio.Event | None = None,
) -> DispatchResult:
    """Send everything due at market time ``now`` (at most ``limit`` rows), several requests
    in flight but one per chat, so a chat's messages keep their order. The pace is the bot's
    rate limiter's (:class:`~bot.telegram.rate_limit.SendLimiter`: 30/s overall, 1/s per
    chat); a chat still inside its gap is skipped until it may receive again, so it never holds
    a slot. Retry delays are wall time, scaled by the clock's ``speed`` (1 live).

    ``now`` as the clock (a callable) is read again on every re-read of the outbox, so an alert
    queued during a long digest round is due at once and goes ahead of the digests left.
    ``stopping`` set: nothing more starts; the requests in flight are awaited (at most
    :data:`STOP_WAIT_S`) and their outcome recorded before this returns."""
    clock: Callable[[], int] = now if callable(now) else (lambda: now)
    limiter = getattr(bot, "rate_limiter", None)
    gaps = limiter if isinstance(limiter, SendLimiter) else None
    result = DispatchResult()
    running: dict[asyncio.Task[None], int] = {}  # task -> chat
    buffer: list[OutMessage] = []
    fetched_at = -REFETCH_S
    exhausted = False
    started = 0
    try:
        while stopping is None or not stopping.is_set():
            cap = concurrency
            if gaps is not None:
                cap = max(1, min(concurrency, in_flight_bound(gaps.answer_s, gaps.per_second)))
            if time.monotonic() - fetched_at >= REFETCH_S or (not exhausted and len(buffer) < cap):
                busy = set(running.values())
                buffer = outbox.due(db, clock(), FETCH, skip_chats=busy)
                exhausted = len(buffer) < FETCH
                fetched_at = time.monotonic()
            claimed = set(running.values())
            cooling = 0.0
            rest: list[OutMessage] = []
            for msg in buffer:
                room = len(running) < cap and (limit is None or started < limit)
                wait = gaps.chat_ready_in(msg.chat_id) if gaps else 0.0
                if msg.chat_id in claimed or not room or wait > 0:
                    if wait > 0 and msg.chat_id not in claimed:
                        cooling = min(cooling, wait) if cooling else wait
                    claimed.add(msg.chat_id)  # later rows of this chat wait behind this one
                    rest.append(msg)
                    continue
                claimed.add(msg.chat_id)
                task = asyncio.ensure_future(_send_one(bot, db, msg, clock, speed, result))
                running[task] = msg.chat_id
                started += 1
            buffer = rest
            if running:
                done, _ = await asyncio.wait(
                    running, timeout=cooling or REFETCH_S, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    del running[task]
                    task.result()
            elif buffer and (limit is None or started < limit):
                await asyncio.sleep(min(cooling or REFETCH_S, REFETCH_S))
                fetched_at = -REFETCH_S  # re-read: rows may have been sent or added meanwhile
            elif exhausted or (limit is not None and started >= limit):
                return result
            else:
                fetched_at = -REFETCH_S
        await _finish(running, STOP_WAIT_S)
        return result
    except asyncio.CancelledError:
        await _finish(running, 0.0)  # no task is left behind the loop (none "destroyed")
        raise


async def _finish(running: dict[asyncio.Task[None], int], wait_s: float) -> None:
    """Let the requests in flight end and record their outcome (each task writes it); any still
    out after ``wait_s`` is cancelled, its row left pending (sent again after a restart: the one
    way a stop can repeat a message, and only past the wait)."""
    if not running:
        return
    done, late = await asyncio.wait(running, timeout=wait_s) if wait_s > 0 else (set(), running)
    for task in late:
        task.cancel()
    if late:
        log.warning("%d sends cancelled in flight, left pending (sent again later)", len(late))
        await asyncio.gather(*late, return_exceptions=True)
    for task in done:
        task.result()


async def _send_one(
    bot: Bot,
    db: Database,
    msg: OutMessage,
    clock: Callable[[], int],
    speed: float,
    result: DispatchResult,
) -> None:
    """One row to Telegram and its outcome in the outbox; never raises."""
    now = clock()

    def later(delay_ms: int) -> int:
        return clock() + int(delay_ms * speed)

    try:
        await _deliver(bot, db, msg)
        now = clock()
    except RetryAfter as e:  # the limiter paused every sender already; this row waits too
        outbox.mark_failed(db, msg.id, "flood control (429)", later(_retry_after_ms(e)))
        result.retried += 1
        result.paused = True
    except Forbidden as e:
        _chat_gone(db, msg.chat_id, now, f"forbidden: {e}")
        result.dropped += 1
    except ChatMigrated as e:  # a group became a supergroup: same people, new chat id
        storage_chats.move_chat(db, msg.chat_id, int(e.new_chat_id))
        result.retried += 1
    except BadRequest as e:
        if "chat not found" in str(e).lower():
            _chat_gone(db, msg.chat_id, now, f"chat not found: {e}")
            result.dropped += 1
        elif msg.attempts + 1 >= MAX_ATTEMPTS:
            log.error("dropping outbox row %s after %d attempts: %s", msg.id, msg.attempts + 1, e)
            outbox.drop(db, msg.id, f"bad request: {e}", now)
            result.dropped += 1
        else:
            outbox.mark_failed(db, msg.id, f"bad request: {e}", later(_backoff(msg.attempts)))
            result.retried += 1
    except NetworkError as e:  # includes TimedOut and 5xx answers
        outbox.mark_failed(db, msg.id, f"network: {e}", later(_backoff(msg.attempts)))
        result.retried += 1
    except MissingChart as e:
        outbox.drop(db, msg.id, str(e), now)
        result.dropped += 1
    except TelegramError as e:  # anything else: back off, then drop; never block the queue
        if msg.attempts + 1 >= MAX_ATTEMPTS:
            log.error("dropping outbox row %s: %s", msg.id, e)
            outbox.drop(db, msg.id, f"telegram: {e}", now)
            result.dropped += 1
        else:
            outbox.mark_failed(db, msg.id, f"telegram: {e}", later(_backoff(msg.attempts)))
            result.retried += 1
    except Exception as e:  # our bug: the row waits (and is dropped after MAX_ATTEMPTS)
        log.exception("sending outbox row %s failed", msg.id)
        if msg.attempts + 1 >= MAX_ATTEMPTS:
            outbox.drop(db, msg.id, f"error: {e}", now)
        else:
            outbox.mark_failed(db, msg.id, f"error: {e}", later(_backoff(msg.attempts)))
        result.retried += 1
    else:
        outbox.mark_sent(db, msg.id, now)
        result.sent += 1


class MissingChart(Exception):
    """The row's chart is no longer stored (pruned): nothing to send."""


_uploads: dict[str, asyncio.Lock] = {}


async def _deliver(bot: Bot, db: Database, msg: OutMessage) -> None:
    caption = msg.text or None
    if msg.photo_ref is not None:
        data, file_id = outbox.media(db, msg.photo_ref)
        if file_id is None:
            # The first row of a chart uploads it; the others wait for its file_id.
            lock = _uploads.setdefault(msg.photo_ref, asyncio.Lock())
            async with lock:
                data, file_id = outbox.media(db, msg.photo_ref)
                if file_id is None:
                    if data is None:
                        raise MissingChart(f"chart {msg.photo_ref} is no longer stored")
                    sent = await bot.send_photo(
                        msg.chat_id, data, caption=caption, disable_notification=msg.silent
                    )
                    outbox.set_file_id(db, msg.photo_ref, sent.photo[-1].file_id)
                    return
            _uploads.pop(msg.photo_ref, None)
        await bot.send_photo(msg.chat_id, file_id, caption=caption, disable_notification=msg.silent)
    elif msg.photo is not None:
        await bot.send_photo(
            msg.chat_id, msg.photo, caption=caption, disable_notification=msg.silent
        )
    else:
        await bot.send_message(
            msg.chat_id,
            msg.text,
            disable_notification=msg.silent,
            reply_markup=_markup(msg.keyboard),
        )


def _markup(rows: list[list[list[str]]] | None) -> InlineKeyboardMarkup | None:
    """The stored keyboard (rows of [label, callback data]) as Telegram buttons."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def _backoff(attempts: int) -> int:
    return int(min(MAX_BACKOFF_MS, BACKOFF_MS * 2**attempts))


def _chat_gone(db: Database, chat_id: int, now: int, reason: str) -> None:
    """The user blocked the bot (or deleted the chat): stop everything for them, lose nothing
    silently (rows are kept as 'dropped' with the reason)."""
    log.info("chat %s is gone (%s): deactivating", chat_id, reason.split(":")[0])
    if users.get(db, chat_id) is not None:
        users.update(db, chat_id, active=0)
    subscriptions.close_all_for_chat(db, chat_id, now)
    outbox.drop_chat(db, chat_id, reason)
