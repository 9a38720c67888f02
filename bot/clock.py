"""Clocks: wall time for live data, a replay clock for the demo. Logic takes ``now`` from these."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


def parse_utc_ms(text: str) -> int:
    """ISO time (``2025-10-10T20:00``, ``2025-10-10 20:00Z``, ``2025-10-10``; UTC when no zone is
    given) -> ms. Raises ValueError."""
    t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)


class Clock(Protocol):
    def now_ms(self) -> int: ...


class WallClock:
    def now_ms(self) -> int:
        return int(time.time() * 1000)


class ReplayClock:
    """Market time that starts at ``start_ms`` and runs ``speed`` times faster than real time."""

    def __init__(self, start_ms: int, speed: float = 1.0, wall: Clock | None = None) -> None:
        self.start_ms = start_ms
        self.speed = speed
        self._wall = wall or WallClock()
        self._wall_start = self._wall.now_ms()

    def now_ms(self) -> int:
        return self.start_ms + int((self._wall.now_ms() - self._wall_start) * self.speed)
