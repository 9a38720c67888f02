"""The live market source: maps drawn from the history the refresher stored.

Every map says which venues it covers: a venue with no recent data is left out by name, a venue
that failed several refreshes in a row is marked stale, and per-venue maps are summed only when
they are in the same units.
"""

from __future__ import annotations

import numpy as np
from sqlite_utils import Database

from bot.pipeline.refresh import STALE_AFTER, STEP_MS, TIMEFRAME, Refresher
from liqmap import Candles, unified_symbol
from liqmap.times import DAY_MS, HOUR_MS
from market.aggregate import attach_oi, oi_change, weighted_funding
from market.snapshot import Funding, MarketDataError, MarketSnapshot, VenueStatus, VenueWindow
from market.source import FUNDING_P95_DAYS, WINDOW_MS
from storage import PerThread, db_file
from storage import market_history as history


class LiveDataError(MarketDataError):
    """The stored live history cannot give this map (unknown symbol, no venue with recent data)."""


class LiveStore:
    """A :class:`market.source.MarketSource` over the stored history of the live venues.

    Here, not in ``market/``, because it reads ``storage`` (which ``market`` may not import) and
    the refresher's in-memory books, tiers and version: ``bot.pipeline`` is the lowest layer that
    may import both ``market`` and ``storage``."""

    name = "live"

    def __init__(
        self,
        db: Database,
        venues: list[str],
        symbols: list[str],
        refresher: Refresher | None,
        refresh_ms: int,
    ) -> None:
        # reads come from whichever thread draws the map: each gets its own connection
        self._db = PerThread(db, db_file(db))
        self.venues = tuple(venues)
        self._symbols = tuple(dict.fromkeys(unified_symbol(s) for s in symbols))
        self.refresher = refresher
        # Data older than this is left out of a map rather than drawn as if current.
        self.max_age_ms = max(3 * refresh_ms, 30 * 60_000)

    @property
    def db(self) -> Database:
        return self._db()

    @property
    def version(self) -> int:
        """Changes whenever the stored data does (cached maps key on it)."""
        return self.refresher.version if self.refresher else 0

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._symbols

    def resolve(self, symbol: str) -> str:
        unified = unified_symbol(symbol)
        if unified not in self._symbols:
            names = ", ".join(s.split("/")[0] for s in self._symbols)
            raise LiveDataError(f"unknown symbol {symbol!r}: the bot follows {names}")
        return unified

    def _venue_window(self, venue: str, symbol: str, since: int, at: int) -> VenueWindow | str:
        """The venue's candles with OI attached, or why it is left out."""
        stored = history.read_candles(self.db, venue, symbol, TIMEFRAME, since, at - STEP_MS)
        health = history.health(self.db, venue, symbol)
        if stored.time.size == 0:
            return (
                f"no data ({health.last_error})" if health and health.last_error else "no data yet"
            )
        age = at - (int(stored.time[-1]) + STEP_MS)
        if age > self.max_age_ms:
            return f"no data for the last {age // 60_000} min"
        close = stored.time + STEP_MS
        t, base, usd = history.read_open_interest(self.db, venue, symbol, since - HOUR_MS, at)
        # Snapshots come once per refresh; allow a gap of a few refreshes before calling it a hole.
        oi = attach_oi(close, t, base, max_gap_ms=max(self.max_age_ms, 2 * STEP_MS))
        candles = Candles(
            time=stored.time,
            open=stored.open,
            high=stored.high,
            low=stored.low,
            close=stored.close,
            volume=stored.volume,
            interval_ms=STEP_MS,
            taker_buy=stored.taker_buy,
            oi=oi,
        )
        latest_usd = float(usd[-1]) if usd.size and at - int(t[-1]) <= self.max_age_ms else None
        brackets = self.refresher.brackets.get((venue, symbol)) if self.refresher else None
        return VenueWindow(venue, candles, TIMEFRAME, latest_usd, brackets=brackets)

    def snapshot(self, symbol: str, window: str, at: int) -> MarketSnapshot:
        unified = self.resolve(symbol)
        if window not in WINDOW_MS:
            raise LiveDataError(f"unknown window {window!r}: choose 1d, 7d or 30d")
        since = at - WINDOW_MS[window]
        windows: list[VenueWindow] = []
        left_out: dict[str, str] = {}
        stale = []
        for venue in self.venues:
            found = self._venue_window(venue, unified, since, at)
            if isinstance(found, str):
                left_out[venue] = found
                continue
            windows.append(found)
            health = history.health(self.db, venue, unified)
            if health is not None and health.failures >= STALE_AFTER:
                stale.append(venue)
        if not windows:
            why = "; ".join(f"{v}: {r}" for v, r in left_out.items())
            raise LiveDataError(f"no venue has recent data for {unified} ({why})")
        # Venues must share one time axis for one grid price: the reference is the first venue.
        book = self.refresher.books.get(unified) if self.refresher else None
        return MarketSnapshot(
            symbol=unified,
            window=window,
            at=at,
            venues=tuple(windows),
            funding=self._funding(unified, at, windows),
            book=book,
            left_out=left_out,
            stale=tuple(stale),
            missing=self.missing(unified, book is None, [w.venue for w in windows]),
        )

    def missing(self, symbol: str, no_book: bool, venues: list[str]) -> dict[str, str]:
        """The optional inputs a map of ``symbol`` is drawn without, and why."""
        out: dict[str, str] = {}
        if self.refresher is None:
            return out
        if no_book:
            why = self.refresher.book_errors.get(symbol, "not fetched yet")
            out["order book"] = f"unavailable ({why}), cascade pressure not computed"
        for venue in venues:
            error = self.refresher.tier_errors.get((venue, symbol))
            if error is not None and (venue, symbol) not in self.refresher.brackets:
                out[f"leverage tiers ({venue})"] = f"unavailable ({error}), bundled table used"
        return out

    def _funding(self, symbol: str, at: int, windows: list[VenueWindow]) -> Funding | None:
        rates = {}
        for v in windows:
            t, rate, interval = history.read_funding(
                self.db, v.venue, symbol, at - 12 * HOUR_MS, at
            )
            if t.size:
                nxt = int(t[-1] + interval[-1] * HOUR_MS)
                rates[v.venue] = (float(rate[-1]), float(interval[-1]), nxt)
        weights = {v.venue: v.open_interest_usd or 0.0 for v in windows}
        combined = weighted_funding(rates, weights)
        return None if combined is None else Funding(*combined)

    def funding_p95(self, symbol: str, at: int) -> float | None:
        """95th percentile of |funding| (per 8h) over ``FUNDING_P95_DAYS``, across venues."""
        symbol = self.resolve(symbol)
        since = at - FUNDING_P95_DAYS * DAY_MS
        values = []
        for venue in self.venues:
            _, rate, interval = history.read_funding(self.db, venue, symbol, since, at)
            values.append(np.abs(rate) * 8.0 / np.where(interval > 0, interval, 8.0))
        joined = np.concatenate(values) if values else np.array([])
        return float(np.percentile(joined, 95)) if joined.size >= 10 else None

    def oi_change(self, symbol: str, at: int, hours: float) -> float | None:
        symbol = self.resolve(symbol)
        series = {}
        for venue in self.venues:
            t, _, usd = history.read_open_interest(
                self.db, venue, symbol, at - int((hours + 1) * HOUR_MS), at
            )
            series[venue] = (t, usd)
        change, _ = oi_change(series, at, hours, tolerance_ms=self.max_age_ms)
        return change

    def status(self, at: int) -> list[VenueStatus]:
        rows = []
        for symbol in self._symbols:
            for venue in self.venues:
                last = history.last_time(self.db, "candles", venue, symbol, TIMEFRAME)
                health = history.health(self.db, venue, symbol)
                failures = health.failures if health else 0
                last_close = None if last is None else last + STEP_MS
                stale = (
                    failures >= STALE_AFTER
                    or last_close is None
                    or (at - last_close > self.max_age_ms)
                )
                note = ""
                if failures and health is not None:
                    note = f"{failures} failed refresh(es): {health.last_error}"
                rows.append(VenueStatus(venue, symbol, last_close, stale, note))
        return rows

    def optional_status(self) -> list[str]:
        """/status: each optional endpoint that gives nothing now (order book, leverage tiers)."""
        if self.refresher is None:
            return []
        r = self.refresher
        lines = []
        for symbol in self._symbols:
            coin = symbol.split("/")[0]
            error = r.book_errors.get(symbol)
            if symbol not in r.books:
                why = error or "not fetched yet"
                lines.append(
                    f"order book {coin}: unavailable ({why}), cascade pressure not computed"
                )
            elif error is not None:
                lines.append(
                    f"order book {coin}: last fetch failed ({error}), the previous one used"
                )
            for venue in self.venues:
                tier_error = r.tier_errors.get((venue, symbol))
                if tier_error is not None and (venue, symbol) not in r.brackets:
                    lines.append(
                        f"leverage tiers {venue} {coin}: unavailable ({tier_error}), "
                        "bundled table used"
                    )
        return lines

    # The heatmap draws the reference venue's candles (the first with data).
    def window_candles(self, symbol: str, window: str, at: int) -> tuple[Candles, str]:
        snap = self.snapshot(symbol, window, at)
        return snap.venues[0].candles, TIMEFRAME

    def candles(self, symbol: str, timeframe: str, since: int, until: int) -> Candles:
        unified = self.resolve(symbol)
        for venue in self.venues:
            found = self._venue_window(venue, unified, since, until)
            if not isinstance(found, str):
                return found.candles
        raise LiveDataError(f"no stored candles for {unified}")
