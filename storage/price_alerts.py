"""Price alerts: a level a trader picked on a symbol (``/alert BTC 120k``), fired when a candle
crosses it. The crossing pass reads the active alerts of a symbol as columns, and writes each
firing together with its outbox message (the caller's transaction)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import Table

ABOVE, BELOW = "above", "below"
ACTIVE, FIRED, DELETED = "active", "fired", "deleted"
LIMIT = 50  # active price alerts per chat: plenty for a trader, bounded for the pass


class AlertLimitError(Exception):
    """The chat already has :data:`LIMIT` active price alerts."""


class DuplicateAlertError(Exception):
    """The chat already has an active alert at that level, same symbol and side: a second one
    would only fire the same message twice."""

    def __init__(self, existing: PriceAlert) -> None:
        super().__init__(f"already have #{existing.id}")
        self.existing = existing


def _alerts(db: Database) -> Table:
    t = db["price_alerts"]
    assert isinstance(t, Table)
    return t


@dataclass(frozen=True)
class PriceAlert:
    id: int
    chat_id: int
    symbol: str
    level: float
    direction: str  # ABOVE: a candle's high reaches the level; BELOW: its low does
    every: bool
    armed: bool
    status: str
    created_at: int
    price_at_creation: float | None
    checked_to: int
    fired_count: int = 0
    last_fired_at: int | None = None
    last_fired_price: float | None = None
    rearm_pct: float | None = None  # an `every` alert's own margin (None: the default)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PriceAlert:
        return cls(
            id=int(row["id"]),
            chat_id=int(row["chat_id"]),
            symbol=row["symbol"],
            level=float(row["level"]),
            direction=row["direction"],
            every=bool(row.get("every")),
            armed=bool(row.get("armed", 1)),
            status=row.get("status") or ACTIVE,
            created_at=int(row.get("created_at") or 0),
            price_at_creation=row.get("price_at_creation"),
            checked_to=int(row.get("checked_to") or 0),
            fired_count=int(row.get("fired_count") or 0),
            last_fired_at=row.get("last_fired_at"),
            last_fired_price=row.get("last_fired_price"),
            rearm_pct=row.get("rearm_pct"),
        )


def add(
    db: Database,
    chat_id: int,
    symbol: str,
    level: float,
    direction: str,
    every: bool,
    price_now: float,
    checked_to: int,
    now: int,
    limit: int = LIMIT,
    rearm_pct: float | None = None,
) -> PriceAlert:
    """Store an active alert (candles closing after ``checked_to`` are checked); raises
    :class:`AlertLimitError` when the chat already has ``limit`` active ones, and
    :class:`DuplicateAlertError` when one of them is this level already. The checks and the
    insert are one transaction, so two quick commands cannot pass them together."""
    assert direction in (ABOVE, BELOW)
    with db.atomic():
        for a in alerts_for(db, chat_id, symbol):
            if a.direction == direction and math.isclose(a.level, level, rel_tol=1e-9):
                raise DuplicateAlertError(a)
        if count_active(db, chat_id) >= limit:
            raise AlertLimitError(f"{limit} active price alerts")
        row_id = (
            _alerts(db)
            .insert(
                {
                    "chat_id": chat_id,
                    "symbol": symbol,
                    "level": level,
                    "direction": direction,
                    "every": int(every),
                    "armed": 1,
                    "status": ACTIVE,
                    "created_at": now,
                    "price_at_creation": price_now,
                    "checked_to": checked_to,
                    "fired_count": 0,
                    "rearm_pct": rearm_pct,
                }
            )
            .last_pk
        )
    found = get(db, int(row_id))  # type: ignore[arg-type]
    assert found is not None
    return found


def get(db: Database, alert_id: int) -> PriceAlert | None:
    row = db.execute("select * from price_alerts where id = ?", [alert_id]).fetchone()
    if row is None:
        return None
    names = [c[0] for c in db.execute("select * from price_alerts limit 0").description]
    return PriceAlert.from_row(dict(zip(names, row, strict=True)))


def _rows(db: Database, where: str, params: list[Any]) -> list[PriceAlert]:
    return [PriceAlert.from_row(r) for r in _alerts(db).rows_where(where, params, order_by="id")]


def count_active(db: Database, chat_id: int) -> int:
    row = db.execute(
        "select count(*) from price_alerts where chat_id = ? and status = ?", [chat_id, ACTIVE]
    ).fetchone()
    return int(row[0])


def active_for_chat(db: Database, chat_id: int) -> list[PriceAlert]:
    """The chat's active alerts, oldest first (the /alert list)."""
    return _rows(db, "chat_id = ? and status = ?", [chat_id, ACTIVE])


def alerts_for(db: Database, chat_id: int, symbol: str) -> list[PriceAlert]:
    """The chat's active alerts on ``symbol`` (unified, ``BTC/USDT:USDT``), oldest first: what a
    chart or page of that symbol draws for this trader."""
    return _rows(db, "chat_id = ? and symbol = ? and status = ?", [chat_id, symbol, ACTIVE])


def active_for_symbol(db: Database, symbol: str) -> list[PriceAlert]:
    """Every chat's active alerts on ``symbol`` (the crossing pass; indexed by symbol)."""
    return _rows(db, "symbol = ? and status = ?", [symbol, ACTIVE])


def symbols_with_alerts(db: Database) -> list[str]:
    rows = db.execute(
        "select distinct symbol from price_alerts where status = ? order by symbol", [ACTIVE]
    ).fetchall()
    return [r[0] for r in rows]


def delete(db: Database, chat_id: int, alert_id: int) -> PriceAlert | None:
    """Delete the chat's own active alert; None if it has no such alert (nothing changes)."""
    with db.atomic():
        found = get(db, alert_id)
        if found is None or found.chat_id != chat_id or found.status != ACTIVE:
            return None
        db.execute("update price_alerts set status = ? where id = ?", [DELETED, alert_id])
    return found


def set_repeat(
    db: Database, chat_id: int, alert_id: int, every: bool, rearm_pct: float | None
) -> PriceAlert | None:
    """Switch the chat's own active alert between once and ``every`` (and its margin); None if
    it has no such alert any more. An ``every`` alert waiting to re-arm keeps waiting as a
    one-shot: it fires once more after price has moved back."""
    with db.atomic():
        found = get(db, alert_id)
        if found is None or found.chat_id != chat_id or found.status != ACTIVE:
            return None
        db.execute(
            "update price_alerts set every = ?, rearm_pct = ? where id = ?",
            [int(every), rearm_pct, alert_id],
        )
    return get(db, alert_id)


def record_fired(
    db: Database, alert_id: int, fired_count: int, at: int, price: float, done: bool
) -> bool:
    """One firing: the count goes from ``fired_count - 1`` to ``fired_count`` (False, nothing
    written, if it is not there any more: deleted meanwhile, or a second pass got there first);
    a one-shot alert is ``done``, an ``every`` one waits to re-arm. Call inside the transaction
    that queues its message."""
    cursor = db.execute(
        "update price_alerts set fired_count = ?, last_fired_at = ?, last_fired_price = ?, "
        "armed = 0, status = ? where id = ? and status = ? and fired_count = ?",
        [fired_count, at, price, FIRED if done else ACTIVE, alert_id, ACTIVE, fired_count - 1],
    )
    return cursor.rowcount == 1


def set_checked(db: Database, armed: dict[int, bool], checked_to: int) -> None:
    """After a pass: how far each alert's candles were checked, and whether it is armed (an
    ``every`` alert re-arms once price moved back). Active rows only."""
    db.conn.executemany(
        "update price_alerts set checked_to = ?, armed = ? where id = ? and status = ?",
        [(checked_to, int(a), i, ACTIVE) for i, a in armed.items()],
    )
