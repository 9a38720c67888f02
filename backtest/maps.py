"""The map at every step of a backtest, drawn as the live bot draws it.

Per step: the market snapshot (``market``), one ``liqmap.build_map`` per venue on a shared grid,
summed, its clusters, risk score and the alert rules' inputs (``alerts.metrics_from_map``), the
same calls ``bot/report.py`` and ``bot/jobs.py`` make (a test checks they agree). Nothing here
is a second engine: this module only strings the engine's functions together over time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from alerts.inputs import SymbolMetrics, metrics_from_map
from backtest.history import History, as_history
from liqmap import (
    LiqMap,
    MapClusters,
    ModelSettings,
    OrderBook,
    RecentRanges,
    map_clusters,
    recent_ranges,
    risk_score,
)
from market.aggregate import summed_map
from market.replay import ReplaySource
from market.snapshot import MarketSnapshot

BAND_PCT = 10.0  # the bot's band for fuel ratio and asymmetry


@dataclass(frozen=True)
class MapStep:
    """One moment of the backtest: the map's metrics as the alert rules see them, plus what
    the claims need (the clusters and the risk score)."""

    at: int
    metrics: SymbolMetrics
    clusters: MapClusters
    risk: float
    model: str
    realised_range: float | None = None  # the last 24 h's range, % (the risk claim's rival)


def draw_map(
    source: History | ReplaySource, symbol: str, window: str, at: int, settings: ModelSettings
) -> tuple[LiqMap, tuple[str, ...], MarketExtras]:
    """The summed per-venue map at ``at`` (``market.aggregate.summed_map``, as the bot draws it:
    venues without OI history are left out when any venue has it)."""
    snap = source.snapshot(symbol, window, at)
    liq, venues, _ = summed_map(snap, settings)  # the bot's own aggregation
    extras = MarketExtras(
        funding_rate=snap.funding.rate if snap.funding else None,
        funding_interval_h=snap.funding.interval_h if snap.funding else 8.0,
        book=snap.book,
        stale=snap.stale,
        ranges=snap_ranges(snap),
    )
    return liq, venues, extras


@dataclass(frozen=True)
class MarketExtras:
    funding_rate: float | None
    funding_interval_h: float
    book: OrderBook | None
    stale: tuple[str, ...]
    ranges: RecentRanges | None = None


def snap_ranges(snap: MarketSnapshot) -> RecentRanges:
    """The realised ranges (last 24 h, 4 h, 1 h) from the reference venue's candles."""
    c = snap.venues[0].candles
    return recent_ranges(c.high, c.low, c.close_time, snap.at)


def map_step(
    source: History | ReplaySource,
    symbol: str,
    window: str,
    at: int,
    settings: ModelSettings,
    with_p95: bool = True,
) -> MapStep:
    """Everything one step needs, from the map at ``at``."""
    source = as_history(source)
    liq, venues, extras = draw_map(source, symbol, window, at, settings)
    clusters = map_clusters(liq)
    when = datetime.fromtimestamp(at / 1000, tz=UTC)
    risk = risk_score(extras.ranges, when.hour)
    p95 = source.funding_p95(symbol, at) if with_p95 else None
    metrics = metrics_from_map(
        liq,
        clusters,
        oi_change_4h=source.oi_change(symbol, at, 4),
        funding_rate=extras.funding_rate,
        funding_interval_h=extras.funding_interval_h,
        funding_p95_abs=p95,  # per 8 h
        band_pct=BAND_PCT,
        venues=venues,
        stale=extras.stale,
    )
    day = extras.ranges.day if extras.ranges else None
    return MapStep(at, metrics, clusters, float(risk.total), liq.model, day)


def map_steps(
    source: History | ReplaySource,
    symbol: str,
    window: str,
    times: list[int],
    settings: ModelSettings | None = None,
    with_p95: bool = True,
) -> Iterator[MapStep]:
    settings = settings or ModelSettings()
    source = as_history(source)
    for at in times:
        yield map_step(source, symbol, window, at, settings, with_p95)
