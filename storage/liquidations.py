"""Recorded liquidation prints and the coverage of the streams that delivered them.

Inserts are idempotent: the primary key is the whole print (venue, symbol, time, side, price,
quantity), so a print the venue re-sends after a reconnect is stored once. Coverage rows are
keyed by the connection's start and only ever extended, so a crash loses at most the tail since
the last extension, never claims coverage it did not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# (venue, symbol, time ms, side 'long'|'short', price, quantity base, usd)
PrintRow = tuple[str, str, int, str, float, float, float]


def insert_prints(db: Database, rows: Iterable[PrintRow]) -> int:
    """Store prints, skipping any already stored; returns how many were new."""
    before = db.conn.total_changes
    with db.atomic():
        db.conn.executemany(
            "insert or ignore into liquidations (venue, symbol, time, side, price, quantity, usd) "
            "values (?, ?, ?, ?, ?, ?, ?)",
            list(rows),
        )
    return db.conn.total_changes - before


def record_coverage(db: Database, venue: str, symbols: Sequence[str], start: int, end: int) -> None:
    """The stream of ``venue`` for ``symbols`` was connected from ``start`` to ``end`` (ms).
    Called again with the same start, it extends that interval (never shrinks it)."""
    with db.atomic():
        db.conn.executemany(
            "insert into liquidation_coverage (venue, symbol, start, end) values (?, ?, ?, ?) "
            "on conflict (venue, symbol, start) do update set end = max(end, excluded.end)",
            [(venue, s, int(start), int(end)) for s in symbols],
        )


@dataclass(frozen=True, eq=False)
class StoredPrints:
    """Prints of one symbol, oldest first (parallel arrays)."""

    venue: list[str]
    time: IntArray
    side: list[str]
    price: FloatArray
    quantity: FloatArray
    usd: FloatArray

    def __len__(self) -> int:
        return len(self.time)


def read_prints(db: Database, symbol: str, since: int, until: int) -> StoredPrints:
    """Prints of ``symbol`` with time in ``[since, until)``."""
    rows = db.execute(
        "select venue, time, side, price, quantity, usd from liquidations where symbol = ? and "
        "time >= ? and time < ? order by time, venue",
        [symbol, since, until],
    ).fetchall()
    num = np.array([r[1:2] + r[3:] for r in rows], dtype=np.float64).reshape(-1, 4)
    return StoredPrints(
        venue=[r[0] for r in rows],
        time=num[:, 0].astype(np.int64),
        side=[r[2] for r in rows],
        price=num[:, 1],
        quantity=num[:, 2],
        usd=num[:, 3],
    )


def read_coverage(
    db: Database, symbol: str, since: int, until: int
) -> dict[str, list[tuple[int, int]]]:
    """Per venue, the connected intervals overlapping ``[since, until)``, clipped to it and
    merged where they touch or overlap, oldest first."""
    rows = db.execute(
        "select venue, start, end from liquidation_coverage where symbol = ? and end > ? and "
        "start < ? order by venue, start",
        [symbol, since, until],
    ).fetchall()
    out: dict[str, list[tuple[int, int]]] = {}
    for venue, start, end in rows:
        lo, hi = max(int(start), since), min(int(end), until)
        spans = out.setdefault(venue, [])
        if spans and lo <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
        else:
            spans.append((lo, hi))
    return out


def prune_liquidations(db: Database, before: int) -> int:
    """Drop prints older than ``before`` (ms) and coverage that ended before it: the
    ``LIQBOT_HISTORY_DAYS`` retention."""
    with db.atomic():
        removed = db.execute("delete from liquidations where time < ?", [before]).rowcount
        removed += db.execute("delete from liquidation_coverage where end < ?", [before]).rowcount
        db.execute("delete from cascade_episodes where last < ?", [before])
    return int(removed)


def episode_start(db: Database, symbol: str, side: str, start: int, last: int, gap: int) -> int:
    """The identity (first trigger, ms) of the stored cascade episode that overlaps
    ``[start - gap, last + gap]``, widened to cover this one; a new episode is stored as is."""
    row = db.execute(
        "select start, last from cascade_episodes where symbol = ? and side = ? "
        "and start <= ? and last >= ? order by start limit 1",
        [symbol, side, last + gap, start - gap],
    ).fetchone()
    with db.atomic():
        if row is None:
            db.execute(
                "insert into cascade_episodes (symbol, side, start, last) values (?, ?, ?, ?)",
                [symbol, side, start, last],
            )
            return start
        db.execute(
            "update cascade_episodes set last = max(last, ?) where symbol = ? and side = ? "
            "and start = ?",
            [last, symbol, side, row[0]],
        )
    return int(row[0])
