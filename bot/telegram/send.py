"""Drains the outbox to Telegram. A row is marked sent only after Telegram accepted it.

- ``RetryAfter`` (429): the row waits the time Telegram asked for, and this round stops (the
  flood limit is per bot, so sending on would only earn more 429s).
- Network errors and 5xx: exponential backoff per row.
- ``Forbidden`` (the user blocked the bot) or a chat that no longer exists: the user is
  deactivated, their positions and watches closed, their pending rows dropped.
- Any other ``BadRequest`` (our bug: the message itself is wrong): retried a few times, then
  dropped, so one bad row never blocks the queue.

At-least-once: if the process dies between Telegram's answer and ``mark_sent``, that one message
is sent again after the restart. Everything else is sent exactly once.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
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

from storage import chats as storage_chats
from storage import outbox, subscriptions, users

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
    with warnings.catch_warnings():  # PTB 22 warns that this becomes a timedelta later
        warnings.simplefilter("ignore")
        wait = e.retry_after
    seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
    return int(seconds * 1000) + 500


async def dispatch(
    bot: Bot, db: Database, now: int, limit: int = 50, speed: float = 1.0
) -> DispatchResult:
    """Send what is due at market time ``now``; returns what happened. Retry delays are wall
    time, so they are scaled by the clock's ``speed`` (1 live, e.g. 600 in the demo)."""

    def later(delay_ms: int) -> int:
        return now + int(delay_ms * speed)

    result = DispatchResult()
    for msg in outbox.due(db, now, limit):
        try:
            if msg.photo is not None:
                await bot.send_photo(
                    msg.chat_id,
                    msg.photo,
                    caption=msg.text or None,
                    disable_notification=msg.silent,
                )
            else:
                await bot.send_message(
                    msg.chat_id,
                    msg.text,
                    disable_notification=msg.silent,
                    reply_markup=_markup(msg.keyboard),
                )
        except RetryAfter as e:
            outbox.mark_failed(db, msg.id, "flood control (429)", later(_retry_after_ms(e)))
            result.retried += 1
            result.paused = True
            break
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
                log.error(
                    "dropping outbox row %s after %d attempts: %s", msg.id, msg.attempts + 1, e
                )
                outbox.drop(db, msg.id, f"bad request: {e}", now)
                result.dropped += 1
            else:
                outbox.mark_failed(db, msg.id, f"bad request: {e}", later(_backoff(msg.attempts)))
                result.retried += 1
        except NetworkError as e:  # includes TimedOut and 5xx answers
            outbox.mark_failed(db, msg.id, f"network: {e}", later(_backoff(msg.attempts)))
            result.retried += 1
        except TelegramError as e:  # anything else: back off, then drop; never block the queue
            if msg.attempts + 1 >= MAX_ATTEMPTS:
                log.error("dropping outbox row %s: %s", msg.id, e)
                outbox.drop(db, msg.id, f"telegram: {e}", now)
                result.dropped += 1
            else:
                outbox.mark_failed(db, msg.id, f"telegram: {e}", later(_backoff(msg.attempts)))
                result.retried += 1
        else:
            outbox.mark_sent(db, msg.id, now)
            result.sent += 1
    return result


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
