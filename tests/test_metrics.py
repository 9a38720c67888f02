"""Clusters and the derived metrics of docs/model.md §3 on small hand-built maps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from liqmap import (
    Cluster,
    LiqMap,
    MapClusters,
    OrderBook,
    RecentRanges,
    asymmetry,
    cascade_chains,
    cascade_pressure,
    check_own_liquidation,
    fuel_ratio,
    make_grid,
    map_clusters,
    no_trade_warning,
    risk_score,
    suggest_stop,
)
from liqmap.model import ModelSettings, resolve_tiers


def hand_map(price: float, longs: dict[float, float], shorts: dict[float, float]) -> LiqMap:
    """A map with the given USD at the given prices (0.1% buckets, +-30%)."""
    grid = make_grid(price, 30, 0.1)
    long = np.zeros(grid.size)
    short = np.zeros(grid.size)
    for side, levels in ((long, longs), (short, shorts)):
        for p, usd in levels.items():
            side[grid.index_of(p)] += usd
    tiers, _ = resolve_tiers("BTC", ModelSettings())
    return LiqMap(
        symbol="BTC/USDT:USDT",
        as_of=0,
        price=price,
        grid=grid,
        long=long,
        short=short,
        long_by_tier=long[None, :],
        short_by_tier=short[None, :],
        tiers=tiers[:1],
        model="oi-delta",
        split="taker",
        units="USD",
        seeded_long=long.sum(),
        seeded_short=short.sum(),
        brackets_bundled=True,
    )


def spread(centre: float, usd: float, width: int = 3) -> dict[float, float]:
    """``usd`` spread over ``width`` adjacent 0.1% buckets around ``centre``."""
    return {centre * (1.001**i): usd / width for i in range(-(width // 2), width - width // 2)}


# Price 100,000: long clusters at 97,000 (big) and 92,000; short clusters at 102,000 and 108,000,
# over a thin background of $1K levels every 0.5% (so the 80th percentile sits in the background).
BACKGROUND = 1e3
LONGS_BG = {p: BACKGROUND for p in np.arange(85_250.0, 99_800.0, 500.0)}
SHORTS_BG = {p: BACKGROUND for p in np.arange(100_250.0, 114_800.0, 500.0)}
LONGS = {**LONGS_BG, **spread(97_000, 5e6), **spread(92_000, 2e6)}
SHORTS = {**SHORTS_BG, **spread(102_000, 3e6), **spread(108_000, 1e6)}
LONG_TOTAL = 7e6 + BACKGROUND * len(LONGS_BG)
SHORT_TOTAL = 4e6 + BACKGROUND * len(SHORTS_BG)


@pytest.fixture
def liq() -> LiqMap:
    return hand_map(100_000, LONGS, SHORTS)


def test_clusters_found_where_the_notional_is(liq: LiqMap) -> None:
    cl = map_clusters(liq)
    assert [round(c.peak, -3) for c in cl.below] == [97_000, 92_000]
    assert [round(c.peak, -3) for c in cl.above] == [102_000, 108_000]
    big = cl.below[0]
    assert big.side == "long" and big.low < 97_000 < big.high
    assert big.notional == pytest.approx(5e6)
    assert big.share == pytest.approx(5e6 / LONG_TOTAL)
    assert big.near_edge() == big.high and cl.above[0].near_edge() == cl.above[0].low
    assert cl.largest() is big


def test_runs_closer_than_the_merge_gap_are_one_cluster() -> None:
    close = {**spread(97_000, 1e6), **spread(97_000 * 1.0035, 1e6)}  # gap ~0.15% < 0.2%
    cl = map_clusters(hand_map(100_000, close, {}))
    assert len(cl.below) == 1 and cl.below[0].notional == pytest.approx(2e6)


def test_fuel_ratio_and_asymmetry(liq: LiqMap) -> None:
    # the +-10% band holds everything but the background below 90,000 and above 110,000
    long_below = LONG_TOTAL - BACKGROUND * sum(p < 90_000 for p in LONGS_BG)
    short_above = SHORT_TOTAL - BACKGROUND * sum(p > 110_000 for p in SHORTS_BG)
    assert fuel_ratio(liq, "long") == pytest.approx(short_above / long_below, rel=1e-3)
    assert fuel_ratio(liq, "short") == pytest.approx(long_below / short_above, rel=1e-3)
    assert asymmetry(liq) == pytest.approx(long_below / short_above, rel=1e-3)
    near_long = 5e6 + BACKGROUND * sum(p >= 96_500 for p in LONGS_BG)
    near_short = 3e6 + BACKGROUND * sum(p <= 103_500 for p in SHORTS_BG)
    assert fuel_ratio(liq, "long", band_pct=3.5) == pytest.approx(near_short / near_long)


def test_ratios_never_divide_by_zero() -> None:
    only_longs = hand_map(100_000, {97_000: 1e6}, {})
    assert math.isinf(fuel_ratio(only_longs, "short"))  # no risk-side notional: unbounded
    assert fuel_ratio(only_longs, "long") == 0.0
    empty = hand_map(100_000, {}, {})
    assert math.isnan(fuel_ratio(empty, "long")) and math.isnan(asymmetry(empty))


def test_cascade_pressure_against_the_book(liq: LiqMap) -> None:
    bids = np.array([[99_500.0, 10.0], [98_000.0, 10.0], [96_000.0, 100.0]])
    asks = np.array([[100_500.0, 5.0], [101_500.0, 5.0]])
    book = OrderBook(bids=bids, asks=asks)
    depth = 99_500 * 10 + 98_000 * 10  # bids between 96,800 and price
    liq_usd = 5e6 + BACKGROUND * sum(p >= 96_800 for p in LONGS_BG)
    assert cascade_pressure(liq, book, 96_800) == pytest.approx(liq_usd / depth)
    up_usd = 3e6 + BACKGROUND * sum(p <= 102_500 for p in SHORTS_BG)
    up_depth = 100_500 * 5 + 101_500 * 5
    assert cascade_pressure(liq, book, 102_500) == pytest.approx(up_usd / up_depth)
    assert math.isinf(cascade_pressure(liq, OrderBook(bids[:0], asks[:0]), 96_800))


def test_stop_goes_beyond_the_far_edge_of_the_nearest_cluster(liq: LiqMap) -> None:
    cl = map_clusters(liq)
    stop = suggest_stop(cl, "long", entry=100_000, buffer_pct=0.4)
    assert stop is not None
    assert stop.price == pytest.approx(cl.below[0].low * 0.996)
    assert stop.price < cl.below[0].low  # never inside the cluster
    assert stop.size_factor is None
    tight = suggest_stop(cl, "long", entry=100_000, max_risk_pct=1.5)
    assert tight is not None and tight.size_factor == pytest.approx(1.5 / tight.distance_pct)
    short = suggest_stop(cl, "short", entry=100_000)
    assert short is not None and short.price == pytest.approx(cl.above[0].high * 1.004)


def test_stop_clears_a_chain_not_only_the_first_cluster() -> None:
    """Clusters stacked within 1% cascade through each other: a stop just beyond the first
    would sit in (or just before) the next; it goes beyond the chain. A 3% gap stops it."""

    def long_cluster(high: float, low: float) -> Cluster:
        return Cluster("long", low, high, (low + high) / 2, 1e6, 0.2)

    def short_cluster(low: float, high: float) -> Cluster:
        return Cluster("short", low, high, (low + high) / 2, 1e6, 0.2)

    chain = MapClusters(
        below=(
            long_cluster(99_000, 98_800),
            long_cluster(98_500, 98_300),
            long_cluster(95_000, 94_800),
        ),
        above=(short_cluster(101_000, 101_200), short_cluster(101_600, 101_800)),
    )
    stop = suggest_stop(chain, "long", entry=100_000)
    assert stop is not None and stop.cluster is chain.below[1]
    assert stop.price == pytest.approx(98_300 * 0.996)  # beyond the second, not the third
    short = suggest_stop(chain, "short", entry=100_000)
    assert short is not None and short.price == pytest.approx(101_800 * 1.004)


def test_own_liquidation_inside_or_just_past_a_cluster(liq: LiqMap) -> None:
    cl = map_clusters(liq)
    inside = check_own_liquidation(97_000, "long", cl)
    assert inside.status == "inside" and inside.cluster is cl.below[0]
    past = check_own_liquidation(cl.below[0].low * 0.998, "long", cl)
    assert past.status == "just-past"
    assert check_own_liquidation(80_000, "long", cl).status == "clear"
    assert check_own_liquidation(102_000, "short", cl).status == "inside"


def test_no_trade_buffer_warns_near_a_major_cluster(liq: LiqMap) -> None:
    cl = map_clusters(liq)
    near = no_trade_warning(cl.below[0].high * 1.003, cl)
    assert near is cl.below[0]
    assert no_trade_warning(100_000, cl) is None


def test_risk_score_forecasts_the_range_from_realised_ranges_and_the_hour() -> None:
    ranges = RecentRanges(day=2.0, four_hours=1.0, hour=0.5)
    us_open = risk_score(ranges, hour_utc=13)
    # ln E = 0.28 ln 2 + 0.20 ln 1 + 0.22 ln 0.5 - 0.07 + 0.28 (13 UTC)
    expected = math.exp(0.28 * math.log(2) + 0.22 * math.log(0.5) - 0.07 + 0.28)
    assert us_open.expected_range_pct == pytest.approx(expected)
    assert us_open.total == pytest.approx(
        round(100 * math.log(expected / 0.3) / math.log(5 / 0.3), 1), abs=0.05
    )
    assert us_open.total == pytest.approx(us_open.volatility + us_open.session, abs=0.05)
    night = risk_score(ranges, hour_utc=3)
    assert night.volatility == us_open.volatility and night.session < 0 < us_open.session
    wilder = risk_score(RecentRanges(6.0, 3.0, 1.5), hour_utc=13)
    assert wilder.total > us_open.total and wilder.range_pct == 6.0
    # a missing range stands in from its neighbour; no candles at all: 0, no forecast
    gap = risk_score(RecentRanges(2.0, 1.0, None), hour_utc=13)
    assert gap.total == risk_score(RecentRanges(2.0, 1.0, 1.0), hour_utc=13).total
    assert risk_score(RecentRanges(None, None, None), 13) == risk_score(None, 13)
    assert risk_score(None, 13).total == 0 and risk_score(None, 13).expected_range_pct is None
    assert risk_score(RecentRanges(90.0, 90.0, 90.0), 13).total == 100
    assert risk_score(RecentRanges(0.01, 0.01, 0.01), 3).total == 0


def test_stacked_clusters_form_a_chain_and_a_gap_stalls_it() -> None:
    longs = {**spread(98_000, 1e6), **spread(97_300, 1e6), **spread(90_000, 1e6)}
    cl = map_clusters(hand_map(100_000, longs, {}))
    chains = cascade_chains(cl.below)
    assert [len(c.clusters) for c in chains] == [2, 1]
    assert chains[0].stalls_after  # 7% gap to the 90,000 cluster
