"""Fake Binance USD-M, Bybit, OKX and Bitget REST servers on 127.0.0.1 for tests.

Real ccxt (``ccxt.async_support``) talks to these through ``market.urls.override_urls``. Each
venue answers every request ccxt makes for market loading and the feed's methods, in that venue's
own wire format and units, from the real data in ``market/data`` (see PROVENANCE.md there):

* candles: Binance BTCUSDT 5m/15m/1h and ETHUSDT 1h, the same prices on every venue. Binance's
  raw klines carry the real ``takerBuyBase`` for BTC 1h; the 5m/15m/ETH files have no taker
  split, so those kline rows stop after ``closeTime`` instead of inventing numbers. OKX volumes
  are in contracts (``vol``) and base (``volCcy``). ETH 5m is DERIVED (the refresher needs 5m):
  each real ETH 1h candle split into twelve 5m candles walking its O->L->H->C path (O->H->L->C
  when it closed below its open), four per leg, prices rounded to 0.01, volume split evenly. The
  twelve re-aggregate exactly to the hour, but their intra-hour path is invented, and a 5m candle
  served mid-hour carries that hour's later extremes.
* open interest: OKX BTC-USD-SWAP hourly OI (Almaty time shifted to UTC, USD = contracts * 100),
  linearly interpolated across its gaps, scaled per venue by :data:`OI_SHARE` (binance 45%,
  bybit 25%, okx 20%, bitget 10%) and converted to BTC at the candle close at that time. OKX
  serves contracts of 0.01 BTC. There is no ETH OI: ETH OI endpoints answer with no rows, unless
  started with ``eth_open_interest=True`` (load tests): then ETH gets a SYNTHETIC OI, BTC's USD
  OI times :data:`ETH_OI_SCALE`, converted to ETH at the ETH price.
* funding: Binance BTCUSDT / ETHUSDT settlements; "current" = last settled rate, next settlement
  one interval later.
* order book: the one real Binance BTC snapshot, re-centred on the price at "now" keeping each
  level's USD depth (ETH borrows BTC's shape). OKX sizes in contracts.
* leverage tiers: ``liqmap.brackets_data.BINANCE_BRACKETS`` in each venue's format (OKX tier
  bounds in contracts at a fixed reference price, :data:`OKX_TIER_REF_PRICE`).

Synthetic symbols, FOR LOAD TESTS ONLY (``start_fake_venues(..., extra_symbols=N)``, N <= 18):
the first N coins of :data:`EXTRA_COINS` (SOL, XRP, BNB, DOGE, ... UNI) are also listed as USDT
perpetuals on every venue. They are not market data: every series is BTC's real one scaled by
the coin's price factor ``EXTRA_COINS[coin] / BTC_REF_PRICE`` (a rough October 2025 price over
110,000). Prices are multiplied by it and rounded to :data:`PRICE_DECIMALS`, and base quantities
(volume, taker volume, OI, book sizes) are divided by it, so USD amounts stay BTC's. Open
interest is scaled again by :data:`EXTRA_OI_SCALE`. Funding is BTC's, the book is BTC's shape,
and the leverage tiers are the coin's Binance brackets where bundled, else BTC's. The default
(N = 0) lists BTC and ETH only, exactly as before.

Replay clock: ``clock.now_ms`` (settable) — only candles closed by then, settlements, OI points and
books at or before it are served. Fault injection per venue: :meth:`FakeVenue.inject`,
:meth:`FakeVenue.hide_symbol`; every request is recorded in :attr:`FakeVenue.request_log`.

Out of process (benchmarks, so the fakes' CPU is not the client's): ``python -m
tests.fakes.venues [--now-ms MS] [--extra-symbols N] [--eth-open-interest]`` serves the fakes plus
a JSON control API (:meth:`FakeVenues.start_control`: ``GET /state`` with per-venue request
counts and the process CPU, ``POST /clock``, ``POST /clear``). :class:`FakeVenuesProcess` starts
that process and drives it.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from aiohttp import web

from liqmap.brackets_data import BINANCE_BRACKETS

DATA_DIR = Path(__file__).resolve().parents[2] / "market" / "data"

VENUES = ("binanceusdm", "bybit", "okx", "bitget")
COINS = ("BTC", "ETH")
# Synthetic load-test coins (listed only with ``extra_symbols=N``, the first N in this order):
# BTC's data with prices times ``price / BTC_REF_PRICE``. Prices are rough October 2025 levels.
EXTRA_COINS: dict[str, float] = {
    "SOL": 190.0,
    "XRP": 2.4,
    "BNB": 1_100.0,
    "DOGE": 0.19,
    "ADA": 0.65,
    "AVAX": 22.0,
    "LINK": 18.0,
    "DOT": 3.2,
    "TRX": 0.32,
    "LTC": 95.0,
    "BCH": 520.0,
    "NEAR": 2.3,
    "APT": 3.5,
    "ARB": 0.33,
    "OP": 0.45,
    "SUI": 2.6,
    "TON": 2.2,
    "UNI": 6.5,
}
BTC_REF_PRICE = 110_000.0
# Open interest of a synthetic coin (and of ETH with ``eth_open_interest=True``) in USD, as a
# fraction of BTC's.
EXTRA_OI_SCALE = 0.1
ETH_OI_SCALE = 0.5
# Each venue's share of the OKX USD open interest, to look like a market.
OI_SHARE = {"binanceusdm": 0.45, "bybit": 0.25, "okx": 0.20, "bitget": 0.10}
# Test knob: from a time on, a venue's OI is multiplied by a factor (a flush of positions).
# Set with FakeVenue.cut_open_interest; FakeVenues.clear() resets it.
OI_CUT: dict[str, tuple[int, float]] = {}


def _cut(venue: str, t: int) -> float:
    start, factor = OI_CUT.get(venue, (2**62, 1.0))
    return factor if t >= start else 1.0


def _extra_decimals(price: float) -> int:
    """Price decimals of a synthetic coin: 100x finer than BTC's 0.1 tick scaled to its price,
    so that distinct BTC book levels stay distinct once re-centred (at most 10, see ``fmt``)."""
    return min(10, 2 + math.ceil(-math.log10(price / BTC_REF_PRICE)))


PRICE_DECIMALS = {"BTC": 1, "ETH": 2} | {c: _extra_decimals(p) for c, p in EXTRA_COINS.items()}
# OKX linear swaps: contract value in base units (ctVal); about 1,000 USD for synthetic coins.
OKX_CT_VAL = {"BTC": 0.01, "ETH": 0.1} | {
    c: 10.0 ** round(math.log10(1_000.0 / p)) for c, p in EXTRA_COINS.items()
}
# OKX position tiers count contracts; USD brackets are converted at this fixed price.
OKX_TIER_REF_PRICE = {"BTC": 100_000.0, "ETH": 4_000.0} | dict(EXTRA_COINS)
TICK = {"BTC": "0.1", "ETH": "0.01"} | {
    c: f"{10.0 ** -PRICE_DECIMALS[c]:.{PRICE_DECIMALS[c]}f}" for c in EXTRA_COINS
}
# 2025-10-15 00:00 UTC: inside every data set (5m candles, OKX OI, ETH candles and funding).
DEFAULT_NOW_MS = 1_760_486_400_000

MINUTE = 60_000
HOUR = 60 * MINUTE
TF_MS = {"5m": 5 * MINUTE, "15m": 15 * MINUTE, "1h": HOUR}

FaultKind = Literal["timeout", "status", "malformed", "empty_body", "empty_data", "corrupt"]


def fmt(x: float) -> str:
    """Decimal string without exponent or trailing zeros, as venues send numbers."""
    s = f"{x:.10f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def brackets(coin: str) -> Sequence[Sequence[float]]:
    """Binance maintenance brackets of ``coin``; BTC's for a synthetic coin without its own."""
    return BINANCE_BRACKETS.get(f"{coin}/USDT:USDT", BINANCE_BRACKETS["BTC/USDT:USDT"])


# --- real data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """Candles of one coin and timeframe: open time ms and float columns (NaN = unknown)."""

    step: int
    t: np.ndarray
    o: np.ndarray
    h: np.ndarray
    low: np.ndarray
    c: np.ndarray
    v: np.ndarray
    quote_v: np.ndarray
    trades: np.ndarray
    taker_base: np.ndarray
    taker_quote: np.ndarray


def _parse_utc(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _series(step: int, rows: list[list[float]]) -> Series:
    a = np.array(rows, dtype=np.float64)
    return Series(step, a[:, 0].astype(np.int64), *(a[:, i] for i in range(1, 10)))


@cache
def candles(coin: str, tf: str) -> Series | None:
    """The bundled candles for ``coin``/``tf``, or None if the data set has none.

    ETH 5m is derived from ETH 1h (:func:`_split_hours`); a synthetic coin's candles are BTC's
    scaled (:func:`_scaled`)."""
    if coin in EXTRA_COINS:
        btc = candles("BTC", tf)
        return None if btc is None else _scaled(btc, coin)
    if (coin, tf) == ("ETH", "5m"):
        hourly = candles("ETH", "1h")
        return None if hourly is None else _split_hours(hourly, 12, PRICE_DECIMALS["ETH"])
    nan = math.nan
    if coin == "BTC" and tf == "1h":
        with open(DATA_DIR / "binance_BTCUSDT_1h.csv") as f:
            rows = [
                [
                    float(r["openTime"]),
                    *(float(r[k]) for k in ("open", "high", "low", "close")),
                    float(r["volume"]),
                    float(r["quoteVolume"]),
                    float(r["trades"]),
                    float(r["takerBuyBase"]),
                    float(r["takerBuyQuote"]),
                ]
                for r in csv.DictReader(f)
            ]
        return _series(HOUR, rows)
    files = {
        ("BTC", "5m"): "binance_BTCUSDT_5m_2025-10.csv",
        ("BTC", "15m"): "binance_BTCUSDT_15m_2025-10.csv",
        ("ETH", "1h"): "binance_ETHUSDT_1h_2025.csv",
    }
    if (coin, tf) not in files:
        return None
    with open(DATA_DIR / files[coin, tf]) as f:
        rows = [
            [
                float(_parse_utc(r["date"])),
                *(float(r[k]) for k in ("open", "high", "low", "close")),
                float(r["volume"]),
                nan,
                nan,
                nan,
                nan,
            ]
            for r in csv.DictReader(f)
        ]
    return _series(TF_MS[tf], rows)


def _split_hours(hourly: Series, parts: int, decimals: int) -> Series:
    """Each candle split into ``parts`` shorter ones walking its O->L->H->C path when it closed
    at or above its open (O->H->L->C otherwise), a third of the pieces per leg, prices rounded to
    ``decimals``. The pieces' first open, last close, highest high, lowest low and summed volume
    are the original candle's. Volume split evenly; no trades or taker split (NaN)."""
    if parts % 3:
        raise ValueError("parts must be a multiple of 3 (three legs)")
    leg = parts // 3
    o, h, lo, c = hourly.o, hourly.h, hourly.low, hourly.c
    up = (c >= o)[:, None]
    corners = np.where(up, np.stack([o, lo, h, c], 1), np.stack([o, h, lo, c], 1))
    frac = np.arange(leg) / leg  # position along a leg of each piece's open
    starts = corners[:, :3, None] + (corners[:, 1:, None] - corners[:, :3, None]) * frac
    opens = np.round(starts.reshape(len(o), parts), decimals)
    closes = np.concatenate([opens[:, 1:], c[:, None]], axis=1)
    step = hourly.step // parts
    t = (hourly.t[:, None] + np.arange(parts) * step).reshape(-1)
    v = np.repeat(hourly.v / parts, parts)
    nan = np.full(len(t), math.nan)
    o_, c_ = opens.reshape(-1), closes.reshape(-1)
    return Series(step, t, o_, np.maximum(o_, c_), np.minimum(o_, c_), c_, v, nan, nan, nan, nan)


def _scaled(btc: Series, coin: str) -> Series:
    """BTC's candles as ``coin``'s: prices times ``EXTRA_COINS[coin] / BTC_REF_PRICE`` rounded to
    the coin's decimals, base volumes divided by that factor (USD turnover unchanged)."""
    k = EXTRA_COINS[coin] / BTC_REF_PRICE
    d = PRICE_DECIMALS[coin]
    return Series(
        btc.step,
        btc.t,
        np.round(btc.o * k, d),
        np.round(btc.h * k, d),
        np.round(btc.low * k, d),
        np.round(btc.c * k, d),
        btc.v / k,
        btc.quote_v,
        btc.trades,
        btc.taker_base / k,
        btc.taker_quote,
    )


@cache
def funding_series(coin: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Settlement times (ms), rates per interval, interval hours (a synthetic coin: BTC's)."""
    if coin == "BTC" or coin in EXTRA_COINS:
        with open(DATA_DIR / "binance_BTCUSDT_funding.csv") as f:
            rows = list(csv.DictReader(f))
        t = np.array([int(r["fundingTime"]) for r in rows], dtype=np.int64)
        rate = np.array([float(r["fundingRate"]) for r in rows])
        return t, rate, float(rows[-1]["fundingIntervalHours"])
    with open(DATA_DIR / "binance_ETHUSDT_funding_2025.csv") as f:
        rows = list(csv.DictReader(f))
    t = np.array([_parse_utc(r["date"]) for r in rows], dtype=np.int64)
    return t, np.array([float(r["open"]) for r in rows]), 8.0


@cache
def okx_oi_usd() -> tuple[np.ndarray, np.ndarray]:
    """OKX BTC-USD-SWAP hourly OI: UTC times (ms) and USD (contracts * 100 USD face)."""
    almaty = timedelta(hours=5)
    times, usd = [], []
    with open(DATA_DIR / "okx_BTC-USD-SWAP_hourly.csv") as f:
        for r in csv.DictReader(f):
            local = datetime.fromisoformat(r["date"]).replace(tzinfo=UTC)
            times.append(int((local - almaty).timestamp() * 1000))
            usd.append(float(r["open_interest"]) * 100.0)
    return np.array(times, dtype=np.int64), np.array(usd)


@cache
def book_snapshot() -> tuple[np.ndarray, np.ndarray, float]:
    """The Binance BTC snapshot: bids (desc) and asks (asc) as (n, 2) [price, qty], and mid."""
    bids: list[tuple[float, float]] = []
    asks: list[tuple[float, float]] = []
    with open(DATA_DIR / "binance_BTCUSDT_orderbook_2024-12-13.csv") as f:
        for r in csv.DictReader(f):
            (bids if r["side"] == "bid" else asks).append((float(r["price"]), float(r["quantity"])))
    b = np.array(sorted(bids, reverse=True))
    a = np.array(sorted(asks))
    return b, a, (b[0, 0] + a[0, 0]) / 2.0


class Market:
    """Replay views over the real data, all as of ``now`` (ms)."""

    @staticmethod
    def closed_candles(
        coin: str,
        tf: str,
        now: int,
        start: int | None = None,
        end: int | None = None,
        limit: int = 500,
        newest: bool = False,
    ) -> list[int]:
        """Indices of candles closed by ``now`` with ``start <= open <= end``, ascending; the
        oldest ``limit`` (or the newest when ``newest``)."""
        s = candles(coin, tf)
        if s is None:
            return []
        hi = int(np.searchsorted(s.t, now - s.step, side="right"))
        if end is not None:
            hi = min(hi, int(np.searchsorted(s.t, end, side="right")))
        lo = 0 if start is None else int(np.searchsorted(s.t, start, side="left"))
        if hi <= lo:
            return []
        idx = list(range(lo, hi))
        return idx[-limit:] if newest else idx[:limit]

    @staticmethod
    def price_at(coin: str, t: int) -> float | None:
        """Close of the last candle closed at or before ``t`` (finest timeframe available)."""
        for tf in ("5m", "15m", "1h"):
            s = candles(coin, tf)
            if s is None or t < s.t[0] + s.step or t > s.t[-1] + 2 * s.step:
                continue
            i = int(np.searchsorted(s.t, t - s.step, side="right")) - 1
            if i >= 0:
                return float(s.c[i])
        return None

    @staticmethod
    def oi_scale(coin: str, eth_open_interest: bool = False) -> float | None:
        """``coin``'s USD open interest as a fraction of BTC's; None when it has none (ETH unless
        ``eth_open_interest``: the data set has no ETH OI)."""
        if coin == "BTC":
            return 1.0
        if coin in EXTRA_COINS:
            return EXTRA_OI_SCALE
        return ETH_OI_SCALE if coin == "ETH" and eth_open_interest else None

    @staticmethod
    def oi_points(
        venue: str,
        coin: str,
        step: int,
        now: int,
        start: int | None,
        end: int | None,
        limit: int,
        newest: bool,
        eth_open_interest: bool = False,
    ) -> list[tuple[int, float, float]]:
        """(time ms, base units, USD) on the ``step`` grid, ascending, at or before ``now``."""
        scale = Market.oi_scale(coin, eth_open_interest)
        if scale is None:
            return []
        times, usd = okx_oi_usd()
        first = max(int(times[0]), start if start is not None else int(times[0]))
        last = min(int(times[-1]), now, end if end is not None else now)
        if last < first:
            return []
        grid = np.arange(-(-first // step) * step, last + 1, step, dtype=np.int64)
        grid = grid[-limit:] if newest else grid[:limit]
        out = []
        for t in grid:
            price = Market.price_at(coin, int(t))
            if price is None:
                continue
            value = float(np.interp(t, times, usd)) * OI_SHARE[venue] * scale * _cut(venue, int(t))
            out.append((int(t), value / price, value))
        return out

    @staticmethod
    def oi_now(
        venue: str, coin: str, now: int, eth_open_interest: bool = False
    ) -> tuple[int, float, float] | None:
        """Current OI (time, base, USD) interpolated at ``now``."""
        scale = Market.oi_scale(coin, eth_open_interest)
        if scale is None:
            return None
        times, usd = okx_oi_usd()
        price = Market.price_at(coin, now)
        if price is None or not times[0] <= now <= times[-1]:
            return None
        value = float(np.interp(now, times, usd)) * OI_SHARE[venue] * scale * _cut(venue, now)
        return now, value / price, value

    @staticmethod
    def settlements(
        coin: str, now: int, start: int | None = None, end: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        t, rate, _ = funding_series(coin)
        keep = t <= now
        if start is not None:
            keep &= t >= start
        if end is not None:
            keep &= t <= end
        return t[keep], rate[keep]

    @staticmethod
    def current_funding(coin: str, now: int) -> tuple[float, int, float] | None:
        """(rate, next settlement ms, interval hours): last settled rate, as the venue's
        estimate for the next settlement (the real next rate would be look-ahead)."""
        t, rate, hours = funding_series(coin)
        i = int(np.searchsorted(t, now, side="right")) - 1
        if i < 0:
            return None
        step = int(hours * HOUR)
        # settlement times carry a few ms of jitter; align to the interval grid
        nxt = (int(t[i]) // step + 1) * step
        while nxt <= now:
            nxt += step
        return float(rate[i]), nxt, hours

    @staticmethod
    def book(coin: str, now: int, depth: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Top ``depth`` levels per side re-centred on the price at ``now``; qty in base units,
        scaled so each level keeps its USD depth."""
        price = Market.price_at(coin, now)
        if price is None:
            return None
        bids, asks, mid = book_snapshot()
        k = price / mid
        decimals = PRICE_DECIMALS[coin] if coin in EXTRA_COINS else 4
        out = []
        for side in (bids[:depth], asks[:depth]):
            scaled = side.copy()
            scaled[:, 0] = np.round(side[:, 0] * k, decimals)
            scaled[:, 1] = side[:, 1] / k
            out.append(scaled)
        return out[0], out[1]


# --- faults and logging --------------------------------------------------------------------------


@dataclass
class Fault:
    """One injected fault; applies to requests whose path contains ``path`` (all if None) for
    the next ``times`` matches (forever if None)."""

    kind: FaultKind
    path: str | None = None
    times: int | None = 1
    status: int = 500
    delay_s: float = 5.0
    hits: int = 0
    after: int = 0  # the first ``after`` matching requests are answered normally
    passed: int = 0

    def matches(self, path: str) -> bool:
        return (self.path is None or self.path in path) and (
            self.times is None or self.hits < self.times
        )


@dataclass
class LoggedRequest:
    """A request the fake received, with what it answered."""

    method: str
    path: str
    query: dict[str, str]
    status: int | None = None
    fault: str | None = None
    body: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ReplayClock:
    """The fakes' notion of now; tests move it."""

    now_ms: int = DEFAULT_NOW_MS


Payload = Any
Handler = Callable[[dict[str, str]], Payload]


class VenueHttpError(Exception):
    """Raised by a handler to answer with a venue-styled error."""

    def __init__(self, status: int, payload: Payload):
        super().__init__(status)
        self.status = status
        self.payload = payload


# --- the venues -----------------------------------------------------------------------------------


class FakeVenue:
    """One fake venue: an aiohttp app with per-venue routes, faults and a request log."""

    venue: str = ""

    def __init__(
        self,
        clock: ReplayClock,
        coins: tuple[str, ...] = COINS,
        eth_open_interest: bool = False,
    ):
        self.clock = clock
        self.listed = coins  # every coin this venue lists (before hide_symbol)
        self.eth_open_interest = eth_open_interest
        self.request_log: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.hidden: set[str] = set()
        self.server_errors: list[str] = []
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._routes: dict[str, Handler] = self.routes()

    # -- public API for tests --

    @property
    def now(self) -> int:
        return self.clock.now_ms

    def inject(
        self,
        kind: FaultKind,
        *,
        path: str | None = None,
        times: int | None = 1,
        status: int = 500,
        delay_s: float = 5.0,
        after: int = 0,
    ) -> Fault:
        """Add a fault: ``timeout`` (answer after ``delay_s``), ``status`` (HTTP ``status`` with
        the venue's error body; 429/418 Binance-style with Retry-After), ``malformed`` (200 with
        truncated JSON), ``empty_body`` (200, no bytes), ``empty_data`` (200, the venue's
        envelope with every list emptied), ``corrupt`` (200, numbers inside rows negated)."""
        fault = Fault(kind, path, times, status, delay_s, after=after)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def cut_open_interest(self, from_ms: int, factor: float) -> None:
        """From ``from_ms`` on, this venue reports its OI times ``factor`` (0.7: a 30% flush)."""
        OI_CUT[self.venue] = (from_ms, factor)

    def hide_symbol(self, coin: str) -> None:
        """Delist ``coin`` ('ETH') here: absent from the next instrument listing (so ccxt raises
        BadSymbol locally), and data endpoints answer the venue's unknown-symbol error at once."""
        self.hidden.add(coin)

    def requests(self, path_part: str = "") -> list[LoggedRequest]:
        """Logged requests whose path contains ``path_part``."""
        return [r for r in self.request_log if path_part in r.path]

    # -- to implement per venue --

    def routes(self) -> dict[str, Handler]:
        raise NotImplementedError

    def coin_of(self, market_id: str | None) -> str:
        """Coin for a venue symbol id, or the venue's unknown-symbol error."""
        for coin in self.listed:
            if market_id == self.market_id(coin) and coin not in self.hidden:
                return coin
        raise self.unknown_symbol(market_id)

    def market_id(self, coin: str) -> str:
        return f"{coin}USDT"

    def unknown_symbol(self, market_id: str | None) -> VenueHttpError:
        raise NotImplementedError

    def error_payload(self, status: int) -> Payload:
        return {"code": status, "msg": "error"}

    def empty(self, payload: Payload) -> Payload:
        return _empty_lists(payload)

    def coins(self) -> list[str]:
        return [c for c in self.listed if c not in self.hidden]

    def oi_points(
        self, coin: str, step: int, start: int | None, end: int | None, limit: int, newest: bool
    ) -> list[tuple[int, float, float]]:
        return Market.oi_points(
            self.venue, coin, step, self.now, start, end, limit, newest, self.eth_open_interest
        )

    def oi_now(self, coin: str) -> tuple[int, float, float] | None:
        return Market.oi_now(self.venue, coin, self.now, self.eth_open_interest)

    # -- server --

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that timed out must not leave a sleeping handler behind
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        entry = LoggedRequest(request.method, request.path, dict(request.query))
        self.request_log.append(entry)
        fault = next((f for f in self.faults if f.matches(request.path)), None)
        if fault is not None and fault.passed < fault.after:
            fault.passed += 1
            fault = None
        if fault is not None:
            fault.hits += 1
            entry.fault = fault.kind
            if fault.kind == "timeout":
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), fault.delay_s)
            elif fault.kind == "status":
                return self._reply(entry, fault.status, self._status_body(fault.status))
            elif fault.kind == "malformed":
                return self._reply(entry, 200, '{"code": "0", "data": [[1, "2", ')
            elif fault.kind == "empty_body":
                return self._reply(entry, 200, "")
        handler = self._routes.get(request.path)
        if handler is None:
            return self._reply(entry, 404, json.dumps(self.error_payload(404)))
        try:
            payload = handler(dict(request.query))
        except VenueHttpError as exc:
            return self._reply(entry, exc.status, json.dumps(exc.payload))
        except Exception as exc:  # a bug in the fake: record it so tests can fail loudly
            self.server_errors.append(f"{request.path}: {type(exc).__name__}: {exc}")
            return self._reply(entry, 500, json.dumps({"fake_error": repr(exc)}))
        if fault is not None and fault.kind == "empty_data":
            payload = self.empty(payload)
        elif fault is not None and fault.kind == "corrupt":
            payload = _corrupt(payload)
        return self._reply(entry, 200, json.dumps(payload))

    def _status_body(self, status: int) -> str:
        if status >= 500:
            return f"<html><body><h1>{status} Bad Gateway</h1></body></html>"
        return json.dumps(self.error_payload(status))

    def _reply(self, entry: LoggedRequest, status: int, body: str) -> web.Response:
        entry.status = status
        entry.body = body
        headers = {"Retry-After": "1"} if status in (418, 429) else {}
        ctype = "text/html" if body.startswith("<") else "application/json"
        return web.Response(status=status, text=body, content_type=ctype, headers=headers)


def _empty_lists(node: Any) -> Any:
    if isinstance(node, list):
        return []
    if isinstance(node, dict):
        return {k: _empty_lists(v) for k, v in node.items()}
    return node


def _is_value(x: Any) -> bool:
    if isinstance(x, bool) or not isinstance(x, int | float | str):
        return False
    try:
        v = float(x)
    except ValueError:
        return False
    return 0 < v < 1e12  # leave timestamps alone so only the values are wrong


def _corrupt(node: Any, in_row: bool = False) -> Any:
    """Negate every numeric value inside lists (candle rows, book levels, records)."""
    if isinstance(node, list):
        return [_corrupt(v, True) for v in node]
    if isinstance(node, dict):
        return {k: _corrupt(v, in_row and k not in ("code", "retCode")) for k, v in node.items()}
    if in_row and _is_value(node):
        return -node if not isinstance(node, str) else "-" + node
    return node


def _int(q: dict[str, str], key: str, default: int | None = None) -> int | None:
    v = q.get(key)
    return int(v) if v not in (None, "") else default


# Binance --------------------------------------------------------------------------------------


class BinanceFake(FakeVenue):
    """Binance USD-M futures (``/fapi``, ``/futures/data``)."""

    venue = "binanceusdm"

    def routes(self) -> dict[str, Handler]:
        return {
            "/fapi/v1/exchangeInfo": self.exchange_info,
            "/fapi/v1/klines": self.klines,
            "/futures/data/openInterestHist": self.oi_hist,
            "/fapi/v1/openInterest": self.oi,
            "/fapi/v1/premiumIndex": self.premium_index,
            "/fapi/v1/fundingInfo": self.funding_info,
            "/fapi/v1/fundingRate": self.funding_rate,
            "/fapi/v1/depth": self.depth,
            "/fapi/v1/ticker/24hr": self.ticker,
        }

    def unknown_symbol(self, market_id: str | None) -> VenueHttpError:
        return VenueHttpError(400, {"code": -1121, "msg": "Invalid symbol."})

    def error_payload(self, status: int) -> Payload:
        if status == 429:
            return {
                "code": -1003,
                "msg": "Too many requests; current limit of IP(127.0.0.1) is "
                "2400 requests per minute. Please use the websocket for live updates.",
            }
        if status == 418:
            return {
                "code": -1003,
                "msg": f"Way too many requests; IP(127.0.0.1) banned until "
                f"{self.now + 120_000}. Please use the websocket for live updates.",
            }
        return {"code": -1000, "msg": "An unknown error occurred while processing the request."}

    def empty(self, payload: Payload) -> Payload:
        # object answers (premiumIndex, openInterest) have no list to empty: answer {}
        return _empty_lists(payload) if isinstance(payload, list) or "symbols" in payload else {}

    def exchange_info(self, q: dict[str, str]) -> Payload:
        def sym(coin: str) -> dict[str, Any]:
            return {
                "symbol": f"{coin}USDT",
                "pair": f"{coin}USDT",
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000,
                "onboardDate": 1569398400000,
                "status": "TRADING",
                "maintMarginPercent": "2.5000",
                "requiredMarginPercent": "5.0000",
                "baseAsset": coin,
                "quoteAsset": "USDT",
                "marginAsset": "USDT",
                "pricePrecision": 2,
                "quantityPrecision": 3,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                "underlyingSubType": ["PoW"],
                "triggerProtect": "0.0500",
                "liquidationFee": "0.012500",
                "marketTakeBound": "0.05",
                "maxMoveOrderLimit": 10000,
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": "0.10",
                        "maxPrice": "4529764",
                        "tickSize": TICK[coin],
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "minQty": "0.001",
                        "maxQty": "1000",
                        "stepSize": "0.001",
                    },
                    {
                        "filterType": "MARKET_LOT_SIZE",
                        "minQty": "0.001",
                        "maxQty": "120",
                        "stepSize": "0.001",
                    },
                    {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                    {"filterType": "MIN_NOTIONAL", "notional": "100"},
                    {
                        "filterType": "PERCENT_PRICE",
                        "multiplierUp": "1.0500",
                        "multiplierDown": "0.9500",
                        "multiplierDecimal": "4",
                    },
                ],
                "orderTypes": [
                    "LIMIT",
                    "MARKET",
                    "STOP",
                    "STOP_MARKET",
                    "TAKE_PROFIT",
                    "TAKE_PROFIT_MARKET",
                    "TRAILING_STOP_MARKET",
                ],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
            }

        return {
            "timezone": "UTC",
            "serverTime": self.now,
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 2400,
                }
            ],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": [sym(c) for c in self.coins()],
        }

    def klines(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("symbol"))
        tf = q.get("interval", "1h")
        limit = min(_int(q, "limit", 500) or 500, 1500)
        start, end = _int(q, "startTime"), _int(q, "endTime")
        idx = Market.closed_candles(coin, tf, self.now, start, end, limit, newest=start is None)
        s = candles(coin, tf)
        rows = []
        for i in idx:
            assert s is not None
            row: list[Any] = [
                int(s.t[i]),
                fmt(s.o[i]),
                fmt(s.h[i]),
                fmt(s.low[i]),
                fmt(s.c[i]),
                fmt(s.v[i]),
                int(s.t[i]) + s.step - 1,
            ]
            if not math.isnan(s.taker_base[i]):
                row += [
                    fmt(s.quote_v[i]),
                    int(s.trades[i]),
                    fmt(s.taker_base[i]),
                    fmt(s.taker_quote[i]),
                    "0",
                ]
            rows.append(row)
        return rows

    def oi_hist(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("symbol"))
        step = _period_ms(q.get("period", "5m"))
        limit = min(_int(q, "limit", 30) or 30, 500)
        start, end = _int(q, "startTime"), _int(q, "endTime")
        pts = self.oi_points(coin, step, start, end, limit, newest=start is None)
        return [
            {
                "symbol": f"{coin}USDT",
                "sumOpenInterest": fmt(b),
                "sumOpenInterestValue": fmt(u),
                "CMCCirculatingSupply": "19900000",
                "timestamp": t,
            }
            for t, b, u in pts
        ]

    def oi(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("symbol"))
        now = self.oi_now(coin)
        if now is None:
            return {}
        return {"symbol": f"{coin}USDT", "openInterest": fmt(now[1]), "time": now[0]}

    def premium_index(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("symbol"))
        cur = Market.current_funding(coin, self.now)
        price = Market.price_at(coin, self.now)
        if cur is None or price is None:
            return {}
        return {
            "symbol": f"{coin}USDT",
            "markPrice": fmt(price),
            "indexPrice": fmt(price),
            "estimatedSettlePrice": fmt(price),
            "lastFundingRate": fmt(cur[0]),
            "interestRate": "0.00010000",
            "nextFundingTime": cur[1],
            "time": self.now,
        }

    def funding_info(self, q: dict[str, str]) -> Payload:
        return [
            {
                "symbol": f"{c}USDT",
                "adjustedFundingRateCap": "0.02000000",
                "adjustedFundingRateFloor": "-0.02000000",
                "fundingIntervalHours": int(funding_series(c)[2]),
                "disclaimer": False,
            }
            for c in self.coins()
        ]

    def funding_rate(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("symbol"))
        limit = min(_int(q, "limit", 100) or 100, 1000)
        start = _int(q, "startTime")
        t, rate = Market.settlements(coin, self.now, start, _int(q, "endTime"))
        sel = slice(None, limit) if start is not None else slice(-limit, None)
        return [
            {
                "symbol": f"{coin}USDT",
                "fundingTime": int(ti),
                "fundingRate": f"{r:.8f}",
                "markPrice": fmt(Market.price_at(coin, int(ti)) or 0.0),
            }
            for ti, r in zip(t[sel], rate[sel], strict=True)
        ]

    def depth(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("symbol"))
        book = Market.book(coin, self.now, _int(q, "limit", 500) or 500)
        bids, asks = book if book is not None else (np.empty((0, 2)), np.empty((0, 2)))
        return {
            "lastUpdateId": self.now,
            "E": self.now,
            "T": self.now,
            "bids": [[fmt(p), fmt(s)] for p, s in bids],
            "asks": [[fmt(p), fmt(s)] for p, s in asks],
        }

    def ticker(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("symbol"))
        price = Market.price_at(coin, self.now)
        if price is None:
            return {}
        idx = Market.closed_candles(coin, "1h", self.now, limit=24, newest=True)
        s = candles(coin, "1h")
        assert s is not None
        op = float(s.o[idx[0]]) if idx else price
        return {
            "symbol": f"{coin}USDT",
            "priceChange": fmt(price - op),
            "priceChangePercent": fmt(round((price / op - 1) * 100, 3)),
            "weightedAvgPrice": fmt(price),
            "lastPrice": fmt(price),
            "lastQty": "0.010",
            "openPrice": fmt(op),
            "highPrice": fmt(float(s.h[idx].max()) if idx else price),
            "lowPrice": fmt(float(s.low[idx].min()) if idx else price),
            "volume": fmt(float(s.v[idx].sum()) if idx else 0.0),
            "quoteVolume": "0",
            "openTime": self.now - 24 * HOUR,
            "closeTime": self.now,
            "firstId": 1,
            "lastId": 2,
            "count": 1,
        }


def _period_ms(period: str) -> int:
    units = {"m": MINUTE, "h": HOUR, "H": HOUR, "d": 24 * HOUR, "D": 24 * HOUR}
    if period.endswith("min"):
        return int(period[:-3]) * MINUTE
    return int(period[:-1]) * units[period[-1]]


# Bybit ----------------------------------------------------------------------------------------


class BybitFake(FakeVenue):
    """Bybit V5 (``/v5/market``), linear category."""

    venue = "bybit"

    def routes(self) -> dict[str, Handler]:
        return {
            "/v5/market/instruments-info": self.instruments,
            "/v5/market/kline": self.kline,
            "/v5/market/open-interest": self.open_interest,
            "/v5/market/tickers": self.tickers,
            "/v5/market/funding/history": self.funding_history,
            "/v5/market/orderbook": self.orderbook,
            "/v5/market/risk-limit": self.risk_limit,
        }

    def ok(self, result: Any) -> Payload:
        return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": self.now}

    def unknown_symbol(self, market_id: str | None) -> VenueHttpError:
        return VenueHttpError(
            200,
            {
                "retCode": 10001,
                "retMsg": "Not supported symbols",
                "result": {},
                "retExtInfo": {},
                "time": self.now,
            },
        )

    def error_payload(self, status: int) -> Payload:
        if status in (403, 429):
            return {
                "retCode": 10006,
                "retMsg": "Too many visits!",
                "result": {},
                "retExtInfo": {},
                "time": self.now,
            }
        return {
            "retCode": 10016,
            "retMsg": "Internal server error.",
            "result": {},
            "retExtInfo": {},
            "time": self.now,
        }

    def instruments(self, q: dict[str, str]) -> Payload:
        if q.get("category") != "linear" or q.get("status") == "PreLaunch":
            return self.ok({"category": q.get("category", ""), "list": [], "nextPageCursor": ""})

        def inst(coin: str) -> dict[str, Any]:
            return {
                "symbol": f"{coin}USDT",
                "contractType": "LinearPerpetual",
                "status": "Trading",
                "baseCoin": coin,
                "quoteCoin": "USDT",
                "launchTime": "1585526400000",
                "deliveryTime": "0",
                "deliveryFeeRate": "",
                "priceScale": "2",
                "leverageFilter": {
                    "minLeverage": "1",
                    "maxLeverage": "100.00",
                    "leverageStep": "0.01",
                },
                "priceFilter": {
                    "minPrice": "0.10",
                    "maxPrice": "1999999.80",
                    "tickSize": TICK[coin],
                },
                "lotSizeFilter": {
                    "maxOrderQty": "1190.000",
                    "minOrderQty": "0.001",
                    "qtyStep": "0.001",
                    "postOnlyMaxOrderQty": "1190.000",
                    "maxMktOrderQty": "500.000",
                    "minNotionalValue": "5",
                },
                "unifiedMarginTrade": True,
                "fundingInterval": 480,
                "settleCoin": "USDT",
                "copyTrading": "both",
                "upperFundingRate": "0.005",
                "lowerFundingRate": "-0.005",
                "isPreListing": False,
                "preListingInfo": None,
            }

        return self.ok(
            {"category": "linear", "list": [inst(c) for c in self.coins()], "nextPageCursor": ""}
        )

    def kline(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("symbol"))
        interval = q.get("interval", "60")
        tf = {"5": "5m", "15": "15m", "60": "1h"}.get(interval, interval)
        limit = min(_int(q, "limit", 200) or 200, 1000)
        start, end = _int(q, "start"), _int(q, "end")
        idx = Market.closed_candles(coin, tf, self.now, start, end, limit, newest=start is None)
        s = candles(coin, tf)
        rows = []
        for i in reversed(idx):  # newest first
            assert s is not None
            turnover = s.quote_v[i] if not math.isnan(s.quote_v[i]) else s.v[i] * s.c[i]
            rows.append(
                [
                    str(int(s.t[i])),
                    fmt(s.o[i]),
                    fmt(s.h[i]),
                    fmt(s.low[i]),
                    fmt(s.c[i]),
                    fmt(s.v[i]),
                    fmt(turnover),
                ]
            )
        return self.ok({"category": "linear", "symbol": f"{coin}USDT", "list": rows})

    def open_interest(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("symbol"))
        step = _period_ms(q.get("intervalTime", "1h"))
        limit = min(_int(q, "limit", 50) or 50, 200)
        start, end = _int(q, "startTime"), _int(q, "endTime")
        pts = self.oi_points(coin, step, start, end, limit, newest=start is None)
        rows = [{"openInterest": fmt(b), "timestamp": str(t)} for t, b, _ in reversed(pts)]
        return self.ok(
            {"symbol": f"{coin}USDT", "category": "linear", "list": rows, "nextPageCursor": ""}
        )

    def tickers(self, q: dict[str, str]) -> Payload:
        coins = [self.coin_of(q["symbol"])] if q.get("symbol") else self.coins()
        rows = []
        for coin in coins:
            price = Market.price_at(coin, self.now)
            cur = Market.current_funding(coin, self.now)
            oi = self.oi_now(coin)
            if price is None or cur is None:
                continue
            rows.append(
                {
                    "symbol": f"{coin}USDT",
                    "lastPrice": fmt(price),
                    "indexPrice": fmt(price),
                    "markPrice": fmt(price),
                    "prevPrice24h": fmt(price),
                    "price24hPcnt": "0",
                    "highPrice24h": fmt(price),
                    "lowPrice24h": fmt(price),
                    "prevPrice1h": fmt(price),
                    "openInterest": fmt(oi[1]) if oi else "0",
                    "openInterestValue": fmt(oi[2]) if oi else "0",
                    "turnover24h": "0",
                    "volume24h": "0",
                    "fundingRate": fmt(cur[0]),
                    "nextFundingTime": str(cur[1]),
                    "predictedDeliveryPrice": "",
                    "basisRate": "",
                    "deliveryFeeRate": "",
                    "deliveryTime": "0",
                    "ask1Size": "1",
                    "bid1Price": fmt(price - 0.1),
                    "ask1Price": fmt(price),
                    "bid1Size": "1",
                    "basis": "",
                }
            )
        return self.ok({"category": "linear", "list": rows})

    def funding_history(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("symbol"))
        limit = min(_int(q, "limit", 200) or 200, 200)
        start = _int(q, "startTime")
        t, rate = Market.settlements(coin, self.now, start, _int(q, "endTime"))
        sel = slice(None, limit) if start is not None else slice(-limit, None)
        rows = [
            {"symbol": f"{coin}USDT", "fundingRate": fmt(r), "fundingRateTimestamp": str(ti)}
            for ti, r in zip(t[sel], rate[sel], strict=True)
        ]
        return self.ok({"category": "linear", "list": rows[::-1]})

    def orderbook(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("symbol"))
        book = Market.book(coin, self.now, min(_int(q, "limit", 25) or 25, 500))
        bids, asks = book if book is not None else (np.empty((0, 2)), np.empty((0, 2)))
        return self.ok(
            {
                "s": f"{coin}USDT",
                "b": [[fmt(p), fmt(s)] for p, s in bids],
                "a": [[fmt(p), fmt(s)] for p, s in asks],
                "ts": self.now,
                "u": 1,
                "seq": 1,
                "cts": self.now,
            }
        )

    def risk_limit(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("symbol"))
        rows = [
            {
                "id": i + 1,
                "symbol": f"{coin}USDT",
                "riskLimitValue": fmt(cap),
                "maintenanceMargin": fmt(mmr),
                "initialMargin": fmt(1 / lev),
                "isLowestRisk": 1 if i == 0 else 0,
                "maxLeverage": fmt(lev),
                "mmDeduction": fmt(cum),
            }
            for i, (_, cap, mmr, lev, cum) in enumerate(brackets(coin))
        ]
        return self.ok({"category": "linear", "list": rows})


# OKX ------------------------------------------------------------------------------------------


class OkxFake(FakeVenue):
    """OKX V5 (``/api/v5``), SWAP instruments; sizes in contracts."""

    venue = "okx"

    def routes(self) -> dict[str, Handler]:
        return {
            "/api/v5/public/instruments": self.instruments,
            "/api/v5/market/candles": self.candles,
            "/api/v5/market/history-candles": self.candles,
            "/api/v5/rubik/stat/contracts/open-interest-history": self.oi_history,
            "/api/v5/public/open-interest": self.open_interest,
            "/api/v5/public/funding-rate": self.funding_rate,
            "/api/v5/public/funding-rate-history": self.funding_history,
            "/api/v5/market/books": self.books,
            "/api/v5/market/books-full": self.books,
            "/api/v5/market/ticker": self.ticker,
            "/api/v5/public/position-tiers": self.position_tiers,
        }

    def market_id(self, coin: str) -> str:
        return f"{coin}-USDT-SWAP"

    def ok(self, data: Any) -> Payload:
        return {"code": "0", "msg": "", "data": data}

    def unknown_symbol(self, market_id: str | None) -> VenueHttpError:
        return VenueHttpError(
            200, {"code": "51001", "msg": "Instrument ID doesn't exist.", "data": []}
        )

    def error_payload(self, status: int) -> Payload:
        if status == 429:
            return {"code": "50011", "msg": "Too Many Requests", "data": []}
        return {"code": "50001", "msg": "Service temporarily unavailable.", "data": []}

    def instruments(self, q: dict[str, str]) -> Payload:
        if q.get("instType") != "SWAP":
            return self.ok([])
        return self.ok(
            [
                {
                    "alias": "",
                    "baseCcy": "",
                    "category": "1",
                    "ctMult": "1",
                    "ctType": "linear",
                    "ctVal": fmt(OKX_CT_VAL[c]),
                    "ctValCcy": c,
                    "expTime": "",
                    "instFamily": f"{c}-USDT",
                    "instId": f"{c}-USDT-SWAP",
                    "instType": "SWAP",
                    "lever": "100",
                    "listTime": "1573557408000",
                    "lotSz": "0.01",
                    "maxLmtAmt": "20000000",
                    "maxLmtSz": "100000000",
                    "maxMktAmt": "",
                    "maxMktSz": "12000",
                    "maxStopSz": "12000",
                    "minSz": "0.01",
                    "optType": "",
                    "quoteCcy": "",
                    "settleCcy": "USDT",
                    "state": "live",
                    "stk": "",
                    "tickSz": TICK[c],
                    "uly": f"{c}-USDT",
                    "ruleType": "normal",
                }
                for c in self.coins()
            ]
        )

    def candles(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("instId"))
        bar = q.get("bar", "1m")
        tf = {"5m": "5m", "15m": "15m", "1H": "1h"}.get(bar, bar)
        limit = min(_int(q, "limit", 100) or 100, 300)
        before, after = _int(q, "before"), _int(q, "after")  # exclusive: newer than / older than
        start = before + 1 if before is not None else None
        end = after - 1 if after is not None else None
        # With both bounds OKX returns the newest rows of the window; ccxt sizes the window.
        idx = Market.closed_candles(coin, tf, self.now, start, end, limit, newest=True)
        s = candles(coin, tf)
        ct = OKX_CT_VAL[coin]
        rows = []
        for i in reversed(idx):
            assert s is not None
            rows.append(
                [
                    str(int(s.t[i])),
                    fmt(s.o[i]),
                    fmt(s.h[i]),
                    fmt(s.low[i]),
                    fmt(s.c[i]),
                    fmt(s.v[i] / ct),
                    fmt(s.v[i]),
                    fmt(s.v[i] * s.c[i]),
                    "1",
                ]
            )
        return self.ok(rows)

    def _oi_row(self, coin: str, base: float, usd: float) -> tuple[str, str, str]:
        contracts = round(base / OKX_CT_VAL[coin], 2)
        return fmt(contracts), fmt(contracts * OKX_CT_VAL[coin]), fmt(usd)

    def oi_history(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("instId"))
        step = _period_ms(q.get("period", "5m"))
        limit = min(_int(q, "limit", 100) or 100, 100)
        begin, end = _int(q, "begin"), _int(q, "end")
        pts = self.oi_points(
            coin,
            step,
            begin + 1 if begin is not None else None,
            end,
            limit,
            newest=begin is None,
        )
        return self.ok([[str(t), *self._oi_row(coin, b, u)] for t, b, u in reversed(pts)])

    def open_interest(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("instId"))
        now = self.oi_now(coin)
        if now is None:
            return self.ok([])
        oi, oi_ccy, oi_usd = self._oi_row(coin, now[1], now[2])
        return self.ok(
            [
                {
                    "instType": "SWAP",
                    "instId": f"{coin}-USDT-SWAP",
                    "oi": oi,
                    "oiCcy": oi_ccy,
                    "oiUsd": oi_usd,
                    "ts": str(now[0]),
                }
            ]
        )

    def funding_rate(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("instId"))
        cur = Market.current_funding(coin, self.now)
        if cur is None:
            return self.ok([])
        rate, nxt, hours = cur
        return self.ok(
            [
                {
                    "instType": "SWAP",
                    "instId": f"{coin}-USDT-SWAP",
                    "fundingRate": fmt(rate),
                    "nextFundingRate": "",
                    "fundingTime": str(nxt),
                    "nextFundingTime": str(nxt + int(hours * HOUR)),
                    "method": "current_period",
                    "formulaType": "withRate",
                    "maxFundingRate": "0.0075",
                    "minFundingRate": "-0.0075",
                    "interestRate": "0.0001",
                    "impactValue": "20000",
                    "premium": "0",
                    "settState": "settled",
                    "settFundingRate": fmt(rate),
                    "ts": str(self.now),
                }
            ]
        )

    def funding_history(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("instId"))
        limit = min(_int(q, "limit", 100) or 100, 400)
        before, after = _int(q, "before"), _int(q, "after")
        t, rate = Market.settlements(
            coin,
            self.now,
            before + 1 if before is not None else None,
            after - 1 if after is not None else None,
        )
        # Only `before` (ccxt's since): the records right after it, so paging forward works.
        sel = slice(None, limit) if before is not None and after is None else slice(-limit, None)
        rows = [
            {
                "instType": "SWAP",
                "instId": f"{coin}-USDT-SWAP",
                "formulaType": "withRate",
                "fundingRate": fmt(r),
                "realizedRate": fmt(r),
                "fundingTime": str(ti),
                "method": "current_period",
            }
            for ti, r in zip(t[sel], rate[sel], strict=True)
        ]
        return self.ok(rows[::-1])

    def books(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("instId"))
        book = Market.book(coin, self.now, min(_int(q, "sz", 1) or 1, 5000))
        bids, asks = book if book is not None else (np.empty((0, 2)), np.empty((0, 2)))
        ct = OKX_CT_VAL[coin]
        return self.ok(
            [
                {
                    "asks": [[fmt(p), fmt(s / ct), "0", "1"] for p, s in asks],
                    "bids": [[fmt(p), fmt(s / ct), "0", "1"] for p, s in bids],
                    "ts": str(self.now),
                    "seqId": 1,
                }
            ]
        )

    def ticker(self, q: dict[str, str]) -> Payload:
        coin = self.coin_of(q.get("instId"))
        price = Market.price_at(coin, self.now)
        if price is None:
            return self.ok([])
        return self.ok(
            [
                {
                    "instType": "SWAP",
                    "instId": f"{coin}-USDT-SWAP",
                    "last": fmt(price),
                    "lastSz": "1",
                    "askPx": fmt(price),
                    "askSz": "1",
                    "bidPx": fmt(price - 0.1),
                    "bidSz": "1",
                    "open24h": fmt(price),
                    "high24h": fmt(price),
                    "low24h": fmt(price),
                    "volCcy24h": "0",
                    "vol24h": "0",
                    "ts": str(self.now),
                    "sodUtc0": fmt(price),
                    "sodUtc8": fmt(price),
                }
            ]
        )

    def position_tiers(self, q: dict[str, str]) -> Payload:
        family = q.get("instFamily", "")
        coin = self.coin_of(family + "-SWAP")
        per_contract = OKX_TIER_REF_PRICE[coin] * OKX_CT_VAL[coin]
        return self.ok(
            [
                {
                    "baseMaxLoan": "",
                    "imr": fmt(1 / lev),
                    "instFamily": family,
                    "instId": "",
                    "maxLever": fmt(lev),
                    "maxSz": fmt(cap / per_contract),
                    "minSz": fmt(floor / per_contract),
                    "mmr": fmt(mmr),
                    "optMgnFactor": "0",
                    "quoteMaxLoan": "",
                    "tier": str(i + 1),
                    "uly": family,
                }
                for i, (floor, cap, mmr, lev, _) in enumerate(brackets(coin))
            ]
        )


# Bitget ---------------------------------------------------------------------------------------


class BitgetFake(FakeVenue):
    """Bitget V2 mix (``/api/v2/mix/market``), USDT-FUTURES only."""

    venue = "bitget"

    def routes(self) -> dict[str, Handler]:
        return {
            "/api/v2/mix/market/contracts": self.contracts,
            "/api/v2/spot/public/coins": self.coins_list,
            "/api/v2/mix/market/candles": self.candles,
            "/api/v2/mix/market/history-candles": self.candles,
            "/api/v2/mix/market/open-interest": self.open_interest,
            "/api/v2/mix/market/current-fund-rate": self.current_fund_rate,
            "/api/v2/mix/market/history-fund-rate": self.history_fund_rate,
            "/api/v2/mix/market/merge-depth": self.merge_depth,
            "/api/v2/mix/market/ticker": self.ticker,
            "/api/v2/mix/market/query-position-lever": self.position_lever,
        }

    def ok(self, data: Any) -> Payload:
        return {"code": "00000", "msg": "success", "requestTime": self.now, "data": data}

    def unknown_symbol(self, market_id: str | None) -> VenueHttpError:
        return VenueHttpError(
            400,
            {
                "code": "40034",
                "msg": f"Parameter {market_id} does not exist",
                "requestTime": self.now,
                "data": None,
            },
        )

    def error_payload(self, status: int) -> Payload:
        if status == 429:
            return {
                "code": "429",
                "msg": "Too Many Requests",
                "requestTime": self.now,
                "data": None,
            }
        return {
            "code": "40725",
            "msg": "service return an error",
            "requestTime": self.now,
            "data": None,
        }

    def _usdt_only(self, q: dict[str, str]) -> None:
        if q.get("productType", "").upper() != "USDT-FUTURES":
            raise self.unknown_symbol(q.get("symbol"))

    def contracts(self, q: dict[str, str]) -> Payload:
        if q.get("productType", "").upper() != "USDT-FUTURES":
            return self.ok([])
        return self.ok(
            [
                {
                    "symbol": f"{c}USDT",
                    "baseCoin": c,
                    "quoteCoin": "USDT",
                    "buyLimitPriceRatio": "0.9",
                    "sellLimitPriceRatio": "0.9",
                    "feeRateUpRatio": "0.1",
                    "makerFeeRate": "0.0002",
                    "takerFeeRate": "0.0006",
                    "openCostUpRatio": "0.1",
                    "supportMarginCoins": ["USDT"],
                    "minTradeNum": "0.001",
                    "priceEndStep": "1",
                    "volumePlace": "3",
                    "pricePlace": str(PRICE_DECIMALS[c]),
                    "sizeMultiplier": "0.001",
                    "symbolType": "perpetual",
                    "minTradeUSDT": "5",
                    "maxSymbolOrderNum": "200",
                    "maxProductOrderNum": "400",
                    "maxPositionNum": "150",
                    "symbolStatus": "normal",
                    "offTime": "-1",
                    "limitOpenTime": "-1",
                    "deliveryTime": "",
                    "deliveryStartTime": "",
                    "launchTime": "",
                    "fundInterval": "8",
                    "minLever": "1",
                    "maxLever": "125",
                    "posLimit": "0.1",
                    "maintainTime": "",
                }
                for c in self.coins()
            ]
        )

    def coins_list(self, q: dict[str, str]) -> Payload:
        return self.ok(
            [
                {"coinId": str(i + 1), "coin": c, "transfer": "true", "chains": []}
                for i, c in enumerate((*self.listed, "USDT"))
            ]
        )

    def candles(self, q: dict[str, str]) -> Payload:
        self._usdt_only(q)
        coin = self.coin_of(q.get("symbol"))
        tf = {"5m": "5m", "15m": "15m", "1H": "1h"}.get(q.get("granularity", ""), "?")
        limit = min(_int(q, "limit", 100) or 100, 1000)
        start, end = _int(q, "startTime"), _int(q, "endTime")
        idx = Market.closed_candles(coin, tf, self.now, start, end, limit, newest=start is None)
        s = candles(coin, tf)
        rows = []
        for i in idx:  # Bitget answers oldest first
            assert s is not None
            rows.append(
                [
                    str(int(s.t[i])),
                    fmt(s.o[i]),
                    fmt(s.h[i]),
                    fmt(s.low[i]),
                    fmt(s.c[i]),
                    fmt(s.v[i]),
                    fmt(s.v[i] * s.c[i]),
                ]
            )
        return self.ok(rows)

    def open_interest(self, q: dict[str, str]) -> Payload:
        self._usdt_only(q)
        coin = self.coin_of(q.get("symbol"))
        now = self.oi_now(coin)
        rows = [{"symbol": f"{coin}USDT", "size": fmt(now[1])}] if now else []
        return self.ok({"openInterestList": rows, "ts": str(self.now)})

    def current_fund_rate(self, q: dict[str, str]) -> Payload:
        self._usdt_only(q)
        coin = self.coin_of(q.get("symbol"))
        cur = Market.current_funding(coin, self.now)
        if cur is None:
            return self.ok([])
        rate, nxt, hours = cur
        return self.ok(
            [
                {
                    "symbol": f"{coin}USDT",
                    "fundingRate": fmt(rate),
                    "fundingRateInterval": str(int(hours)),
                    "nextUpdate": str(nxt),
                    "minFundingRate": "-0.003",
                    "maxFundingRate": "0.003",
                }
            ]
        )

    def history_fund_rate(self, q: dict[str, str]) -> Payload:
        self._usdt_only(q)
        coin = self.coin_of(q.get("symbol"))
        size = min(_int(q, "pageSize", 20) or 20, 100)
        page = _int(q, "pageNo", 1) or 1
        t, rate = Market.settlements(coin, self.now)
        t, rate = t[::-1], rate[::-1]  # newest first, paged
        sel = slice((page - 1) * size, page * size)
        return self.ok(
            [
                {"symbol": f"{coin}USDT", "fundingRate": fmt(r), "fundingTime": str(ti)}
                for ti, r in zip(t[sel], rate[sel], strict=True)
            ]
        )

    def merge_depth(self, q: dict[str, str]) -> Payload:
        self._usdt_only(q)
        coin = self.coin_of(q.get("symbol"))
        limit = q.get("limit", "100")
        book = Market.book(coin, self.now, 1000 if limit == "max" else int(limit))
        bids, asks = book if book is not None else (np.empty((0, 2)), np.empty((0, 2)))
        return self.ok(
            {
                "asks": [[float(p), float(s)] for p, s in asks],
                "bids": [[float(p), float(s)] for p, s in bids],
                "precision": "scale0",
                "scale": TICK[coin],
                "isMaxPrecision": "NO",
                "isMinPrecision": "YES",
                "ts": str(self.now),
            }
        )

    def ticker(self, q: dict[str, str]) -> Payload:
        self._usdt_only(q)
        coin = self.coin_of(q.get("symbol"))
        price = Market.price_at(coin, self.now)
        cur = Market.current_funding(coin, self.now)
        oi = self.oi_now(coin)
        if price is None:
            return self.ok([])
        return self.ok(
            [
                {
                    "symbol": f"{coin}USDT",
                    "lastPr": fmt(price),
                    "askPr": fmt(price),
                    "bidPr": fmt(price - 0.1),
                    "bidSz": "1",
                    "askSz": "1",
                    "high24h": fmt(price),
                    "low24h": fmt(price),
                    "ts": str(self.now),
                    "change24h": "0",
                    "baseVolume": "0",
                    "quoteVolume": "0",
                    "usdtVolume": "0",
                    "openUtc": fmt(price),
                    "changeUtc24h": "0",
                    "indexPrice": fmt(price),
                    "fundingRate": fmt(cur[0]) if cur else "0",
                    "holdingAmount": fmt(oi[1]) if oi else "0",
                    "deliveryStartTime": None,
                    "deliveryTime": None,
                    "deliveryStatus": "",
                    "open24h": fmt(price),
                    "markPrice": fmt(price),
                }
            ]
        )

    def position_lever(self, q: dict[str, str]) -> Payload:
        self._usdt_only(q)
        coin = self.coin_of(q.get("symbol"))
        return self.ok(
            [
                {
                    "symbol": f"{coin}USDT",
                    "level": str(i + 1),
                    "startUnit": fmt(floor),
                    "endUnit": fmt(cap),
                    "leverage": fmt(lev),
                    "keepMarginRate": fmt(mmr),
                }
                for i, (floor, cap, mmr, lev, _) in enumerate(brackets(coin))
            ]
        )


# --- starting them ------------------------------------------------------------------------------

FAKE_CLASSES: dict[str, type[FakeVenue]] = {
    "binanceusdm": BinanceFake,
    "bybit": BybitFake,
    "okx": OkxFake,
    "bitget": BitgetFake,
}


@dataclass
class FakeVenues:
    """The four running fakes sharing one replay clock."""

    clock: ReplayClock
    venues: dict[str, FakeVenue] = field(default_factory=dict)
    control_url: str = ""  # set by start_control()
    _control: web.AppRunner | None = field(default=None, repr=False)

    @property
    def urls(self) -> dict[str, str]:
        """``{venue: base_url}``, the shape of ``LIQBOT_EXCHANGE_URLS``."""
        return {name: v.base_url for name, v in self.venues.items()}

    @property
    def now_ms(self) -> int:
        return self.clock.now_ms

    @now_ms.setter
    def now_ms(self, value: int) -> None:
        self.clock.now_ms = value

    def __getitem__(self, venue: str) -> FakeVenue:
        return self.venues[venue]

    def clear(self) -> None:
        """Drop faults, hidden symbols, OI cuts and logs on every venue."""
        OI_CUT.clear()
        for v in self.venues.values():
            v.clear_faults()
            v.hidden.clear()
            v.request_log.clear()

    def state(self) -> dict[str, Any]:
        """Clock, URLs, this process's CPU seconds (``cpu_s``: the fakes' own when they run in a
        process of their own) and, per venue, the requests received so far: ``total``,
        ``failed`` (answered other than 200), ``by_path`` counts and the fake's own
        ``server_errors``."""
        requests = {}
        for name, v in self.venues.items():
            by_path: dict[str, int] = {}
            for r in v.request_log:
                by_path[r.path] = by_path.get(r.path, 0) + 1
            requests[name] = {
                "total": len(v.request_log),
                "failed": sum(r.status != 200 for r in v.request_log),
                "by_path": by_path,
                "server_errors": list(v.server_errors),
            }
        return {
            "now_ms": self.now_ms,
            "urls": self.urls,
            "cpu_s": time.process_time(),
            "requests": requests,
        }

    async def start_control(self) -> str:
        """Serve a JSON control API on an ephemeral loopback port, for a client in another
        process: ``GET /state`` (:meth:`state`), ``POST /clock`` with ``{"now_ms": int}`` (moves
        the replay clock, answers the state), ``POST /clear`` (:meth:`clear`)."""

        async def get_state(_: web.Request) -> web.Response:
            return web.json_response(self.state())

        async def set_clock(request: web.Request) -> web.Response:
            body = await request.json()
            self.now_ms = int(body["now_ms"])
            return web.json_response(self.state())

        async def clear(_: web.Request) -> web.Response:
            self.clear()
            return web.json_response(self.state())

        app = web.Application()
        app.router.add_get("/state", get_state)
        app.router.add_post("/clock", set_clock)
        app.router.add_post("/clear", clear)
        self._control = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._control.setup()
        await web.TCPSite(self._control, "127.0.0.1", 0).start()
        self.control_url = f"http://127.0.0.1:{self._control.addresses[0][1]}"
        return self.control_url

    async def close(self) -> None:
        if self._control is not None:
            await self._control.cleanup()
            self._control = None
        await asyncio.gather(*(v.close() for v in self.venues.values()))


def _listed_coins(extra_symbols: int) -> tuple[str, ...]:
    if not 0 <= extra_symbols <= len(EXTRA_COINS):
        raise ValueError(f"extra_symbols must be in 0..{len(EXTRA_COINS)}, got {extra_symbols}")
    return COINS + tuple(EXTRA_COINS)[:extra_symbols]


async def start_fake_venues(
    now_ms: int = DEFAULT_NOW_MS, *, extra_symbols: int = 0, eth_open_interest: bool = False
) -> FakeVenues:
    """Start all four fakes on ephemeral loopback ports in the running loop.

    ``extra_symbols``: also list the first N synthetic coins of :data:`EXTRA_COINS` (load tests
    only). ``eth_open_interest``: serve a synthetic ETH OI (BTC's times :data:`ETH_OI_SCALE`)
    instead of none."""
    coins = _listed_coins(extra_symbols)
    fakes = FakeVenues(ReplayClock(now_ms))
    try:
        for name, cls in FAKE_CLASSES.items():
            venue = cls(fakes.clock, coins, eth_open_interest)
            fakes.venues[name] = venue
            await venue.start()
    except BaseException:
        await fakes.close()
        raise
    return fakes


@asynccontextmanager
async def fake_venues(
    now_ms: int = DEFAULT_NOW_MS, *, extra_symbols: int = 0, eth_open_interest: bool = False
) -> AsyncIterator[FakeVenues]:
    """``async with fake_venues() as fakes:`` — started in this loop, closed on exit."""
    fakes = await start_fake_venues(
        now_ms, extra_symbols=extra_symbols, eth_open_interest=eth_open_interest
    )
    try:
        yield fakes
    finally:
        OI_CUT.clear()
        await fakes.close()


@contextmanager
def fake_venues_in_thread(
    now_ms: int = DEFAULT_NOW_MS, *, extra_symbols: int = 0, eth_open_interest: bool = False
) -> Iterator[FakeVenues]:
    """Run the fakes on their own event loop in a daemon thread (for sync code, or clients in
    another loop). Faults and the clock can be changed from the caller's thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-venues", daemon=True)
    thread.start()
    try:
        start = start_fake_venues(
            now_ms, extra_symbols=extra_symbols, eth_open_interest=eth_open_interest
        )
        fakes = asyncio.run_coroutine_threadsafe(start, loop).result(30)
        try:
            yield fakes
        finally:
            asyncio.run_coroutine_threadsafe(fakes.close(), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


# --- in another process ---------------------------------------------------------------------------


class FakeVenuesProcess:
    """The fakes in a child process (``python -m tests.fakes.venues``), driven over the control
    API (:meth:`FakeVenues.start_control`): for benchmarks, so that the fakes' CPU is not the
    client's. ``with FakeVenuesProcess(extra_symbols=18) as fakes: fakes.urls; fakes.now_ms =
    ...; fakes.state()``. The child stops when its stdin closes (:meth:`close`, or this process
    dying) or on SIGTERM."""

    def __init__(
        self,
        now_ms: int = DEFAULT_NOW_MS,
        *,
        extra_symbols: int = 0,
        eth_open_interest: bool = False,
        startup_timeout_s: float = 60.0,
    ) -> None:
        _listed_coins(extra_symbols)  # fail here, not in the child
        args = [sys.executable, "-m", "tests.fakes.venues", "--now-ms", str(now_ms)]
        args += ["--extra-symbols", str(extra_symbols)]
        if eth_open_interest:
            args.append("--eth-open-interest")
        root = Path(__file__).resolve().parents[2]
        self.proc = subprocess.Popen(
            args, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert self.proc.stdout is not None
            ready, _, _ = select.select([self.proc.stdout], [], [], startup_timeout_s)
            line = self.proc.stdout.readline() if ready else ""
            if not line:
                raise RuntimeError(f"fake venues process did not start (exit {self.proc.poll()})")
            hello = json.loads(line)
        except BaseException:
            self.close()
            raise
        self.urls: dict[str, str] = hello["urls"]
        self.control_url: str = hello["control"]
        self.pid: int = self.proc.pid

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.control_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            result: dict[str, Any] = json.loads(resp.read())
        return result

    def state(self) -> dict[str, Any]:
        """:meth:`FakeVenues.state` of the child."""
        return self._call("GET", "/state")

    def clear(self) -> None:
        self._call("POST", "/clear", {})

    @property
    def now_ms(self) -> int:
        return int(self.state()["now_ms"])

    @now_ms.setter
    def now_ms(self, value: int) -> None:
        self._call("POST", "/clock", {"now_ms": int(value)})

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the child: close its stdin, then SIGTERM, then SIGKILL. Safe to call twice."""
        if self.proc.poll() is None and self.proc.stdin is not None:
            with suppress(OSError):
                self.proc.stdin.close()
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout_s)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> FakeVenuesProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _serve(now_ms: int, extra_symbols: int, eth_open_interest: bool) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    fakes = await start_fake_venues(
        now_ms, extra_symbols=extra_symbols, eth_open_interest=eth_open_interest
    )
    try:
        await fakes.start_control()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        def wait_for_eof() -> None:
            sys.stdin.read()
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=wait_for_eof, name="stdin-eof", daemon=True).start()
        hello = {"urls": fakes.urls, "control": fakes.control_url, "pid": os.getpid()}
        print(json.dumps(hello), flush=True)
        await stop.wait()
    finally:
        await fakes.close()


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.fakes.venues [--now-ms MS] [--extra-symbols N] [--eth-open-interest]``:
    serve the four fakes and the control API; print one JSON line ``{"urls": {...}, "control":
    url, "pid": n}``; run until stdin closes or SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.venues", description=main.__doc__)
    parser.add_argument("--now-ms", type=int, default=DEFAULT_NOW_MS)
    parser.add_argument("--extra-symbols", type=int, default=0)
    parser.add_argument("--eth-open-interest", action="store_true")
    args = parser.parse_args(argv)
    _listed_coins(args.extra_symbols)
    asyncio.run(_serve(args.now_ms, args.extra_symbols, args.eth_open_interest))


if __name__ == "__main__":
    main()


async def _no_wait(_: float) -> None:
    return None


def fast_feeds(
    fakes: FakeVenues, venues: Sequence[str], attempts: int = 2, timeout_ms: int | None = 3000
) -> dict[str, Any]:
    """Real ccxt feeds pointed at the fakes, without ccxt's rate limit or our retry waits: the
    tests' way to build a refresher."""
    from market.errors import RetryPolicy
    from market.feeds import VenueFeed

    config: dict[str, Any] = {"rateLimit": 1}
    if timeout_ms is not None:
        config["timeout"] = timeout_ms
    return {
        v: VenueFeed(
            v,
            base_url=fakes.urls[v],
            config=dict(config),
            retry=RetryPolicy(max_attempts=attempts),
            sleep=_no_wait,
        )
        for v in venues
    }
