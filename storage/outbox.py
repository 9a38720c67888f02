"""The outbox: nothing is sent that was not first written here.

A row is ``pending`` until Telegram accepts it (then ``sent``), or ``dropped`` when the chat is
gone (the user blocked the bot). The dedupe key is unique, so the same alert episode or digest
slot can never be queued twice, even across a crash and a restart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import Table

PENDING, SENT, DROPPED = "pending", "sent", "dropped"


def _outbox(db: Database) -> Table:
    t = db["outbox"]
    assert isinstance(t, Table)
    return t


@dataclass(frozen=True)
class OutMessage:
    id: int
    dedupe_key: str
    chat_id: int
    kind: str
    text: str
    photo: bytes | None
    silent: bool
    not_before: int
    attempts: int
    keyboard: list[list[list[str]]] | None = None  # rows of [label, callback data]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> OutMessage:
        return cls(
            id=int(row["id"]),
            dedupe_key=row["dedupe_key"],
            chat_id=int(row["chat_id"]),
            kind=row["kind"],
            text=row["text"],
            photo=row.get("photo"),
            silent=bool(row.get("silent")),
            not_before=int(row.get("not_before") or 0),
            attempts=int(row.get("attempts") or 0),
            keyboard=json.loads(row["keyboard"]) if row.get("keyboard") else None,
        )


def enqueue(
    db: Database, dedupe_key: str, chat_id: int, kind: str, text: str, now: int,
    photo: bytes | None = None, silent: bool = False, not_before: int | None = None,
    keyboard: Any = None,
) -> bool:  # fmt: skip
    """Queue a message; False if that dedupe key was queued before (nothing is added).
    ``keyboard``: inline buttons as rows of (label, callback data), stored as JSON.

    Call inside the caller's transaction so the message and the state that produced it are
    written together."""
    kb = json.dumps(keyboard) if keyboard else None
    cursor = db.execute(
        "insert or ignore into outbox (dedupe_key, chat_id, kind, text, photo, silent, "
        "created_at, not_before, attempts, status, keyboard) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        [dedupe_key, chat_id, kind, text, photo, int(silent), now, not_before or now, PENDING, kb],
    )
    return cursor.rowcount == 1


def due(db: Database, now: int, limit: int = 100) -> list[OutMessage]:
    """Pending messages whose time has come, oldest first."""
    rows = _outbox(db).rows_where(
        "status = ? and not_before <= ?", [PENDING, now], order_by="id", limit=limit
    )
    return [OutMessage.from_row(r) for r in rows]


def mark_sent(db: Database, msg_id: int, now: int) -> None:
    with db.atomic():
        _outbox(db).update(msg_id, {"status": SENT, "sent_at": now})


def mark_failed(db: Database, msg_id: int, error: str, retry_at: int) -> None:
    with db.atomic():
        db.execute(
            "update outbox set attempts = attempts + 1, last_error = ?, not_before = ? "
            "where id = ?",
            [error[:300], retry_at, msg_id],
        )


def drop(db: Database, msg_id: int, error: str, now: int) -> None:
    """Give up on one row (kept as 'dropped' with the reason, never retried)."""
    with db.atomic():
        db.execute(
            "update outbox set attempts = attempts + 1, last_error = ?, not_before = ?, "
            "status = ? where id = ?",
            [error[:300], now, DROPPED, msg_id],
        )


def slot_queued(db: Database, key_prefix: str) -> bool:
    """Was anything queued under ``key_prefix:`` (a digest slot) before?"""
    row = db.execute(
        "select 1 from outbox where dedupe_key like ? limit 1", [key_prefix + ":%"]
    ).fetchone()
    return row is not None


def drop_chat(db: Database, chat_id: int, reason: str) -> int:
    """Stop sending anything to a chat (Forbidden): its pending rows are dropped, not lost."""
    with db.atomic():
        return db.execute(
            "update outbox set status = ?, last_error = ? where chat_id = ? and status = ?",
            [DROPPED, reason[:300], chat_id, PENDING],
        ).rowcount


def counts(db: Database) -> dict[str, int]:
    rows = db.execute("select status, count(*) from outbox group by status").fetchall()
    return {r[0]: int(r[1]) for r in rows}
