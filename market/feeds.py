"""Async market-data feed per venue on ccxt.async_support, limited to linear USDT perpetuals.

One :class:`VenueFeed` per venue (``binanceusdm``, ``bybit``, ``okx``, ``bitget``). Every method
returns a frozen dataclass with read-only numpy arrays, in base units and USD (USDT) notional
(see ``market.units``), and raises only ``market.errors.MarketError`` subclasses: ccxt errors are
translated at this boundary, temporary ones retried, and answers are validated so a malformed or
empty answer raises instead of returning garbage.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import ccxt
import ccxt.async_support as ccxt_async
import numpy as np
import numpy.typing as npt

from liqmap import Candles, OrderBook
from market import units
from market.errors import (
    BadRequestError,
    EmptyResponseError,
    InvalidDataError,
    MalformedResponseError,
    MarketError,
    NotSupportedError,
    RetryPolicy,
    UnknownSymbolError,
    from_ccxt,
    retry_async,
)
from market.snapshot import Funding
from market.tls import shared_context
from market.urls import VENUES, override_urls

T = TypeVar("T")
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Venue-specific ccxt options: only linear USDT perpetuals get loaded.
_VENUE_OPTIONS: dict[str, dict[str, Any]] = {
    "binanceusdm": {"defaultType": "swap", "fetchMarkets": {"types": ["linear"]}},
    "bybit": {
        "defaultType": "swap",
        "defaultSubType": "linear",
        "fetchMarkets": {"types": ["linear"]},
    },
    "okx": {"defaultType": "swap", "fetchMarkets": {"types": ["swap"]}},
    # 'uta': False pins the classic v2 mix endpoints; ccxt would otherwise probe a private
    # endpoint whenever keys are configured.
    "bitget": {
        "defaultType": "swap",
        "defaultSubType": "linear",
        "fetchMarkets": {"types": ["swap"]},
        "uta": False,
    },
}

# The only Bitget product type we use; ccxt hard-codes six (see _limit_bitget_product_types).
_BITGET_PRODUCT_TYPE = "USDT-FUTURES"

# Funding-rate sanity bound per interval: venues cap rates at a few percent.
_MAX_ABS_FUNDING_RATE = 0.1


# --- results --------------------------------------------------------------------------------


def _frozen(values: Any, dtype: Any) -> Any:
    arr = np.array(values, dtype=dtype)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class OpenInterestHistory:
    """Open interest snapshots, oldest first: ``base`` in base units, ``usd`` notional.

    ``usd`` is the venue's value (Binance, OKX) or ``base`` times the close of the candle that
    ends at the snapshot time (Bybit, which reports base only).
    """

    venue: str
    symbol: str
    timeframe: str
    time_ms: IntArray
    base: FloatArray
    usd: FloatArray

    def __len__(self) -> int:
        return len(self.time_ms)


@dataclass(frozen=True)
class OpenInterest:
    """Current open interest: ``base`` units and ``usd`` notional.

    ``price`` is the ticker price (mark if given, else last) used for ``usd`` when the venue does
    not report a value itself; None when ``usd`` is the venue's own number (OKX ``oiUsd``).
    """

    venue: str
    symbol: str
    time_ms: int | None
    base: float
    usd: float
    price: float | None


@dataclass(frozen=True, eq=False)
class FundingHistory:
    """Settled funding rates (fraction per interval), oldest first."""

    venue: str
    symbol: str
    time_ms: IntArray
    rate: FloatArray

    def __len__(self) -> int:
        return len(self.time_ms)


@dataclass(frozen=True, eq=False)
class LeverageTiers:
    """Maintenance-margin tiers, lowest first. ``floor``/``cap`` are position bounds in ``unit``:
    USD notional (Bybit, Bitget) or base units (OKX, whose tiers count contracts)."""

    venue: str
    symbol: str
    unit: Literal["usd", "base"]
    floor: FloatArray
    cap: FloatArray
    maintenance_margin_rate: FloatArray
    max_leverage: FloatArray

    def __len__(self) -> int:
        return len(self.floor)


# --- helpers ----------------------------------------------------------------------------------


def _num(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _opt_int(value: Any) -> int | None:
    x = _num(value)
    return int(x) if math.isfinite(x) else None


def _strict_json_hook(exchange: Any) -> Callable[..., Any]:
    """An ``on_rest_response`` that rejects non-JSON 2xx bodies.

    Why: on a 2xx answer that is not JSON, ccxt's ``fetch`` returns the raw text and its parsers
    then read an empty structure (an empty order book, no markets) instead of failing.
    """
    original = exchange.on_rest_response

    def hook(code: int, reason: str, url: str, method: str, *rest: Any) -> Any:
        body = original(code, reason, url, method, *rest)
        if 200 <= int(code) < 300:
            if not body:
                raise ccxt.BadResponse(f"{exchange.id} {method} {url}: empty body")
            try:
                json.loads(body)
            except ValueError:
                raise ccxt.BadResponse(
                    f"{exchange.id} {method} {url}: malformed JSON: {body[:80]!r}"
                ) from None
        return body

    return hook


def _limit_bitget_product_types(exchange: Any) -> None:
    """Make ccxt's Bitget market loading ask only for USDT-FUTURES contracts.

    Why: ccxt's fetch_markets hard-codes six product types (coin-margined, USDC, demo...) and
    offers no option to skip them; we only trade USDT-margined perpetuals.
    """
    original = exchange.publicMixGetV2MixMarketContracts

    async def contracts(params: Mapping[str, Any] | None = None, *args: Any) -> Any:
        params = dict(params or {})
        if params.get("productType") != _BITGET_PRODUCT_TYPE:
            return {"code": "00000", "msg": "success", "data": []}
        return await original(params, *args)

    exchange.publicMixGetV2MixMarketContracts = contracts


def _interval_hours(interval: Any) -> float | None:
    """'8h' / '4h' / '30m' -> hours."""
    if not isinstance(interval, str) or not interval:
        return None
    try:
        seconds = ccxt.Exchange.parse_timeframe(interval)
    except Exception:
        return None
    return seconds / 3600.0 if seconds > 0 else None


# --- the feed -----------------------------------------------------------------------------------


class VenueFeed:
    """Unified, validated, retried market data for one venue.

    ``base_url`` rewrites every REST URL onto another host (tests, proxies); ``config`` is merged
    into the ccxt constructor config (e.g. ``{"rateLimit": 5, "timeout": 3000}``). ``retry``,
    ``sleep`` and ``rng`` control the retry helper; inject ``sleep`` in tests to skip waiting.
    """

    def __init__(
        self,
        venue: str,
        *,
        base_url: str | None = None,
        config: Mapping[str, Any] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if venue not in VENUES:
            raise ValueError(f"unknown venue {venue!r}; valid venues: {', '.join(VENUES)}")
        self.venue = venue
        extra = dict(config or {})
        options = {**_VENUE_OPTIONS[venue], **extra.pop("options", {})}
        self.exchange: Any = getattr(ccxt_async, venue)(
            {"enableRateLimit": True, **extra, "options": options}
        )
        # Our venues only need public data; skipping currencies saves Bitget a request.
        self.exchange.has["fetchCurrencies"] = False
        self.exchange.ssl_context = shared_context()  # not built on the event loop
        self.exchange.on_rest_response = _strict_json_hook(self.exchange)
        if venue == "bitget":
            _limit_bitget_product_types(self.exchange)
        if base_url is not None:
            override_urls(self.exchange, base_url)
        self._retry = retry or RetryPolicy()
        self._reload_markets = False
        self._sleep = sleep
        self._rng = rng

    async def __aenter__(self) -> VenueFeed:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the underlying HTTP session. Safe to call twice."""
        await self.exchange.close()

    # -- plumbing --

    async def _run(self, operation: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Run one attempt-function under the retry policy, translating ccxt errors."""

        async def attempt() -> T:
            try:
                return await fn()
            except MarketError:
                raise
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise from_ccxt(exc, venue=self.venue, operation=operation) from exc

        return await retry_async(attempt, self._retry, sleep=self._sleep, rng=self._rng)

    async def load_markets(self) -> None:
        """Load (once) the venue's markets; retried like every other call."""
        await self._run("load_markets", lambda: self._load_markets_once("load_markets"))

    async def _load_markets_once(self, operation: str) -> None:
        reload, self._reload_markets = self._reload_markets, False
        await self.exchange.load_markets(reload)
        if not self.exchange.markets:
            # An empty listing is a venue glitch, not proof every symbol is gone. ccxt caches
            # even an empty result, so force a fresh load on the next attempt.
            self._reload_markets = True
            raise EmptyResponseError(
                "venue listed no markets", venue=self.venue, operation=operation
            )

    async def _market(self, symbol: str, operation: str) -> dict[str, Any]:
        await self._load_markets_once(operation)
        market: dict[str, Any] = self.exchange.market(symbol)  # BadSymbol if unknown
        if not (market.get("swap") and market.get("linear") and market.get("settle") == "USDT"):
            raise UnknownSymbolError(
                f"{symbol} is not a linear USDT perpetual here",
                venue=self.venue,
                operation=operation,
            )
        return market

    def _check_timeframe(self, timeframe: str, operation: str) -> None:
        if timeframe not in (self.exchange.timeframes or {}):
            raise BadRequestError(
                f"timeframe {timeframe!r} not offered; have {sorted(self.exchange.timeframes)}",
                venue=self.venue,
                operation=operation,
            )

    def _invalid(self, operation: str, message: str) -> InvalidDataError:
        return InvalidDataError(message, venue=self.venue, operation=operation)

    def _empty(self, operation: str, symbol: str) -> EmptyResponseError:
        return EmptyResponseError(f"no rows for {symbol}", venue=self.venue, operation=operation)

    # -- candles --

    async def candles(
        self, symbol: str, timeframe: str = "1h", since_ms: int | None = None, limit: int = 500
    ) -> Candles:
        """OHLCV from ``since_ms`` (oldest first), up to ``limit`` rows, plus taker-buy volume
        on Binance (raw ``/fapi/v1/klines``; ccxt's fetch_ohlcv drops that column).

        Venues cap ``limit`` (Binance 1500, Bybit 1000, OKX 100-300, Bitget 200 for history).
        On a live venue the newest row may be the still-open candle; drop it if you need closed
        candles only.
        """
        op = "candles"
        self._check_timeframe(timeframe, op)
        return await self._run(op, lambda: self._candles_once(symbol, timeframe, since_ms, limit))

    async def _candles_once(
        self, symbol: str, timeframe: str, since_ms: int | None, limit: int
    ) -> Candles:
        op = "candles"
        market = await self._market(symbol, op)
        if self.venue == "binanceusdm":
            request: dict[str, Any] = {
                "symbol": market["id"],
                "interval": self.exchange.timeframes[timeframe],
                "limit": limit,
            }
            if since_ms is not None:
                request["startTime"] = since_ms
            raw = await self.exchange.fapiPublicGetKlines(request)
            rows = self._binance_klines(raw, op)
        else:
            ohlcv = await self.exchange.fetch_ohlcv(symbol, timeframe, since_ms, limit)
            if not isinstance(ohlcv, list):
                raise MalformedResponseError("OHLCV is not a list", venue=self.venue, operation=op)
            rows = [[*r[:6], math.nan] for r in ohlcv]
        if not rows:
            raise self._empty(op, symbol)
        return self._build_candles(symbol, timeframe, rows, op)

    def _binance_klines(self, raw: Any, op: str) -> list[list[float]]:
        if not isinstance(raw, list):
            raise MalformedResponseError("klines is not a list", venue=self.venue, operation=op)
        rows: list[list[float]] = []
        for r in raw:
            if not isinstance(r, list) or len(r) < 6:
                raise MalformedResponseError(f"bad kline row {r!r}", venue=self.venue, operation=op)
            # [openTime, o, h, l, c, volume, closeTime, quoteVolume, trades, takerBuyBase, ...]
            taker = _num(r[9]) if len(r) > 9 else math.nan
            rows.append([_num(r[0]), *(_num(x) for x in r[1:6]), taker])
        return rows

    def _build_candles(
        self, symbol: str, timeframe: str, rows: Sequence[Sequence[Any]], op: str
    ) -> Candles:
        a = np.array([[_num(x) for x in r[:7]] for r in rows], dtype=np.float64)
        a = a[np.argsort(a[:, 0], kind="stable")]
        t, o, h, lo, c, v, tb = a.T
        if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise self._invalid(op, "candle times missing, duplicated or unordered")
        prices = a[:, 1:5]
        if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
            raise self._invalid(op, "candle prices must be finite and positive")
        if np.any(h < np.maximum(o, c)) or np.any(lo > np.minimum(o, c)) or np.any(h < lo):
            raise self._invalid(op, "candle high/low do not bracket open/close")
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise self._invalid(op, "candle volume must be finite and >= 0")
        known = np.isfinite(tb)
        if np.any(tb[known] < 0) or np.any(tb[known] > v[known] * (1 + 1e-9) + 1e-12):
            raise self._invalid(op, "taker buy volume outside [0, volume]")
        return Candles(
            time=_frozen(t, np.int64),
            open=_frozen(o, np.float64),
            high=_frozen(h, np.float64),
            low=_frozen(lo, np.float64),
            close=_frozen(c, np.float64),
            volume=_frozen(v, np.float64),
            interval_ms=int(self.exchange.parse_timeframe(timeframe) * 1000),
            taker_buy=_frozen(tb, np.float64),  # NaN where the venue does not give it
        )

    # -- open interest --

    async def open_interest_history(
        self, symbol: str, timeframe: str = "1h", since_ms: int | None = None, limit: int = 100
    ) -> OpenInterestHistory:
        """Open-interest history via ccxt fetch_open_interest_history.

        Raises :class:`NotSupportedError` at once (no request) where the venue has none (Bitget):
        store snapshots of :meth:`open_interest` instead.
        """
        op = "open_interest_history"
        if not self.exchange.has.get("fetchOpenInterestHistory"):
            raise NotSupportedError(
                "venue has no open-interest history; poll open_interest() and store snapshots",
                venue=self.venue,
                operation=op,
            )
        return await self._run(
            op, lambda: self._oi_history_once(symbol, timeframe, since_ms, limit)
        )

    async def _oi_history_once(
        self, symbol: str, timeframe: str, since_ms: int | None, limit: int
    ) -> OpenInterestHistory:
        op = "open_interest_history"
        market = await self._market(symbol, op)
        raw = await self.exchange.fetch_open_interest_history(symbol, timeframe, since_ms, limit)
        if not isinstance(raw, list):
            raise MalformedResponseError("not a list", venue=self.venue, operation=op)
        if not raw:
            raise self._empty(op, symbol)
        size = float(market.get("contractSize") or 1.0)
        try:
            rows = [
                (
                    _num(r.get("timestamp")),
                    units.open_interest_base(self.venue, r, size),
                    units.open_interest_usd(r, math.nan, None),
                )
                for r in raw
            ]
        except ValueError as exc:
            raise self._invalid(op, str(exc)) from exc
        a = np.array(rows, dtype=np.float64)
        a = a[np.argsort(a[:, 0], kind="stable")]
        t, base, usd = a.T
        if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise self._invalid(op, "times missing, duplicated or unordered")
        if not np.all(np.isfinite(base)) or np.any(base < 0):
            raise self._invalid(op, "open interest must be finite and >= 0")
        if np.any(~np.isfinite(usd)):
            usd = await self._usd_from_candles(symbol, timeframe, t, base, op)
        if np.any(usd < 0):
            raise self._invalid(op, "open interest value must be >= 0")
        return OpenInterestHistory(
            venue=self.venue,
            symbol=symbol,
            timeframe=timeframe,
            time_ms=_frozen(t, np.int64),
            base=_frozen(base, np.float64),
            usd=_frozen(usd, np.float64),
        )

    async def _usd_from_candles(
        self, symbol: str, timeframe: str, t: FloatArray, base: FloatArray, op: str
    ) -> FloatArray:
        """USD = base * close of the candle ending at each snapshot (venue gives base only)."""
        step = int(self.exchange.parse_timeframe(timeframe) * 1000)
        candles = await self._candles_once(symbol, timeframe, int(t[0]) - step, len(t) + 1)
        close_time = candles.time + step
        idx = np.searchsorted(close_time, t, side="right") - 1
        if np.any(idx < 0):
            raise self._invalid(op, "no candle close at or before the first snapshot")
        usd: FloatArray = base * candles.close[idx]
        return usd

    async def open_interest(self, symbol: str) -> OpenInterest:
        """Current open interest in base units and USD (venue value, or base * ticker price)."""
        op = "open_interest"
        return await self._run(op, lambda: self._oi_once(symbol))

    async def _oi_once(self, symbol: str) -> OpenInterest:
        op = "open_interest"
        market = await self._market(symbol, op)
        raw = await self.exchange.fetch_open_interest(symbol)
        if not isinstance(raw, dict):
            raise MalformedResponseError("not an object", venue=self.venue, operation=op)
        try:
            base = units.open_interest_base(self.venue, raw, float(market.get("contractSize") or 1))
        except ValueError as exc:
            raise self._invalid(op, str(exc)) from exc
        if not math.isfinite(base):
            raise self._empty(op, symbol)
        if base < 0:
            raise self._invalid(op, f"negative open interest {base}")
        price: float | None = None
        usd = units.open_interest_usd(raw, base, None)
        if not math.isfinite(usd):
            price = await self._ticker_price(symbol, op)
            usd = units.open_interest_usd(raw, base, price)
        if not (math.isfinite(usd) and usd >= 0):
            raise self._invalid(op, f"bad open interest value {usd}")
        return OpenInterest(
            venue=self.venue,
            symbol=symbol,
            time_ms=_opt_int(raw.get("timestamp")),
            base=base,
            usd=usd,
            price=price,
        )

    async def _ticker_price(self, symbol: str, op: str) -> float:
        ticker = await self.exchange.fetch_ticker(symbol)
        price = _num(ticker.get("markPrice"))
        if not math.isfinite(price):
            price = _num(ticker.get("last"))
        if not (math.isfinite(price) and price > 0):
            raise self._invalid(op, f"ticker has no usable price: {price}")
        return price

    # -- funding --

    async def funding(self, symbol: str) -> Funding:
        """Current funding rate, next funding time and interval (fetch_funding_rate)."""
        op = "funding"
        return await self._run(op, lambda: self._funding_once(symbol))

    async def _funding_once(self, symbol: str) -> Funding:
        op = "funding"
        market = await self._market(symbol, op)
        raw = await self.exchange.fetch_funding_rate(symbol)
        rate = _num(raw.get("fundingRate"))
        next_ms = _opt_int(raw.get("fundingTimestamp"))
        if not math.isfinite(rate) and next_ms is None:
            raise self._empty(op, symbol)
        if not (math.isfinite(rate) and abs(rate) <= _MAX_ABS_FUNDING_RATE):
            raise self._invalid(op, f"implausible funding rate {rate}")
        if next_ms is None or next_ms <= 0:
            raise self._invalid(op, f"bad next funding time {raw.get('fundingTimestamp')!r}")
        hours = _interval_hours(raw.get("interval"))
        if hours is None and self.venue == "binanceusdm":
            hours = await self._binance_interval_hours(market["id"])
        if hours is None:
            raise self._invalid(op, "venue did not report a funding interval")
        mark = _num(raw.get("markPrice"))
        return Funding(
            rate=rate,
            interval_h=hours,
            next_time=next_ms,
            mark_price=mark if math.isfinite(mark) and mark > 0 else None,
        )

    async def _binance_interval_hours(self, market_id: str) -> float:
        # premiumIndex has no interval; /fapi/v1/fundingInfo lists only symbols whose interval
        # or caps were adjusted, everything else settles every 8 h.
        info = await self.exchange.fapiPublicGetFundingInfo()
        if not isinstance(info, list):
            raise MalformedResponseError(
                "fundingInfo is not a list", venue=self.venue, operation="funding"
            )
        for row in info:
            if isinstance(row, dict) and row.get("symbol") == market_id:
                hours = _num(row.get("fundingIntervalHours"))
                if math.isfinite(hours) and hours > 0:
                    return hours
        return 8.0

    async def funding_history(
        self, symbol: str, since_ms: int | None = None, limit: int = 100
    ) -> FundingHistory:
        """Settled funding rates via fetch_funding_rate_history, oldest first. Bitget pages from
        the newest settlement and ignores ``since_ms`` server-side (ccxt filters afterwards)."""
        op = "funding_history"
        return await self._run(op, lambda: self._funding_history_once(symbol, since_ms, limit))

    async def _funding_history_once(
        self, symbol: str, since_ms: int | None, limit: int
    ) -> FundingHistory:
        op = "funding_history"
        await self._market(symbol, op)
        raw = await self.exchange.fetch_funding_rate_history(symbol, since_ms, limit)
        if not isinstance(raw, list):
            raise MalformedResponseError("not a list", venue=self.venue, operation=op)
        if not raw:
            raise self._empty(op, symbol)
        a = np.array([(_num(r.get("timestamp")), _num(r.get("fundingRate"))) for r in raw])
        a = a[np.argsort(a[:, 0], kind="stable")]
        t, rate = a.T
        if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise self._invalid(op, "funding times missing, duplicated or unordered")
        if not np.all(np.isfinite(rate)) or np.any(np.abs(rate) > _MAX_ABS_FUNDING_RATE):
            raise self._invalid(op, "implausible funding rate in history")
        return FundingHistory(
            venue=self.venue,
            symbol=symbol,
            time_ms=_frozen(t, np.int64),
            rate=_frozen(rate, np.float64),
        )

    # -- order book --

    async def order_book(self, symbol: str, limit: int = 100) -> OrderBook:
        """Order book, sizes converted to base units (OKX answers in contracts)."""
        op = "order_book"
        return await self._run(op, lambda: self._book_once(symbol, limit))

    async def _book_once(self, symbol: str, limit: int) -> OrderBook:
        op = "order_book"
        market = await self._market(symbol, op)
        raw = await self.exchange.fetch_order_book(symbol, limit)
        size = float(market.get("contractSize") or 1.0)
        sides = []
        for key in ("bids", "asks"):
            levels = raw.get(key) if isinstance(raw, dict) else None
            if not isinstance(levels, list):
                raise MalformedResponseError(f"{key} missing", venue=self.venue, operation=op)
            if not levels:
                raise self._empty(op, symbol)
            arr = np.array([[_num(lv[0]), _num(lv[1])] for lv in levels], dtype=np.float64)
            arr[:, 1] = units.book_to_base(self.venue, arr[:, 1], size)
            if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
                raise self._invalid(op, f"{key} must have finite positive prices and sizes")
            sides.append(arr)
        bids, asks = sides
        if np.any(np.diff(bids[:, 0]) >= 0) or np.any(np.diff(asks[:, 0]) <= 0):
            raise self._invalid(op, "book sides not strictly ordered")
        if bids[0, 0] >= asks[0, 0]:
            raise self._invalid(op, f"crossed book: bid {bids[0, 0]} >= ask {asks[0, 0]}")
        return OrderBook(bids=_frozen(bids, np.float64), asks=_frozen(asks, np.float64))

    # -- leverage tiers --

    async def leverage_tiers(self, symbol: str) -> LeverageTiers | None:
        """Maintenance tiers via fetch_market_leverage_tiers; None on Binance, which serves them
        only to signed requests (use the bundled ``liqmap.brackets_data`` table)."""
        op = "leverage_tiers"
        if self.venue == "binanceusdm":
            return None
        return await self._run(op, lambda: self._tiers_once(symbol))

    async def _tiers_once(self, symbol: str) -> LeverageTiers:
        op = "leverage_tiers"
        market = await self._market(symbol, op)
        raw = await self.exchange.fetch_market_leverage_tiers(symbol)
        if not isinstance(raw, list):
            raise MalformedResponseError("not a list", venue=self.venue, operation=op)
        if not raw:
            raise self._empty(op, symbol)
        a = np.array(
            [
                (
                    _num(r.get("minNotional")),
                    _num(r.get("maxNotional")),
                    _num(r.get("maintenanceMarginRate")),
                    _num(r.get("maxLeverage")),
                )
                for r in raw
            ],
            dtype=np.float64,
        )
        floor, cap, mmr, lev = a.T
        unit: Literal["usd", "base"] = "usd"
        if units.venue_units(self.venue).tier_bounds == "contracts":
            size = float(market.get("contractSize") or 1.0)
            floor = units.contracts_to_base(floor, size)
            cap = units.contracts_to_base(cap, size)
            unit = "base"
        if not (np.all(np.isfinite(a)) and np.all(floor >= 0) and np.all(cap > floor)):
            raise self._invalid(op, "tier bounds must be finite with cap > floor >= 0")
        if np.any(np.diff(floor) < 0):
            raise self._invalid(op, "tiers not in ascending order")
        if np.any(mmr <= 0) or np.any(mmr >= 1) or np.any(lev < 1):
            raise self._invalid(op, "maintenance rate must be in (0, 1) and leverage >= 1")
        return LeverageTiers(
            venue=self.venue,
            symbol=symbol,
            unit=unit,
            floor=_frozen(floor, np.float64),
            cap=_frozen(cap, np.float64),
            maintenance_margin_rate=_frozen(mmr, np.float64),
            max_leverage=_frozen(lev, np.float64),
        )
