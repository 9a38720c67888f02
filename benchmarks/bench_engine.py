"""Engine benchmark: snapshot and hourly heatmap on 30 days of 1-minute candles x 5 tiers.

Prints figures (run in one process), next to the plain candle-by-candle reference in
``tests/reference.py``, with the ratio. Targets on a 2-core machine: snapshot <= 20 ms,
heatmap <= 0.5 s, peak memory <= 200 MB.

Data: the bundled real 5m BTCUSDT candles (2025-09-19 .. 2025-10-27, around the 2025-10-10
cascade) with OKX OI, each 5m candle split into five 1-minute candles along its O->L->H->C (or
O->H->L->C) path, so the 43,200 candles have real prices, ranges and volumes. (No 1-minute data
is bundled; the split keeps each 5m candle's extremes, so sweeps happen at the same prices.)

Run: python benchmarks/bench_engine.py
"""

from __future__ import annotations

import gc
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liqmap import Candles, ModelSettings, build_heatmap, build_map
from market.replay import ReplaySource
from tests.reference import reference_map

MINUTES = 43_200
SYMBOL = "BTC/USDT:USDT"


def one_minute_candles() -> Candles:
    """43,200 1-minute candles derived from the bundled 5m candles (see module docstring)."""
    src = ReplaySource()
    five = src.candles(SYMBOL, "5m", 0, 2**62)
    n5 = MINUTES // 5
    five = five.slice(len(five) - n5, len(five))
    o, h, lo, c = five.open, five.high, five.low, five.close
    down_first = (c >= o)[:, None]  # bullish candles usually dip first
    path_a = np.stack([o, lo, h, c], axis=1)  # O -> L -> H -> C
    path_b = np.stack([o, h, lo, c], axis=1)
    path = np.where(down_first, path_a, path_b)
    # Five 1m candles walk the 4 path points: each one's open is the previous close.
    points = np.stack(
        [path[:, 0], path[:, 1], (path[:, 1] + path[:, 2]) / 2, path[:, 2], path[:, 3]], axis=1
    )  # 5 closes per 5m candle
    close = points.reshape(-1)
    open_ = np.concatenate(([o[0]], close[:-1]))
    high = np.maximum(open_, close)
    low = np.minimum(open_, close)
    vol = np.repeat(five.volume / 5, 5)
    oi = None
    if five.oi is not None:
        t5 = five.close_time.astype(np.float64)
        t1 = np.arange(MINUTES, dtype=np.float64) * 60_000 + five.time[0] + 60_000
        oi = np.interp(t1, t5, five.oi)
    return Candles(
        time=five.time[0] + np.arange(MINUTES, dtype=np.int64) * 60_000,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=vol,
        interval_ms=60_000,
        oi=oi,
    )


def best_of(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def peak_mb(fn) -> float:  # type: ignore[no-untyped-def]
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    candles = one_minute_candles()
    settings = ModelSettings()
    print(f"candles: {len(candles):,} x 1m, tiers: {len(settings.tier_weights)}, model: ", end="")
    liq = build_map(candles, SYMBOL, settings)
    print(f"{liq.model}, buckets: {liq.grid.size}")

    snap_best, snap_med = best_of(lambda: build_map(candles, SYMBOL, settings), 30)
    heat_best, heat_med = best_of(lambda: build_heatmap(candles, SYMBOL, 60, settings), 5)
    snap_mem = peak_mb(lambda: build_map(candles, SYMBOL, settings))
    heat_mem = peak_mb(lambda: build_heatmap(candles, SYMBOL, 60, settings))

    edges = list(liq.grid.edges)
    t = time.perf_counter()
    ref_long, ref_short = reference_map(candles, SYMBOL, settings, liq.as_of, edges)
    ref_snap = time.perf_counter() - t
    err = max(np.abs(liq.long - ref_long).max(), np.abs(liq.short - ref_short).max())
    # The reference heatmap: the reference snapshot at every hour (what a plain tool does).
    # Timed on the first 24 columns and scaled to 720, to keep the run short.
    heat = build_heatmap(candles, SYMBOL, 60, settings)
    heat_edges = list(heat.grid.edges)
    t = time.perf_counter()
    for j in range(24):
        part = candles.slice(0, 60 * j + 60)
        reference_map(part, SYMBOL, settings, int(part.close_time[-1]), heat_edges)
    ref_first_day = time.perf_counter() - t
    # Column j costs ~ j+1 hours of candles: total over 720 columns = sum(1..720) / sum(1..24).
    ref_heat = ref_first_day * (720 * 721 / 2) / (24 * 25 / 2)

    print()
    print(f"{'':28}{'engine':>12}{'reference':>14}{'ratio':>10}   target")
    print(
        f"{'snapshot (best of 30)':28}{snap_best * 1e3:10.1f}ms{ref_snap * 1e3:12.0f}ms"
        f"{ref_snap / snap_best:9.0f}x   <= 20 ms   (median {snap_med * 1e3:.1f} ms)"
    )
    print(
        f"{'heatmap 720 cols (best of 5)':28}{heat_best:11.3f}s{ref_heat:13.0f}s"
        f"{ref_heat / heat_best:9.0f}x   <= 0.5 s   (median {heat_med:.3f} s; reference"
        f" extrapolated from 24 columns: {ref_first_day:.1f} s)"
    )
    print(f"{'peak memory, snapshot':28}{snap_mem:10.1f}MB{'':24}<= 200 MB (tracemalloc)")
    print(f"{'peak memory, heatmap':28}{heat_mem:10.1f}MB{'':24}<= 200 MB (tracemalloc)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'process max RSS (all of it)':28}{rss:10.1f}MB   incl. the reference's Python heaps")
    print(f"engine vs reference: max |difference| per bucket {err:.3g} USD")


if __name__ == "__main__":
    main()
