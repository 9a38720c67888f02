"""Market history per (venue, symbol, timeframe): candles, open interest, funding, venue health.

Upserts are idempotent (a re-fetched row replaces itself), so a refresh that overlaps the last
one, or is retried after a crash, never duplicates anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database
from sqlite_utils.db import Table

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SNAPSHOT = "snapshot"  # OI timeframe for polled current OI (Bitget has no OI history)


def _table(db: Database, name: str) -> Table:
    t = db[name]
    assert isinstance(t, Table)
    return t


def _none_if_nan(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def upsert_candles(
    db: Database,
    venue: str,
    symbol: str,
    timeframe: str,
    time: Sequence[int] | IntArray,
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    taker_buy: FloatArray,
) -> int:
    rows = [
        {
            "venue": venue,
            "symbol": symbol,
            "timeframe": timeframe,
            "time": int(t),
            "open": float(o),
            "high": float(h),
            "low": float(lo),
            "close": float(c),
            "volume": float(v),
            "taker_buy": _none_if_nan(tb),
        }
        for t, o, h, lo, c, v, tb in zip(
            time, open_, high, low, close, volume, taker_buy, strict=True
        )
    ]
    _table(db, "candles").insert_all(rows, replace=True)
    return len(rows)


def upsert_open_interest(
    db: Database,
    venue: str,
    symbol: str,
    timeframe: str,
    time: Sequence[int] | IntArray,
    base: FloatArray,
    usd: FloatArray,
) -> int:
    rows = [
        {
            "venue": venue,
            "symbol": symbol,
            "timeframe": timeframe,
            "time": int(t),
            "oi_base": float(b),
            "oi_usd": float(u),
        }
        for t, b, u in zip(time, base, usd, strict=True)
    ]
    _table(db, "open_interest").insert_all(rows, replace=True)
    return len(rows)


def upsert_funding(
    db: Database,
    venue: str,
    symbol: str,
    time: Sequence[int] | IntArray,
    rate: FloatArray,
    interval_h: float,
) -> int:
    rows = [
        {
            "venue": venue,
            "symbol": symbol,
            "time": int(t),
            "rate": float(r),
            "interval_h": interval_h,
        }
        for t, r in zip(time, rate, strict=True)
    ]
    _table(db, "funding").insert_all(rows, replace=True)
    return len(rows)


def last_time(
    db: Database, table: str, venue: str, symbol: str, timeframe: str | None
) -> int | None:
    """Newest stored time for the key, to fetch incrementally from there."""
    sql = f"select max(time) from [{table}] where venue = ? and symbol = ?"
    params: list[object] = [venue, symbol]
    if timeframe is not None:
        sql += " and timeframe = ?"
        params.append(timeframe)
    row = db.execute(sql, params).fetchone()
    return None if row is None or row[0] is None else int(row[0])


@dataclass(frozen=True)
class StoredCandles:
    time: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    taker_buy: FloatArray


def read_candles(
    db: Database, venue: str, symbol: str, timeframe: str, since: int, until_open: int
) -> StoredCandles:
    """Candles with open time in ``[since, until_open]``, oldest first."""
    rows = db.execute(
        "select time, open, high, low, close, volume, taker_buy from candles where venue = ? and "
        "symbol = ? and timeframe = ? and time >= ? and time <= ? order by time",
        [venue, symbol, timeframe, since, until_open],
    ).fetchall()
    arr = np.array(rows, dtype=np.float64).reshape(-1, 7)
    return StoredCandles(
        time=arr[:, 0].astype(np.int64),
        open=arr[:, 1],
        high=arr[:, 2],
        low=arr[:, 3],
        close=arr[:, 4],
        volume=arr[:, 5],
        taker_buy=arr[:, 6],  # NULL -> nan
    )


def read_open_interest(
    db: Database, venue: str, symbol: str, since: int, until: int
) -> tuple[IntArray, FloatArray, FloatArray]:
    """(time, base, usd) of every stored OI point (history or snapshots) in ``[since, until]``."""
    return _series(
        db,
        "select time, max(oi_base), max(oi_usd) from open_interest where venue = ? and symbol = ? "
        "and time >= ? and time <= ? group by time order by time",
        [venue, symbol, since, until],
    )


def read_funding(
    db: Database, venue: str, symbol: str, since: int, until: int
) -> tuple[IntArray, FloatArray, FloatArray]:
    return _series(
        db,
        "select time, rate, interval_h from funding where venue = ? and symbol = ? and time >= ? "
        "and time <= ? order by time",
        [venue, symbol, since, until],
    )


def _series(
    db: Database, sql: str, params: list[object]
) -> tuple[IntArray, FloatArray, FloatArray]:
    """(time, a, b) columns of a three-column query, oldest first."""
    arr = np.array(db.execute(sql, params).fetchall(), dtype=np.float64).reshape(-1, 3)
    return arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2]


def prune(db: Database, before: int) -> int:
    """Drop history older than ``before`` (ms): the retention setting."""
    removed = 0
    with db.atomic():
        for table in ("candles", "open_interest", "funding"):
            removed += db.execute(f"delete from [{table}] where time < ?", [before]).rowcount
    return removed


@dataclass(frozen=True)
class Health:
    venue: str
    symbol: str
    last_ok: int | None
    last_attempt: int | None
    failures: int
    last_error: str | None


def record_success(db: Database, venue: str, symbol: str, now: int) -> None:
    _table(db, "venue_health").upsert(
        {
            "venue": venue,
            "symbol": symbol,
            "last_ok": now,
            "last_attempt": now,
            "failures": 0,
            "last_error": None,
        },
        pk=("venue", "symbol"),
    )


def record_failure(db: Database, venue: str, symbol: str, now: int, error: str) -> int:
    """Count one more failed refresh in a row; returns the count."""
    current = health(db, venue, symbol)
    failures = (current.failures if current else 0) + 1
    _table(db, "venue_health").upsert(
        {
            "venue": venue,
            "symbol": symbol,
            "last_attempt": now,
            "failures": failures,
            "last_error": error[:300],
        },
        pk=("venue", "symbol"),
    )
    return failures


def health(db: Database, venue: str, symbol: str) -> Health | None:
    row = db.execute(
        "select venue, symbol, last_ok, last_attempt, failures, last_error from venue_health "
        "where venue = ? and symbol = ?",
        [venue, symbol],
    ).fetchone()
    return None if row is None else Health(*row)


def last_close(db: Database, venue: str, symbol: str) -> float | None:
    """The newest stored candle close of (venue, symbol), any timeframe."""
    row = db.execute(
        "select close from candles where venue = ? and symbol = ? order by time desc limit 1",
        [venue, symbol],
    ).fetchone()
    return None if row is None else float(row[0])
