"""The ``cascade_live`` pass: real liquidations of one side above the threshold within 5 minutes
(``market.liquidation_summary``), sent once per episode to the chats exposed to that side.

Exposed: an open position on the side being liquidated (longs in a long flush), or a watch of the
symbol. Run on every tick. Each pass looks back an hour over the stored prints and finds every
moment a 5-minute window reached the threshold (so a tick that comes late, or prints that arrive
late, still count); triggers less than 5 minutes apart are one episode, keyed by its first
trigger (stored, so a late print that moves the first trigger earlier keeps the identity). The
outbox's dedupe key ``cascade_live:SYMBOL:SIDE:START:CHAT`` keeps each episode to one message per
chat, across restarts too. An episode whose start is too close to the start of
the look-back may have begun earlier (it was seen, and sent, by an earlier pass) and is skipped;
one that ended more than ``FRESH_MS`` ago is not news any more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database

from bot.clock import in_quiet_hours, quiet_ends_at
from bot.pipeline.services import Services
from bot.views.alert_message import held_note
from bot.views.liqs import cascade_html
from liqmap.times import HOUR_MS
from market.liquidation_summary import (
    CASCADE_LIVE_USD,
    CASCADE_WINDOW_MS,
    Cascade,
    IntArray,
    cascade_live,
)
from storage import liquidations, outbox, subscriptions
from storage.liquidations import StoredPrints

log = logging.getLogger(__name__)
LOOKBACK_MS = HOUR_MS
FRESH_MS = 15 * 60_000


@dataclass(frozen=True)
class Episode:
    side: str
    start_ms: int  # first moment the window reached the threshold: the episode's identity
    last_ms: int  # the latest moment it was still above
    peak: Cascade  # the strongest 5-minute window of the episode so far


def triggers(time_ms: IntArray, usd: np.ndarray, threshold: float, window_ms: int) -> IntArray:
    """Print times at which the sum of the window ending there, ``(t - window, t]``, reaches
    ``threshold`` (prints sorted by time)."""
    cum = np.concatenate(([0.0], np.cumsum(usd)))
    end = np.searchsorted(time_ms, time_ms, side="right")
    start = np.searchsorted(time_ms, time_ms - window_ms, side="right")
    hit = cum[end] - cum[start] >= threshold
    return np.unique(time_ms[hit])


def episodes(
    prints: StoredPrints,
    scan_from: int,
    now_ms: int,
    threshold: float = CASCADE_LIVE_USD,
    window_ms: int = CASCADE_WINDOW_MS,
) -> list[Episode]:
    """Episodes with every trigger in ``[scan_from, now_ms]`` whose start lies at least one window
    after ``scan_from`` (so it is known to be the start)."""
    side_of = np.asarray(prints.side, dtype=object)
    out = []
    for side in ("long", "short"):
        m = side_of == side
        t, usd = prints.time[m], prints.usd[m]
        hits = triggers(t, usd, threshold, window_ms)
        hits = hits[(hits >= scan_from) & (hits <= now_ms)]
        if hits.size == 0:
            continue
        breaks = np.flatnonzero(np.diff(hits) >= window_ms) + 1
        for group in np.split(hits, breaks):
            first = int(group[0])
            if first < scan_from + window_ms:
                continue  # may have started before the look-back: an earlier pass had it
            found = [
                cascade_live(
                    prints.time, prints.side, prints.price, prints.usd, int(g), threshold, window_ms
                )
                for g in group
            ]
            best = max((c for cs in found for c in cs if c.side == side), key=lambda c: c.usd)
            out.append(Episode(side, first, int(group[-1]), best))
    return out


def queue_cascade(db: Database, symbol: str, ep: Episode, now_ms: int) -> int:
    """One message per exposed chat (its positions on that side and its watch together); muted
    chats and muted positions get none, quiet hours hold it. Returns how many were queued."""
    exposed: dict[int, tuple[list[int], bool, str, str | None, str | None]] = {}
    for row in subscriptions.open_for_symbol(db, symbol):
        sub_id, chat, kind, side, *_, muted, muted_until, tz, q_start, q_end, _opened = row
        if muted or (muted_until or 0) > now_ms:
            continue
        ids, watching, *_ = exposed.get(chat, ([], False, tz or "UTC", q_start, q_end))
        if kind == "position" and side == ep.side:
            ids.append(int(sub_id))
        elif kind == "watch":
            watching = True
        else:
            continue
        exposed[chat] = (ids, watching, tz or "UTC", q_start, q_end)
    # a late print from a lagging venue can move the first trigger: keep the stored identity
    start = liquidations.episode_start(
        db, symbol, ep.side, ep.start_ms, ep.last_ms, CASCADE_WINDOW_MS
    )
    queued = 0
    with db.atomic():
        for chat, (ids, watching, tz, q_start, q_end) in exposed.items():
            text = cascade_html(symbol, ep.peak, ids, watching, tz)
            not_before = now_ms
            if in_quiet_hours(now_ms, tz, q_start, q_end) and q_end:
                not_before = quiet_ends_at(now_ms, tz, q_end)
                text = held_note(text, now_ms, tz)
            key = f"cascade_live:{symbol}:{ep.side}:{start}:{chat}"
            queued += outbox.enqueue(db, key, chat, "alert", text, now_ms, not_before=not_before)
    return queued


def run_cascades(s: Services, now_ms: int) -> int:
    """The pass over every symbol somebody follows; returns how many messages were queued."""
    queued = 0
    for symbol in subscriptions.symbols_in_use(s.db):
        try:
            scan_from = now_ms - LOOKBACK_MS
            prints = liquidations.read_prints(
                s.db, symbol, scan_from - CASCADE_WINDOW_MS, now_ms + 1
            )
            if len(prints) == 0:
                continue
            for ep in episodes(prints, scan_from, now_ms):
                if ep.last_ms >= now_ms - FRESH_MS:
                    queued += queue_cascade(s.db, symbol, ep, now_ms)
        except Exception:  # one symbol's failure must not stop the others
            log.exception("cascade pass for %s failed", symbol)
    return queued
