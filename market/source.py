"""The one contract every market source keeps: the replay over the bundled data
(``market.replay.ReplaySource``) and the live store over the refreshed history
(``bot.pipeline.live_store.LiveStore``). Everything the bot and the backtest ask of a source is
here, so a caller never probes for a method; ``tests/test_market_source.py`` runs the same
contract tests against both.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from liqmap import Candles
from liqmap.times import DAY_MS
from market.snapshot import MarketSnapshot, VenueStatus

# The map windows every source serves: how far back positions are seeded.
WINDOW_MS = {"1d": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS}
FUNDING_P95_DAYS = 30  # the funding rule's "unusual for this market" looks back this far


@runtime_checkable
class MarketSource(Protocol):
    """A source of market snapshots and the series behind them. Unknown symbols, windows or
    times raise ``market.snapshot.MarketDataError`` (each source its own subclass)."""

    @property
    def name(self) -> str:
        """``demo`` (the replay) or ``live``."""
        ...

    @property
    def venues(self) -> tuple[str, ...]:
        """The venues it draws from, in map order (the first with data is the reference)."""
        ...

    @property
    def symbols(self) -> tuple[str, ...]:
        """Unified symbols on offer (``BTC/USDT:USDT``)."""
        ...

    @property
    def version(self) -> int:
        """Changes whenever the data behind a map at a given moment does (cached maps key on
        it); constant for a source whose past never changes."""
        ...

    def resolve(self, symbol: str) -> str:
        """``btc`` -> ``BTC/USDT:USDT``; an error naming the symbols on offer otherwise."""
        ...

    def snapshot(self, symbol: str, window: str, at: int) -> MarketSnapshot:
        """Everything a ``window`` map at ``at`` (ms) is drawn from, only what was known then."""
        ...

    def window_candles(self, symbol: str, window: str, at: int) -> tuple[Candles, str]:
        """The reference venue's candles for a ``window`` map at ``at``, and their timeframe."""
        ...

    def candles(self, symbol: str, timeframe: str, since: int, until: int) -> Candles:
        """Completed candles opening at or after ``since`` and closing at or before ``until``."""
        ...

    def oi_change(self, symbol: str, at: int, hours: float) -> float | None:
        """Fractional open-interest change over the last ``hours`` (None when unknown)."""
        ...

    def funding_p95(self, symbol: str, at: int) -> float | None:
        """95th percentile of |funding| per 8 h over ``FUNDING_P95_DAYS`` up to ``at``; None
        with fewer than 10 settlements."""
        ...

    def status(self, at: int) -> list[VenueStatus]:
        """How fresh each venue's data is, per symbol (/status, map footers)."""
        ...

    def optional_status(self) -> list[str]:
        """Each optional input that gives nothing now (order book, leverage tiers), one line
        each; empty when all is there."""
        ...
