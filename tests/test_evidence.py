"""Every figure against its naive rival: the risk claim's arithmetic on a series whose answer
is known, the walk-forward's use of the past only, and the evidence file against a fresh run."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import numpy as np
import pytest

from alerts.catalogue import CLUSTER_EDGE, MODE_OFF, MODE_ON, OWN_LP_IN_CLUSTER, RULES
from alerts.evidence import bundled_evidence, parse_evidence
from backtest.claims import FAILS, HOLDS, Context, risk_volatility_claim
from backtest.evidence import overshoot
from backtest.path import PricePath
from backtest.rule_stats import rule_stats
from backtest.run import Replay, Spec, run_backtest
from bot.cli import main
from bot.pipeline.alert_book import Overrides
from bot.views.evidence import record_line
from bot.views.liqs import settings_line
from grading.live_refit import WEEK_MS, Scorer, decide
from grading.report import walk_forward_json
from grading.skill import TooLittleData
from grading.walk_forward import (
    BLOCK_H,
    Hourly,
    Selector,
    blocks_of,
    grade_walk_forward,
    pick_before,
    walk_forward_values,
)
from liqmap import RISK_CHOSEN_UNTIL_MS
from market.replay import ReplaySource
from storage import alert_settings, map_refits, open_db, users
from storage.schema import m011_own_lp_off_for_new_users

HOUR = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def utc_ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


def synthetic(score_of: str, days: int = 8) -> Context:
    """Hourly candles around 100 whose half-range is random; steps before and after the
    moment the risk score was chosen. The next 4 h's range is 2 x the largest half-range."""
    rng = np.random.default_rng(3)
    n = days * 24 + 4
    t0 = RISK_CHOSEN_UNTIL_MS - 3 * 86_400_000
    half = rng.uniform(0.1, 2.0, n)
    time = t0 + HOUR * np.arange(n, dtype=np.int64)
    path = PricePath(time, np.full(n, 100.0), 100 + half, 100 - half, np.full(n, 100.0))
    ahead = np.array([half[i : i + 4].max() for i in range(n - 4)])  # the known answer
    steps = []
    for i, a in enumerate(ahead):
        before = time[i] < RISK_CHOSEN_UNTIL_MS
        risk = {"perfect": a, "same": -a}[score_of]
        if before:
            risk = a  # the hours the score was chosen on must not count: make them flatter it
        metrics = SimpleNamespace(price=100.0)
        steps.append(
            SimpleNamespace(at=int(time[i]), metrics=metrics, risk=risk, realised_range=-a)
        )
    replay = cast(Replay, SimpleNamespace(steps=steps))
    return Context(replay, path)


def test_risk_claim_is_the_score_minus_the_rival_on_unseen_hours_only() -> None:
    perfect = risk_volatility_claim(synthetic("perfect"))
    # the score ranks the next 4 h exactly (rho 1), the rival exactly backwards (rho -1)
    assert perfect.estimate == pytest.approx(2.0) and perfect.baseline == pytest.approx(-1.0)
    assert perfect.interval == pytest.approx((2.0, 2.0)) and perfect.verdict == HOLDS
    assert perfect.cases == 5 * 24  # the 3 days before the choice moment are left out
    same = risk_volatility_claim(synthetic("same"))
    # the score is the rival: no gain, whatever flattered it on the hours it was chosen on
    assert same.estimate == pytest.approx(0.0) and same.verdict == FAILS
    assert same.table[0]["score_rho"] == pytest.approx(1.0)  # chosen-on hours, reported apart


# -- the walk-forward reads the past only --------------------------------------------------------


def small_table(hours: int = 3 * BLOCK_H + 100) -> Hourly:
    """Three variants of random hourly values over liquidations that follow 'a' a little."""
    rng = np.random.default_rng(5)
    usd = rng.gamma(1.0, 1.0, (2, hours))
    model = {
        "default": rng.random((2, hours)),
        "a": usd + rng.gamma(1.0, 3.0, (2, hours)),
        "b": rng.random((2, hours)),
    }
    start = T0 + HOUR * np.arange(hours, dtype=np.int64)
    return Hourly(start, usd, rng.random((2, hours)), rng.random((2, hours)), model)


def future_planted(table: Hourly, at: int) -> Hourly:
    """From ``at`` on, variant 'b' knows the liquidations exactly: only a leak can see it."""
    later = table.start >= at
    b = table.model["b"].copy()
    b[:, later] = table.usd[:, later]
    return replace(table, model={**table.model, "b": b})


def reads_only_the_past(select: Selector, table: Hourly) -> bool:
    """Every block's pick is unchanged when the hours at and after its start are rewritten."""
    return all(
        select(future_planted(table, blk.start), blk.start) == select(table, blk.start)
        for blk in blocks_of(table, select)
    )


def test_walk_forward_never_reads_the_block_it_grades() -> None:
    table = small_table()
    picks = [b.settings for b in blocks_of(table)]
    assert picks == ["default", "a", "a", "a"]  # no past for the first block: the default
    assert reads_only_the_past(pick_before, table)

    def leaky(t: Hourly, block_start: int) -> tuple[str, int]:  # its window ends a block late
        return pick_before(t, block_start + BLOCK_H * HOUR)

    assert not reads_only_the_past(leaky, table)


def test_walk_forward_grades_each_block_with_its_own_pick() -> None:
    table = small_table()
    blocks = blocks_of(table)
    values = walk_forward_values(table, blocks)
    second = (table.start >= blocks[1].start) & (table.start < blocks[1].end)
    assert np.array_equal(values[:, second], table.model["a"][:, second])
    assert np.array_equal(values[:, :BLOCK_H], table.model["default"][:, :BLOCK_H])
    out = walk_forward_json(grade_walk_forward(table, draws=40), int(T0), int(table.start[-1]))
    for side in ("long", "short"):
        assert set(out[side]) >= {"model", "baseline", "default"}
        for figure in out[side].values():
            assert set(figure) == {"score", "low", "high"}
            assert figure["low"] <= figure["score"] <= figure["high"]
    # the walk-forward follows 'a' from the second block on: above the fixed (random) default
    assert out["long"]["model"]["score"] > out["long"]["default"]["high"]


# -- the alerts' record: written by one command, equal to a fresh run ------------------------------


def same(x: float) -> object:
    """What JSON holds for ``x``: the number, or null for NaN."""
    return pytest.approx(x) if math.isfinite(x) else None


def test_evidence_file_equals_a_fresh_backtest_run(tmp_path: Path) -> None:
    out = tmp_path / "evidence.json"
    args = ["BTC", "--from", "2025-10-10", "--to", "2025-10-12"]
    assert main(["backtest", *args, "--evidence", str(out)]) == 0
    written = json.loads(out.read_text())
    replay = run_backtest(Spec("BTC", utc_ms("2025-10-10"), utc_ms("2025-10-12")))
    path = PricePath.hourly(ReplaySource(), replay.symbol)
    fresh = {r.rule: r for r in rule_stats(replay, path)}
    assert written["from"] == "2025-10-10T00:00Z" and written["to"] == "2025-10-12T00:00Z"
    assert set(written["rules"]) == set(RULES)
    for rule, rec in written["rules"].items():
        assert rec["alerts"] == fresh[rule].alerts
        assert rec["next_4h_range_pct"] == same(fresh[rule].next_4h_range_pct)
        assert rec["random_hours_pct"] == same(fresh[rule].baseline_4h_range_pct)
    assert written["rules"][CLUSTER_EDGE]["alerts"] > 0
    assert written["overshoot"] == overshoot(Context(replay, path))
    # The bundled file is read the same way, and names where it came from.
    bundled = bundled_evidence()
    assert bundled is not None and set(bundled.rules) == set(RULES)
    assert bundled.period == "BTC 2025" and bundled.generated[:2] == "20"
    line = record_line(OWN_LP_IN_CLUSTER, parse_evidence(written))
    assert line.startswith("Record, BTC 2025-10-10..2025-10-12:")


def test_own_lp_is_off_for_new_chats_and_kept_on_for_those_before(tmp_path: Path) -> None:
    db = open_db(tmp_path / "bot.db")
    users.register(db, chat_id=1, user_id=1, first_name="before", now_ms=T0)
    m011_own_lp_off_for_new_users(db)  # what the upgrade did to the chats that existed
    users.register(db, chat_id=2, user_id=2, first_name="after", now_ms=T0)
    assert alert_settings.for_chat(db, 1)[OWN_LP_IN_CLUSTER][0] == "on"
    assert OWN_LP_IN_CLUSTER not in alert_settings.for_chat(db, 2)
    # the alert pass reads the same: chat 1 on, chat 2 (and every rule's default) as listed
    modes, _ = Overrides.from_rows(alert_settings.rows(db)).join(np.array([1, 2], np.int64))
    lp = RULES.index(OWN_LP_IN_CLUSTER)
    assert modes[0, lp] == MODE_ON and modes[1, lp] == MODE_OFF
    assert modes[1, RULES.index(CLUSTER_EDGE)] == MODE_ON


# -- the live weekly refit ---------------------------------------------------------------------


Calls = list[tuple[str, int, int]]


def scripted(
    fit: dict[str, float], week: dict[str, float], calls: list[tuple[str, int, int]]
) -> Scorer:
    """A scorer with set figures for the fit weeks and the last week, recording each call."""

    def score(name: str, start: int, end: int) -> float:
        calls.append((name, start, end))
        last_week = end - start == WEEK_MS
        return (week if last_week else fit)[name]

    return score


def test_live_refit_adopts_only_what_beats_the_settings_in_use_on_the_unseen_week() -> None:
    now = T0 + 10 * WEEK_MS
    calls: Calls = []
    fit = {"default": 0.40, "swing stops": 0.45}
    won = decide(
        scripted(fit, {"default": 0.41, "swing stops": 0.44}, calls), now, "default", list(fit)
    )
    assert won.adopted and won.in_use == "swing stops" and won.candidate_week == 0.44
    week_start = now - WEEK_MS
    fits = [c for c in calls if c[2] - c[1] != WEEK_MS]
    assert fits and all(end <= week_start for _, _, end in fits)  # the fit never sees the week
    lost = decide(
        scripted(fit, {"default": 0.41, "swing stops": 0.39}, []), now, "default", list(fit)
    )
    assert not lost.adopted and lost.in_use == "default" and "did not beat" in lost.reason

    def thin(name: str, start: int, end: int) -> float:
        raise TooLittleData("12 hours and 3 events")

    none = decide(thin, now, "swing stops", list(fit))
    assert none.candidate is None and none.in_use == "swing stops" and "12 hours" in none.reason


def test_skill_says_which_settings_are_in_use_since_when(tmp_path: Path) -> None:
    db = open_db(tmp_path / "bot.db")
    sym = "BTC/USDT:USDT"
    assert settings_line(map_refits.history(db, sym)).startswith("Map settings: default (never")
    row = map_refits.RefitRow(
        sym,
        T0,
        "default",
        "swing stops",
        True,
        "swing stops",
        0.45,
        0.41,
        0.44,
        "swing stops beat default on the last week",
    )
    map_refits.record(db, row)
    map_refits.record(
        db,
        replace(
            row,
            at_ms=T0 + WEEK_MS,
            current="swing stops",
            adopted=False,
            reason="swing stops still scores best",
        ),
    )
    assert map_refits.in_use(db, sym) == ("swing stops", T0)
    line = settings_line(map_refits.history(db, sym))
    assert line.startswith("Map settings: swing stops (since 2026-01-01).")
    assert "Last refit 2026-01-08: kept swing stops" in line
