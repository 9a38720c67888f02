"""What the health route, ``/status`` for the owner and ``/admin`` read: the last refresh, the
outbox backlog and its oldest late alert, and a census of users and subscriptions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database


@dataclass(frozen=True)
class Backlog:
    due: int  # pending rows whose time has come (held and retry-waiting rows aside)
    # ms since which the oldest pending alert has been due: its retry-free due time, or its
    # creation once it has failed (a retry moves not_before, not the lateness); None: none
    oldest_alert_since: int | None


def last_refresh(db: Database) -> int | None:
    """ms of the last refresh attempt of any venue (None before the first)."""
    row = db.execute("select max(last_attempt) from venue_health").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def backlog(db: Database, now: int) -> Backlog:
    due = db.execute(
        "select count(*) from outbox where status = 'pending' and not_before <= ?", [now]
    ).fetchone()[0]
    oldest = db.execute(
        "select min(case when attempts > 0 then created_at else not_before end) from outbox "
        "where status = 'pending' and kind = 'alert' and (attempts > 0 or not_before <= ?)",
        [now],
    ).fetchone()[0]
    return Backlog(int(due), None if oldest is None else int(oldest))


@dataclass(frozen=True)
class Census:
    users: int
    active_users: int
    positions: int  # open
    watches: int  # open
    chats_with_subscriptions: int


def census(db: Database) -> Census:
    users, active = db.execute("select count(*), coalesce(sum(active), 0) from users").fetchone()
    positions, watches, chats = db.execute(
        "select coalesce(sum(kind = 'position'), 0), coalesce(sum(kind = 'watch'), 0), "
        "count(distinct chat_id) from subscriptions where closed_at is null"
    ).fetchone()
    return Census(int(users), int(active), int(positions), int(watches), int(chats))
