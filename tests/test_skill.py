"""liqbot skill: the scoring's properties on hand-built inputs, the CSV readers, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grading.api import grade_recorded
from grading.data import DataError, read_events, read_totals
from grading.hourly import HourView, SideLevels, hours_untouched
from grading.scoring import partial_spearman, ranks, top_third_notional, top_third_weights
from grading.skill import ALIGNMENTS, TooLittleData, _hour_tops
from liqmap import Candles
from liqmap.times import HOUR_MS
from tests.conftest import make_candles

ROOT = Path(__file__).resolve().parents[1]


def test_flat_map_scores_one_third_whatever_the_liquidations() -> None:
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 7, 10):
        notional = rng.random(n)
        assert top_third_notional(np.zeros(n), notional) == pytest.approx(notional.sum() / 3)


def test_perfect_map_scores_one_and_inverted_map_zero() -> None:
    values = np.array([0.0, 1.0, 5.0, 2.0, 0.5, 0.1])
    notional = np.array([0.0, 0.0, 7.0, 3.0, 0.0, 0.0])  # all in the two top buckets of six
    assert top_third_notional(values, notional) == pytest.approx(10.0)
    assert top_third_notional(-values, notional) == pytest.approx(0.0)


def test_ties_split_evenly_and_weights_fill_exactly_a_third() -> None:
    # Six buckets, top third = two slots; three buckets tie for first: each gets 2/3.
    w = top_third_weights(np.array([3.0, 3.0, 3.0, 1.0, 0.0, 0.0]))
    np.testing.assert_allclose(w, [2 / 3, 2 / 3, 2 / 3, 0, 0, 0])
    # A fractional cut (four buckets: 4/3 slots): the leader fully, the tied pair 1/6 each.
    w = top_third_weights(np.array([9.0, 2.0, 2.0, 1.0]))
    np.testing.assert_allclose(w, [1.0, 1 / 6, 1 / 6, 0.0])
    rng = np.random.default_rng(2)
    for _ in range(50):
        v = rng.integers(0, 3, size=rng.integers(1, 12)).astype(float)
        assert top_third_weights(v).sum() == pytest.approx(v.size / 3)


def _view(levels_long: list[tuple[float, float]], low: float, high: float) -> HourView:
    p = np.array([x for x, _ in levels_long])
    a = np.array([y for _, y in levels_long])
    empty = SideLevels(np.zeros(0), np.zeros(1))
    return HourView(
        start=10 * HOUR_MS,
        ref=high,
        open=high,
        high=high,
        low=low,
        long=SideLevels(p, np.concatenate(([0.0], np.cumsum(a)))),
        short=empty,
        past_close_time=np.arange(1, 11, dtype=np.int64) * HOUR_MS,
        past_low=np.full(10, high),
        past_high=np.full(10, high * 1.01),
    )


def test_alignments_average_away_bucket_luck() -> None:
    # An empty map scores exactly a third in every alignment, not by where the edges fall.
    view = _view([], 99.0, 100.0)
    prices, usd = np.array([99.5, 99.55]), np.array([1.0, 2.0])
    model, _, _ = _hour_tops(view, "long", prices, usd, np.random.default_rng(0))
    assert model == pytest.approx(1.0)  # a third of 3 USD
    # One level right where the prints are: the top in all ten alignments.
    view = _view([(99.52, 1e6)], 99.0, 100.0)
    one = np.array([99.52]), np.array([3.0])
    model, _, _ = _hour_tops(view, "long", *one, np.random.default_rng(0))
    assert model == pytest.approx(3.0)
    assert ALIGNMENTS == 10


def test_baseline_counts_hours_untouched_on_the_levels_side() -> None:
    view = _view([], 90.0, 100.0)
    # Price sat at >= 100 for 10 hours: every level below is untouched for the whole lookback.
    age = hours_untouched(view, np.array([95.0, 101.0]), np.array([96.0, 102.0]), "long")
    assert age[0] == pytest.approx(10.0)  # older than the oldest candle (closed 9h ago)
    assert age[1] == 0.0  # above the open: not a long level


def test_partial_spearman_removes_the_move() -> None:
    rng = np.random.default_rng(3)
    move = rng.random(500)
    liq = move + 0.01 * rng.random(500)
    noise_map = move * 3 + rng.random(500) * 0.001  # a map that only knows the move
    assert ranks(np.array([3.0, 1.0, 3.0])).tolist() == [2.5, 1.0, 2.5]
    assert abs(partial_spearman(noise_map, liq, move)) < 0.15
    assert partial_spearman(liq - move, liq, move) > 0.6


def test_event_csv_iso_and_epoch_ms(tmp_path: Path) -> None:
    f = tmp_path / "ev.csv"
    f.write_text(
        "time,side,price,quantity\n"
        "2026-04-01T00:10:00Z,long,82000,0.5\n"
        "1775002200000,SHORT,82100,0.25\n"
    )
    ev = read_events(str(f))
    # 2026-04-01T00:10Z = 1775002200000 ms: both rows land on the same instant
    assert ev.time.tolist() == [1775002200000, 1775002200000]
    assert ev.side.tolist() == ["long", "short"]  # stable order, case folded
    assert ev.usd.tolist() == [41000.0, 20525.0]


def test_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("time,side,price,quantity\n2026-04-01T00:10Z,sideways,1,1\n")
    with pytest.raises(DataError, match="line 2: side"):
        read_events(str(f))
    f.write_text("time,long_usd\n1,2\n")
    with pytest.raises(DataError, match="missing column"):
        read_totals(str(f))
    r = subprocess.run(
        [sys.executable, "-m", "bot.cli", "skill", "BTC", "--events", str(f)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "missing column" in r.stderr


def _synthetic(hours: int) -> tuple[list[tuple[int, str, float, float]], Candles]:
    """Candles drifting up and down, prints placed at each hour's low (longs) and high."""
    rng = np.random.default_rng(5)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, 24 * 8 + hours)))
    c = make_candles(closes.tolist(), oi=list(1000 + np.arange(closes.size) * 5.0))
    events = []
    for i in range(24 * 8, 24 * 8 + hours):
        t = int(c.time[i])
        events.append((t + 60_000, "long", float(c.low[i]), 1.0))
        events.append((t + 120_000, "short", float(c.high[i]), 1.0))
    return events, c


def test_refuses_a_figure_on_too_few_hours() -> None:
    events, c = _synthetic(30)
    start = int(c.time[24 * 8])
    with pytest.raises(TooLittleData, match="at least 24 hours"):
        grade_recorded("BTC", events, c, start, start + 10 * HOUR_MS)


def test_cli_json_keys_exactly(tmp_path: Path) -> None:
    events, c = _synthetic(30)
    ev = tmp_path / "ev.csv"
    lines = [f"{t},{s},{p},{q}" for t, s, p, q in events]
    ev.write_text("time,side,price,quantity\n" + "\n".join(lines) + "\n")
    cf = tmp_path / "candles.csv"
    rows = zip(c.time, c.open, c.high, c.low, c.close, c.volume, strict=True)
    body = "".join(",".join(map(str, r)) + "\n" for r in rows)
    cf.write_text("time,open,high,low,close,volume\n" + body)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "skill",
            "BTC",
            "--events",
            str(ev),
            "--candles",
            str(cf),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"hours", "events", "long", "short"}
    assert out["hours"] == 30 and out["events"] == 60
    for side in ("long", "short"):
        assert set(out[side]) == {"model", "random", "baseline"}
        for v in out[side].values():
            assert set(v) == {"score", "low", "high"}
            assert v["low"] <= v["score"] <= v["high"]
    # Prints at the hour's extreme, where the map has nothing: not more than random.
    assert 0.0 <= out["long"]["random"]["score"] <= 1.0
