"""The live path: refresh from the fake venues (real ccxt) into SQLite, then maps from the store.

Backfill then incremental; idempotent upserts; aggregation with a venue missing; OI change only
over venues present at both ends; stale venues; malformed answers never stored; bad settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import ValidationError

from bot.pipeline.live import VenueChoiceError, parse_venues
from bot.pipeline.live_store import LiveStore
from bot.pipeline.refresh import STALE_AFTER, Refresher
from bot.settings import Settings
from bot.views.report import build_report
from market.aggregate import oi_change
from storage import open_db
from tests.fakes.venues import FakeVenues, fake_venues, fake_venues_in_thread, fast_feeds

NOW = int(datetime(2025, 10, 21, tzinfo=UTC).timestamp() * 1000)
MIN = 60_000
SYMBOL = "BTC/USDT:USDT"
VENUES = ["binanceusdm", "bybit", "okx", "bitget"]


@pytest.fixture
async def fakes() -> AsyncIterator[FakeVenues]:
    async with fake_venues(now_ms=NOW) as f:
        yield f


@pytest.fixture
async def live(fakes: FakeVenues) -> AsyncIterator[tuple[Refresher, LiveStore]]:
    db = open_db(":memory:")
    feeds = fast_feeds(fakes, VENUES)
    refresher = Refresher(db, feeds, [SYMBOL], backfill_days=1.5, retention_days=45)
    store = LiveStore(db, VENUES, ["BTC"], refresher, refresh_ms=5 * MIN)
    yield refresher, store
    await refresher.close()


def count(store: LiveStore, venue: str) -> int:
    return int(
        store.db.execute("select count(*) from candles where venue = ?", [venue]).fetchone()[0]
    )


async def test_backfill_then_incremental_then_idempotent(
    fakes: FakeVenues, live: tuple[Refresher, LiveStore]
) -> None:
    refresher, store = live
    first = await refresher.refresh(NOW)
    assert not first.failed, first.failed
    backfilled = {v: count(store, v) for v in VENUES}
    assert all(n == 1.5 * 288 for n in backfilled.values()), backfilled  # 36h of closed 5m candles

    fakes.now_ms = NOW + 15 * MIN
    second = await refresher.refresh(NOW + 15 * MIN)
    assert not second.failed
    assert {v: count(store, v) - backfilled[v] for v in VENUES} == dict.fromkeys(VENUES, 3)
    # incremental: one candle page, one OI page (Bitget: one snapshot), funding, maybe the book
    assert all(o.requests <= 5 for o in second.outcomes), [
        (o.venue, o.requests) for o in second.outcomes
    ]

    again = await refresher.refresh(NOW + 15 * MIN)  # the same moment: nothing new, no duplicate
    assert not again.failed
    assert {v: count(store, v) for v in VENUES} == {v: backfilled[v] + 3 for v in VENUES}


async def test_map_from_the_store_names_its_venues(
    fakes: FakeVenues, live: tuple[Refresher, LiveStore]
) -> None:
    refresher, store = live
    fakes["okx"].hide_symbol("BTC")  # BTC missing on one venue
    await refresher.refresh(NOW)
    snap = store.snapshot("BTC", "1d", NOW)
    assert {v.venue for v in snap.venues} == {"binanceusdm", "bybit", "bitget"}
    assert "okx" in snap.left_out
    report = build_report(snap)
    assert report.venues == ("binanceusdm", "bybit")  # bitget: only OI snapshots so far
    assert report.left_out["bitget"] == "no OI history yet"
    assert report.liq.model == "oi-delta" and report.liq.total_long > 0
    assert report.open_interest_usd is not None and report.book is not None


async def test_oi_change_ignores_a_venue_that_disappeared(
    fakes: FakeVenues, live: tuple[Refresher, LiveStore]
) -> None:
    refresher, store = live
    await refresher.refresh(NOW)
    later = NOW + 4 * 60 * MIN
    fakes.now_ms = later
    fakes["binanceusdm"].hide_symbol("BTC")  # the biggest venue vanishes for the later refresh
    await refresher.refresh(later)
    change = store.oi_change("BTC", later, 4)
    assert change is not None
    # the same computed by hand over the venues present at both ends
    per_venue = {}
    for v in ("bybit", "okx"):
        t, _, usd = (
            np.array(x)
            for x in zip(
                *store.db.execute(
                    "select time, oi_base, oi_usd from open_interest "
                    "where venue = ? and timeframe = '5m' "
                    "order by time",
                    [v],
                ).fetchall(),
                strict=True,
            )
        )
        per_venue[v] = (t.astype(np.int64), usd)
    expected, used = oi_change(per_venue, later, 4, tolerance_ms=store.max_age_ms)
    assert used == ("bybit", "okx") and change == pytest.approx(expected)
    assert change > -0.15  # Binance's missing 45% must not read as an OI collapse


def test_oi_change_counts_only_venues_present_at_both_ends() -> None:
    h = 3_600_000
    t = np.array([0, 4 * h], dtype=np.int64)
    series = {
        "a": (t, np.array([100.0, 90.0])),  # fell 10%
        "b": (t[:1], np.array([400.0])),  # gone at the end: must not count as a drop
    }
    change, used = oi_change(series, 4 * h, 4)
    assert used == ("a",) and change == pytest.approx(-0.10)
    assert oi_change({"b": (t[:1], np.array([400.0]))}, 4 * h, 4) == (None, ())


async def test_failing_venue_turns_stale_and_the_map_says_so(
    fakes: FakeVenues, live: tuple[Refresher, LiveStore]
) -> None:
    refresher, store = live
    await refresher.refresh(NOW)
    fakes["bybit"].inject("status", status=502, times=None)
    at = NOW
    for _ in range(STALE_AFTER):
        at += 5 * MIN
        fakes.now_ms = at
        report = await refresher.refresh(at)
        assert [o.venue for o in report.failed] == ["bybit"]
    snap = store.snapshot("BTC", "1d", at)
    assert snap.stale == ("bybit",)
    assert any(r.venue == "bybit" and r.stale for r in store.status(at))
    fakes["bybit"].clear_faults()
    at += 5 * MIN
    fakes.now_ms = at
    assert not (await refresher.refresh(at)).failed
    assert store.snapshot("BTC", "1d", at).stale == ()


async def test_malformed_answer_is_never_stored(
    fakes: FakeVenues, live: tuple[Refresher, LiveStore]
) -> None:
    refresher, store = live
    await refresher.refresh(NOW)
    before = count(store, "binanceusdm")
    fakes.now_ms = NOW + 10 * MIN
    fakes["binanceusdm"].inject("corrupt", path="klines", times=None)
    report = await refresher.refresh(NOW + 10 * MIN)
    assert [o.venue for o in report.failed] == ["binanceusdm"]
    assert count(store, "binanceusdm") == before
    assert store.db.execute("select min(low) from candles").fetchone()[0] > 0


def test_unknown_venues_are_named_with_the_valid_choices() -> None:
    with pytest.raises(VenueChoiceError, match="choose from binanceusdm, bybit, okx, bitget"):
        parse_venues("binanceusdm,kraken", ["okx"])
    choices = "'binanceusdm', 'bybit', 'okx' or 'bitget'"
    with pytest.raises(ValidationError, match=choices):
        Settings(venues="ftx")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=choices):
        Settings(exchange_urls={"mtgox": "http://127.0.0.1:1"})
    with pytest.raises(ValidationError, match="URL scheme should be"):
        Settings(exchange_urls={"okx": "ftp://127.0.0.1:1"})


def test_cli_live_source_against_the_fake_venues(tmp_path: object) -> None:
    with fake_venues_in_thread(now_ms=NOW) as fakes:
        env = dict(
            os.environ,
            LIQBOT_EXCHANGE_URLS=json.dumps(fakes.urls),
            LIQBOT_DB_PATH=str(tmp_path) + "/live.db",
            LIQBOT_BACKFILL_DAYS="1.2",
        )
        args = [
            sys.executable,
            "-m",
            "bot.cli",
            "map",
            "BTC",
            "--source",
            "live",
            "--at",
            "2025-10-21T00:00Z",
            "--exchanges",
            "binanceusdm,okx",
            "--json",
        ]
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        data = json.loads(r.stdout)
        assert data["venues"] == ["binanceusdm", "okx"] and data["model"] == "oi-delta"
        bad = subprocess.run(
            [*args[:-3], "--exchanges", "kraken"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert bad.returncode == 2 and "choose from binanceusdm" in bad.stderr


def test_symbols_are_checked_against_the_venues_markets(tmp_path: object) -> None:
    with fake_venues_in_thread(now_ms=NOW) as fakes:
        env = dict(
            os.environ,
            LIQBOT_EXCHANGE_URLS=json.dumps(fakes.urls),
            LIQBOT_DB_PATH=str(tmp_path) + "/s.db",
            LIQBOT_BACKFILL_DAYS="1",
        )
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "map",
                "BTCC",
                "--source",
                "live",
                "--at",
                "2025-10-21T00:00Z",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 2
        assert "BTCC is not a USDT perpetual on binanceusdm, bybit, okx, bitget" in r.stderr
        assert "did you mean BTC" in r.stderr and "Traceback" not in r.stderr
        # the same for LIQBOT_SYMBOLS when the bot starts: it stops with the same message
        from tests.fakes.telegram_api import FakeTelegram

        with FakeTelegram() as tg:
            run = subprocess.run(
                [sys.executable, "-m", "bot.cli", "run"],
                env={
                    **env,
                    "TELEGRAM_BOT_TOKEN": tg.token,
                    "TELEGRAM_API_BASE_URL": tg.url,
                    "LIQBOT_SYMBOLS": "BTC,ETHH",
                },
                capture_output=True,
                text=True,
                timeout=120,
            )
        assert run.returncode == 2, run.stderr[-1500:]
        assert "LIQBOT_SYMBOLS: ETHH is not a USDT perpetual" in run.stderr
        assert tg.token not in run.stderr


async def test_venues_own_leverage_tiers_are_used(
    fakes: FakeVenues, live: tuple[Refresher, LiveStore]
) -> None:
    refresher, store = live
    await refresher.refresh(NOW)
    # Bybit, OKX and Bitget publish their tiers; Binance needs keys (its bundled table is used)
    assert {v for v, _ in refresher.brackets} == {"bybit", "okx", "bitget"}
    okx = refresher.brackets[("okx", SYMBOL)]
    assert okx[0].cum == 0 and all(b.max_notional > b.min_notional for b in okx)
    snap = store.snapshot("BTC", "1d", NOW)
    by_venue = {v.venue: v for v in snap.venues}
    assert by_venue["binanceusdm"].brackets is None and by_venue["okx"].brackets == okx


def test_maintenance_amount_convention_reproduces_binances_table() -> None:
    # Binance publishes cum per bracket; Bybit/OKX/Bitget do not. The convention that keeps the
    # maintenance margin continuous at each boundary must give Binance's own numbers back.
    from liqmap import brackets_for, brackets_from_tiers

    for symbol in ("BTC", "ETH", "SOL", "XRP", "BNB", "DOGE"):
        table, _ = brackets_for(symbol)
        rebuilt = brackets_from_tiers(
            [b.min_notional for b in table],
            [b.max_notional for b in table],
            [b.mmr for b in table],
            [b.max_leverage for b in table],
        )
        assert [round(b.cum, 4) for b in rebuilt] == [round(b.cum, 4) for b in table], symbol
