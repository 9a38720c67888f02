"""Time spans in milliseconds: every layer counts time in UTC ms (candle times, ``at``, ticks).

Defined once, in the lowest layer, so no module carries its own copy.
"""

from __future__ import annotations

from datetime import UTC, datetime

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def utc_minute(ms: int) -> str:
    """``2025-10-10 20:00 UTC``: a moment as an error message or a summary names it."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
