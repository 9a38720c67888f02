"""One map and everything derived from it, ready to render as text, JSON, chart or alerts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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
    cascade_chains,
    map_clusters,
    recent_ranges,
    risk_score,
)
from liqmap.model import MODEL_OI_DELTA
from liqmap.times import HOUR_MS
from market.aggregate import summed_map
from market.snapshot import Funding, MarketSnapshot
from market.source import MarketSource

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
    left_out: dict[str, str] = field(default_factory=dict)
    stale: tuple[str, ...] = ()
    missing: dict[str, str] = field(default_factory=dict)  # optional inputs drawn without
    price_change_4h: float | None = None  # fraction, from the reference venue's candles
    # when the price was printed: the close of the last complete candle (1h data at 20:55 is the
    # 20:00 close; every answer that quotes the price says this time, not the map's)
    price_time: int | None = None

    @property
    def symbol(self) -> str:
        return self.liq.symbol

    @property
    def price(self) -> float:
        return self.liq.price

    @property
    def model(self) -> str:
        return self.liq.model

    @property
    def price_at(self) -> int:
        """ms of the price quoted (the last complete candle's close), else the map's time."""
        return self.price_time if self.price_time is not None else self.liq.as_of

    @property
    def as_of(self) -> datetime:
        return datetime.fromtimestamp(self.liq.as_of / 1000, tz=UTC)

    def nearest(self, count: int = 2) -> tuple[tuple[Cluster, ...], tuple[Cluster, ...]]:
        return self.clusters.nearest(count)

    def chains(self) -> tuple[list[CascadeChain], list[CascadeChain]]:
        return cascade_chains(self.clusters.below), cascade_chains(self.clusters.above)


def build_report(
    snap: MarketSnapshot, settings: ModelSettings | None = None, band_pct: float = 10.0
) -> MapReport:
    """Draw the map of a market snapshot and derive the trader's metrics from it."""
    settings = settings or ModelSettings()
    liq, venues, left_out = summed_map(snap, settings)
    clusters = map_clusters(liq)
    long_below, short_above = band_totals(liq, band_pct)
    when = datetime.fromtimestamp(snap.at / 1000, tz=UTC)
    ref = snap.venues[0].candles  # the reference venue: the map's price comes from it
    risk = risk_score(recent_ranges(ref.high, ref.low, ref.close_time, snap.at), when.hour)
    used = [v for v in snap.venues if v.venue in venues]
    oi_venues = tuple(
        v.oi_venue or v.venue for v in used if liq.model == MODEL_OI_DELTA
    )  # where the OI came from
    oi_usd = [v.open_interest_usd for v in used if v.open_interest_usd is not None]
    ref = used[0].candles
    start = int(np.searchsorted(ref.close_time, snap.at - 4 * HOUR_MS, side="right")) - 1
    change_4h = float(liq.price / ref.close[start] - 1) if start >= 0 else None
    return MapReport(
        liq=liq,
        clusters=clusters,
        window=snap.window,
        timeframe=used[0].timeframe,
        venues=venues,
        oi_venues=tuple(dict.fromkeys(oi_venues)),
        funding=snap.funding,
        open_interest_usd=sum(oi_usd) if oi_usd else None,
        book=snap.book,
        band_pct=band_pct,
        long_below=long_below,
        short_above=short_above,
        asymmetry=asymmetry(liq, band_pct),
        risk=risk,
        candles=len(used[0].candles),
        left_out=left_out,
        stale=snap.stale,
        missing=dict(snap.missing),
        price_change_4h=change_4h,
        price_time=int(ref.close_time[-1]),
    )


def make_report(
    source: MarketSource,
    symbol: str,
    window: str,
    at: int,
    settings: ModelSettings | None = None,
    band_pct: float = 10.0,
) -> MapReport:
    """Draw the map of ``symbol`` over ``window`` as it stood at ``at`` (ms)."""
    return build_report(source.snapshot(symbol, window, at), settings, band_pct)


def finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None
