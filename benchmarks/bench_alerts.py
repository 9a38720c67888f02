"""Alert-pass benchmark: one refresh evaluating 100,000 positions and watches over 20 symbols.

Prints the time of the evaluation alone (``alerts.evaluate``, one vectorised call per symbol),
next to a per-user Python loop doing the same (the same rule code called once per
subscription, as a per-user design would), with the ratio. Target: <= 0.5 s on 2 cores.

The 20 "symbols" are 20 real BTC maps from the bundled data (1d window, hourly from 2025-10-10
04:00 UTC through the cascade), so clusters, fuel ratios and funding are real; subscriptions are
random (seeded): 70% positions with entries within 3% of price at 5-50x, 30% watches, a tenth
with their own thresholds. Two passes: the first from empty state, then the next refresh
5 minutes later with the state the first one left (the steady case).

Run: python benchmarks/bench_alerts.py          (the evaluation alone)
     python benchmarks/bench_alerts.py --e2e    (the pass with SQLite, see end_to_end)
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.catalogue import RULES
from alerts.inputs import Subscriptions, SymbolMetrics, metrics_from_map
from alerts.rules import evaluate
from alerts.state import AlertState
from bot.views.report import make_report
from liqmap import position_liquidation_price
from liqmap.touch import volatility_now
from market.replay import DEFAULT_AT, ReplaySource

SYMBOLS = 20
TOTAL = 100_000
LOOP_SAMPLE = 2_000  # the per-user loop is timed on this many and scaled to TOTAL
HOUR = 3_600_000


def real_maps() -> list[SymbolMetrics]:
    src = ReplaySource()
    out = []
    for k in range(SYMBOLS):
        at = DEFAULT_AT - 16 * HOUR + k * HOUR
        r = make_report(src, "BTC", "1d", at)
        # the liquidation warning's inputs, as the live pass reads them (72 h of 5 m candles)
        c = src.candles("BTC/USDT:USDT", "5m", at - 72 * HOUR, at)
        vol = volatility_now(c.high, c.low, c.close_time, c.interval_ms, at)
        done = c.close_time <= at
        out.append(
            metrics_from_map(
                r.liq,
                r.clusters,
                oi_change_4h=src.oi_change("BTC", at, 4),
                funding_rate=r.funding.rate if r.funding else None,
                band_pct=r.band_pct,
                volatility=None if vol is None else (vol.fast, vol.slow),
                since=(float(c.low[done][-1]), float(c.high[done][-1])),
            )
        )
    return out


def random_subs(m: SymbolMetrics, n: int, first_id: int, rng: np.random.Generator) -> Subscriptions:
    position = rng.random(n) < 0.7
    side = np.where(position, rng.choice([1, -1], n), 0).astype(np.int8)
    entry = np.where(position, m.price * (1 + rng.uniform(-0.03, 0.03, n)), np.nan)
    leverage = np.where(position, rng.choice([5.0, 10.0, 20.0, 25.0, 50.0], n), np.nan)
    lp = np.full(n, np.nan)
    for lev in (5.0, 10.0, 20.0, 25.0, 50.0):  # the formula per leverage, vectorised by side
        for s, name in ((1, "long"), (-1, "short")):
            pick = position & (leverage == lev) & (side == s)
            unit = position_liquidation_price("BTC", 1.0, lev, name)
            lp[pick] = entry[pick] * unit
    thresholds = np.full((n, len(RULES)), np.nan)
    own = rng.random(n) < 0.1
    thresholds[own, 0] = rng.uniform(0.3, 1.0, int(own.sum()))
    return Subscriptions(
        sub_id=np.arange(first_id, first_id + n, dtype=np.int64),
        chat_id=rng.integers(1, 40_000, n),
        kind=position.astype(np.int8),
        side=side,
        entry=entry,
        leverage=leverage,
        liquidation_price=lp,
        entry_lfr=np.where(position, rng.uniform(0.6, 2.0, n), np.nan),
        thresholds=thresholds,
        modes=np.ones((n, len(RULES)), dtype=np.int8),
        muted_until_ms=np.zeros(n, dtype=np.int64),
        in_quiet_hours=rng.random(n) < 0.05,
        hold_in_quiet=np.ones(n, dtype=np.bool_),
    )


def main() -> None:
    maps = real_maps()
    rng = np.random.default_rng(7)
    per = TOTAL // SYMBOLS
    subs = [random_subs(m, per, i * per + 1, rng) for i, m in enumerate(maps)]
    states = [AlertState.empty() for _ in maps]

    rows = []
    decisions = 0.0
    for label in ("first pass (empty state)", "next refresh (steady state)"):
        if label.startswith("first"):  # the same pass without wording the messages
            t0 = time.perf_counter()
            for i, m in enumerate(maps):
                evaluate(m, subs[i], states[i], m.as_of, with_advice=False)
            decisions = time.perf_counter() - t0
        events = 0
        t0 = time.perf_counter()
        for i, m in enumerate(maps):
            now = m.as_of + (0 if label.startswith("first") else 5 * 60_000)
            ev, states[i] = evaluate(m, subs[i], states[i], now)
            events += len(ev)
        rows.append((label, time.perf_counter() - t0, events))

    # Per-user loop: the same rules called once per subscription (fresh state each).
    sample = LOOP_SAMPLE // SYMBOLS
    t0 = time.perf_counter()
    loop_events = 0
    for i, m in enumerate(maps):
        for j in range(sample):
            ev, _ = evaluate(m, subs[i].take([j]), AlertState.empty(), m.as_of)
            loop_events += len(ev)
    loop_s = (time.perf_counter() - t0) * TOTAL / (sample * SYMBOLS)

    print(f"{TOTAL:,} subscriptions over {SYMBOLS} real BTC maps ({per:,} each)\n")
    print(f"{'':32}{'time':>10}{'events':>10}")
    print(
        f"{'first pass, decisions only':32}{decisions:9.3f}s{rows[0][2]:10,}  (texts not written)"
    )
    for label, secs, events in rows:
        print(f"{label:32}{secs:9.3f}s{events:10,}")
    first = rows[0][1]
    print(
        f"{'per-user loop (same rules)':32}{loop_s:9.1f}s{'':10}  extrapolated from "
        f"{sample * SYMBOLS:,} subscriptions ({loop_events} events)"
    )
    print(
        f"\nratio, per-user loop / vectorised first pass: {loop_s / first:.0f}x   target <= 0.5 s"
    )


if __name__ == "__main__" and "--e2e" not in sys.argv:
    main()


def end_to_end(maps: list[SymbolMetrics]) -> None:
    """The pass as the bot runs it, SQLite included: 100,000 subscriptions of 40,000 users
    stored in a file database (a tenth of users with their own rule settings), the in-memory
    book loaded once at start, then steady passes (each: read the changed-chats list, patch,
    evaluate, write the state that changed and the events in one transaction per symbol), and a
    pass after 100 users changed something."""
    import tempfile

    from bot.pipeline.alert_book import AlertBook
    from bot.pipeline.alert_pass import _evaluate
    from storage import alert_settings as settings_store
    from storage import open_db

    rng = np.random.default_rng(11)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "alerts.db")
        names = [f"SYM{i}/USDT:USDT" for i in range(SYMBOLS)]
        metrics = [replace(m, symbol=names[i]) for i, m in enumerate(maps)]
        t0 = time.perf_counter()
        chats = 40_000
        with db.atomic():
            db.conn.executemany(
                "insert into users (chat_id, user_id, first_name, tz, active, created_at, digest)"
                " values (?, ?, 'T', ?, 1, 0, 1)",
                [
                    (c, c, ("UTC", "Europe/Berlin", "Asia/Tokyo")[c % 3])
                    for c in range(1, chats + 1)
                ],
            )
            rows = []
            per = TOTAL // SYMBOLS
            for i, m in enumerate(metrics):
                sub = random_subs(m, per, i * per + 1, rng)
                for j in range(per):
                    pos = bool(sub.kind[j])
                    rows.append(
                        (
                            int(sub.sub_id[j]),
                            int(rng.integers(1, chats + 1)),
                            m.symbol,
                            "position" if pos else "watch",
                            ("long" if sub.side[j] > 0 else "short") if pos else None,
                            float(sub.entry[j]) if pos else None,
                            float(sub.leverage[j]) if pos else None,
                            float(sub.liquidation_price[j]) if pos else None,
                            float(sub.entry_lfr[j]) if pos else None,
                        )
                    )
            db.conn.executemany(
                "insert into subscriptions (id, chat_id, symbol, kind, side, entry, leverage, "
                "liquidation_price, entry_lfr, entry_snapshot, opened_at, muted) values "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', 0, 0)",
                rows,
            )
            db.conn.executemany(
                "insert into alert_settings (chat_id, rule, mode, threshold) values (?, ?, ?, ?)",
                [(c, RULES[0], "silent", 0.5) for c in range(1, chats + 1, 10)],
            )
        seeded = time.perf_counter() - t0
        t0 = time.perf_counter()
        book = AlertBook.load(db)
        loaded = time.perf_counter() - t0

        def one_pass(now: int) -> tuple[float, int]:
            t = time.perf_counter()
            book.catch_up(db)
            quiet, bad = book.quiet_now(now)
            n = sum(len(_evaluate(db, book, m, now, quiet, bad)) for m in metrics)
            return time.perf_counter() - t, n

        print(
            f"\nEnd to end with SQLite ({TOTAL:,} subscriptions, {chats:,} users, file DB; "
            f"seeded in {seeded:.1f} s)"
        )
        print(f"{'load at start (once)':32}{loaded:9.3f}s")
        base = metrics[0].as_of
        for label, now in (
            ("first pass (empty state)", base),
            ("next refresh (+5 min)", base + 300_000),
            ("next refresh (+10 min)", base + 600_000),
        ):
            secs, n = one_pass(now)
            print(f"{label:32}{secs:9.3f}s{n:10,}")
        for c in range(1, 101):  # 100 users change something between refreshes
            settings_store.set_mode(db, c * 7, RULES[1], "off")
        secs, n = one_pass(base + 900_000)
        print(f"{'after 100 users changed settings':32}{secs:9.3f}s{n:10,}")
        size = (Path(tmp) / "alerts.db").stat().st_size
        print(f"database file {size / 1e6:.1f} MB")
        db.close()


if __name__ == "__main__" and "--e2e" in sys.argv:
    end_to_end(real_maps())
