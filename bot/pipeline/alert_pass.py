"""One alert pass for one symbol: stored subscriptions -> columns -> rules -> outbox + state,
written in one transaction. Building the columns is vectorised too: the only Python loops run
over the few distinct (zone, quiet hours) combinations and over the alerts that fired."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
from sqlite_utils import Database

from alerts.catalogue import MODE_NAMES, POSITION, RULE_INDEX, RULES, WATCH
from alerts.grouping import group_events
from alerts.inputs import Subscriptions, SymbolMetrics, metrics_from_map
from alerts.rules import AlertEvent, evaluate
from alerts.session import drop_watch_echoes
from alerts.state import AlertState
from bot.clock import in_quiet_hours, quiet_ends_at
from bot.pipeline.position_fate import run_followups, run_position_fate
from bot.pipeline.services import Services
from liqmap import ModelInputError
from market.snapshot import MarketDataError
from storage import alert_settings, alert_state, outbox, subscriptions

log = logging.getLogger(__name__)
FOREVER = 2**62
ALERT_WINDOW = "1d"  # the map every alert rule reads
MODE_CODES = {name: code for code, name in MODE_NAMES.items()}
MIN_CLUSTER = "min_cluster"  # stored in alert_settings as a pseudo-rule's threshold (USD)


def _column(values: tuple[object, ...], none: str = "") -> np.ndarray:
    """A text column with NULL as ``none`` (numpy compares it element-wise in C)."""
    arr = np.array(values, dtype=object)
    return np.where(arr == None, none, arr).astype(str)  # noqa: E711 - element-wise NULL test


def load_subscriptions(db: Database, symbol: str, now_ms: int) -> tuple[Subscriptions, np.ndarray]:
    """The symbol's open positions and watches as columns (ordered by id), and each row's
    quiet-hours end as text ('' for none), for holding alerts."""
    rows = subscriptions.open_for_symbol(db, symbol)
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(subscriptions.COLUMNS)
    (sub_id, chat_id, kind, side, entry, leverage, lp, entry_lfr, muted, muted_until, tz,
     quiet_start, quiet_end) = cols  # fmt: skip

    chats = np.array(chat_id, dtype=np.int64)
    zones, starts, ends = _column(tz, "UTC"), _column(quiet_start), _column(quiet_end)
    # Quiet hours: one verdict per distinct (zone, start, end), spread back by index.
    combos, where = np.unique(np.stack([zones, starts, ends], axis=1), axis=0, return_inverse=True)
    verdict = np.array(
        [in_quiet_hours(now_ms, z, a or None, b or None) for z, a, b in combos], dtype=np.bool_
    )
    quiet = verdict[where.reshape(-1)] if n else np.zeros(0, dtype=np.bool_)
    # Rule settings: sparse overrides, filled by index.
    thresholds = np.full((n, len(RULES)), np.nan)
    modes = np.full((n, len(RULES)), MODE_CODES["on"], dtype=np.int8)
    overrides = alert_settings.for_chats(db, np.unique(chats).tolist())
    min_cluster = np.zeros(n)
    for chat, rules in overrides.items():
        if not rules:
            continue
        rows_of_chat = chats == chat
        floor = rules.get(MIN_CLUSTER, (None, None))[1]
        if floor is not None:
            min_cluster[rows_of_chat] = floor
        for rule, (mode, threshold) in rules.items():
            if rule not in RULE_INDEX:
                continue
            if mode is not None:
                modes[rows_of_chat, RULE_INDEX[rule]] = MODE_CODES[mode]
            if threshold is not None:
                thresholds[rows_of_chat, RULE_INDEX[rule]] = threshold
    # numpy turns NULL into NaN for float columns
    user_mute = np.nan_to_num(np.array(muted_until, dtype=np.float64)).astype(np.int64)
    sub_muted = np.array(muted, dtype=np.int64) == 1
    kinds, sides = _column(kind), _column(side)
    subs = Subscriptions(
        sub_id=np.array(sub_id, dtype=np.int64),
        chat_id=chats,
        kind=np.where(kinds == "position", POSITION, WATCH).astype(np.int8),
        side=np.select([sides == "long", sides == "short"], [1, -1], 0).astype(np.int8),
        entry=np.array(entry, dtype=np.float64),
        leverage=np.array(leverage, dtype=np.float64),
        liquidation_price=np.array(lp, dtype=np.float64),
        entry_lfr=np.array(entry_lfr, dtype=np.float64),
        thresholds=thresholds,
        modes=modes,
        muted_until_ms=np.where(sub_muted, FOREVER, user_mute),
        in_quiet_hours=quiet,
        hold_in_quiet=np.ones(n, dtype=np.bool_),  # 'on' rules wait; 'silent' rules go quietly
        min_cluster=min_cluster,
    )
    return subs, np.stack([zones, ends], axis=1) if n else np.zeros((0, 2), dtype=str)


def load_state(db: Database, sub_ids: np.ndarray) -> AlertState:
    if sub_ids.size == 0:
        return AlertState.empty()
    return AlertState.from_rows(alert_state.for_subscriptions(db, sub_ids.tolist()))


def run_symbol(db: Database, metrics: SymbolMetrics, now_ms: int) -> list[AlertEvent]:
    """Evaluate every subscription of ``metrics.symbol``; events and state committed together."""
    subs, zones = load_subscriptions(db, metrics.symbol, now_ms)
    if len(subs) == 0:
        return []
    before = load_state(db, subs.sub_id)
    events, after = evaluate(metrics, subs, before, now_ms)
    events = drop_watch_echoes(events, subs)
    changed = after.changed_rows(before)
    # One message per chat per symbol per pass (alerts.grouping): chat -> its zone and quiet end.
    row_of = {int(x): i for i, x in enumerate(subs.sub_id.tolist())}
    chat_zone = {int(ev.chat_id): zones[row_of[ev.sub_id]] for ev in events}
    messages = group_events(events, subs, metrics, {c: z[0] for c, z in chat_zone.items()}, now_ms)
    with db.atomic():
        alert_state.save(db, changed)
        for msg in messages:
            not_before, text = now_ms, msg.text
            zone, end = chat_zone[msg.chat_id]
            if msg.held and end:
                not_before = quiet_ends_at(now_ms, zone, end)
                fired = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(ZoneInfo(zone))
                # it is read later: say so, so stale numbers are not taken for live ones
                text = f"<i>Held during your quiet hours; fired {fired:%H:%M} {zone}.</i>\n{text}"
            outbox.enqueue(db, msg.dedupe_key, msg.chat_id, "alert", text, now_ms,
                           silent=msg.silent, not_before=not_before,
                           keyboard=msg.keyboard)  # fmt: skip
    return events


async def run_alerts(s: Services, tick: int) -> int:
    """Evaluate every symbol somebody follows against its map at ``tick``; returns #events.
    Liquidations and stop-outs are detected first, so no rule fires for a dead position; due
    follow-up notes are queued last."""
    await run_position_fate(s, tick)
    fired = 0
    for symbol in subscriptions.symbols_in_use(s.db):
        try:
            fired += await _alerts_for(s, symbol, tick)
        except (MarketDataError, ModelInputError) as e:
            log.warning("no map for %s at %s: %s", symbol, tick, e)
        except Exception:  # one symbol's failure must not stop the others
            log.exception("alert pass for %s failed", symbol)
    await run_followups(s, tick)
    return fired


async def _alerts_for(s: Services, symbol: str, tick: int) -> int:
    """The alert pass of one symbol at ``tick``; returns #events."""
    report = await s.maps.report(symbol, ALERT_WINDOW, at=tick)
    funding = report.funding
    p95 = getattr(s.source, "funding_p95", None)
    metrics = metrics_from_map(
        report.liq,
        report.clusters,
        oi_change_4h=s.source.oi_change(symbol, tick, 4),
        funding_rate=funding.rate if funding else None,
        funding_interval_h=funding.interval_h if funding else 8.0,
        funding_p95_abs=p95(symbol, tick) if p95 else None,
        band_pct=report.band_pct,
        venues=report.venues,
        stale=report.stale,
    )
    return len(run_symbol(s.db, metrics, tick))
