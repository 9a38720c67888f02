"""Users and their settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError, Table


def _users(db: Database) -> Table:
    table = db["users"]
    assert isinstance(table, Table)
    return table


@dataclass(frozen=True)
class User:
    chat_id: int
    user_id: int | None
    first_name: str | None
    tz: str
    active: bool
    digest: bool
    quiet_start: str | None
    quiet_end: str | None
    muted_until: int | None
    account_usd: float | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        return cls(
            chat_id=int(row["chat_id"]),
            user_id=row.get("user_id"),
            first_name=row.get("first_name"),
            tz=row.get("tz") or "UTC",
            active=bool(row.get("active", 1)),
            digest=bool(row.get("digest", 1)),
            quiet_start=row.get("quiet_start"),
            quiet_end=row.get("quiet_end"),
            muted_until=row.get("muted_until"),
            account_usd=row.get("account_usd"),
        )


def register(
    db: Database, chat_id: int, user_id: int | None, first_name: str | None, now_ms: int
) -> tuple[User, bool]:
    """Create the user if new (or reactivate one who had blocked the bot); returns (user, new)."""
    existing = get(db, chat_id)
    with db.atomic():
        if existing is None:
            _users(db).insert(
                {
                    "chat_id": chat_id,
                    "user_id": user_id,
                    "first_name": first_name,
                    "tz": "UTC",
                    "active": 1,
                    "created_at": now_ms,
                    "digest": 1,
                }
            )
        else:
            _users(db).update(chat_id, {"active": 1, "first_name": first_name, "user_id": user_id})
    user = get(db, chat_id)
    assert user is not None
    return user, existing is None


def get(db: Database, chat_id: int) -> User | None:
    try:
        return User.from_row(_users(db).get(chat_id))
    except NotFoundError:
        return None


def update(db: Database, chat_id: int, **fields: Any) -> None:
    """Change some of a user's settings (the user must exist)."""
    with db.atomic():
        _users(db).update(chat_id, fields)


def active_users(db: Database) -> list[User]:
    return [User.from_row(r) for r in _users(db).rows_where("active = 1", order_by="chat_id")]
