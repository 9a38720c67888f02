"""The chart/map worker thread reads through its own connection: it never sees rows of a
transaction the event loop's connection has not committed, and cannot write."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from storage import PerThread, open_db, users


def test_worker_thread_sees_only_committed_rows(tmp_path: Path) -> None:
    db = open_db(tmp_path / "bot.db")
    reader = PerThread(db, tmp_path / "bot.db")
    users.register(db, 1, 1, "a", 0)
    assert reader() is db  # the opening thread keeps the main connection
    with ThreadPoolExecutor(1) as pool:
        worker_db = pool.submit(reader).result()
        assert worker_db is not db
        with db.atomic():
            users.register(db, 2, 2, "b", 0)  # not committed while inside the block
            seen = pool.submit(lambda: reader().execute("select count(*) from users").fetchone())
            assert seen.result()[0] == 1
        seen = pool.submit(lambda: reader().execute("select count(*) from users").fetchone())
        assert seen.result()[0] == 2
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            pool.submit(lambda: reader().execute("delete from users")).result()


def test_in_memory_database_is_shared(tmp_path: Path) -> None:
    db = open_db(":memory:")
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(PerThread(db, ":memory:")).result() is db
