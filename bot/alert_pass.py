"""One alert pass for one symbol: stored subscriptions -> columns -> rules -> outbox + state,
written in one transaction. Building the columns is vectorised too: the only Python loops run
over the few distinct (zone, quiet hours) combinations and over the alerts that fired."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
from sqlite_utils import Database

from alerts.catalogue import MODE_NAMES, POSITION, RULE_INDEX, RULES, WATCH
from alerts.inputs import Subscriptions, SymbolMetrics
from alerts.rules import AlertEvent, evaluate
from alerts.state import AlertState
from bot.digest import quiet_ends_at
from storage import alert_settings, outbox, subscriptions

log = logging.getLogger(__name__)
FOREVER = 2**62
MODE_CODES = {name: code for code, name in MODE_NAMES.items()}


def _quiet_now(now_ms: int, tz: str, start: str | None, end: str | None) -> bool:
    if not start or not end:
        return False
    local = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(ZoneInfo(tz)).time()
    a, b = time.fromisoformat(start), time.fromisoformat(end)
    return a <= local < b if a < b else (local >= a or local < b)


def load_subscriptions(
    db: Database, symbol: str, now_ms: int
) -> tuple[Subscriptions, dict[int, tuple[str, str | None]]]:
    """The symbol's open positions and watches as columns, and each chat's (zone, quiet end)."""
    rows = subscriptions.open_for_symbol(db, symbol)
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(subscriptions.COLUMNS)
    (sub_id, chat_id, kind, side, entry, leverage, lp, entry_lfr, muted, muted_until, tz,
     quiet_start, quiet_end) = cols  # fmt: skip

    def floats(values: tuple[object, ...]) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

    chats = np.array(chat_id, dtype=np.int64)
    # Quiet hours: evaluated once per distinct (zone, start, end), then broadcast.
    combos = list(zip(tz, quiet_start, quiet_end, strict=True))
    verdict = {c: _quiet_now(now_ms, *c) for c in set(combos)}
    quiet = np.array([verdict[c] for c in combos], dtype=np.bool_)
    # Rule settings: sparse overrides, filled by index.
    thresholds = np.full((n, len(RULES)), np.nan)
    modes = np.full((n, len(RULES)), MODE_CODES["on"], dtype=np.int8)
    overrides = alert_settings.for_chats(db, sorted(set(chats.tolist())))
    for chat, rules in overrides.items():
        if not rules:
            continue
        rows_of_chat = chats == chat
        for rule, (mode, threshold) in rules.items():
            if rule not in RULE_INDEX:
                continue
            if mode is not None:
                modes[rows_of_chat, RULE_INDEX[rule]] = MODE_CODES[mode]
            if threshold is not None:
                thresholds[rows_of_chat, RULE_INDEX[rule]] = threshold
    user_mute = np.array([m or 0 for m in muted_until], dtype=np.int64)
    sub_muted = np.array(muted, dtype=np.int64) == 1
    subs = Subscriptions(
        sub_id=np.array(sub_id, dtype=np.int64),
        chat_id=chats,
        kind=np.where(np.array(kind, dtype=object) == "position", POSITION, WATCH).astype(np.int8),
        side=np.select(
            [np.array(side, dtype=object) == "long", np.array(side, dtype=object) == "short"],
            [1, -1],
            0,
        ).astype(np.int8),
        entry=floats(entry),
        leverage=floats(leverage),
        liquidation_price=floats(lp),
        entry_lfr=floats(entry_lfr),
        thresholds=thresholds,
        modes=modes,
        muted_until_ms=np.where(sub_muted, FOREVER, user_mute),
        in_quiet_hours=quiet,
        hold_in_quiet=np.ones(n, dtype=np.bool_),  # 'on' rules wait; 'silent' rules go quietly
    )
    zones = {int(c): (z, e) for c, z, e in zip(chat_id, tz, quiet_end, strict=True)}
    return subs, zones


def load_state(db: Database, sub_ids: np.ndarray) -> AlertState:
    if sub_ids.size == 0:
        return AlertState.empty()
    marks = ",".join("?" * sub_ids.size)
    cursor = db.execute(
        "select sub_id, rule, key, armed, last_fired_ms, episode, zone_low, zone_high "
        f"from alert_state where sub_id in ({marks})",
        [int(x) for x in sub_ids],
    )
    names = [d[0] for d in cursor.description]
    return AlertState.from_rows(dict(zip(names, r, strict=True)) for r in cursor.fetchall())


def drop_watch_echoes(events: list[AlertEvent], subs: Subscriptions) -> list[AlertEvent]:
    """A chat that watches a symbol and holds a position in it would get the symbol-wide alerts
    twice: keep the position's (it carries the position's numbers), drop the watch's."""
    kind = dict(zip(subs.sub_id.tolist(), subs.kind.tolist(), strict=True))
    from_positions = {(e.chat_id, e.rule, e.key) for e in events if kind[e.sub_id] == POSITION}
    return [
        e for e in events
        if kind[e.sub_id] == POSITION or (e.chat_id, e.rule, e.key) not in from_positions
    ]  # fmt: skip


def run_symbol(db: Database, metrics: SymbolMetrics, now_ms: int) -> list[AlertEvent]:
    """Evaluate every subscription of ``metrics.symbol``; events and state committed together."""
    subs, zones = load_subscriptions(db, metrics.symbol, now_ms)
    if len(subs) == 0:
        return []
    before = load_state(db, subs.sub_id)
    events, after = evaluate(metrics, subs, before, now_ms)
    events = drop_watch_echoes(events, subs)
    changed = after.changed_rows(before)
    with db.atomic():
        if changed:
            db["alert_state"].upsert_all(  # type: ignore[union-attr]
                [{**r, "armed": int(r["armed"])} for r in changed], pk=("sub_id", "rule", "key")
            )
        for ev in events:
            not_before, text = now_ms, ev.text
            if ev.held:
                zone, end = zones.get(ev.chat_id, ("UTC", None))
                if end:
                    not_before = quiet_ends_at(now_ms, zone, end)
                    fired = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(ZoneInfo(zone))
                    # it is read later: say so, so stale numbers are not taken for live ones
                    text = f"<i>Held during your quiet hours; fired {fired:%H:%M}.</i>\n{text}"
            outbox.enqueue(db, ev.dedupe_key, ev.chat_id, "alert", text, now_ms,
                           silent=ev.silent, not_before=not_before)  # fmt: skip
    return events
