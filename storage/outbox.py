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
    photo_ref: str | None  # a key of the media table: the chart is stored once, not per row
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
            photo_ref=row.get("photo_ref"),
            silent=bool(row.get("silent")),
            not_before=int(row.get("not_before") or 0),
            attempts=int(row.get("attempts") or 0),
            keyboard=json.loads(row["keyboard"]) if row.get("keyboard") else None,
        )


def enqueue(
    db: Database,
    dedupe_key: str,
    chat_id: int,
    kind: str,
    text: str,
    now: int,
    photo: bytes | None = None,
    silent: bool = False,
    not_before: int | None = None,
    keyboard: Any = None,
    photo_ref: str | None = None,
) -> bool:
    """Queue a message; False if that dedupe key was queued before (nothing is added).
    ``keyboard``: inline buttons as rows of (label, callback data), stored as JSON.

    Call inside the caller's transaction so the message and the state that produced it are
    written together."""
    kb = json.dumps(keyboard) if keyboard else None
    cursor = db.execute(
        "insert or ignore into outbox (dedupe_key, chat_id, kind, text, photo, photo_ref, silent, "
        "created_at, not_before, attempts, status, keyboard) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        [
            dedupe_key,
            chat_id,
            kind,
            text,
            photo,
            photo_ref,
            int(silent),
            now,
            not_before or now,
            PENDING,
            kb,
        ],
    )
    return cursor.rowcount == 1


def due(
    db: Database, now: int, limit: int = 100, skip_chats: set[int] | None = None
) -> list[OutMessage]:
    """Pending messages whose time has come: alerts and notes before digests (an alert must
    not wait behind a digest round), then oldest first. ``skip_chats``: chats with a message in
    flight (their later rows wait, so a chat's messages keep their order). One indexed range
    per kind (status, kind, id), so 30,000 pending rows are not sorted on every read."""
    skip = sorted(skip_chats or ())
    not_in = f" and chat_id not in ({','.join('?' * len(skip))})" if skip else ""
    out: list[OutMessage] = []
    for kind in ("alert", "note", "digest"):
        if len(out) >= limit:
            break
        cursor = db.execute(
            f"select * from outbox indexed by outbox_pending_kind where status = ? and kind = ? "
            f"and not_before <= ?{not_in} order by id limit ?",
            [PENDING, kind, now, *skip, limit - len(out)],
        )
        out += _messages(cursor)
    if len(out) < limit:  # any other kind (none today) still goes, after the digests
        out += _messages(
            db.execute(
                "select * from outbox where status = ? "
                f"and kind not in ('alert', 'note', 'digest') "
                f"and not_before <= ?{not_in} order by id limit ?",
                [PENDING, now, *skip, limit - len(out)],
            )
        )
    return out


def _messages(cursor: Any) -> list[OutMessage]:
    names = [d[0] for d in cursor.description]
    return [OutMessage.from_row(dict(zip(names, r, strict=True))) for r in cursor.fetchall()]


def mark_sent(db: Database, msg_id: int, now: int) -> None:
    """Sent: a digest's body is dropped (delivered, and never needed again: 10,000 users'
    digests are ~65 MB a day); its key and times stay as the record, for dedupe. Alerts keep
    their text until pruned (the alert history)."""
    with db.atomic():
        db.execute(
            "update outbox set status = ?, sent_at = ?, "
            "text = case when kind = 'digest' then '' else text end where id = ?",
            [SENT, now, msg_id],
        )


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


def held_alerts(db: Database, chat_id: int, now: int) -> list[OutMessage]:
    """The chat's alerts still waiting for a later time (quiet hours, a retry)."""
    return _messages(
        db.execute(
            "select * from outbox where chat_id = ? and status = ? and kind = 'alert' "
            "and not_before > ? order by id",
            [chat_id, PENDING, now],
        )
    )


def queued(db: Database, dedupe_key: str) -> bool:
    """Was ``dedupe_key`` queued before? (An exact lookup on the unique index.)"""
    row = db.execute("select 1 from outbox where dedupe_key = ?", [dedupe_key]).fetchone()
    return row is not None


def prune(db: Database, before: int, digests_before: int | None = None) -> int:
    """Delete sent and dropped rows created before ``before`` (ms) (the alert history), sent
    and dropped digest rows before ``digests_before`` (a digest slot is an hour that never
    comes back, so its key is needed a day at most), and the stored charts no pending row
    refers to any more; returns the outbox rows deleted. Pending rows are kept whatever their
    age. Alert keys carry the episode, so a pruned key is never produced again."""
    with db.atomic():
        deleted = db.execute(
            "delete from outbox where created_at < ? and status != ?", [before, PENDING]
        ).rowcount
        if digests_before is not None:
            deleted += db.execute(
                "delete from outbox where created_at < ? and status != ? and kind = 'digest'",
                [digests_before, PENDING],
            ).rowcount
        db.execute(
            "delete from media where created_at < ? and key not in "
            "(select photo_ref from outbox where status = ? and photo_ref is not null)",
            [digests_before if digests_before is not None else before, PENDING],
        )
    return int(deleted)


def store_media(db: Database, key: str, data: bytes, now: int) -> None:
    """Keep a chart once under ``key`` (e.g. digest|BTC/USDT:USDT|1d|tick); a second call is a
    no-op. Call inside the caller's transaction."""
    db.execute(
        "insert or ignore into media (key, data, created_at) values (?, ?, ?)", [key, data, now]
    )


def media_exists(db: Database, key: str) -> bool:
    return db.execute("select 1 from media where key = ?", [key]).fetchone() is not None


def media(db: Database, key: str) -> tuple[bytes | None, str | None]:
    """(bytes, Telegram file_id or None before the first upload) of a stored chart."""
    row = db.execute("select data, file_id from media where key = ?", [key]).fetchone()
    return (None, None) if row is None else (row[0], row[1])


def set_file_id(db: Database, key: str, file_id: str) -> None:
    """After the first upload: later rows send the file_id, and the bytes are no longer needed
    (Telegram keeps the file)."""
    with db.atomic():
        db.execute("update media set file_id = ?, data = NULL where key = ?", [file_id, key])


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
