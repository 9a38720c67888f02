"""``liqbot backtest`` speed: a year of hourly 1d BTC maps (2025) with every alert rule, one
watcher and the generated positions, then the claims. Prints maps/s.

    python benchmarks/bench_backtest.py [--days 365]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backtest.claims import Context, all_claims
from backtest.path import PricePath
from backtest.rule_stats import rule_stats
from backtest.run import Spec, run_backtest
from backtest.touch_claim import liquidation_touch_claim
from market.replay import ReplaySource


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    start = datetime(2025, 1, 2, tzinfo=UTC)
    end = start + timedelta(days=args.days)
    spec = Spec("BTC/USDT:USDT", int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    source = ReplaySource()
    t0 = time.perf_counter()
    replay = run_backtest(spec, source)
    t1 = time.perf_counter()
    path = PricePath.hourly(source, replay.symbol)
    rule_stats(replay, path)
    all_claims(replay, path)
    liquidation_touch_claim(Context(replay, path))
    t2 = time.perf_counter()
    n = len(replay.steps)
    print(
        f"maps: {n} (1d, hourly, {start:%Y-%m-%d} .. {end:%Y-%m-%d}), alerts: {len(replay.fired)}"
    )
    print(f"replay (maps + every rule): {t1 - t0:.1f} s = {n / (t1 - t0):,.0f} maps/s")
    print(f"claims and rule statistics: {t2 - t1:.1f} s")
    print(f"total: {t2 - t0:.1f} s")


if __name__ == "__main__":
    main()
