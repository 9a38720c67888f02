"""The live map refit's decisions (``grading.live_refit``): one row per weekly run and symbol,
so ``/skill`` can say which settings are in use, since when, and on what record."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database
from sqlite_utils.db import Table

DEFAULT = "default"


@dataclass(frozen=True)
class RefitRow:
    symbol: str
    at_ms: int
    current: str
    candidate: str | None
    adopted: bool
    in_use: str
    fit_score: float | None
    current_week: float | None
    candidate_week: float | None
    reason: str


def _table(db: Database) -> Table:
    t = db["map_refits"]
    assert isinstance(t, Table)
    return t


def record(db: Database, row: RefitRow) -> None:
    with db.atomic():
        _table(db).insert(
            {
                "symbol": row.symbol,
                "at_ms": row.at_ms,
                "current": row.current,
                "candidate": row.candidate,
                "adopted": int(row.adopted),
                "in_use": row.in_use,
                "fit_score": row.fit_score,
                "current_week": row.current_week,
                "candidate_week": row.candidate_week,
                "reason": row.reason,
            }
        )


def history(db: Database, symbol: str) -> list[RefitRow]:
    """Every decision for ``symbol``, oldest first."""
    rows = db.execute(
        "select symbol, at_ms, current, candidate, adopted, in_use, fit_score, current_week, "
        "candidate_week, reason from map_refits where symbol = ? order by at_ms, rowid",
        [symbol],
    ).fetchall()
    return [RefitRow(r[0], r[1], r[2], r[3], bool(r[4]), *r[5:]) for r in rows]


def in_use(db: Database, symbol: str) -> tuple[str, int | None]:
    """The settings in use for ``symbol`` and since when (None: the default, never changed)."""
    rows = history(db, symbol)
    adopted = [r for r in rows if r.adopted]
    if not adopted:
        return DEFAULT, None
    return adopted[-1].in_use, adopted[-1].at_ms
