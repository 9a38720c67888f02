"""Opening the database: WAL journal, foreign keys, migrations applied."""

from __future__ import annotations

import sqlite3
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
