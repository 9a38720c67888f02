"""What a market source hands the map: per-venue candles for one window, plus context.

Every market source (``market.source.MarketSource``) produces this, so everything downstream
(reports, the bot, alerts) is the same whatever the data came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from liqmap import Bracket, Candles, OrderBook


class MarketDataError(ValueError):
    """A market source cannot give this map (unknown symbol or window, no data for the time).
    Each source raises its own subclass, so a log says where the gap is."""


@dataclass(frozen=True)
class Funding:
    """The funding rate in force: per interval (a fraction), and when the next settles (ms)."""

    rate: float
    interval_h: float
    next_time: int
    mark_price: float | None = None  # when the venue's answer carries one


@dataclass(frozen=True)
class VenueWindow:
    """One venue's candles for the window, OI attached where the venue has its history."""

    venue: str
    candles: Candles
    timeframe: str
    open_interest_usd: float | None  # latest, for units and the summary
    oi_venue: str | None = None  # where the OI series came from, if not the venue itself
    brackets: tuple[Bracket, ...] | None = None  # the venue's own tiers, when it publishes them


@dataclass(frozen=True)
class MarketSnapshot:
    """Everything a map of ``symbol`` over ``window`` at ``at`` (ms) is drawn from.

    ``left_out`` names each configured venue that is not in ``venues`` and why; a map must say
    so (a missing venue would otherwise look like an OI collapse). ``stale`` venues are included
    but their data is older than it should be.
    """

    symbol: str
    window: str
    at: int
    venues: tuple[VenueWindow, ...]
    funding: Funding | None
    book: OrderBook | None
    left_out: dict[str, str] = field(default_factory=dict)
    stale: tuple[str, ...] = ()
    # Optional inputs the map is drawn without ("order book" -> why); a map must say so.
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def open_interest_usd(self) -> float | None:
        values = [v.open_interest_usd for v in self.venues if v.open_interest_usd is not None]
        return sum(values) if values else None


@dataclass(frozen=True)
class VenueStatus:
    """How fresh one venue's data for one symbol is (for /status and map footers)."""

    venue: str
    symbol: str
    last_data: int | None  # ms of the newest stored candle close
    stale: bool
    note: str = ""
