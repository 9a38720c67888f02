"""The price-alert pass: on every refresh tick, each active price alert is checked against every
candle closing since its last check (as the position-fate pass does), one numpy pass per symbol
(:func:`alerts.price_levels.price_crossings`). A firing and its message are written in one
transaction (dedupe key ``price_alert:ID:N``): a crash before the commit replays the same
candles after the restart, a crash after it leaves the message in the outbox; either way it is
sent once."""

from __future__ import annotations

import logging

import numpy as np

from alerts.findings import PriceAlertFinding, clusters_beyond
from alerts.price_levels import NO_CANDLE, margin_pct, price_crossings
from bot.clock import in_quiet_hours
from bot.pipeline.position_fate import PRICE_WINDOW, candles_between
from bot.pipeline.services import Services
from bot.views.alert_message import price_alert_html, price_alert_keyboard
from bot.views.report import MapReport
from liqmap import Candles, ModelInputError
from liqmap.model import is_proxy
from market.snapshot import MarketDataError
from storage import outbox, price_alerts, users
from storage.price_alerts import ABOVE, PriceAlert
from storage.users import User

log = logging.getLogger(__name__)


async def run_price_alerts(s: Services, tick: int) -> int:
    """Check every symbol's active price alerts up to ``tick``; returns #alerts that fired."""
    fired = 0
    for symbol in price_alerts.symbols_with_alerts(s.db):
        try:
            fired += await _alerts_for(s, symbol, tick)
        except (MarketDataError, ModelInputError) as e:
            log.warning("price alerts of %s wait: %s", symbol, e)
        except Exception:  # one symbol's failure must not stop the others
            log.exception("price-alert pass for %s failed", symbol)
    return fired


async def _alerts_for(s: Services, symbol: str, tick: int) -> int:
    alerts = price_alerts.active_for_symbol(s.db, symbol)
    if not alerts:
        return 0
    checked = np.array([a.checked_to for a in alerts], dtype=np.int64)
    candles = candles_between(s, symbol, int(checked.min()), tick)
    if candles is None or len(candles) == 0:
        return 0
    found = price_crossings(
        np.array([a.direction == ABOVE for a in alerts]),
        np.array([a.level for a in alerts], dtype=np.float64),
        np.array([a.armed for a in alerts]),
        np.array([a.every for a in alerts]),
        checked,
        candles.close_time,
        candles.low,
        candles.high,
        np.array([margin_pct(a.rearm_pct) for a in alerts], dtype=np.float64),
    )
    hits = np.flatnonzero(found.candle != NO_CANDLE).tolist()
    report: MapReport | None = None
    if hits:  # the map is read only when something fired: its price and clusters
        report = await s.maps.report(symbol, PRICE_WINDOW, at=tick)
    zones: dict[int, tuple[str, bool]] = {}
    messages: list[tuple[PriceAlert, PriceAlertFinding]] = []
    for i in hits:
        a = alerts[i]
        j = int(found.candle[i])
        assert report is not None
        messages.append((a, _finding(a, report, candles, j)))
        if a.chat_id not in zones:
            zones[a.chat_id] = _delivery(users.get(s.db, a.chat_id), tick)
    with s.db.atomic():
        for a, f in messages:
            if price_alerts.record_fired(
                s.db, a.id, f.fired_count, f.candle_ms, f.extreme, done=not a.every
            ):
                zone, silent = zones[a.chat_id]
                outbox.enqueue(
                    s.db,
                    f.dedupe_key,
                    a.chat_id,
                    "alert",
                    price_alert_html(f, zone),
                    tick,
                    silent=silent,
                    keyboard=[list(map(list, row)) for row in price_alert_keyboard(f)],
                )
        price_alerts.set_checked(
            s.db,
            {a.id: bool(found.armed[i]) for i, a in enumerate(alerts)},
            int(candles.close_time[-1]),
        )
    return len(messages)


def _delivery(user: User | None, now: int) -> tuple[str, bool]:
    """The chat's zone, and whether to send without sound: a price alert is the trader's own
    ask and a level crossed once is not crossed again, so quiet hours and /mute never hold or
    drop it; they only silence it."""
    if user is None:
        return "UTC", False
    muted = user.muted_until is not None and user.muted_until > now
    quiet = in_quiet_hours(now, user.tz, user.quiet_start, user.quiet_end)
    return user.tz, muted or quiet


def _finding(a: PriceAlert, report: MapReport, candles: Candles, j: int) -> PriceAlertFinding:
    above = a.direction == ABOVE
    extreme = float(candles.high[j] if above else candles.low[j])
    below_c, above_c = report.nearest(6)
    margin = margin_pct(a.rearm_pct) / 100 * a.level
    return PriceAlertFinding(
        chat_id=a.chat_id,
        alert_id=a.id,
        fired_count=a.fired_count + 1,
        symbol=a.symbol,
        level=a.level,
        direction=a.direction,
        every=a.every,
        candle_ms=int(candles.time[j]),
        extreme=extreme,
        price_now=report.price,
        price_at=report.price_at,
        beyond=clusters_beyond(below_c, above_c, a.level, a.direction),
        relative_units=is_proxy(report.liq),
        rearm_at=(a.level - margin if above else a.level + margin) if a.every else None,
    )
