"""Positions and watches: what each trader asked the bot to watch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError, Table

POSITION = "position"
WATCH = "watch"
OPEN, LIQUIDATED, STOPPED, CLOSED = "open", "liquidated", "stopped", "closed"


def _subs(db: Database) -> Table:
    t = db["subscriptions"]
    assert isinstance(t, Table)
    return t


@dataclass(frozen=True)
class Subscription:
    id: int
    chat_id: int
    symbol: str
    kind: str
    side: str | None
    entry: float | None
    leverage: float | None
    size_usd: float | None
    liquidation_price: float | None
    entry_snapshot: dict[str, Any]
    opened_at: int
    closed_at: int | None
    muted: bool
    status: str = OPEN
    stop_price: float | None = None
    checked_to: int | None = None
    exit_price: float | None = None
    exit_at: int | None = None
    exit_extreme: float | None = None
    followup_due: int | None = None

    @property
    def liquidated(self) -> bool:
        return self.status == LIQUIDATED

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Subscription:
        return cls(
            id=int(row["id"]),
            chat_id=int(row["chat_id"]),
            symbol=row["symbol"],
            kind=row["kind"],
            side=row.get("side"),
            entry=row.get("entry"),
            leverage=row.get("leverage"),
            size_usd=row.get("size_usd"),
            liquidation_price=row.get("liquidation_price"),
            entry_snapshot=json.loads(row.get("entry_snapshot") or "{}"),
            opened_at=int(row["opened_at"]),
            closed_at=row.get("closed_at"),
            muted=bool(row.get("muted")),
            status=row.get("status") or OPEN,
            stop_price=row.get("stop_price"),
            checked_to=row.get("checked_to"),
            exit_price=row.get("exit_price"),
            exit_at=row.get("exit_at"),
            exit_extreme=row.get("exit_extreme"),
            followup_due=row.get("followup_due"),
        )


def open_position(
    db: Database,
    chat_id: int,
    symbol: str,
    side: str,
    entry: float,
    leverage: float,
    size_usd: float | None,
    liquidation_price: float,
    snapshot: dict[str, Any],
    now: int,
    checked_to: int | None = None,
    stop_price: float | None = None,
) -> Subscription:
    """Store a position (with the trader's own stop, when given: one insert, so never the one
    without the other); its candles are checked for liquidation from ``checked_to`` (the map
    moment it was opened against) on."""
    with db.atomic():
        row_id = (
            _subs(db)
            .insert(
                {
                    "chat_id": chat_id,
                    "symbol": symbol,
                    "kind": POSITION,
                    "side": side,
                    "entry": entry,
                    "leverage": leverage,
                    "size_usd": size_usd,
                    "liquidation_price": liquidation_price,
                    "entry_lfr": snapshot.get("lfr"),
                    "entry_snapshot": json.dumps(snapshot),
                    "opened_at": now,
                    "muted": 0,
                    "status": OPEN,
                    "checked_to": now if checked_to is None else checked_to,
                    "stop_price": stop_price,
                }
            )
            .last_pk
        )
    assert row_id is not None
    found = get(db, int(row_id))
    assert found is not None
    return found


def add_watch(db: Database, chat_id: int, symbol: str, now: int) -> tuple[Subscription, bool]:
    """Watch a symbol (once per chat); returns (watch, created)."""
    existing = [s for s in open_for_chat(db, chat_id) if s.kind == WATCH and s.symbol == symbol]
    if existing:
        return existing[0], False
    row = {"chat_id": chat_id, "symbol": symbol, "kind": WATCH, "opened_at": now, "muted": 0}
    with db.atomic():
        row_id = _subs(db).insert({**row, "entry_snapshot": "{}"}).last_pk
    assert row_id is not None
    found = get(db, int(row_id))
    assert found is not None
    return found, True


def close(
    db: Database,
    sub_id: int,
    now: int,
    exit_price: float | None = None,
    followup_due: int | None = None,
) -> None:
    """Close a watch or a position (a liquidated one keeps its status and exit)."""
    with db.atomic():
        fields: dict[str, Any] = {"closed_at": now}
        sub = get(db, sub_id)
        if sub is not None and sub.kind == POSITION and sub.status == OPEN:
            fields.update(status=CLOSED, exit_price=exit_price, exit_at=now)
        if followup_due is not None:
            fields["followup_due"] = followup_due
        _subs(db).update(sub_id, fields)
        db.execute("delete from alert_state where sub_id = ?", [sub_id])


def set_stop(db: Database, sub_id: int, price: float | None) -> None:
    with db.atomic():
        _subs(db).update(sub_id, {"stop_price": price})


FATE_COLUMNS = (
    "s.id",
    "s.chat_id",
    "s.side",
    "s.liquidation_price",
    "s.stop_price",
    "coalesce(s.checked_to, s.opened_at)",
)


def unsettled_positions(db: Database, symbol: str) -> list[tuple[Any, ...]]:
    """The symbol's open, live positions (of active users) as tuples in ``FATE_COLUMNS``
    order: the ones whose candles the fate pass checks."""
    return db.execute(
        f"select {', '.join(FATE_COLUMNS)} from subscriptions s join users u "
        "on u.chat_id = s.chat_id where s.symbol = ? and s.kind = ? and s.closed_at is null "
        "and coalesce(s.status, 'open') = 'open' and u.active = 1 order by s.id",
        [symbol, POSITION],
    ).fetchall()


def mark_checked(db: Database, sub_ids: list[int], to: int) -> None:
    """Candles closed by ``to`` have been checked for these positions."""
    if not sub_ids:
        return
    marks = ", ".join("?" * len(sub_ids))
    db.execute(
        f"update subscriptions set checked_to = ? where id in ({marks}) and "
        "coalesce(checked_to, 0) < ?",
        [to, *sub_ids, to],
    )


def mark_exit(
    db: Database,
    sub_id: int,
    status: str,
    at: int,
    price: float,
    extreme: float,
    followup_due: int | None = None,
) -> bool:
    """Record a liquidation (the position stays listed until /close) or a stop-out (closed);
    False if the position was already settled. Call in the caller's transaction, with the
    message that tells the trader."""
    closed = at if status == STOPPED else None
    cursor = db.execute(
        "update subscriptions set status = ?, exit_at = ?, exit_price = ?, exit_extreme = ?, "
        "closed_at = coalesce(?, closed_at), followup_due = ?, checked_to = ? "
        "where id = ? and coalesce(status, 'open') = 'open' and closed_at is null",
        [status, at, price, extreme, closed, followup_due, at, sub_id],
    )
    if cursor.rowcount == 1:
        db.execute("delete from alert_state where sub_id = ?", [sub_id])
    return cursor.rowcount == 1


def due_followups(db: Database, now: int) -> list[Subscription]:
    rows = _subs(db).rows_where(
        "followup_due is not null and followup_due <= ?", [now], order_by="id"
    )
    return [Subscription.from_row(r) for r in rows]


def followup_done(db: Database, sub_id: int) -> None:
    """Call in the transaction that queues the follow-up note."""
    db.execute("update subscriptions set followup_due = null where id = ?", [sub_id])


def set_muted(db: Database, sub_id: int, muted: bool) -> None:
    with db.atomic():
        _subs(db).update(sub_id, {"muted": int(muted)})


def get(db: Database, sub_id: int) -> Subscription | None:
    try:
        return Subscription.from_row(_subs(db).get(sub_id))
    except NotFoundError:
        return None


def own_stops(db: Database, sub_ids: list[int]) -> dict[int, float]:
    """The traders' own stops (/stop) of these positions, by id (those with one)."""
    if not sub_ids:
        return {}
    marks = ", ".join("?" * len(sub_ids))
    rows = db.execute(
        f"select id, stop_price from subscriptions where id in ({marks}) and "
        "stop_price is not null",
        sub_ids,
    ).fetchall()
    return {int(i): float(p) for i, p in rows}


def open_for_chat(db: Database, chat_id: int) -> list[Subscription]:
    rows = _subs(db).rows_where("chat_id = ? and closed_at is null", [chat_id], order_by="id")
    return [Subscription.from_row(r) for r in rows]


COLUMNS = (
    "s.id",
    "s.chat_id",
    "s.kind",
    "s.side",
    "s.entry",
    "s.leverage",
    "s.liquidation_price",
    "s.entry_lfr",
    "s.muted",
    "u.muted_until",
    "u.tz",
    "u.quiet_start",
    "u.quiet_end",
    "s.opened_at",
)


def open_for_symbol(db: Database, symbol: str) -> list[tuple[Any, ...]]:
    """Every open subscription of a symbol with its owner's settings, as tuples in ``COLUMNS``
    order (one query; the alert pass turns the columns into arrays). A liquidated position is
    not one: no rule fires for it."""
    return db.execute(
        f"select {', '.join(COLUMNS)} from subscriptions s join users u on u.chat_id = s.chat_id "
        "where s.symbol = ? and s.closed_at is null and coalesce(s.status, 'open') = 'open' "
        "and u.active = 1 order by s.id",
        [symbol],
    ).fetchall()


def symbols_in_use(db: Database) -> list[str]:
    rows = db.execute(
        "select distinct symbol from subscriptions where closed_at is null order by symbol"
    ).fetchall()
    return [r[0] for r in rows]


def close_all_for_chat(db: Database, chat_id: int, now: int) -> None:
    """The user blocked the bot: stop watching anything for them."""
    with db.atomic():
        db.execute(
            "delete from alert_state where sub_id in (select id from subscriptions where "
            "chat_id = ? and closed_at is null)",
            [chat_id],
        )
        db.execute(
            "update subscriptions set closed_at = ? where chat_id = ? and closed_at is null",
            [now, chat_id],
        )


def open_with_symbol(db: Database, chat_ids: list[int] | None = None) -> list[tuple[Any, ...]]:
    """Every open subscription (or only those of ``chat_ids``) with its owner's settings, as
    tuples of ``("s.symbol", *COLUMNS)``: the alert pass loads this once at start, then only
    the chats that changed. A liquidated or stopped position is not open: no rule fires for it."""
    where, args = "", []
    if chat_ids is not None:
        if not chat_ids:
            return []
        where = f" and s.chat_id in ({','.join('?' * len(chat_ids))})"
        args = list(chat_ids)
    return db.execute(
        f"select s.symbol, {', '.join(COLUMNS)} from subscriptions s join users u "
        f"on u.chat_id = s.chat_id where s.closed_at is null and u.active = 1 "
        f"and coalesce(s.status, 'open') = 'open'{where} "
        "order by s.id",
        args,
    ).fetchall()
