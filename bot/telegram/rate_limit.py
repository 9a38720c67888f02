"""Telegram's send limits, held in every one-second window, for every message the bot sends
(outbox rows and direct replies alike): 30 messages a second overall, one a second per private
chat, 20 a minute per group. No retries here: a 429 pauses every sender for the time Telegram
asked and goes back to the caller (the outbox reschedules its row; a direct reply fails as any
other network error would). One retry layer, the outbox's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter, TelegramError, TimedOut
from telegram.ext import BaseRateLimiter

OVERALL_PER_SECOND = 30
WINDOW_S = 1.0
PRIVATE_GAP_S = 1.0
GROUP_PER_MINUTE = 20
# Methods that put a message in a chat; the rest (getUpdates, answerCallbackQuery...) are free.
COUNTED = ("send", "edit", "copy", "forward")
# "uploading photo..." is no message: it counts in the 30 a second but takes no chat's turn (it
# made a private chat's map wait 1 s behind its own indicator, a group's 3 s)
NOT_A_MESSAGE = ("sendchataction",)
# Telegram's answer time assumed before the first answer is measured.
FIRST_ANSWER_S = 0.1


def retry_after_seconds(e: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that this becomes a timedelta later
        warnings.simplefilter("ignore")
        wait = e.retry_after
    return wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)


class SendLimiter(BaseRateLimiter[None]):
    """At most 30 messages in flight or answered within the last second (not a token bucket:
    a bucket lets a burst of 30 through on top of the steady 30/s, 60 in one second), plus a
    per-chat gap.

    Why answered, not started: Telegram receives a request somewhere between our start and its
    answer. Counting each request from its start until one second after its answer means any
    one-second window at the receiver holds at most 30 arrivals, however the requests bunch on
    the way (the last of them to start saw all the others in flight or answered < 1 s before).
    The cost is the round trip: 30 / (1 s + latency) per second."""

    def __init__(
        self,
        per_second: int = OVERALL_PER_SECOND,
        window_s: float = WINDOW_S,
        now: Callable[[], float] = time.monotonic,
        chat_gap_s: float = PRIVATE_GAP_S,
    ) -> None:
        self.per_second = per_second
        self.chat_gap_s = chat_gap_s
        self.window_s = window_s
        self._now = now
        self._sent: deque[float] = deque()  # answer times within the window
        self._in_flight = 0
        self._chat_next: dict[int, float] = {}
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self._answers: deque[float] = deque(maxlen=32)  # seconds, of the last answers

    @property
    def answer_s(self) -> float:
        """Telegram's answer time: the (upper) median of its last 32 answers, timeouts aside,
        so one slow upload does not count as the norm. The outbox sizes its requests in flight
        by it (:func:`bot.telegram.send.in_flight_bound`)."""
        if not self._answers:
            return FIRST_ANSWER_S
        return sorted(self._answers)[len(self._answers) // 2]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def acquire(self, chat_id: int | None) -> None:
        """Wait until one more message may go (to ``chat_id``), and count it."""
        async with self._lock:  # FIFO: senders go in the order they asked
            while True:
                now = self._now()
                while self._sent and self._sent[0] <= now - self.window_s:
                    self._sent.popleft()
                waits = [self._paused_until - now]
                if len(self._sent) + self._in_flight >= self.per_second:
                    # the oldest answer leaving the window, or (all in flight) a short poll
                    waits.append(self._sent[0] + self.window_s - now if self._sent else 0.005)
                wait = max(waits)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            self._in_flight += 1
            if chat_id is not None:
                self._prune_chats(now)
                self._chat_next[chat_id] = max(self._chat_next.get(chat_id, now), now) + (
                    max(60 / GROUP_PER_MINUTE, self.chat_gap_s) if chat_id < 0 else self.chat_gap_s
                )

    def chat_ready_in(self, chat_id: int) -> float:
        """Seconds until ``chat_id`` may get its next message (0: now)."""
        return max(0.0, self._chat_next.get(chat_id, 0.0) - self._now())

    def release(self) -> None:
        """The request was answered (or failed): it counts for one more second."""
        self._in_flight -= 1
        self._sent.append(self._now())

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._now() + seconds)

    def _prune_chats(self, now: float) -> None:
        if len(self._chat_next) > 4096:  # forget chats whose gap is over (bounded memory)
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if not endpoint.lower().startswith(COUNTED):
            return await callback(*args, **kwargs)
        chat_id = _chat_id(data.get("chat_id"))
        if endpoint.lower() in NOT_A_MESSAGE:
            chat_id = None
        wait = self.chat_ready_in(chat_id) if chat_id is not None else 0.0
        if wait > 0:
            await asyncio.sleep(wait)
        await self.acquire(chat_id)
        started = self._now()
        try:
            answer = await callback(*args, **kwargs)
            self._answers.append(self._now() - started)
            return answer
        except TimedOut:
            raise
        except TelegramError as e:  # answered (with an error): an answer time all the same
            self._answers.append(self._now() - started)
            if isinstance(e, RetryAfter):
                self.pause(retry_after_seconds(e))  # the flood limit is per bot: all wait
            raise
        finally:
            self.release()


def _chat_id(value: object) -> int | None:
    """The numeric chat id of a request (None for an @channel name)."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isascii() and value.lstrip("-").isdigit():
        return int(value)
    return None
