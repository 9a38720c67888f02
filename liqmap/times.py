"""Time spans in milliseconds: every layer counts time in UTC ms (candle times, ``at``, ticks).

Defined once, in the lowest layer, so no module carries its own copy.
"""

from __future__ import annotations

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
