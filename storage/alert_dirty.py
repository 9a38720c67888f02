"""Chats whose alert inputs changed since the alert pass last looked (their subscriptions, user
settings or rule settings); filled by triggers (schema m005), so no write path can forget it."""

from __future__ import annotations

from sqlite_utils import Database


def take(db: Database) -> list[int]:
    """The changed chats, and forget them (one transaction)."""
    with db.atomic():
        chats = [int(r[0]) for r in db.execute("select chat_id from alert_dirty").fetchall()]
        if chats:
            db.execute("delete from alert_dirty")
    return chats


def clear(db: Database) -> None:
    """After a full load: everything is current."""
    with db.atomic():
        db.execute("delete from alert_dirty")
