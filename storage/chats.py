"""Moving a chat to a new id (Telegram migrates a group to a supergroup with a new chat id)."""

from __future__ import annotations

from sqlite_utils import Database


def move_chat(db: Database, old: int, new: int) -> None:
    """Everything of chat ``old`` now belongs to ``new``: user, settings, subscriptions and the
    messages still pending. If ``new`` already exists, ``old``'s settings are dropped."""
    with db.atomic():
        db.execute("PRAGMA defer_foreign_keys = ON")
        exists = db.execute("select 1 from users where chat_id = ?", [new]).fetchone()
        if exists:
            db.execute("delete from alert_settings where chat_id = ?", [old])
        else:
            db.execute("update users set chat_id = ? where chat_id = ?", [new, old])
            db.execute("update alert_settings set chat_id = ? where chat_id = ?", [new, old])
        db.execute("update subscriptions set chat_id = ? where chat_id = ?", [new, old])
        db.execute(
            "update outbox set chat_id = ? where chat_id = ? and status = 'pending'", [new, old]
        )
        if exists:
            db.execute("delete from users where chat_id = ?", [old])
