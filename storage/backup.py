"""A copy of the live database while the bot runs (``liqbot backup FILE``), with SQLite's
online backup API: one step, so the copy is one consistent snapshot (in WAL mode the bot's
writes go on meanwhile; a stepwise copy would restart on every write and might never end)."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path


class BackupError(Exception):
    """The copy could not be made (no database, same file, unwritable target, a bad copy)."""


@dataclass(frozen=True)
class BackupResult:
    pages: int
    bytes: int
    integrity: str  # PRAGMA integrity_check of the copy: "ok"


def backup(source: str | Path, target: str | Path) -> BackupResult:
    """Copy ``source`` to ``target`` (replaced atomically if it exists), check the copy's
    integrity, and leave it a single self-contained file (rollback journal, not WAL)."""
    src_path, dst_path = Path(source), Path(target)
    if not src_path.is_file():
        raise BackupError(f"no database at {str(src_path)!r} (LIQBOT_DB_PATH)")
    if dst_path.exists() and dst_path.resolve() == src_path.resolve():
        raise BackupError("the backup file is the live database itself; name another file")
    if dst_path.is_dir():
        raise BackupError(f"{str(dst_path)!r} is a folder; name a file")
    if not dst_path.parent.resolve().is_dir():
        raise BackupError(f"folder {str(dst_path.parent)!r} does not exist")
    partial = dst_path.with_name(dst_path.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(src_path, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # pages=-1: all in one step, one read transaction
            dst.execute("PRAGMA journal_mode=DELETE")
            integrity = str(dst.execute("PRAGMA integrity_check").fetchone()[0])
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
        finally:
            dst.close()
    except sqlite3.Error as e:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {e}") from None
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise BackupError(f"cannot write {str(dst_path)!r}: {e.strerror or e}") from None
    finally:
        src.close()
    if integrity != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {integrity}")
    os.replace(partial, dst_path)
    return BackupResult(pages, dst_path.stat().st_size, integrity)
