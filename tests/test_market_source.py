"""One contract, two sources: the replay over the bundled data and the live store over a history
the real refresher recorded from the fake venues (real ccxt, a real SQLite file). Every test runs
against both, so a caller of ``market.source.MarketSource`` never needs to know which it has."""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from alerts.inputs import metrics_from_map
from bot.pipeline.live_store import LiveStore
from bot.pipeline.refresh import Refresher
from bot.views.report import make_report
from liqmap.times import DAY_MS, HOUR_MS
from market.replay import DEFAULT_AT, ReplaySource
from market.snapshot import Funding, MarketDataError, VenueStatus
from market.source import MarketSource
from storage import open_db
from storage.market_history import upsert_funding
from tests.fakes.venues import fake_venues, fast_feeds

LIVE_AT = int(datetime(2025, 10, 21, tzinfo=UTC).timestamp() * 1000)
LIVE_VENUES = ["binanceusdm", "okx"]


@dataclass(frozen=True)
class Case:
    source: MarketSource
    at: int  # a moment the source has a full 1d window for
    timeframe: str  # a timeframe it serves for BTC


async def _record(path: Path) -> Refresher:
    """What the running bot does before its first map: one backfill from the venues."""
    async with fake_venues(now_ms=LIVE_AT) as fakes:
        refresher = Refresher(
            open_db(path),
            fast_feeds(fakes, LIVE_VENUES),
            ["BTC/USDT:USDT"],
            backfill_days=1.1,
            retention_days=45,
        )
        try:
            assert not (await refresher.refresh(LIVE_AT)).failed
        finally:
            await refresher.close()
    return refresher


@pytest.fixture(scope="module", params=["replay", "live"])
def case(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Case]:
    if request.param == "replay":
        yield Case(ReplaySource(), DEFAULT_AT, "5m")
        return
    path = tmp_path_factory.mktemp("live") / "liqbot.db"
    refresher = asyncio.run(_record(path))
    store = LiveStore(open_db(path), LIVE_VENUES, ["BTC"], refresher, refresh_ms=300_000)
    yield Case(store, LIVE_AT, "5m")


# Every member of the protocol, and the parameters its methods take.
MEMBERS = {
    name: member
    for name, member in vars(MarketSource).items()
    if not name.startswith("_") and (callable(member) or isinstance(member, property))
}


def test_the_contract_names_every_call() -> None:
    assert set(MEMBERS) == {
        "name",
        "venues",
        "symbols",
        "version",
        "resolve",
        "snapshot",
        "window_candles",
        "candles",
        "oi_change",
        "funding_p95",
        "status",
        "optional_status",
    }


@pytest.mark.parametrize("member", sorted(MEMBERS))
def test_each_source_serves_each_call_with_its_signature(case: Case, member: str) -> None:
    declared = MEMBERS[member]
    got = getattr(type(case.source), member, None)
    if got is None:  # an attribute set per instance (the live store's venues)
        got = getattr(case.source, member)
    if isinstance(declared, property):
        assert not callable(got) or isinstance(got, property), f"{member} should be a value"
        return
    wanted = list(inspect.signature(declared).parameters)
    params = list(inspect.signature(got).parameters)
    assert params == wanted, f"{type(case.source).__name__}.{member}{params} != {wanted}"


def test_names_venues_symbols_and_version(case: Case) -> None:
    s = case.source
    assert s.name in ("demo", "live")
    assert s.venues and all(isinstance(v, str) for v in s.venues)
    assert "BTC/USDT:USDT" in s.symbols
    assert isinstance(s.version, int) and s.version == s.version  # no new data: unchanged


def test_resolve_unifies_and_refuses_unknown_symbols(case: Case) -> None:
    assert case.source.resolve("btc") == "BTC/USDT:USDT"
    with pytest.raises(MarketDataError, match="unknown symbol"):
        case.source.resolve("NOPE")


def test_a_snapshot_holds_only_what_was_known_then(case: Case) -> None:
    snap = case.source.snapshot("BTC", "1d", case.at)
    assert (snap.symbol, snap.window, snap.at) == ("BTC/USDT:USDT", "1d", case.at)
    assert snap.venues and {v.venue for v in snap.venues} <= set(case.source.venues)
    for v in snap.venues:
        assert int(v.candles.close_time[-1]) <= case.at
        assert int(v.candles.time[0]) >= case.at - DAY_MS
    assert snap.funding is None or isinstance(snap.funding, Funding)
    with pytest.raises(MarketDataError):
        case.source.snapshot("BTC", "2w", case.at)


def test_window_candles_and_candles_agree_on_the_span(case: Case) -> None:
    window, timeframe = case.source.window_candles("BTC", "1d", case.at)
    assert len(window) and int(window.close_time[-1]) <= case.at
    since, until = case.at - 6 * HOUR_MS, case.at
    c = case.source.candles("BTC", case.timeframe, since, until)
    assert len(c) and int(c.time[0]) >= since and int(c.close_time[-1]) <= until
    assert np.all(np.diff(c.time) > 0)
    assert timeframe in ("5m", "15m", "1h")


def test_oi_change_funding_percentile_and_status(case: Case) -> None:
    change = case.source.oi_change("BTC", case.at, 4)
    assert change is None or math.isfinite(change)
    p95 = case.source.funding_p95("BTC", case.at)
    assert p95 is None or (math.isfinite(p95) and p95 >= 0)
    rows = case.source.status(case.at)
    assert rows and all(isinstance(r, VenueStatus) for r in rows)
    assert {r.symbol for r in rows} == set(case.source.symbols)
    assert {r.venue for r in rows} <= set(case.source.venues)
    assert all(isinstance(line, str) for line in case.source.optional_status())


def test_the_funding_percentile_is_per_8h_and_read_as_is(tmp_path: Path) -> None:
    """Settlements every 4 h: the source converts each by its own interval, and the rules take the
    figure as it comes (it used to be converted a second time by the current interval)."""
    db = open_db(tmp_path / "funding.db")
    at = LIVE_AT
    times = [at - k * 4 * HOUR_MS for k in range(12)]
    upsert_funding(db, "binanceusdm", "BTC/USDT:USDT", times, np.full(12, 0.0002), 4.0)
    store = LiveStore(db, ["binanceusdm"], ["BTC"], None, refresh_ms=300_000)
    assert store.funding_p95("BTC", at) == pytest.approx(0.0004)  # 0.02% per 4 h = 0.04% per 8 h
    report = make_report(ReplaySource(), "BTC", "1d", DEFAULT_AT)
    m = metrics_from_map(
        report.liq,
        report.clusters,
        funding_rate=0.0002,
        funding_interval_h=4.0,
        funding_p95_abs=0.0004,
    )
    assert m.funding_rate == pytest.approx(0.0004) and m.funding_p95 == pytest.approx(0.0004)
