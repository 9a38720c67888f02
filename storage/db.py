"""Opening the database: WAL journal, foreign keys, migrations applied."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import sqlite_utils

from storage.schema import migrations


def open_db(path: str | Path | None) -> sqlite_utils.Database:
    """Open (creating if needed) the bot's database and bring its schema up to date.

    ``None`` or ``":memory:"`` gives an in-memory database (tests). WAL lets a reader (a digest
    or /status) run while the refresh job writes.
    """
    # The bot uses its connection from the event loop's thread only; check_same_thread=False
    # lets tests and the shutdown path read it from another thread.
    if path is None or str(path) == ":memory:":
        db = sqlite_utils.Database(sqlite3.connect(":memory:", check_same_thread=False))
    else:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(sqlite3.connect(p, check_same_thread=False))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    migrations.apply(db)
    return db


def db_file(db: sqlite_utils.Database) -> Path | None:
    """The file behind ``db`` (None for an in-memory database)."""
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]) if row and row[2] else None


class PerThread:
    """The database as each thread should see it: the opening thread (the event loop's) uses
    the main connection; any other thread (the chart and map worker) gets its own read-only
    connection to the same file, so it never shares a cursor with the loop or sees rows of a
    transaction the loop has not committed (WAL gives it the last committed state).

    An in-memory database (tests) has no file to reopen: every thread uses the main one."""

    def __init__(self, main: sqlite_utils.Database, path: str | Path | None) -> None:
        self.main = main
        memory = path is None or str(path) == ":memory:"
        self.path = None if memory else Path(path)  # type: ignore[arg-type]
        self._owner = threading.get_ident()
        self._local = threading.local()
        self.opened: list[sqlite_utils.Database] = []  # the threads' connections (to count them)

    def __call__(self) -> sqlite_utils.Database:
        if self.path is None or threading.get_ident() == self._owner:
            return self.main
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite_utils.Database(sqlite3.connect(self.path, check_same_thread=False))
            db.execute("PRAGMA busy_timeout=5000")
            db.execute("PRAGMA query_only=ON")
            self._local.db = db
            self.opened.append(db)
        return db
