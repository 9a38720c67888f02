"""Replay source: serves the bundled real data as the live feed would, at any replay time.

What it serves at time ``at`` (ms, UTC) is only what was known then: completed candles, the OI
and funding last published, the order book re-centred on the price of the moment. How OKX open
interest is combined with Binance candles is explained in ``data/PROVENANCE.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from liqmap import Candles, OrderBook, unified_symbol
from liqmap.times import DAY_MS, HOUR_MS, utc_minute
from market.snapshot import Funding, MarketDataError, MarketSnapshot, VenueStatus, VenueWindow
from market.source import FUNDING_P95_DAYS, WINDOW_MS

DATA = Path(__file__).resolve().parent / "data"
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TIMEFRAME_MS = {"5m": 300_000, "15m": 900_000, "1h": HOUR_MS}
# Fine candles for short windows, coarser for long ones (docs/model.md §2).
WINDOW_TIMEFRAMES = {"1d": ("5m", "15m", "1h"), "7d": ("15m", "1h"), "30d": ("1h",)}
OKX_LOCAL_OFFSET_MS = 5 * HOUR_MS  # OKX file times are Asia/Almaty (UTC+5)
OKX_CONTRACT_USD = 100.0  # BTC-USD-SWAP face value
# One hour before the first wave of the 2025-10-10 cascade: the demo's default moment.
DEFAULT_AT = int(datetime(2025, 10, 10, 20, 0, tzinfo=UTC).timestamp() * 1000)
VENUE = "binanceusdm"
OI_VENUE = "okx"


class ReplayError(MarketDataError):
    """A request the bundled data cannot answer (unknown symbol, time outside the data)."""


@dataclass(frozen=True)
class _Series:
    """One bundled candle file."""

    timeframe: str
    candles: Candles


def _header(name: str) -> list[str]:
    with (DATA / name).open() as f:
        return f.readline().strip().split(",")


def _numbers(name: str, *columns: str) -> FloatArray:
    """Numeric columns of a bundled CSV, one row per column (numpy's C parser: about ten times
    ``csv.DictReader``'s speed)."""
    head = _header(name)
    use = [head.index(c) for c in columns]
    table = np.loadtxt(DATA / name, delimiter=",", skiprows=1, usecols=use, ndmin=2)
    return np.ascontiguousarray(table.T, dtype=np.float64)


def _texts(name: str, column: str) -> npt.NDArray[np.str_]:
    use = _header(name).index(column)
    return np.loadtxt(DATA / name, delimiter=",", skiprows=1, usecols=use, dtype=str, ndmin=1)


def _times(name: str, column: str, offset_ms: int = 0) -> IntArray:
    """An ISO-time column (UTC when no zone is given, or '+00:00') as UTC ms."""
    texts = _texts(name, column)
    if all(t.endswith("+00:00") or "+" not in t for t in texts[:: max(1, len(texts) // 50)]):
        bare = np.char.replace(texts, "+00:00", "")
        if not any("+" in t or "Z" in t for t in bare):
            ms = bare.astype("datetime64[ms]").astype(np.int64)
            return ms - offset_ms
    return np.array([_parse_utc_ms(t, offset_ms) for t in texts], dtype=np.int64)


def _parse_utc_ms(text: str, offset_ms: int = 0) -> int:
    t = datetime.fromisoformat(text.strip())
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1000) - offset_ms


@lru_cache(maxsize=1)
def okx_open_interest() -> tuple[IntArray, FloatArray, FloatArray]:
    """OKX BTC-USD-SWAP: UTC ms, OI in USD, and a base-unit series whose changes are the USD
    changes converted at each hour's price (PROVENANCE.md, step 2)."""
    name = "okx_BTC-USD-SWAP_hourly.csv"
    t = _times(name, "date", OKX_LOCAL_OFFSET_MS)
    oi, price = _numbers(name, "open_interest", "futures_price")
    oi_usd = oi * OKX_CONTRACT_USD
    order = np.argsort(t, kind="stable")
    t, oi_usd, price = t[order], oi_usd[order], price[order]
    base = oi_usd[0] / price[0] + np.concatenate(([0.0], np.cumsum(np.diff(oi_usd) / price[1:])))
    return t, oi_usd, base


def _binance_raw(name: str, timeframe: str) -> Candles:
    t, o, h, lo, c, v, buy = _numbers(
        name, "openTime", "open", "high", "low", "close", "volume", "takerBuyBase"
    )
    return Candles(
        time=t.astype(np.int64),
        open=o,
        high=h,
        low=lo,
        close=c,
        volume=v,
        interval_ms=TIMEFRAME_MS[timeframe],
        taker_buy=buy,
    )


def _ohlcv(name: str, timeframe: str) -> Candles:
    if "date_ms" in _header(name):
        time = _numbers(name, "date_ms")[0].astype(np.int64)
    else:
        time = _times(name, "date")
    o, h, lo, c, v = _numbers(name, "open", "high", "low", "close", "volume")
    return Candles(
        time=time,
        open=o,
        high=h,
        low=lo,
        close=c,
        volume=v,
        interval_ms=TIMEFRAME_MS[timeframe],
    )


# Candle files per symbol, finest first: (timeframe, file, reader). Parsed only when a window
# needs them (a 30d map reads the 1h file only).
_FILES: dict[str, tuple[tuple[str, str, Callable[[str, str], Candles]], ...]] = {
    "BTC/USDT:USDT": (
        ("5m", "binance_BTCUSDT_5m_2025-10.csv", _ohlcv),
        ("15m", "binance_BTCUSDT_15m_2025-10.csv", _ohlcv),
        ("1h", "binance_BTCUSDT_1h.csv", _binance_raw),
    ),
    "ETH/USDT:USDT": (("1h", "binance_ETHUSDT_1h_2025.csv", _ohlcv),),
}


def _timeframes(symbol: str) -> tuple[str, ...]:
    if symbol not in _FILES:
        raise ReplayError(f"unknown symbol {symbol!r}")
    return tuple(tf for tf, _, _ in _FILES[symbol])


@cache
def _load(symbol: str, timeframe: str) -> Candles:
    """One bundled candle file, parsed on first use."""
    for tf, name, read in _FILES.get(symbol, ()):
        if tf == timeframe:
            return read(name, tf)
    raise ReplayError(f"no {timeframe} candles for {symbol}")


def _series(symbol: str) -> tuple[_Series, ...]:
    """Every candle file of a symbol, finest first (parses them all: coverage and status)."""
    return tuple(_Series(tf, _load(symbol, tf)) for tf in _timeframes(symbol))


@cache
def _funding(symbol: str) -> tuple[IntArray, FloatArray, FloatArray]:
    """Funding times (ms), rates per interval, interval hours."""
    if symbol == "BTC/USDT:USDT":
        t, interval, rate = _numbers(
            "binance_BTCUSDT_funding.csv", "fundingTime", "fundingIntervalHours", "fundingRate"
        )
        return t.astype(np.int64), rate, interval
    name = "binance_ETHUSDT_funding_2025.csv"
    t = _times(name, "date")
    return t, _numbers(name, "open")[0], np.full(t.size, 8.0)


@lru_cache(maxsize=1)
def _book_snapshot() -> tuple[FloatArray, FloatArray, float]:
    name = "binance_BTCUSDT_orderbook_2024-12-13.csv"
    side = _texts(name, "side")
    levels = _numbers(name, "price", "quantity").T
    bids, asks = levels[side == "bid"], levels[side == "ask"]
    bids = bids[np.argsort(-bids[:, 0])]
    asks = asks[np.argsort(asks[:, 0])]
    mid = (bids[0, 0] + asks[0, 0]) / 2
    return bids, asks, float(mid)


class ReplaySource:
    """The bundled data as a :class:`market.source.MarketSource`. Symbols: BTC and ETH USDT
    perpetuals."""

    name = "demo"
    venues = (VENUE,)
    version = 0  # the bundled past never changes

    @property
    def symbols(self) -> tuple[str, ...]:
        return ("BTC/USDT:USDT", "ETH/USDT:USDT")

    def resolve(self, symbol: str) -> str:
        """Unified symbol, or :class:`ReplayError` naming the symbols on offer."""
        unified = unified_symbol(symbol)
        if unified not in self.symbols:
            names = ", ".join(s.split("/")[0] for s in self.symbols)
            raise ReplayError(f"unknown symbol {symbol!r}: the bundled data has {names}")
        return unified

    def coverage(self, symbol: str) -> tuple[int, int]:
        """First and last moment (ms) at which a map can be drawn (a full candle exists)."""
        series = _series(self.resolve(symbol))
        start = min(int(s.candles.close_time[0]) for s in series)
        end = max(int(s.candles.close_time[-1]) for s in series)
        return start, end

    def candles(self, symbol: str, timeframe: str, since: int, until: int) -> Candles:
        """Completed candles with open time >= ``since`` and close time <= ``until``, with
        OKX-based OI attached where it covers them (BTC)."""
        unified = self.resolve(symbol)
        c = _load(unified, timeframe)
        lo = int(np.searchsorted(c.time, since, side="left"))
        hi = int(np.searchsorted(c.close_time, until, side="right"))
        return self._with_oi(unified, c.slice(lo, hi))

    def window_candles(self, symbol: str, window: str, at: int) -> tuple[Candles, str]:
        """Candles seeding a ``window`` map at ``at``, on the finest timeframe covering it."""
        unified = self.resolve(symbol)
        if window not in WINDOW_MS:
            raise ReplayError(f"unknown window {window!r}: choose 1d, 7d or 30d")
        since = at - WINDOW_MS[window]
        offered = _timeframes(unified)
        for tf in WINDOW_TIMEFRAMES[window]:
            if tf not in offered:
                continue
            c = _load(unified, tf)
            if c.time[0] <= since and c.close_time[-1] >= at:
                return self.candles(unified, tf, since, at), tf
        start, end = self.coverage(unified)
        raise ReplayError(
            f"no {window} of data before {utc_minute(at)} for {unified}: "
            f"the bundled data runs {utc_minute(start)} .. {utc_minute(end)}"
        )

    def snapshot(self, symbol: str, window: str, at: int) -> MarketSnapshot:
        """Binance candles with OKX's OI flow (PROVENANCE.md), funding and the re-centred book."""
        unified = self.resolve(symbol)
        candles, timeframe = self.window_candles(unified, window, at)
        has_oi = candles.oi is not None and bool(np.all(np.isfinite(candles.oi)))
        venue = VenueWindow(
            venue=VENUE,
            candles=candles,
            timeframe=timeframe,
            open_interest_usd=self.open_interest_usd(unified, at),
            oi_venue=OI_VENUE if has_oi else None,
        )
        return MarketSnapshot(
            symbol=unified,
            window=window,
            at=at,
            venues=(venue,),
            funding=self.funding(unified, at),
            book=self.order_book(unified, float(candles.close[-1])),
        )

    def oi_change(self, symbol: str, at: int, hours: float) -> float | None:
        """Fractional OI change over the last ``hours`` (None without OI at both ends)."""
        then = self.open_interest_usd(symbol, at - int(hours * HOUR_MS))
        now = self.open_interest_usd(symbol, at)
        if then is None or now is None or then <= 0:
            return None
        return now / then - 1.0

    def status(self, at: int) -> list[VenueStatus]:
        """Newest bundled candle at or before ``at`` per symbol; stale past 2 hours."""
        rows = []
        for symbol in self.symbols:
            closes = [s.candles.close_time for s in _series(symbol)]
            done = [int(c[np.searchsorted(c, at, side="right") - 1]) for c in closes if c[0] <= at]
            last = max(done) if done else None
            oi = "OI from okx" if self.open_interest_usd(symbol, at) is not None else "no OI"
            stale = last is None or at - last > 2 * HOUR_MS
            rows.append(VenueStatus(VENUE, symbol, last, stale, oi))
        return rows

    def _with_oi(self, symbol: str, c: Candles) -> Candles:
        if symbol != "BTC/USDT:USDT" or len(c) == 0:
            return c
        t, _, base = okx_open_interest()
        close = c.close_time
        oi = np.interp(close, t, base)
        oi[(close < t[0]) | (close > t[-1])] = np.nan
        return dataclasses.replace(c, oi=oi)

    def open_interest_usd(self, symbol: str, at: int) -> float | None:
        """Last published OI (USD) at ``at``; None where the data has none (ETH, out of range)."""
        if self.resolve(symbol) != "BTC/USDT:USDT":
            return None
        t, oi_usd, _ = okx_open_interest()
        i = int(np.searchsorted(t, at, side="right")) - 1
        if i < 0 or at - t[i] > 6 * HOUR_MS:
            return None
        return float(oi_usd[i])

    def open_interest_history(
        self, symbol: str, since: int, until: int
    ) -> tuple[IntArray, FloatArray]:
        """OI observations (ms, USD) in ``[since, until]``; empty where there are none."""
        if self.resolve(symbol) != "BTC/USDT:USDT":
            return np.array([], dtype=np.int64), np.array([])
        t, oi_usd, _ = okx_open_interest()
        keep = (t >= since) & (t <= until)
        return t[keep], oi_usd[keep]

    def funding(self, symbol: str, at: int) -> Funding | None:
        """The last funding rate settled at or before ``at``."""
        t, rate, interval = _funding(self.resolve(symbol))
        i = int(np.searchsorted(t, at, side="right")) - 1
        if i < 0:
            return None
        nxt = int(t[i] + interval[i] * HOUR_MS)
        return Funding(float(rate[i]), float(interval[i]), nxt)

    def funding_p95(self, symbol: str, at: int) -> float | None:
        """95th percentile of |funding| per 8 h over the 30 days to ``at`` (None under 10
        settlements), as the live store computes it."""
        t, rate, interval = _funding(self.resolve(symbol))
        keep = (t >= at - FUNDING_P95_DAYS * DAY_MS) & (t <= at)
        if int(keep.sum()) < 10:
            return None
        per_8h = np.abs(rate[keep]) * 8.0 / np.where(interval[keep] > 0, interval[keep], 8.0)
        return float(np.percentile(per_8h, 95))

    def optional_status(self) -> list[str]:
        """Nothing optional is fetched: the bundled book and tiers are always there."""
        return []

    def order_book(self, symbol: str, price: float) -> OrderBook | None:
        """The bundled BTC book re-centred on ``price`` (same USD depth per % from mid)."""
        if self.resolve(symbol) != "BTC/USDT:USDT":
            return None
        bids, asks, mid = _book_snapshot()
        scale = price / mid
        # price * qty (USD depth) is kept: prices scale up, quantities scale down.
        return OrderBook(
            bids=np.column_stack((bids[:, 0] * scale, bids[:, 1] / scale)),
            asks=np.column_stack((asks[:, 0] * scale, asks[:, 1] / scale)),
        )
