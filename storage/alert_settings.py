"""Per-user rule settings: mode (on, off, silent) and threshold, defaulting to the catalogue."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.db import Table


def _table(db: Database) -> Table:
    t = db["alert_settings"]
    assert isinstance(t, Table)
    return t


def for_chat(db: Database, chat_id: int) -> dict[str, tuple[str | None, float | None]]:
    """rule -> (mode or None for default, threshold or None for default)."""
    rows = db.execute(
        "select rule, mode, threshold from alert_settings where chat_id = ?", [chat_id]
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def for_chats(
    db: Database, chat_ids: list[int]
) -> dict[int, dict[str, tuple[str | None, float | None]]]:
    """The same for many chats in one query (the alert pass)."""
    out: dict[int, dict[str, tuple[str | None, float | None]]] = {c: {} for c in chat_ids}
    if not chat_ids:
        return out
    marks = ",".join("?" * len(chat_ids))
    for chat, rule, mode, threshold in db.execute(
        f"select chat_id, rule, mode, threshold from alert_settings where chat_id in ({marks})",
        chat_ids,
    ).fetchall():
        out[int(chat)][rule] = (mode, threshold)
    return out


def set_mode(db: Database, chat_id: int, rule: str, mode: str) -> None:
    current = for_chat(db, chat_id).get(rule, (None, None))
    with db.atomic():
        _table(db).upsert(
            {"chat_id": chat_id, "rule": rule, "mode": mode, "threshold": current[1]},
            pk=("chat_id", "rule"),
        )


def set_threshold(db: Database, chat_id: int, rule: str, threshold: float) -> None:
    current = for_chat(db, chat_id).get(rule, (None, None))
    with db.atomic():
        _table(db).upsert(
            {"chat_id": chat_id, "rule": rule, "mode": current[0], "threshold": threshold},
            pk=("chat_id", "rule"),
        )


def rows(
    db: Database, chat_ids: list[int] | None = None
) -> list[tuple[int, str, str | None, float | None]]:
    """(chat_id, rule, mode, threshold) of every override (or of ``chat_ids``)."""
    if chat_ids is None:
        return db.execute("select chat_id, rule, mode, threshold from alert_settings").fetchall()
    if not chat_ids:
        return []
    marks = ",".join("?" * len(chat_ids))
    return db.execute(
        f"select chat_id, rule, mode, threshold from alert_settings where chat_id in ({marks})",
        chat_ids,
    ).fetchall()
