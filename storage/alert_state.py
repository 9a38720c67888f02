"""Each (subscription, rule, key)'s alert episode state: armed or not, when it last fired."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import Table

COLUMNS = ("sub_id", "rule", "key", "armed", "last_fired_ms", "episode", "zone_low", "zone_high")


def for_subscriptions(db: Database, sub_ids: list[int]) -> list[dict[str, Any]]:
    """The stored state rows of these subscriptions."""
    if not sub_ids:
        return []
    marks = ",".join("?" * len(sub_ids))
    cursor = db.execute(
        f"select {', '.join(COLUMNS)} from alert_state where sub_id in ({marks})", sub_ids
    )
    return [dict(zip(COLUMNS, r, strict=True)) for r in cursor.fetchall()]


def save(db: Database, rows: list[dict[str, Any]]) -> None:
    """Upsert changed rows (call inside the pass's transaction)."""
    if rows:
        table = db["alert_state"]
        assert isinstance(table, Table)
        table.upsert_all(
            [{**r, "armed": int(r["armed"])} for r in rows], pk=("sub_id", "rule", "key")
        )


def all_rows(db: Database) -> list[dict[str, Any]]:
    """Every stored state row (the alert pass reads them once at start)."""
    cursor = db.execute(f"select {', '.join(COLUMNS)} from alert_state")
    return [dict(zip(COLUMNS, r, strict=True)) for r in cursor.fetchall()]
