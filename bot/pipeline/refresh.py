"""One market refresh: every configured (venue, symbol) fetched and appended to the history.

Backfill on first use (the 30-day window), incremental after. Venues run concurrently, the
symbols of one venue in turn (ccxt's rate limiter is per exchange instance). A failure of one
(venue, symbol) is recorded in ``venue_health`` and skipped; nothing it returned is stored, and
nothing crashes the refresh. After ``STALE_AFTER`` failed refreshes in a row the venue is stale.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database

from bot.redaction import redact
from liqmap import Bracket, Candles, OrderBook, brackets_from_tiers
from liqmap.times import DAY_MS
from market.errors import (
    EmptyResponseError,
    MalformedResponseError,
    MarketError,
    NotSupportedError,
    PermanentMarketError,
)
from market.source import FUNDING_P95_DAYS
from storage import liquidations
from storage import market_history as history

if TYPE_CHECKING:  # a type only: the feeds (ccxt) are built by bot.pipeline.live
    from market.feeds import VenueFeed

log = logging.getLogger(__name__)

TIMEFRAME = "5m"
STEP_MS = 300_000
STALE_AFTER = 3
BOOK_DEPTH = 500
# The book's depth profile changes slowly, and a 500-level Binance book weighs 10 requests.
BOOK_EVERY_MS = 15 * 60_000
# Rows per request each venue serves (candles, OI history); more pages when backfilling.
PAGE = {
    "binanceusdm": (1500, 500),
    "bybit": (1000, 200),
    "okx": (100, 100),
    "bitget": (200, 0),  # 200 per page on the history-candles endpoint
}


def taker_buy(c: Candles) -> npt.NDArray[np.float64]:
    """The taker-buy column, NaN throughout when the venue gives none."""
    return c.taker_buy if c.taker_buy is not None else np.full(len(c), np.nan)


@dataclass
class RefreshOutcome:
    venue: str
    symbol: str
    ok: bool
    candles: int = 0
    oi_points: int = 0
    requests: int = 0
    error: str | None = None


@dataclass
class RefreshReport:
    started: int
    seconds: float
    outcomes: list[RefreshOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[RefreshOutcome]:
        return [o for o in self.outcomes if not o.ok]


def _without_credentials(text: str) -> str:
    """Error texts quote request URLs and are stored and shown in /status: the one redaction
    (a proxy's user:password@, any registered secret)."""
    return redact(text)


def _brief(e: MarketError) -> str:
    """The error's first line without its request URL and HTML body, short enough for a
    caption and /status (the full text is in the log)."""
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    text = re.sub(r"\b(GET|POST) \S+ ", "", re.sub(r"\s*<.*", "", text))
    return text if len(text) <= 100 else text[:99] + "…"


class Refresher:
    """Fetches into the history store; keeps the latest order book per symbol in memory."""

    def __init__(
        self,
        db: Database,
        feeds: dict[str, VenueFeed],
        symbols: list[str],
        backfill_days: float = 31,
        retention_days: float = 45,
    ) -> None:
        self.db = db
        self.feeds = feeds
        self.symbols = symbols
        self.backfill_ms = int(backfill_days * DAY_MS)
        self.retention_ms = int(retention_days * DAY_MS)
        self.version = 0  # bumped after every refresh: maps drawn before it are out of date
        self.books: dict[str, OrderBook] = {}
        self._book_at: dict[str, int] = {}
        # Each venue's own maintenance brackets per symbol (Bybit, OKX, Bitget publish them;
        # Binance needs keys, so its bundled table is used). Refetched daily.
        self.brackets: dict[tuple[str, str], tuple[Bracket, ...]] = {}
        self._brackets_at: dict[tuple[str, str], int] = {}
        self._reported: dict[tuple[str, str], str] = {}  # permanent errors, reported once
        # Why an optional endpoint gave nothing last time: symbol -> "venue: error" for the
        # book, (venue, symbol) -> error for the leverage tiers. Maps and /status name them.
        self.book_errors: dict[str, str] = {}
        self.tier_errors: dict[tuple[str, str], str] = {}

    async def refresh(self, now_ms: int) -> RefreshReport:
        started = time.perf_counter()
        per_venue = await asyncio.gather(*(self._venue(v, now_ms) for v in self.feeds))
        history.prune(self.db, now_ms - self.retention_ms)
        liquidations.prune_liquidations(self.db, now_ms - self.retention_ms)
        outcomes = [o for group in per_venue for o in group]
        self.version += 1
        return RefreshReport(now_ms, time.perf_counter() - started, outcomes)

    async def _venue(self, venue: str, now: int) -> list[RefreshOutcome]:
        out = []
        for symbol in self.symbols:
            outcome = RefreshOutcome(venue, symbol, ok=False)
            try:
                await self._symbol(self.feeds[venue], symbol, now, outcome)
            except MarketError as e:
                outcome.error = _without_credentials(f"{type(e).__name__}: {e}")
                failures = history.record_failure(self.db, venue, symbol, now, outcome.error)
                self._report(venue, symbol, e, failures)
            except Exception as e:  # a bug must not stop the other venues and symbols
                outcome.error = _without_credentials(f"{type(e).__name__}: {e}")
                history.record_failure(self.db, venue, symbol, now, outcome.error)
                log.exception("refresh of %s %s failed unexpectedly", venue, symbol)
            else:
                outcome.ok = True
                history.record_success(self.db, venue, symbol, now)
                self._reported.pop((venue, symbol), None)
            out.append(outcome)
        return out

    def _report(self, venue: str, symbol: str, e: MarketError, failures: int) -> None:
        key = (venue, symbol)
        if isinstance(e, PermanentMarketError):
            if self._reported.get(key) != str(e):  # reported once, not every refresh
                log.error("%s %s: %s", venue, symbol, e)
                self._reported[key] = str(e)
            return
        level = logging.WARNING if failures < STALE_AFTER else logging.ERROR
        stale = " (now stale)" if failures == STALE_AFTER else ""
        log.log(level, "%s %s failed %d time(s) in a row%s: %s", venue, symbol, failures, stale, e)

    async def _symbol(self, feed: VenueFeed, symbol: str, now: int, out: RefreshOutcome) -> None:
        venue = feed.venue
        candle_page, oi_page = PAGE[venue]
        # Everything is fetched first and written in one transaction. Each endpoint stands
        # alone: what succeeded is stored even when another failed (candles are kept when the
        # OI or funding call fails, and the pages fetched before a failed page are kept).
        errors: list[MarketError] = []
        start = self._since(venue, symbol, "candles", TIMEFRAME, now)
        candles = []
        try:
            while start <= now - STEP_MS:
                # Ask only for what is missing: Binance weighs a 1500-row page 10x a 100-row one.
                wanted = min(candle_page, (now - start) // STEP_MS + 1)
                try:
                    c = await feed.candles(symbol, TIMEFRAME, start, max(wanted, 2))
                except EmptyResponseError:  # an empty last page: the pages before it stand
                    break
                out.requests += 1
                closed = (c.time + STEP_MS <= now) & (c.time >= start)
                if not closed.any():
                    break
                candles.append((c, closed))
                start = int(c.time[closed][-1]) + STEP_MS  # pages until caught up
        except MarketError as e:
            errors.append(e)
        oi_rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = []
        try:
            await self._open_interest(feed, symbol, now, oi_page, oi_rows, out)
        except MarketError as e:
            errors.append(e)
        funding = past = None
        try:
            funding = await feed.funding(symbol)
            out.requests += 1
            if history.last_time(self.db, "funding", venue, symbol, None) is None:
                past = await feed.funding_history(symbol, now - FUNDING_P95_DAYS * DAY_MS, 200)
                out.requests += 1
        except MarketError as e:
            errors.append(e)
        book = None
        book_due = now - self._book_at.get(symbol, -BOOK_EVERY_MS) >= BOOK_EVERY_MS
        if (venue == next(iter(self.feeds)) and book_due) or symbol not in self.books:
            try:  # optional: the map is drawn without a book when this fails
                book = await feed.order_book(symbol, BOOK_DEPTH)
                out.requests += 1
            except MarketError as e:
                log.warning("%s %s: no order book this refresh (%s)", venue, symbol, e)
                self.book_errors[symbol] = _without_credentials(f"{venue}: {_brief(e)}")

        await self._brackets(feed, symbol, now, candles, out)

        with self.db.atomic():
            for c, closed in candles:
                out.candles += history.upsert_candles(
                    self.db,
                    venue,
                    symbol,
                    TIMEFRAME,
                    c.time[closed],
                    c.open[closed],
                    c.high[closed],
                    c.low[closed],
                    c.close[closed],
                    c.volume[closed],
                    taker_buy(c)[closed],
                )
            for t, base, usd, tf in oi_rows:
                out.oi_points += history.upsert_open_interest(
                    self.db, venue, symbol, tf, t, base, usd
                )
            if funding is not None:
                if past is not None and len(past):
                    history.upsert_funding(
                        self.db, venue, symbol, past.time_ms, past.rate, funding.interval_h
                    )
                history.upsert_funding(
                    self.db, venue, symbol, [now], np.array([funding.rate]), funding.interval_h
                )
        if book is not None:
            self.books[symbol] = book
            self._book_at[symbol] = now
            self.book_errors.pop(symbol, None)
        if errors:  # what came is stored; this (venue, symbol) still counts as failed
            raise errors[0]

    async def _open_interest(
        self,
        feed: VenueFeed,
        symbol: str,
        now: int,
        oi_page: int,
        oi_rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]],
        out: RefreshOutcome,
    ) -> None:
        venue = feed.venue
        prev = self._last_oi(venue, symbol, now)
        if oi_page:
            start = self._since(venue, symbol, "open_interest", TIMEFRAME, now)
            while start <= now:
                wanted = min(oi_page, (now - start) // STEP_MS + 1)
                try:
                    h = await feed.open_interest_history(symbol, TIMEFRAME, start, max(wanted, 2))
                except NotSupportedError:
                    break
                except EmptyResponseError:  # the newest OI point is not published yet
                    break
                out.requests += 1
                keep = (h.time_ms >= start) & (h.time_ms <= now)
                if not keep.any():
                    break
                sane = keep & plausible_oi(h.base, prev)
                if sane.any():
                    oi_rows.append((h.time_ms[sane], h.base[sane], h.usd[sane], TIMEFRAME))
                    prev = float(h.base[sane][-1])
                start = int(h.time_ms[keep][-1]) + STEP_MS
        else:  # no OI history on this venue: keep our own snapshots of the current OI
            oi = await feed.open_interest(symbol)
            out.requests += 1
            if not plausible_oi(np.array([oi.base]), prev)[0]:
                raise MalformedResponseError(
                    f"open interest {oi.base:g} after {prev}: not plausible",
                    venue=venue,
                    operation="open_interest",
                )
            stamp = now - now % STEP_MS
            oi_rows.append(
                (np.array([stamp]), np.array([oi.base]), np.array([oi.usd]), history.SNAPSHOT)
            )

    def _last_oi(self, venue: str, symbol: str, now: int) -> float | None:
        _, base, _ = history.read_open_interest(self.db, venue, symbol, now - DAY_MS, now)
        return float(base[-1]) if len(base) else None

    async def _brackets(
        self,
        feed: VenueFeed,
        symbol: str,
        now: int,
        candles: list[tuple[Any, Any]],
        out: RefreshOutcome,
    ) -> None:
        """Fetch the venue's leverage tiers once a day; a failure keeps the last ones (or the
        bundled table) and never fails the refresh."""
        key = (feed.venue, symbol)
        if now - self._brackets_at.get(key, -DAY_MS) < DAY_MS:
            return
        self._brackets_at[key] = now
        try:
            tiers = await feed.leverage_tiers(symbol)
        except MarketError as e:
            log.info("%s %s: no leverage tiers (%s); keeping the fallback", feed.venue, symbol, e)
            self.tier_errors[key] = _without_credentials(_brief(e))
            return
        out.requests += 1
        self.tier_errors.pop(key, None)
        if tiers is None:  # Binance: signed endpoint
            return
        floor, cap = np.asarray(tiers.floor), np.asarray(tiers.cap)
        if tiers.unit == "base":  # OKX counts contracts: bounds in base units, priced now
            price = self._last_close(feed.venue, symbol, candles)
            if price is None:
                return
            floor, cap = floor * price, cap * price
        self.brackets[key] = brackets_from_tiers(
            floor, cap, tiers.maintenance_margin_rate, tiers.max_leverage
        )

    def _last_close(self, venue: str, symbol: str, candles: list[tuple[Any, Any]]) -> float | None:
        if candles:
            c, closed = candles[-1]
            return float(c.close[closed][-1])
        return history.last_close(self.db, venue, symbol)

    def _since(self, venue: str, symbol: str, table: str, tf: str, now: int) -> int:
        last = history.last_time(self.db, table, venue, symbol, tf)
        first = now - self.backfill_ms
        first -= first % STEP_MS
        return first if last is None or last < first else last + STEP_MS

    async def close(self) -> None:
        await asyncio.gather(*(f.close() for f in self.feeds.values()), return_exceptions=True)


OI_STEP_LIMIT = 2.0  # a 5-minute OI point more than 2x or under 1/2 of the last one is an error


def plausible_oi(base: npt.NDArray[np.float64], prev: float | None) -> npt.NDArray[np.bool_]:
    """Which OI points are data: positive, and each within a factor of :data:`OI_STEP_LIMIT`
    of the one before it (``prev``: the last stored). A venue answering ``openInterest: "0"``
    or a jump no market makes in 5 minutes is a malformed answer, never a flush alert."""
    ok = np.isfinite(base) & (base > 0)
    last = prev
    for i, x in enumerate(base):  # a page is at most a few hundred points
        if not ok[i]:
            continue
        if last is not None and last > 0 and not (1 / OI_STEP_LIMIT <= x / last <= OI_STEP_LIMIT):
            ok[i] = False
            continue
        last = float(x)
    return ok
