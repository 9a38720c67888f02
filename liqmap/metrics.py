"""Numbers derived from one map and the current price: the trader's risk lens.

Every function is pure: arrays and numbers in, numbers out. Ratios that would divide by zero
return ``inf`` (unbounded) when the numerator is positive and ``nan`` when both sides are empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from liqmap.clusters import LONG, SHORT, Cluster, MapClusters
from liqmap.model import LiqMap
from liqmap.times import HOUR_MS

FloatArray = npt.NDArray[np.float64]

DEFAULT_BAND_PCT = 10.0


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` with ``inf`` for x/0 (x > 0) and ``nan`` for 0/0."""
    if denominator > 0:
        return numerator / denominator
    return math.inf if numerator > 0 else math.nan


def cumulative_curves(liq: LiqMap) -> tuple[FloatArray, FloatArray]:
    """``cumLong[b]``: long notional between bucket b and price (for buckets below price);
    ``cumShort[b]``: short notional between price and bucket b (above). Zero on the other side.
    Both grow monotonically away from price."""
    mids = liq.grid.mids
    below = mids < liq.price
    long_below = np.where(below, liq.long, 0.0)
    short_above = np.where(~below, liq.short, 0.0)
    cum_long = np.where(below, np.cumsum(long_below[::-1])[::-1], 0.0)
    cum_short = np.where(~below, np.cumsum(short_above), 0.0)
    return cum_long, cum_short


def band_totals(liq: LiqMap, band_pct: float = DEFAULT_BAND_PCT) -> tuple[float, float]:
    """Long notional within ``band_pct`` below price and short notional within it above."""
    mids = liq.grid.mids
    lo, hi = liq.price * (1 - band_pct / 100), liq.price * (1 + band_pct / 100)
    long_below = float(liq.long[(mids >= lo) & (mids < liq.price)].sum())
    short_above = float(liq.short[(mids > liq.price) & (mids <= hi)].sum())
    return long_below, short_above


def fuel_ratio(liq: LiqMap, side: str, band_pct: float = DEFAULT_BAND_PCT) -> float:
    """Liquidation Fuel Ratio (docs/model.md §3): profit-side fuel / risk-side fuel within the band.

    Long: shorts above / longs below. Short: longs below / shorts above.
    > 1.5 favourable; < 1.0 swimming upstream.
    """
    long_below, short_above = band_totals(liq, band_pct)
    if side == LONG:
        return ratio(short_above, long_below)
    if side == SHORT:
        return ratio(long_below, short_above)
    raise ValueError(f"side must be 'long' or 'short', got {side!r}")


def asymmetry(liq: LiqMap, band_pct: float = DEFAULT_BAND_PCT) -> float:
    """Long notional below / short notional above within the band; >= 2.5 (or <= 1/2.5) means
    the heavier side is structurally fragile."""
    long_below, short_above = band_totals(liq, band_pct)
    return ratio(long_below, short_above)


@dataclass(frozen=True)
class OrderBook:
    """Resting liquidity: ``bids``/``asks`` shaped (levels, 2) as (price, base quantity)."""

    bids: FloatArray
    asks: FloatArray


def cascade_pressure(liq: LiqMap, book: OrderBook, target: float) -> float:
    """Liquidation notional between price and ``target`` / resting book depth (USD) over the
    same range. Below price, long liquidations sell into bids; above, shorts buy the asks.
    > 1: the book cannot absorb the cascade."""
    p = liq.price
    mids = liq.grid.mids
    if target < p:
        liq_usd = float(liq.long[(mids >= target) & (mids < p)].sum())
        side = book.bids
        in_range = (side[:, 0] >= target) & (side[:, 0] <= p)
    else:
        liq_usd = float(liq.short[(mids > p) & (mids <= target)].sum())
        side = book.asks
        in_range = (side[:, 0] >= p) & (side[:, 0] <= target)
    depth_usd = float((side[in_range, 0] * side[in_range, 1]).sum())
    return ratio(liq_usd, depth_usd)


def cluster_pressure(liq: LiqMap, book: OrderBook, cluster: Cluster) -> float:
    """Cascade pressure from price through the whole of ``cluster`` (to its far edge)."""
    return cascade_pressure(liq, book, cluster.far_edge())


@dataclass(frozen=True)
class StopSuggestion:
    """Stop beyond the nearest cluster that would cascade against the position."""

    price: float
    distance_pct: float  # from entry, positive
    cluster: Cluster
    size_factor: float | None  # scale size by this to keep the risk within max_risk_pct


def suggest_stop(
    clusters: MapClusters,
    side: str,
    entry: float,
    buffer_pct: float = 0.4,
    max_risk_pct: float | None = None,
    chain_pct: float = 1.0,
) -> StopSuggestion | None:
    """A stop ``buffer_pct`` (0.3-0.5%) beyond the far edge of the nearest cluster on the losing
    side (long: the long cluster below; short: the short cluster above), never inside it, and
    beyond any cluster chained to it (within ``chain_pct``: a cascade would run on through). If
    the stop is further than ``max_risk_pct`` from entry, ``size_factor`` says how much to
    shrink. ``cluster`` is the last cluster the stop clears."""
    if side == LONG:
        candidates = sorted((c for c in clusters.below if c.high < entry), key=lambda c: -c.high)
        if not candidates:
            return None
        cluster = candidates[0]
        stop = cluster.low * (1 - buffer_pct / 100)
        # a cluster stacked within ``chain_pct`` below the stop cascades on through it
        # (docs/model.md §3): the stop goes beyond the whole chain, never inside or just
        # before the next one
        for nxt in candidates[1:]:
            if nxt.high < stop * (1 - chain_pct / 100):
                break
            cluster, stop = nxt, min(stop, nxt.low * (1 - buffer_pct / 100))
    elif side == SHORT:
        candidates = sorted((c for c in clusters.above if c.low > entry), key=lambda c: c.low)
        if not candidates:
            return None
        cluster = candidates[0]
        stop = cluster.high * (1 + buffer_pct / 100)
        for nxt in candidates[1:]:
            if nxt.low > stop * (1 + chain_pct / 100):
                break
            cluster, stop = nxt, max(stop, nxt.high * (1 + buffer_pct / 100))
    else:
        raise ValueError(f"side must be 'long' or 'short', got {side!r}")
    distance = abs(stop / entry - 1) * 100
    factor = None
    if max_risk_pct is not None and distance > max_risk_pct:
        factor = max_risk_pct / distance
    return StopSuggestion(stop, distance, cluster, factor)


@dataclass(frozen=True)
class OwnLiquidationCheck:
    """Where a position's own liquidation price sits against same-side clusters."""

    liquidation_price: float
    status: str  # "inside", "just-past" or "clear"
    cluster: Cluster | None


def check_own_liquidation(
    liquidation_price: float, side: str, clusters: MapClusters, past_pct: float = 0.5
) -> OwnLiquidationCheck:
    """``inside``: the LP sits in a same-side cluster; ``just-past``: within ``past_pct`` beyond a
    cluster's far edge. Either way a cascade through that cluster would run through the LP."""
    same_side = clusters.below if side == LONG else clusters.above
    for c in same_side:
        if c.contains(liquidation_price):
            return OwnLiquidationCheck(liquidation_price, "inside", c)
        far = c.far_edge()
        beyond = (far - liquidation_price) if side == LONG else (liquidation_price - far)
        if 0 <= beyond <= far * past_pct / 100:
            return OwnLiquidationCheck(liquidation_price, "just-past", c)
    return OwnLiquidationCheck(liquidation_price, "clear", None)


def no_trade_warning(
    entry: float, clusters: MapClusters, buffer_pct: float = 0.5, major_share: float = 0.15
) -> Cluster | None:
    """The major cluster (the largest of its side, or ``major_share`` of it) within
    ``buffer_pct`` of ``entry``, if any: new positions there sit in an unstable zone
    (docs/model.md §3)."""
    majors = []
    for side in (clusters.below, clusters.above):
        if side:
            top = max(side, key=lambda c: c.notional)
            majors += [c for c in side if c is top or c.share >= major_share]
    for c in sorted(majors, key=lambda c: abs(c.near_edge() - entry)):
        gap = 0.0 if c.contains(entry) else min(abs(c.low - entry), abs(c.high - entry))
        if gap / entry * 100 <= buffer_pct:
            return c
    return None


# -- significance: which clusters are worth an alert ------------------------------------------

# A cluster takes part in the cluster rules only if it holds at least this share of its side's
# notional within the +-10% band (chosen from the BTC 2025 backtest, README "Alerts worth waking
# up for").
DEFAULT_MIN_SHARE = 0.10


def band_share(c: Cluster, long_below: float, short_above: float) -> float:
    """The cluster's notional as a share of its side within the band (longs below, shorts
    above); ``inf`` when that side is empty there (a cluster beyond the band)."""
    total = long_below if c.side == LONG else short_above
    return c.notional / total if total > 0 else math.inf


def is_significant(
    c: Cluster,
    long_below: float,
    short_above: float,
    min_share: float = DEFAULT_MIN_SHARE,
    min_notional: float = 0.0,
) -> bool:
    """At least ``min_share`` of its side within the band and at least ``min_notional``."""
    return band_share(c, long_below, short_above) >= min_share and c.notional >= min_notional


def significant_clusters(
    clusters: MapClusters,
    long_below: float,
    short_above: float,
    min_share: float = DEFAULT_MIN_SHARE,
    min_notional: float = 0.0,
) -> MapClusters:
    """Only the significant clusters, in the same order."""

    def keep(side: tuple[Cluster, ...]) -> tuple[Cluster, ...]:
        return tuple(
            c for c in side if is_significant(c, long_below, short_above, min_share, min_notional)
        )

    return MapClusters(keep(clusters.below), keep(clusters.above))


def largest_each_side(clusters: MapClusters) -> tuple[Cluster | None, Cluster | None]:
    """The largest long cluster below and the largest short cluster above (None if none)."""

    def top(side: tuple[Cluster, ...]) -> Cluster | None:
        return max(side, key=lambda c: c.notional) if side else None

    return top(clusters.below), top(clusters.above)


def realised_range_pct(
    high: FloatArray,
    low: FloatArray,
    close_time: npt.NDArray[np.int64],
    as_of: int,
    hours: int = 24,
) -> float | None:
    """Today's realised volatility: (highest high - lowest low) over the candles that closed in
    the last ``hours`` before ``as_of``, in % of the last close's low-high midpoint. None when
    no candle closed in that span."""
    sel = (close_time <= as_of) & (close_time > as_of - hours * HOUR_MS)
    if not sel.any():
        return None
    hi, lo = float(high[sel].max()), float(low[sel].min())
    mid = (hi + lo) / 2
    return (hi - lo) / mid * 100 if mid > 0 else None


# -- the two risk numbers -----------------------------------------------------------------------

FALLBACK_RANGE_PCT = 5.0  # position risk without candles: the old fixed 5% reach

# Market risk forecasts the next 4 h's range from the realised ranges of the last 24 h, 4 h and
# 1 h and the hour of day (UTC): ln(expected range %) = 0.28 ln R24 + 0.20 ln R4 + 0.22 ln R1
# - 0.07 + SESSION_LOG[hour]. Fitted (least squares on the logs) on BTC 2025-01-02 .. 2025-06-30
# hourly maps only (`python -m benchmarks.fit_risk`); the backtest's `risk_beats_volatility`
# claim grades it on the hours after that. The map's terms (cluster proximity, book pressure,
# funding) were tried on the same hours and none added to the ranking (proximity made it worse
# at every weight; funding never left its baseline in that data; no book history), so none is in
# the score: the README says so.
RISK_CHOSEN_UNTIL_MS = 1_751_328_000_000  # 2025-07-01 00:00 UTC: the fit saw only hours before
RANGE_WEIGHTS = (0.28, 0.20, 0.22)  # ln R24, ln R4, ln R1
RANGE_INTERCEPT = -0.07
# How much busier (+) or calmer (-) the next 4 h are than the realised ranges say, by the UTC
# hour of the map (the US open, 12-15 UTC, is the busiest; 02-09 UTC the calmest).
SESSION_LOG: tuple[float, ...] = (
    *(-0.01, -0.08, -0.19, -0.22, -0.21, -0.19, -0.15, -0.16, -0.17, -0.16, -0.01, 0.16),  # 00-11
    *(0.25, 0.28, 0.26, 0.18, 0.13, 0.11, 0.05, 0.05, 0.03, 0.02, 0.03, 0.0),  # 12-23 UTC
)
# The 0-100 scale is logarithmic in the expected range: 0.3% scores 0, 5% scores 100.
RISK_FLOOR_PCT, RISK_CEILING_PCT = 0.3, 5.0
POINTS_PER_LOG = 100 / math.log(RISK_CEILING_PCT / RISK_FLOOR_PCT)


@dataclass(frozen=True)
class RecentRanges:
    """Realised ranges (% of price, highest high - lowest low) over the last 24 h, 4 h, 1 h."""

    day: float | None
    four_hours: float | None
    hour: float | None


def recent_ranges(
    high: FloatArray, low: FloatArray, close_time: npt.NDArray[np.int64], as_of: int
) -> RecentRanges:
    return RecentRanges(
        realised_range_pct(high, low, close_time, as_of, 24),
        realised_range_pct(high, low, close_time, as_of, 4),
        realised_range_pct(high, low, close_time, as_of, 1),
    )


@dataclass(frozen=True)
class RiskScore:
    """Market risk, 0-100: how wide the next 4 h are likely to trade, from two named terms:

    - recent moves (0-100): ``POINTS_PER_LOG * ln(E / 0.3%)`` for E, the range the realised
      ranges of the last 24 h, 4 h and 1 h forecast (``RANGE_WEIGHTS``), clipped to 0-100;
    - session (about -8..+10): ``POINTS_PER_LOG * SESSION_LOG[hour]``, the hour of day's
      measured effect on the next 4 h;

    total = recent moves + session, clipped to 0-100. ``expected_range_pct`` is the forecast
    itself (None without candles), ``range_pct`` the last 24 h's range (position risk reads it).
    """

    total: float
    volatility: float
    session: float
    expected_range_pct: float | None = None
    range_pct: float | None = None


def low_liquidity_hours(hour_utc: int, weekday: int) -> bool:
    """Off-hours for BTC: 00-06 UTC or Saturday/Sunday (weekday 5, 6)."""
    return hour_utc < 7 or weekday >= 5


def _funding_points(funding_rate: float | None, extreme: float, full: float) -> float:
    if funding_rate is None or not math.isfinite(funding_rate):
        return 0.0
    base = 0.0001
    return full * min(max((abs(funding_rate) - base) / (extreme - base), 0.0), 1.0)


def _filled(ranges: RecentRanges) -> tuple[float, float, float] | None:
    """The three ranges, a missing one stood in for by its neighbour (1 h <- 4 h <- 24 h)."""
    vals = [r if r is not None and r > 0 else None for r in (ranges.day, ranges.four_hours)]
    hour = ranges.hour if ranges.hour is not None and ranges.hour > 0 else None
    day, four = vals
    four = four or hour or day
    day = day or four
    hour = hour or four
    if day is None or four is None or hour is None:
        return None
    return day, four, hour


def risk_score(ranges: RecentRanges | None, hour_utc: int) -> RiskScore:
    """See :class:`RiskScore`. No candles in the last day: 0, with no expected range."""
    filled = _filled(ranges) if ranges is not None else None
    session = POINTS_PER_LOG * SESSION_LOG[hour_utc % 24]
    if filled is None:
        return RiskScore(0.0, 0.0, 0.0)
    log_level = RANGE_INTERCEPT + sum(
        w * math.log(r) for w, r in zip(RANGE_WEIGHTS, filled, strict=True)
    )
    volatility = min(max(POINTS_PER_LOG * (log_level - math.log(RISK_FLOOR_PCT)), 0.0), 100.0)
    total = min(max(volatility + session, 0.0), 100.0)
    expected = math.exp(log_level + SESSION_LOG[hour_utc % 24])
    return RiskScore(round(total, 1), volatility, session, expected, filled[0])


@dataclass(frozen=True)
class PositionRisk:
    """Position risk, 0-100: the sum of six documented terms (points):

    - reach (0-30): ``30 * max(0, 1 - d / (2R))`` for d, the % from price to the liquidation
      price, R today's realised range (5% when unknown): liquidation within two days' range;
    - cluster (0-20): 20 when the liquidation price sits inside a significant same-side cluster
      or within 0.5% past its far edge (a cascade through it runs through you);
    - stop (0-15): 15 when the position's stop (the caller's: the trader's own when set, else
      the stop the reply suggests) lies past the liquidation price, so it can never fill;
    - leverage (0-15): ``15 * (L - 5) / 45``, clipped: 5x scores 0, 50x or more 15;
    - funding (0-10): as the market score's funding term, only when the position's side pays;
    - session (0-10): 10 in low-liquidity hours.
    """

    total: float
    reach: float
    cluster: float
    stop: float
    leverage: float
    funding: float
    session: float


def position_risk(
    liq: LiqMap,
    clusters: MapClusters,
    side: str,
    entry: float,
    leverage: float,
    liquidation_price: float,
    funding_rate: float | None,
    hour_utc: int,
    weekday: int,
    realised_range: float | None = None,
    min_share: float = DEFAULT_MIN_SHARE,
    extreme_funding: float = 0.0005,
    *,
    stop: float | None,
) -> PositionRisk:
    """See :class:`PositionRisk` for each term. ``stop`` is the one the reply shows (None: no
    stop), passed in so the score never judges a different stop than the text names."""
    if side not in (LONG, SHORT):
        raise ValueError(f"side must be 'long' or 'short', got {side!r}")
    r = realised_range if realised_range is not None and realised_range > 0 else None
    reach_pct = 2 * r if r is not None else FALLBACK_RANGE_PCT
    d = abs(liquidation_price / liq.price - 1) * 100
    reach = 30 * max(0.0, 1 - d / reach_pct)
    long_below, short_above = band_totals(liq)
    large = significant_clusters(clusters, long_below, short_above, min_share)
    own = check_own_liquidation(liquidation_price, side, large)
    cluster = 20.0 if own.status != "clear" else 0.0
    past = stop is not None and (
        stop <= liquidation_price if side == LONG else stop >= liquidation_price
    )
    stop_points = 15.0 if past else 0.0
    lev = 15 * min(max((leverage - 5) / 45, 0.0), 1.0)
    pays = funding_rate is not None and (funding_rate > 0) == (side == LONG)
    funding = _funding_points(funding_rate, extreme_funding, 10) if pays else 0.0
    session = 10.0 if low_liquidity_hours(hour_utc, weekday) else 0.0
    total = reach + cluster + stop_points + lev + funding + session
    return PositionRisk(round(total, 1), reach, cluster, stop_points, lev, funding, session)
