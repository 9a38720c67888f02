"""market.feeds through real ccxt.async_support against the fake venues in tests/fakes/venues.py."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import numpy as np
import pytest

from liqmap.brackets_data import BINANCE_BRACKETS
from market import units
from market.errors import (
    BadRequestError,
    EmptyResponseError,
    InvalidDataError,
    MalformedResponseError,
    MarketTimeoutError,
    NotSupportedError,
    PermanentMarketError,
    RateLimitedError,
    RetryPolicy,
    TemporaryMarketError,
    UnknownSymbolError,
    VenueUnavailableError,
    retry_async,
)
from market.feeds import VenueFeed
from market.urls import VENUES, override_urls, parse_exchange_urls
from tests.fakes.venues import (
    HOUR,
    OI_SHARE,
    OKX_CT_VAL,
    OKX_TIER_REF_PRICE,
    FakeVenues,
    Market,
    candles,
    fake_venues,
    fake_venues_in_thread,
    funding_series,
    okx_oi_usd,
)

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
OI_VENUES = ("binanceusdm", "bybit", "okx")  # the venues with open-interest history
# Fast ccxt for loopback: no throttling pause, no 250 ms sleep in close().
FAST = {"rateLimit": 1, "timeout": 5000, "timeout_on_exit": 0}
BOOK_PATH = {
    "binanceusdm": "/fapi/v1/depth",
    "bybit": "/v5/market/orderbook",
    "okx": "/api/v5/market/books",
    "bitget": "/api/v2/mix/market/merge-depth",
}
CANDLE_PATH = {
    "binanceusdm": "/fapi/v1/klines",
    "bybit": "/v5/market/kline",
    "okx": "candles",
    "bitget": "candles",
}
MARKETS_PATH = {
    "binanceusdm": "/fapi/v1/exchangeInfo",
    "bybit": "/v5/market/instruments-info",
    "okx": "/api/v5/public/instruments",
    "bitget": "/api/v2/mix/market/contracts",
}


class Sleeps:
    """Injected sleep: records the backoff delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Feeds:
    """Makes feeds pointed at the fakes and closes them all afterwards."""

    def __init__(self, fakes: FakeVenues) -> None:
        self.fakes = fakes
        self.sleeps = Sleeps()
        self.made: list[VenueFeed] = []

    def __call__(self, venue: str, *, timeout_ms: int = 5000, attempts: int = 3) -> VenueFeed:
        feed = VenueFeed(
            venue,
            base_url=self.fakes.urls[venue],
            config={**FAST, "timeout": timeout_ms},
            retry=RetryPolicy(max_attempts=attempts),
            sleep=self.sleeps,
        )
        self.made.append(feed)
        return feed

    async def close(self) -> None:
        for feed in self.made:
            await feed.close()
        assert all(f.exchange.session is None for f in self.made)


@pytest.fixture
async def fakes() -> AsyncIterator[FakeVenues]:
    async with fake_venues() as f:
        yield f
        for venue in f.venues.values():
            assert venue.server_errors == [], venue.server_errors


@pytest.fixture
async def feeds(fakes: FakeVenues) -> AsyncIterator[Feeds]:
    made = Feeds(fakes)
    yield made
    await made.close()


def served(fakes: FakeVenues, venue: str, path: str) -> Any:
    """The JSON body of the last 200 answer on ``path``."""
    ok = [r for r in fakes[venue].requests(path) if r.status == 200]
    assert ok, f"{venue} served nothing on {path}"
    return ok[-1].json()


# --- every method, every venue -----------------------------------------------------------------


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize(("symbol", "timeframe"), [(BTC, "1h"), (BTC, "5m"), (ETH, "1h")])
async def test_candles(
    fakes: FakeVenues, feeds: Feeds, venue: str, symbol: str, timeframe: str
) -> None:
    step = {"1h": HOUR, "5m": 5 * 60_000}[timeframe]
    since = fakes.now_ms - 30 * step
    got = await feeds(venue).candles(symbol, timeframe, since, 20)

    src = candles(symbol[:3], timeframe)
    assert src is not None
    i = int(np.searchsorted(src.t, since))
    assert len(got) == 20
    np.testing.assert_array_equal(got.time, src.t[i : i + 20])
    np.testing.assert_array_equal(got.open, src.o[i : i + 20])
    np.testing.assert_array_equal(got.high, src.h[i : i + 20])
    np.testing.assert_array_equal(got.low, src.low[i : i + 20])
    np.testing.assert_array_equal(got.close, src.c[i : i + 20])
    np.testing.assert_allclose(got.volume, src.v[i : i + 20], rtol=1e-12)  # OKX: volCcy, base
    if venue == "binanceusdm" and (symbol, timeframe) == (BTC, "1h"):
        np.testing.assert_array_equal(got.taker_buy, src.taker_base[i : i + 20])
        assert np.all(got.taker_buy <= got.volume)
    else:
        assert np.all(np.isnan(got.taker_buy))
    assert not got.close.flags.writeable


async def test_replay_clock_serves_only_closed_candles(fakes: FakeVenues, feeds: Feeds) -> None:
    feed = feeds("binanceusdm")
    now = fakes.now_ms
    got = await feed.candles(BTC, "1h", now - 5 * HOUR, 100)
    assert list(got.time) == [now - k * HOUR for k in (5, 4, 3, 2, 1)]
    fakes.now_ms = now + 2 * HOUR + 30 * 60_000  # the candle opened at now+2h is not closed yet
    got = await feed.candles(BTC, "1h", now - 5 * HOUR, 100)
    assert got.time[-1] == now + HOUR
    before = await feed.funding(BTC)
    fakes.now_ms = before.next_time + 1
    after = await feed.funding(BTC)
    assert after.next_time == before.next_time + 8 * HOUR


@pytest.mark.parametrize("venue", OI_VENUES)
async def test_open_interest_history(fakes: FakeVenues, feeds: Feeds, venue: str) -> None:
    since = fakes.now_ms - 24 * HOUR
    got = await feeds(venue).open_interest_history(BTC, "1h", since, 12)

    assert len(got) == 12
    assert list(got.time_ms) == [since + k * HOUR for k in range(12)]
    times, usd = okx_oi_usd()
    expected_usd = OI_SHARE[venue] * np.interp(got.time_ms, times, usd)
    # Binance and OKX report USD; Bybit's USD is base * the candle close at each snapshot.
    np.testing.assert_allclose(got.usd, expected_usd, rtol=1e-6)
    prices = np.array([Market.price_at("BTC", int(t)) for t in got.time_ms])
    np.testing.assert_allclose(got.base * prices, got.usd, rtol=1e-6)
    if venue == "okx":  # contracts -> BTC -> USD equals what the venue served
        rows = sorted(served(fakes, "okx", "open-interest-history")["data"])
        contracts = np.array([float(r[1]) for r in rows])
        np.testing.assert_allclose(got.base, contracts * OKX_CT_VAL["BTC"], rtol=1e-12)
        np.testing.assert_allclose(got.base, [float(r[2]) for r in rows], rtol=1e-9)
        np.testing.assert_allclose(got.usd, [float(r[3]) for r in rows], rtol=1e-12)


async def test_bitget_has_no_open_interest_history(fakes: FakeVenues, feeds: Feeds) -> None:
    with pytest.raises(NotSupportedError, match="snapshots"):
        await feeds("bitget").open_interest_history(BTC, "1h", fakes.now_ms - HOUR, 10)
    assert fakes["bitget"].request_log == []  # decided locally, nothing asked, nothing retried
    assert feeds.sleeps.delays == []


@pytest.mark.parametrize("venue", VENUES)
async def test_open_interest_now(fakes: FakeVenues, feeds: Feeds, venue: str) -> None:
    got = await feeds(venue).open_interest(BTC)

    times, usd = okx_oi_usd()
    expected_usd = OI_SHARE[venue] * float(np.interp(fakes.now_ms, times, usd))
    assert got.usd == pytest.approx(expected_usd, rel=1e-6)
    price = Market.price_at("BTC", fakes.now_ms)
    assert price is not None
    assert got.base * price == pytest.approx(got.usd, rel=1e-6)
    if venue == "okx":
        row = served(fakes, "okx", "/api/v5/public/open-interest")["data"][0]
        assert got.price is None  # OKX's own oiUsd
        assert got.base == pytest.approx(float(row["oi"]) * OKX_CT_VAL["BTC"], rel=1e-12)
        assert got.base == pytest.approx(float(row["oiCcy"]), rel=1e-9)
        assert got.usd == float(row["oiUsd"])
    else:
        assert got.price == price  # base * ticker price


async def test_open_interest_shares_look_like_a_market(feeds: Feeds) -> None:
    got = {v: (await feeds(v).open_interest(BTC)).usd for v in VENUES}
    total = sum(got.values())
    for venue, usd in got.items():
        assert usd / total == pytest.approx(OI_SHARE[venue], rel=1e-6)


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("symbol", [BTC, ETH])
async def test_funding(fakes: FakeVenues, feeds: Feeds, venue: str, symbol: str) -> None:
    got = await feeds(venue).funding(symbol)

    t, rate, hours = funding_series(symbol[:3])
    last = int(np.searchsorted(t, fakes.now_ms, side="right")) - 1
    assert got.rate == pytest.approx(rate[last], abs=1e-12)
    assert got.interval_h == hours == 8.0
    assert fakes.now_ms < got.next_time <= fakes.now_ms + 8 * HOUR


@pytest.mark.parametrize("venue", VENUES)
async def test_funding_history(fakes: FakeVenues, feeds: Feeds, venue: str) -> None:
    since = fakes.now_ms - 3 * 24 * HOUR
    got = await feeds(venue).funding_history(BTC, since, 9)

    t, rate, _ = funding_series("BTC")
    keep = (t >= since) & (t <= fakes.now_ms)
    # Bitget ignores `since` server-side and pages from the newest settlement.
    want_t, want_r = (
        (t[keep][-9:], rate[keep][-9:]) if venue == "bitget" else (t[keep][:9], rate[keep][:9])
    )
    np.testing.assert_array_equal(got.time_ms, want_t)
    np.testing.assert_allclose(got.rate, want_r, rtol=0, atol=1e-15)


@pytest.mark.parametrize("venue", VENUES)
async def test_order_book_in_base_units(fakes: FakeVenues, feeds: Feeds, venue: str) -> None:
    got = await feeds(venue).order_book(BTC, 50)

    expected = Market.book("BTC", fakes.now_ms, 50)
    assert expected is not None
    for side, want in zip((got.bids, got.asks), expected, strict=True):
        assert side.shape == (50, 2)
        np.testing.assert_allclose(side[:, 0], want[:, 0], rtol=1e-12)
        np.testing.assert_allclose(side[:, 1], want[:, 1], rtol=1e-8)  # OKX: contracts*0.01
    assert got.bids[0, 0] < got.asks[0, 0]
    if venue == "okx":  # the wire said contracts: 100x the base amount
        wire = served(fakes, "okx", "/api/v5/market/books")["data"][0]["bids"]
        assert float(wire[0][1]) == pytest.approx(got.bids[0, 1] / OKX_CT_VAL["BTC"], rel=1e-9)


@pytest.mark.parametrize("venue", VENUES)
async def test_leverage_tiers(fakes: FakeVenues, feeds: Feeds, venue: str) -> None:
    got = await feeds(venue).leverage_tiers(ETH)

    brackets = np.array(BINANCE_BRACKETS[ETH])
    if venue == "binanceusdm":
        assert got is None  # needs keys; the caller uses liqmap.brackets_data
        assert fakes[venue].request_log == []
        return
    assert got is not None
    np.testing.assert_allclose(got.maintenance_margin_rate, brackets[:, 2])
    np.testing.assert_allclose(got.max_leverage, brackets[:, 3])
    if venue == "okx":  # OKX tiers count contracts: converted to ETH
        assert got.unit == "base"
        np.testing.assert_allclose(got.cap, brackets[:, 1] / OKX_TIER_REF_PRICE["ETH"])
    else:
        assert got.unit == "usd"
        np.testing.assert_allclose(got.floor, brackets[:, 0])
        np.testing.assert_allclose(got.cap, brackets[:, 1])


@pytest.mark.parametrize("venue", VENUES)
async def test_market_loading_endpoints(fakes: FakeVenues, feeds: Feeds, venue: str) -> None:
    await feeds(venue).load_markets()
    log = fakes[venue].request_log
    assert {r.path for r in log} == {MARKETS_PATH[venue]}
    queries = sorted(json.dumps(r.query, sort_keys=True) for r in log)
    by_venue: dict[str, list[dict[str, str]]] = {
        "binanceusdm": [{}],
        # ccxt asks for live and pre-launch linear instruments
        "bybit": [
            {"category": "linear", "limit": "1000"},
            {"category": "linear", "limit": "1000", "status": "PreLaunch"},
        ],
        "okx": [{"instType": "SWAP"}],
        "bitget": [{"productType": "USDT-FUTURES"}],  # not the five other product types
    }
    assert queries == sorted(json.dumps(q, sort_keys=True) for q in by_venue[venue])


async def test_concurrent_calls_share_one_market_load(fakes: FakeVenues, feeds: Feeds) -> None:
    feed = feeds("bybit")
    results = await asyncio.gather(
        feed.candles(BTC, "1h", fakes.now_ms - 10 * HOUR, 5),
        feed.candles(ETH, "1h", fakes.now_ms - 10 * HOUR, 5),
        feed.open_interest(BTC),
        feed.funding(BTC),
        feed.funding_history(ETH, fakes.now_ms - 2 * 24 * HOUR, 3),
        feed.order_book(ETH, 20),
        feed.leverage_tiers(BTC),
        feed.open_interest_history(BTC, "1h", fakes.now_ms - 5 * HOUR, 4),
    )
    assert all(r is not None for r in results)
    assert len(fakes["bybit"].requests("instruments-info")) == 2


# --- faults ------------------------------------------------------------------------------------

TEMPORARY = [
    pytest.param("status", {"status": 429}, ccxt.DDoSProtection, RateLimitedError, id="429"),
    pytest.param(
        "status", {"status": 502}, ccxt.ExchangeNotAvailable, VenueUnavailableError, id="502"
    ),
    pytest.param("malformed", {}, ccxt.BadResponse, MalformedResponseError, id="malformed"),
    pytest.param("empty_body", {}, ccxt.BadResponse, MalformedResponseError, id="empty_body"),
]


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize(("kind", "extra", "ccxt_cls", "ours"), TEMPORARY)
async def test_temporary_fault_is_retried_then_succeeds(
    fakes: FakeVenues,
    feeds: Feeds,
    venue: str,
    kind: str,
    extra: dict[str, Any],
    ccxt_cls: type,
    ours: type,
) -> None:
    feed = feeds(venue)
    fault = fakes[venue].inject(kind, path=BOOK_PATH[venue], times=2, **extra)  # type: ignore[arg-type]
    book = await feed.order_book(BTC, 20)
    assert book.bids.shape == (20, 2)
    assert fault.hits == 2
    assert len(feeds.sleeps.delays) == 2
    assert feeds.sleeps.delays[1] >= feeds.sleeps.delays[0] * 0.5  # growing, with jitter


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize(("kind", "extra", "ccxt_cls", "ours"), TEMPORARY)
async def test_persistent_temporary_fault_gives_up_with_project_error(
    fakes: FakeVenues,
    feeds: Feeds,
    venue: str,
    kind: str,
    extra: dict[str, Any],
    ccxt_cls: type,
    ours: type,
) -> None:
    feed = feeds(venue, attempts=3)
    fakes[venue].inject(kind, path=BOOK_PATH[venue], times=None, **extra)  # type: ignore[arg-type]
    with pytest.raises(ours) as info:
        await feed.order_book(BTC, 20)
    assert isinstance(info.value, TemporaryMarketError)
    assert isinstance(info.value.__cause__, ccxt_cls | ccxt.RateLimitExceeded)
    assert info.value.venue == venue and info.value.operation == "order_book"
    assert len(fakes[venue].requests(BOOK_PATH[venue])) == 3
    assert len(feeds.sleeps.delays) == 2


@pytest.mark.parametrize("status", [429, 418])
async def test_binance_429_and_418_are_ddos_protection(
    fakes: FakeVenues, feeds: Feeds, status: int
) -> None:
    feed = feeds("binanceusdm", attempts=2)
    fakes["binanceusdm"].inject("status", status=status, times=None, path="/fapi/v1/klines")
    with pytest.raises(RateLimitedError) as info:
        await feed.candles(BTC, "1h", fakes.now_ms - 3 * HOUR, 2)
    assert type(info.value.__cause__) is ccxt.DDoSProtection
    # rate limiting backs off 4x longer than other temporary errors
    assert feeds.sleeps.delays[0] >= RetryPolicy().base_delay_s * 4 * 0.5


@pytest.mark.parametrize("venue", VENUES)
async def test_timeout_is_retried(fakes: FakeVenues, feeds: Feeds, venue: str) -> None:
    feed = feeds(venue, timeout_ms=300)
    await feed.load_markets()
    fault = fakes[venue].inject("timeout", path=BOOK_PATH[venue], times=1, delay_s=3)
    book = await feed.order_book(BTC, 5)
    assert len(book.asks) == 5 and fault.hits == 1
    assert len(feeds.sleeps.delays) == 1


async def test_persistent_timeout_raises_timeout_error(fakes: FakeVenues, feeds: Feeds) -> None:
    feed = feeds("okx", timeout_ms=200, attempts=2)
    fakes["okx"].inject("timeout", path="funding-rate", times=None, delay_s=3)
    with pytest.raises(MarketTimeoutError):
        await feed.funding(BTC)


@pytest.mark.parametrize("venue", VENUES)
async def test_market_loading_is_retried(fakes: FakeVenues, feeds: Feeds, venue: str) -> None:
    fakes[venue].inject("status", status=503, path=MARKETS_PATH[venue], times=1)
    fakes[venue].inject("empty_data", path=MARKETS_PATH[venue], times=2)  # no instruments listed
    got = await feeds(venue, attempts=4).funding(BTC)
    assert math.isfinite(got.rate)
    if venue == "bybit":  # two concurrent instrument requests per load share the faults
        assert 1 <= len(feeds.sleeps.delays) <= 3
    else:
        assert len(feeds.sleeps.delays) == 3


@pytest.mark.parametrize("venue", VENUES)
async def test_empty_rows_raise(fakes: FakeVenues, feeds: Feeds, venue: str) -> None:
    fakes[venue].inject("empty_data", path=CANDLE_PATH[venue], times=None)
    with pytest.raises(EmptyResponseError):
        await feeds(venue).candles(BTC, "1h", fakes.now_ms - 5 * HOUR, 3)
    fakes[venue].inject("empty_data", path=BOOK_PATH[venue], times=None)
    with pytest.raises(MalformedResponseError):  # empty book: EmptyResponseError or a crash
        await feeds(venue).order_book(BTC, 5)


@pytest.mark.parametrize("venue", VENUES)
async def test_corrupt_rows_raise(fakes: FakeVenues, feeds: Feeds, venue: str) -> None:
    fakes[venue].inject("corrupt", path=CANDLE_PATH[venue], times=None)
    with pytest.raises(InvalidDataError, match="positive"):
        await feeds(venue).candles(BTC, "1h", fakes.now_ms - 5 * HOUR, 3)
    fakes[venue].inject("corrupt", path=BOOK_PATH[venue], times=None)
    with pytest.raises(InvalidDataError):
        await feeds(venue).order_book(BTC, 5)


@pytest.mark.parametrize("venue", VENUES)
async def test_symbol_missing_on_a_venue(fakes: FakeVenues, feeds: Feeds, venue: str) -> None:
    fakes[venue].hide_symbol("ETH")
    feed = feeds(venue)
    with pytest.raises(UnknownSymbolError):
        await feed.candles(ETH, "1h", fakes.now_ms - 5 * HOUR, 3)
    assert feeds.sleeps.delays == []  # permanent: not retried
    assert {r.path for r in fakes[venue].request_log} == {MARKETS_PATH[venue]}
    assert len(await feed.candles(BTC, "1h", fakes.now_ms - 5 * HOUR, 3)) == 3


@pytest.mark.parametrize("venue", ["binanceusdm", "okx", "bybit"])
async def test_venue_side_unknown_symbol_is_permanent(
    fakes: FakeVenues, feeds: Feeds, venue: str
) -> None:
    feed = feeds(venue)
    await feed.load_markets()
    fakes[venue].hide_symbol("ETH")  # delisted after we loaded markets
    with pytest.raises(UnknownSymbolError):
        await feed.order_book(ETH, 5)
    assert feeds.sleeps.delays == []


async def test_bad_arguments_are_permanent(fakes: FakeVenues, feeds: Feeds) -> None:
    feed = feeds("binanceusdm")
    with pytest.raises(BadRequestError, match="timeframe"):
        await feed.candles(BTC, "7m", None, 3)
    with pytest.raises(UnknownSymbolError):
        await feed.funding("DOGE/USDT:USDT")
    with pytest.raises(ValueError, match="valid venues"):
        VenueFeed("kraken")
    assert feeds.sleeps.delays == []


async def test_fakes_in_background_thread() -> None:
    with fake_venues_in_thread() as fakes:
        async with VenueFeed("okx", base_url=fakes.urls["okx"], config=FAST) as feed:
            got = await feed.candles(BTC, "1h", fakes.now_ms - 3 * HOUR, 3)
        assert len(got) == 3
        assert feed.exchange.session is None


# --- urls ---------------------------------------------------------------------------------------


def _leaves(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _leaves(v)]
    if isinstance(node, list):
        return [s for v in node for s in _leaves(v)]
    return [node] if isinstance(node, str) else []


@pytest.mark.parametrize("venue", VENUES)
async def test_override_urls_maps_every_url(venue: str) -> None:
    exchange = getattr(ccxt_async, venue)({"timeout_on_exit": 0})
    try:
        override_urls(exchange, "http://127.0.0.1:8001/")
        leaves = _leaves(exchange.urls["api"])
        assert leaves
        for url in leaves:
            assert url.startswith("http://127.0.0.1:8001"), url
            for host in ("binance.com", "bybit.com", "okx.com", "bitget.com", "{hostname}"):
                assert host not in url
    finally:
        await exchange.close()


def test_override_urls_keeps_paths() -> None:
    exchange = ccxt.binanceusdm()
    override_urls(exchange, "http://127.0.0.1:8001")
    api = exchange.urls["api"]
    assert api["fapiPublic"] == "http://127.0.0.1:8001/fapi/v1"
    assert api["fapiPublicV2"] == "http://127.0.0.1:8001/fapi/v2"
    assert api["fapiData"] == "http://127.0.0.1:8001/futures/data"
    assert api["public"] == "http://127.0.0.1:8001/api/v3"
    okx = ccxt.okx()
    override_urls(okx, "http://proxy.local:9000/okx")  # a path prefix is kept
    assert okx.urls["api"] == {"rest": "http://proxy.local:9000/okx"}
    with pytest.raises(ValueError):
        override_urls(okx, "ftp://127.0.0.1")


def test_parse_exchange_urls() -> None:
    text = '{"binanceusdm": "http://127.0.0.1:8001/", "okx": "https://okx.mirror"}'
    assert parse_exchange_urls(text) == {
        "binanceusdm": "http://127.0.0.1:8001",
        "okx": "https://okx.mirror",
    }
    assert parse_exchange_urls("") == {}
    with pytest.raises(ValueError, match="binanceusdm, bybit, okx, bitget"):
        parse_exchange_urls('{"binance": "http://127.0.0.1:1"}')
    for bad in ("[1]", "{", '{"okx": 5}', '{"okx": "127.0.0.1:8000"}'):
        with pytest.raises(ValueError):
            parse_exchange_urls(bad)


# --- retry helper and units ---------------------------------------------------------------------


def _flaky(failures: list[Exception], result: str = "ok") -> Callable[[], Awaitable[str]]:
    async def op() -> str:
        if failures:
            raise failures.pop(0)
        return result

    return op


async def test_retry_backoff_and_limits() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=4, base_delay_s=0.5, max_delay_s=1.5, jitter=0.5)
    op = _flaky([TemporaryMarketError("a"), TemporaryMarketError("b"), RateLimitedError("c")])
    assert await retry_async(op, policy, sleep=sleeps, rng=lambda: 0.0) == "ok"
    assert sleeps.delays == [0.5, 1.0, 1.5]  # doubling, capped; rate limit x4 then capped

    sleeps.delays.clear()
    op = _flaky([TemporaryMarketError("a")] * 5)
    with pytest.raises(TemporaryMarketError):
        await retry_async(op, policy, sleep=sleeps, rng=lambda: 1.0)
    assert sleeps.delays == [0.25, 0.5, 0.75]  # full jitter halves the delay

    sleeps.delays.clear()
    op = _flaky([UnknownSymbolError("x"), TemporaryMarketError("never reached")])
    with pytest.raises(PermanentMarketError):
        await retry_async(op, policy, sleep=sleeps)
    assert sleeps.delays == []


def test_units() -> None:
    assert units.contracts_to_base(150.0, 0.01) == pytest.approx(1.5)
    np.testing.assert_allclose(units.contracts_to_base(np.array([1.0, 10.0]), 0.1), [0.1, 1.0])
    assert units.base_to_usd(2.0, 100_000.0) == 200_000.0
    with pytest.raises(ValueError):
        units.contracts_to_base(1.0, 0.0)
    okx = {"openInterestAmount": 120_000.0, "baseVolume": 1_200.0, "openInterestValue": 1.3e8}
    assert units.open_interest_base("okx", okx, 0.01) == pytest.approx(1_200.0)
    assert units.open_interest_usd(okx, 1_200.0, None) == 1.3e8
    with pytest.raises(ValueError, match="oiCcy"):
        units.open_interest_base("okx", {**okx, "baseVolume": 12.0}, 0.01)
    bybit = {"openInterestAmount": 50_000.0, "openInterestValue": None}
    assert units.open_interest_base("bybit", bybit, 1.0) == 50_000.0
    assert units.open_interest_usd(bybit, 50_000.0, 100.0) == 5_000_000.0
    assert math.isnan(units.open_interest_usd(bybit, 50_000.0, None))
    assert units.venue_units("okx").book_amount == "contracts"
