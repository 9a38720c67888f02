"""Reading what gets graded: CSV files given on the command line, and the bundled real data.

Every problem with a file becomes one ``DataError`` line naming the file, the row and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from liqmap import Candles
from liqmap.times import HOUR_MS
from market.replay import DATA

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BUNDLED_CANDLES = "binance_BTCUSDT_1h.csv"
BUNDLED_OI = "coinglass_BTC_binance_oi_1h.csv"
BUNDLED_TOTALS = "coinglass_BTC_liquidation_1h.csv"
BUNDLED_PRINTS = {"BTC": "liquidations_BTC_2026-02-05.csv"}  # coin -> recorded prints
SIDES = ("long", "short")


class DataError(ValueError):
    """A file that cannot be graded: one line saying where and why."""


@dataclass(frozen=True)
class Events:
    """Single liquidation prints, sorted by time. ``side`` is the side liquidated."""

    time: IntArray
    side: npt.NDArray[np.str_]
    price: FloatArray
    quantity: FloatArray

    @property
    def usd(self) -> FloatArray:
        return self.price * self.quantity


@dataclass(frozen=True)
class Totals:
    """Liquidated USD per hour (hour open time), per side."""

    time: IntArray
    long_usd: FloatArray
    short_usd: FloatArray


def parse_time(text: str) -> int:
    """ISO-8601 (UTC when no zone is given) or epoch milliseconds -> ms."""
    s = text.strip()
    if s.replace(".", "", 1).isdigit():
        return int(float(s))
    t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)


def _rows(path: str, needed: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with Path(path).open(newline="") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in needed if c not in header]
            if missing:
                raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
            rows = [{k.strip(): (v or "") for k, v in r.items() if k} for r in reader]
    except OSError as e:
        raise DataError(f"cannot read {path!r}: {e.strerror or e}") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: not a CSV file ({e})") from None
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


def _cell(path: str, line: int, row: dict[str, str], name: str) -> float:
    text = row.get(name, "")
    try:
        if name == "time":
            return float(parse_time(text))
        value = float(text)
    except ValueError:
        raise DataError(f"{path} line {line}: {name} {text!r} is not valid") from None
    if not np.isfinite(value):
        raise DataError(f"{path} line {line}: {name} {text!r} is not a finite number")
    return value


def _columns(path: str, rows: list[dict[str, str]], names: tuple[str, ...]) -> list[FloatArray]:
    out = np.empty((len(names), len(rows)))
    for i, row in enumerate(rows):
        for j, name in enumerate(names):
            out[j, i] = _cell(path, i + 2, row, name)
    return list(out)


def read_events(path: str) -> Events:
    """``time, side, price, quantity`` (side: long or short, the side that was liquidated)."""
    rows = _rows(path, ("time", "side", "price", "quantity"))
    time, price, qty = _columns(path, rows, ("time", "price", "quantity"))
    side = np.array([r["side"].strip().lower() for r in rows])
    bad = np.flatnonzero(~np.isin(side, SIDES))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{path} line {i + 2}: side {rows[i]['side']!r} must be long or short")
    if np.any(price <= 0) or np.any(qty < 0):
        raise DataError(f"{path}: price must be > 0 and quantity >= 0")
    order = np.argsort(time, kind="stable")
    return Events(time.astype(np.int64)[order], side[order], price[order], qty[order])


def read_candles(path: str) -> Candles:
    """``time, open, high, low, close, volume`` [``taker_buy``]; time = candle open."""
    rows = _rows(path, ("time", "open", "high", "low", "close", "volume"))
    cols = ("time", "open", "high", "low", "close", "volume")
    has_taker = "taker_buy" in rows[0]
    t, o, h, lo, c, v, *rest = _columns(path, rows, cols + (("taker_buy",) if has_taker else ()))
    order = np.argsort(t, kind="stable")
    time = t.astype(np.int64)[order]
    if time.size < 2 or np.any(np.diff(time) <= 0):
        raise DataError(f"{path}: need two or more candles with distinct times")
    interval = int(np.min(np.diff(time)))
    if HOUR_MS % interval:
        raise DataError(f"{path}: candle interval {interval} ms does not divide an hour")
    return Candles(
        time=time,
        open=o[order],
        high=h[order],
        low=lo[order],
        close=c[order],
        volume=v[order],
        interval_ms=interval,
        taker_buy=rest[0][order] if rest else None,
    )


def read_totals(path: str) -> Totals:
    """``time`` (hour open), ``long_usd``, ``short_usd``."""
    rows = _rows(path, ("time", "long_usd", "short_usd"))
    t, lu, su = _columns(path, rows, ("time", "long_usd", "short_usd"))
    if np.any(lu < 0) or np.any(su < 0):
        raise DataError(f"{path}: liquidated USD must be >= 0")
    order = np.argsort(t, kind="stable")
    return Totals(t.astype(np.int64)[order], lu[order], su[order])


def _bundled_rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="") as f:
        return list(csv.DictReader(f))


@cache
def bundled_candles() -> Candles:
    """Binance BTCUSDT 1h candles with taker volume, and Binance's own hourly OI (CoinGlass)
    where it exists: OI in BTC = USD OI / close; hours between two readings interpolated,
    hours outside the OI's coverage NaN (a window touching them falls back to the proxy)."""
    rows = _bundled_rows(BUNDLED_CANDLES)
    time = np.array([int(r["openTime"]) for r in rows], dtype=np.int64)

    def col(name: str) -> FloatArray:
        return np.array([float(r[name]) for r in rows])

    close = col("close")
    oi_rows = _bundled_rows(BUNDLED_OI)
    oi_t = np.array([int(r["timestamp"]) for r in oi_rows], dtype=np.int64)
    oi_usd = np.array([float(r["oi_close"]) for r in oi_rows])
    usd = np.interp(time, oi_t, oi_usd, left=np.nan, right=np.nan)
    return Candles(
        time=time,
        open=col("open"),
        high=col("high"),
        low=col("low"),
        close=close,
        volume=col("volume"),
        interval_ms=HOUR_MS,
        taker_buy=col("takerBuyBase"),
        oi=usd / close,
    )


@cache
def bundled_totals() -> Totals:
    """CoinGlass hourly BTC liquidations (Binance + Bybit + OKX), hour open time."""
    rows = _bundled_rows(BUNDLED_TOTALS)
    return Totals(
        np.array([int(r["timestamp"]) for r in rows], dtype=np.int64),
        np.array([float(r["longUsd"]) for r in rows]),
        np.array([float(r["shortUsd"]) for r in rows]),
    )


@cache
def bundled_prints(coin: str) -> Events | None:
    """The recorded liquidation prints bundled for ``coin`` (BTC: 2026-02-05 06:00 ..
    02-06 06:00 UTC, real hourly USD per side placed as prints, see PROVENANCE.md), or None."""
    name = BUNDLED_PRINTS.get(coin.upper())
    if name is None:
        return None
    rows = _bundled_rows(name)
    time = np.array([int(r["time_ms"]) for r in rows], dtype=np.int64)
    order = np.argsort(time, kind="stable")
    return Events(
        time[order],
        np.array([r["side"] for r in rows])[order],
        np.array([float(r["price"]) for r in rows])[order],
        np.array([float(r["quantity"]) for r in rows])[order],
    )
