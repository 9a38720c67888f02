"""``liqbot backtest --source live``: the history the bot recorded (the real refresher against
the fake venues, into a SQLite file) replayed through the same engine and rules; one clear line
when the database has no history for the symbol or the period; the bundled default unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from alerts.inputs import metrics_from_map
from backtest.maps import map_step
from bot.cli import main
from bot.pipeline.live_store import LiveStore
from bot.pipeline.recorded_history import RecordedHistory
from bot.pipeline.refresh import Refresher
from bot.views.report import make_report
from liqmap import ModelSettings
from market.replay import ReplaySource
from storage import open_db
from tests.fakes.venues import fake_venues, fast_feeds

ROOT = Path(__file__).resolve().parents[1]
NOW = int(datetime(2025, 10, 21, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000
BACKFILL_DAYS = 1.5
VENUES = ["binanceusdm", "bybit", "okx", "bitget"]


async def record(path: Path) -> None:
    """What the running bot does: a backfill, then an incremental refresh an hour later."""
    async with fake_venues(now_ms=NOW - HOUR) as fakes:
        db = open_db(path)
        feeds = fast_feeds(fakes, VENUES)
        refresher = Refresher(
            db, feeds, ["BTC/USDT:USDT"], backfill_days=BACKFILL_DAYS, retention_days=45
        )
        try:
            assert not (await refresher.refresh(NOW - HOUR)).failed
            fakes.now_ms = NOW
            assert not (await refresher.refresh(NOW)).failed
        finally:
            await refresher.close()
        db.close()


def backtest(*args: str, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQBOT_")}
    if db is not None:
        env["LIQBOT_DB_PATH"] = str(db)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "backtest", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%MZ")


async def test_backtest_replays_the_recorded_history(tmp_path: Path) -> None:
    path = tmp_path / "recorded.db"
    await record(path)
    # 37 h of 5m candles recorded: 1d maps from NOW-13h; ask from NOW-6h to NOW
    out = backtest(
        "BTC",
        "--source",
        "live",
        "--db",
        str(path),
        "--from",
        iso(NOW - 6 * HOUR),
        "--to",
        iso(NOW),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["maps"] == 7 and data["from"] == iso(NOW - 6 * HOUR)
    assert data["models"] == {"oi-delta": 7}  # the venues' stored OI history drew every map
    assert len(data["rules"]) == 8
    assert all(isinstance(r["alerts_per_week"], float) for r in data["rules"].values())
    assert "risk_beats_volatility" in data["claims"] and "liquidation_touch" in data["claims"]
    assert {c["verdict"] for c in data["claims"].values()} <= {
        "holds",
        "does not hold",
        "too few cases",
    }


async def test_no_history_for_the_symbol_or_period_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "recorded.db"
    await record(path)
    monkeypatch.setenv("LIQBOT_DB_PATH", str(path))  # --db defaults to the bot's database

    def fails(*args: str) -> str:
        assert main(["backtest", *args, "--source", "live"]) == 2
        out = capsys.readouterr()
        assert out.out == "" and out.err.count("\n") == 1, out.err
        return out.err

    err = fails("BTC", "--from", iso(NOW - 40 * HOUR), "--to", iso(NOW - 30 * HOUR))
    assert "no 1d maps between --from and --to: BTC/USDT:USDT 1d maps can be drawn from" in err
    err = fails("BTC", "--window", "7d", "--from", iso(NOW - 6 * HOUR), "--to", iso(NOW))
    assert "less than the 7d a map needs" in err
    assert "has no recorded history for ETH/USDT:USDT" in fails(
        "ETH", "--from", "2025-10-20", "--to", "2025-10-21"
    )
    none = tmp_path / "none.db"
    err = fails("BTC", "--db", str(none), "--from", "2025-10-20", "--to", "2025-10-21")
    assert "no such database" in err and not none.exists()  # not created by asking


async def test_recorded_hours_are_the_real_hours(tmp_path: Path) -> None:
    # The fakes serve the bundled Binance candles, so the recorded 5m history re-aggregated to
    # hours must give the bundled 1h candles (the price path the claims read forward).
    path = tmp_path / "recorded.db"
    await record(path)
    store = LiveStore(open_db(path), VENUES, ["BTC"], None, refresh_ms=300_000)
    recorded = RecordedHistory(store)
    hourly = recorded.hourly("BTC")
    assert hourly.time.size == 37 and np.all(np.diff(hourly.time) == HOUR)
    bundled = ReplaySource().candles("BTC", "1h", int(hourly.time[0]), NOW)
    assert np.array_equal(bundled.time, hourly.time)
    for col in ("open", "high", "low", "close"):
        assert np.allclose(getattr(bundled, col), getattr(hourly, col)), col

    # each step's map is the live bot's map of the same moment from the same store
    for at in (NOW - 6 * HOUR, NOW):
        step = map_step(recorded, "BTC/USDT:USDT", "1d", at, ModelSettings())
        r = make_report(store, "BTC/USDT:USDT", "1d", at)
        assert len(r.venues) >= 2  # several venues summed, not the bundled single venue
        live = metrics_from_map(
            r.liq,
            r.clusters,
            oi_change_4h=store.oi_change("BTC", at, 4),
            funding_rate=r.funding.rate if r.funding else None,
            funding_interval_h=r.funding.interval_h if r.funding else 8.0,
            funding_p95_abs=store.funding_p95("BTC", at),
            band_pct=r.band_pct,
            venues=r.venues,
            stale=r.stale,
        )
        assert step.metrics == live and step.risk == r.risk.total


def test_the_bundled_replay_stays_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "backtest",
        "BTC",
        "--from",
        "2025-10-10T12:00",
        "--to",
        "2025-10-11T06:00",
        "--rules",
        "cluster_edge",
        "--json",
    ]
    assert main(args) == 0
    default = json.loads(capsys.readouterr().out)
    assert main([*args, "--source", "demo"]) == 0
    demo = json.loads(capsys.readouterr().out)
    for d in (default, demo):
        d.pop("seconds"), d.pop("maps_per_second")
    assert default == demo
    # the hand-checked count of tests/test_backtest.py: 19 maps, one cluster_edge alert
    assert default["maps"] == 19 and default["rules"]["cluster_edge"]["alerts"] == 1
