"""One alert pass for one symbol: in-memory subscription columns (:mod:`alert_book`) -> rules
-> outbox + the state that changed, written in one transaction. The only Python loops run over
the distinct (zone, quiet hours) combinations and over the alerts that fired."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from sqlite_utils import Database

from alerts.catalogue import OWN_LP_IN_CLUSTER
from alerts.findings import Finding
from alerts.inputs import SymbolMetrics, metrics_from_map
from alerts.rules import evaluate
from alerts.session import drop_watch_echoes
from bot.clock import quiet_ends_at
from bot.pipeline.alert_book import MIN_CLUSTER, WAKE, AlertBook
from bot.pipeline.moves import extremes_since, recent_candles, volatility_of
from bot.pipeline.position_fate import run_followups, run_position_fate
from bot.pipeline.price_alert_pass import run_price_alerts
from bot.pipeline.services import Services
from bot.views.alert_message import alert_messages, held_note
from bot.views.evidence import record_lines
from liqmap import ModelInputError
from liqmap.times import MINUTE_MS
from market.snapshot import MarketDataError
from storage import alert_state, outbox, subscriptions

log = logging.getLogger(__name__)
ALERT_WINDOW = "1d"  # the map every alert rule reads
# The /open reply already warns when the liquidation price sits in a cluster: the rule's first
# firing within this long after the open is that same news, consumed without a second message.
TOLD_AT_OPEN_MS = 15 * 60_000
FIRST_LOOK_MS = 15 * MINUTE_MS  # the candles a symbol's first pass looks back over
__all__ = ["ALERT_WINDOW", "MIN_CLUSTER", "WAKE", "run_alerts", "run_symbol"]


def run_symbol(
    db: Database, metrics: SymbolMetrics, now_ms: int, book: AlertBook | None = None
) -> list[Finding]:
    """Evaluate every subscription of ``metrics.symbol``; findings and the state that changed
    committed in one transaction. ``book``: the in-memory inputs (loaded here if None)."""
    if book is None:
        book = AlertBook.load(db)
    else:
        book.catch_up(db)
    if metrics.symbol not in book.symbols:
        return []
    quiet, bad = book.quiet_now(now_ms)
    return _evaluate(db, book, metrics, now_ms, quiet, bad)


def _evaluate(
    db: Database,
    book: AlertBook,
    metrics: SymbolMetrics,
    now_ms: int,
    quiet: np.ndarray,
    bad: np.ndarray,
) -> list[Finding]:
    sb = book.symbols[metrics.symbol]
    subs, combos = book.subscriptions(metrics.symbol, quiet, bad)
    if len(subs) == 0:
        return []
    before = sb.state
    findings, after = evaluate(metrics, subs, before, now_ms)
    findings = drop_watch_echoes(findings, subs)
    shown = _drop_told_at_open(db, findings, now_ms)  # fired (state) but not sent again
    shown = _with_own_stops(db, shown)
    changed = after.changed_rows(before)
    # One message per chat per symbol per pass (bot.views.alert_message), with the chat's zone
    # and quiet-hours end (rows are ordered by id, so a finding's row is found by bisection).
    chat_zone: dict[int, tuple[str, str]] = {}
    for ev in shown:
        zone, _, end = book.combos[int(combos[int(np.searchsorted(subs.sub_id, ev.sub_id))])]
        chat_zone[int(ev.chat_id)] = (zone, end)
    zones = {c: z for c, (z, _) in chat_zone.items()}
    messages = alert_messages(shown, metrics, zones, now_ms, record_lines())
    with db.atomic():
        alert_state.save(db, changed)
        for msg in messages:
            not_before, text = now_ms, msg.text
            zone, end = chat_zone[msg.chat_id]
            if msg.held and end:
                not_before = quiet_ends_at(now_ms, zone, end)
                text = held_note(text, now_ms, zone)
            outbox.enqueue(
                db,
                msg.dedupe_key,
                msg.chat_id,
                "alert",
                text,
                now_ms,
                silent=msg.silent,
                not_before=not_before,
                keyboard=msg.keyboard,
            )
    sb.state = after  # only once the transaction committed
    return findings


def _with_own_stops(db: Database, findings: list[Finding]) -> list[Finding]:
    """The findings with their positions' own stops (read only for what fired: the array pass
    does not need them), so the advice names the trader's stop rather than another one."""
    ids = sorted({int(f.sub_id) for f in findings if f.position is not None})
    stops = subscriptions.own_stops(db, ids)
    if not stops:
        return findings
    return [
        dataclasses.replace(f, position=dataclasses.replace(f.position, stop=stops[f.sub_id]))
        if f.position is not None and f.sub_id in stops
        else f
        for f in findings
    ]


def _drop_told_at_open(db: Database, findings: list[Finding], now_ms: int) -> list[Finding]:
    """Own-liquidation-in-a-cluster findings of positions opened moments ago: the rule's state
    still records them as fired (so they do not come back), but no message repeats the reply."""
    kept = []
    for e in findings:
        if e.rule == OWN_LP_IN_CLUSTER:
            sub = subscriptions.get(db, int(e.sub_id))  # rare: one row per such event
            if sub is not None and now_ms - sub.opened_at <= TOLD_AT_OPEN_MS:
                continue
        kept.append(e)
    return kept


async def run_alerts(s: Services, tick: int) -> int:
    """Evaluate every symbol somebody follows against its map at ``tick``; returns #events.
    Liquidations and stop-outs are detected first, so no rule fires for a dead position; due
    follow-up notes are queued last."""
    await run_position_fate(s, tick)
    await run_price_alerts(s, tick)  # the trader's own levels, on every candle since the last
    fired = 0
    if s.alert_book is None:
        s.alert_book = AlertBook.load(s.db)  # once; then only the chats that changed
    else:
        s.alert_book.catch_up(s.db)
    quiet, bad = s.alert_book.quiet_now(tick)
    for symbol in sorted(s.alert_book.symbols):
        try:
            fired += await _alerts_for(s, symbol, tick, quiet, bad)
        except (MarketDataError, ModelInputError) as e:
            log.warning("no map for %s at %s: %s", symbol, tick, e)
        except Exception:  # one symbol's failure must not stop the others
            log.exception("alert pass for %s failed", symbol)
    await run_followups(s, tick)
    return fired


async def _alerts_for(
    s: Services, symbol: str, tick: int, quiet: np.ndarray, bad: np.ndarray
) -> int:
    """The alert pass of one symbol at ``tick``; returns #events."""
    report = await s.maps.report(symbol, ALERT_WINDOW, at=tick)
    funding = report.funding
    metrics = metrics_from_map(
        report.liq,
        report.clusters,
        oi_change_4h=s.source.oi_change(symbol, tick, 4),
        funding_rate=funding.rate if funding else None,
        funding_interval_h=funding.interval_h if funding else 8.0,
        funding_p95_abs=s.source.funding_p95(symbol, tick),
        band_pct=report.band_pct,
        venues=report.venues,
        stale=report.stale,
    )
    assert s.alert_book is not None
    volatility, since = _recent_moves(s, symbol, tick, s.alert_book.checked_to.get(symbol))
    if volatility is not None:
        metrics = dataclasses.replace(metrics, vol_fast=volatility[0], vol_slow=volatility[1])
    if since is not None:
        metrics = dataclasses.replace(metrics, low_since=since[0], high_since=since[1])
    fired = len(_evaluate(s.db, s.alert_book, metrics, tick, quiet, bad))
    s.alert_book.checked_to[symbol] = tick  # only once the pass committed
    return fired


def _recent_moves(
    s: Services, symbol: str, tick: int, last: int | None
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """The liquidation warning's inputs: (fast, slow) volatility from the last 72 h of candles,
    and the lowest low / highest high of the candles closed since the previous pass (``last``;
    the last 15 minutes on a symbol's first pass), so a wick between two refreshes counts."""
    candles = recent_candles(s, symbol, tick)
    vol = volatility_of(candles, tick)
    since = extremes_since(candles, tick - FIRST_LOOK_MS if last is None else last, tick)
    return (None if vol is None else (vol.fast, vol.slow)), since
