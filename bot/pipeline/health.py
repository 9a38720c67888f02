"""The bot's health, for ``GET /healthz`` and the owner's ``/status``: version, uptime, the last
refresh, each venue's data age, the outbox backlog and its oldest late alert, the live feed.

Unhealthy (HTTP 503) when any venue's data is older than ``LIQBOT_HEALTH_MAX_DATA_AGE_MINUTES``
or the oldest pending alert has waited longer than ``LIQBOT_HEALTH_MAX_ALERT_AGE_SECONDS``: the
two things a trader would notice (a stale map, a late alert)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.pipeline.services import Services
from bot.version import __version__
from storage import health as stored

STARTED = time.monotonic()  # the process's start, near enough (imported while starting)


@dataclass
class Health:
    ok: bool
    body: dict[str, Any]  # the JSON of /healthz
    problems: list[str] = field(default_factory=list)


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _age_s(now: int, ms: int | None) -> float | None:
    return None if ms is None else round(max(0, now - ms) / 1000, 1)


def data_ages(s: Services, now: int) -> dict[str, float | None]:
    """Seconds since each venue's newest candle close, for its stalest symbol (None: a symbol
    without any data yet)."""
    ages: dict[str, float | None] = {}
    for row in s.source.status(now):
        age = _age_s(now, row.last_data)
        if row.venue not in ages:
            ages[row.venue] = age
        elif ages[row.venue] is not None:
            current = ages[row.venue]
            ages[row.venue] = None if age is None or current is None else max(current, age)
    return ages


def feed_state(s: Services) -> dict[str, Any] | str:
    """Each streaming venue's liquidation feed: connected or not, since when, its last error."""
    if s.liquidations is None:
        return "off"
    return {
        st.venue: {
            "connected": st.connected,
            "since": _iso(st.connected_since_ms),
            "reconnects": st.reconnects,
            "last_error": st.last_error,
        }
        for st in s.liquidations.status()
        if st.support != "none"
    }


def check(s: Services) -> Health:
    now = s.clock.now_ms()
    max_data_s = s.settings.health_max_data_age_minutes * 60
    max_alert_s = s.settings.health_max_alert_age_seconds
    problems = []
    ages = data_ages(s, now)
    for venue, age in ages.items():
        if age is None:
            problems.append(f"{venue}: no data yet")
        elif age > max_data_s:
            problems.append(f"{venue}: data {age / 60:.0f} min old")
    refreshed = stored.last_refresh(s.db)
    backlog = stored.backlog(s.db, now)
    alert_age = _age_s(now, backlog.oldest_alert_since)
    if alert_age is not None and alert_age > max_alert_s:
        problems.append(f"oldest pending alert waiting {alert_age:.0f} s")
    body: dict[str, Any] = {
        "status": "ok" if not problems else "unhealthy",
        "version": __version__,
        "uptime_s": round(time.monotonic() - STARTED, 1),
        "market_time": _iso(now),
        "last_refresh": _iso(refreshed),
        "last_refresh_age_s": _age_s(now, refreshed),
        "data_age_s": ages,
        "outbox": {"backlog": backlog.due, "oldest_pending_alert_age_s": alert_age},
        "live_feed": feed_state(s),
        "limits": {"max_data_age_s": max_data_s, "max_alert_age_s": max_alert_s},
        "problems": problems,
    }
    return Health(not problems, body, problems)


def health_lines(h: Health) -> list[str]:
    """The same for a chat (plain text; the caller escapes)."""
    b = h.body
    up = b["uptime_s"]
    lines = [
        f"Health: {'ok' if h.ok else 'UNHEALTHY'} (liqbot {b['version']}, up "
        f"{up // 3600:.0f} h {up % 3600 / 60:.0f} min)",
        f"Last refresh: {b['last_refresh'] or 'none yet'}",
        "Data age: "
        + (
            ", ".join(
                f"{v} {'none' if a is None else f'{a / 60:.0f} min'}"
                for v, a in b["data_age_s"].items()
            )
            or "no venues"
        ),
        f"Outbox backlog: {b['outbox']['backlog']}, oldest pending alert "
        + (
            "none"
            if b["outbox"]["oldest_pending_alert_age_s"] is None
            else f"{b['outbox']['oldest_pending_alert_age_s']:.0f} s"
        ),
    ]
    feed = b["live_feed"]
    if isinstance(feed, dict):
        lines.append(
            "Live feed: "
            + ", ".join(f"{v} {'up' if f['connected'] else 'DOWN'}" for v, f in feed.items())
        )
    lines += [f"⚠️ {p}" for p in h.problems]
    return lines
