"""Opening the database: WAL journal, foreign keys, migrations applied."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from storage.schema import migrations


def open_db(path: str | Path | None) -> sqlite_utils.Database:
    """Open (creating if needed) the bot's database and bring its schema up to date.

    ``None`` or ``":memory:"`` gives an in-memory database (tests). WAL lets a reader (a digest
    or /status) run while the refresh job writes.
    """
    if path is None or str(path) == ":memory:":
        db = sqlite_utils.Database(memory=True)
    else:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(p)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    migrations.apply(db)
    return db
