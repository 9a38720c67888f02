"""Clocks (wall time for live data, a replay clock for the demo; logic takes ``now`` from
these) and the user's local-time rules: digest slots and quiet hours."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from datetime import time as day_time
from typing import Protocol
from zoneinfo import ZoneInfo

# A fixed offset as the trader typed it (/tz utc+5:30 is stored as 'UTC+05:30'): it reads back
# as typed, where the zone that keeps that offset (Asia/Kolkata) would not.
_FIXED_OFFSET = re.compile(r"^UTC([+-])([0-9]{2}):([0-9]{2})$")


def zone_info(zone: str) -> tzinfo:
    """A chat's stored zone -> its tzinfo: an IANA name (``Europe/Berlin``, ``Etc/GMT-3``) or a
    fixed offset (``UTC+05:30``). Raises ValueError or ZoneInfoNotFoundError for anything else."""
    m = _FIXED_OFFSET.match(zone)
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3))
        if hours > 14 or minutes >= 60:
            raise ValueError(f"no such offset: {zone}")
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if m.group(1) == "-" else delta, zone)
    return ZoneInfo(zone)


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
        self._held: int | None = None

    def now_ms(self) -> int:
        if self._held is not None:
            return self._held
        return self.start_ms + int((self._wall.now_ms() - self._wall_start) * self.speed)

    @property
    def held(self) -> bool:
        return self._held is not None

    def hold(self) -> None:
        """Stop market time: from now on only ``advance`` moves it (the demo's pace)."""
        if self._held is None:
            self._held = self.now_ms()

    def advance(self, ms: int) -> None:
        """Move held market time on by ``ms`` (the demo's pace steps it)."""
        if self._held is not None:
            self._held += ms

    def release(self) -> None:
        """Market time runs on from where it was held."""
        if self._held is not None:
            held, self._held = self._held, None
            self.jump(held)

    def jump(self, to_ms: int | None = None, speed: float | None = None) -> None:
        """Continue from ``to_ms`` (default: the present market time) at ``speed`` (default:
        unchanged): the demo's move to another day, or a faster stretch of replay."""
        start = self.now_ms() if to_ms is None else to_ms
        self.start_ms, self._wall_start = start, self._wall.now_ms()
        if self._held is not None:
            self._held = start
        if speed is not None:
            self.speed = speed


def digest_slot(now_ms: int, tz: str, every_h: int = 4) -> str | None:
    """The local slot label (``2025-10-10T16``) if ``now_ms`` falls in a digest hour, else None.

    Slots are the local hours divisible by ``every_h``; any moment within that hour counts, so a
    tick a little late still sends, and the slot label keeps it to once."""
    local = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(zone_info(tz))
    if local.hour % every_h:
        return None
    return local.strftime("%Y-%m-%dT%H")


def in_quiet_hours(now_ms: int, tz: str, start: str | None, end: str | None) -> bool:
    """Whether local time is inside ``start``-``end`` (HH:MM; may wrap past midnight)."""
    if not start or not end:
        return False
    local = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(zone_info(tz)).time()
    a, b = day_time.fromisoformat(start), day_time.fromisoformat(end)
    return a <= local < b if a < b else (local >= a or local < b)


def quiet_ends_at(now_ms: int, tz: str, end: str) -> int:
    """The next moment (ms) local time reaches ``end``."""
    zone = zone_info(tz)
    local = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(zone)
    target = datetime.combine(local.date(), day_time.fromisoformat(end), tzinfo=zone)
    if target <= local:
        target = datetime.combine(
            local.date().fromordinal(local.date().toordinal() + 1),
            day_time.fromisoformat(end),
            tzinfo=zone,
        )
    return int(target.timestamp() * 1000)
