"""One map and everything derived from it, ready to render as text, JSON, chart or alerts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from liqmap import (
    CascadeChain,
    Cluster,
    LiqMap,
    MapClusters,
    ModelSettings,
    OrderBook,
    RiskScore,
    asymmetry,
    band_totals,
    build_map,
    cascade_chains,
    map_clusters,
    risk_score,
)
from market.replay import Funding, ReplaySource

WINDOWS = ("1d", "7d", "30d")


@dataclass(frozen=True)
class MapReport:
    """A map at one moment plus the market context it was drawn with."""

    liq: LiqMap
    clusters: MapClusters
    window: str
    timeframe: str
    venues: tuple[str, ...]
    oi_venues: tuple[str, ...]
    funding: Funding | None
    open_interest_usd: float | None
    book: OrderBook | None
    band_pct: float
    long_below: float
    short_above: float
    asymmetry: float
    risk: RiskScore
    candles: int

    @property
    def symbol(self) -> str:
        return self.liq.symbol

    @property
    def price(self) -> float:
        return self.liq.price

    @property
    def as_of(self) -> datetime:
        return datetime.fromtimestamp(self.liq.as_of / 1000, tz=UTC)

    def nearest(self, count: int = 2) -> tuple[tuple[Cluster, ...], tuple[Cluster, ...]]:
        return self.clusters.nearest(count)

    def chains(self) -> tuple[list[CascadeChain], list[CascadeChain]]:
        return cascade_chains(self.clusters.below), cascade_chains(self.clusters.above)


def make_report(
    source: ReplaySource,
    symbol: str,
    window: str,
    at: int,
    settings: ModelSettings | None = None,
    band_pct: float = 10.0,
) -> MapReport:
    """Draw the map of ``symbol`` over ``window`` as it stood at ``at`` (ms)."""
    unified = source.resolve(symbol)
    candles, timeframe = source.window_candles(unified, window, at)
    oi_usd = source.open_interest_usd(unified, at)
    settings = settings or ModelSettings()
    liq = build_map(candles, unified, settings, as_of=at, current_oi_usd=oi_usd)
    clusters = map_clusters(liq)
    book = source.order_book(unified, liq.price)
    funding = source.funding(unified, at)
    long_below, short_above = band_totals(liq, band_pct)
    when = datetime.fromtimestamp(at / 1000, tz=UTC)
    risk = risk_score(
        liq,
        clusters,
        funding.rate if funding else None,
        hour_utc=when.hour,
        weekday=when.weekday(),
        book=book,
    )
    has_oi = candles.oi is not None and bool(np.all(np.isfinite(candles.oi)))
    return MapReport(
        liq=liq,
        clusters=clusters,
        window=window,
        timeframe=timeframe,
        venues=source.venues,
        oi_venues=("okx",) if has_oi else (),
        funding=funding,
        open_interest_usd=oi_usd,
        book=book,
        band_pct=band_pct,
        long_below=long_below,
        short_above=short_above,
        asymmetry=asymmetry(liq, band_pct),
        risk=risk,
        candles=len(candles),
    )


def finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None
