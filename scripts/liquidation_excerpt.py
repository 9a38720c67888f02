"""Build ``market/data/liquidations_BTC_2026-02-05.csv`` (prints as the venues would send them)
from the team's real CoinGlass hourly aggregates, and measure the ``cascade_live`` default
threshold from the real Bybit minute totals and CoinGlass 30-minute totals.

Run from the repo root: ``python scripts/liquidation_excerpt.py DATA_DIR``, where DATA_DIR holds
the source folders named in ``market/data/PROVENANCE.md``. It is a one-off build step that the
project, its demo and its tests never run: they read only the committed excerpt. What is
synthesised is stated in ``market/data/PROVENANCE.md``; this script is the exact recipe.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
START_MS = 1_770_271_200_000  # 2026-02-05 06:00 UTC
HOURS = 24
# Invented split of the three-venue aggregate (CoinGlass gives no per-venue figure).
SHARES = {"binanceusdm": 0.45, "bybit": 0.30, "okx": 0.25}
HOUR_MS = 3_600_000


def candles() -> dict[int, tuple[float, float, float, float]]:
    out = {}
    with open(ROOT / "market" / "data" / "binance_BTCUSDT_1h.csv", newline="") as f:
        for r in csv.DictReader(f):
            out[int(r["openTime"])] = (
                float(r["open"]),
                float(r["high"]),
                float(r["low"]),
                float(r["close"]),
            )
    return out


def build_excerpt(shared: Path) -> None:
    bars = {}
    folder = shared / "liquidations-coinglass-btc-2025-11-2026-06"
    with open(folder / "coinglass_BTC_liquidation_1h.csv") as f:
        for r in csv.DictReader(f):
            t = int(r["timestamp"])
            if START_MS <= t < START_MS + HOURS * HOUR_MS:
                bars[t] = (float(r["longUsd"]), float(r["shortUsd"]))
    kline = candles()
    rows = []
    want = {"long": 0.0, "short": 0.0}
    for t in sorted(bars):
        o, h, lo, _ = kline[t]
        for side, usd in zip(("long", "short"), bars[t], strict=True):
            want[side] += usd
            if usd <= 0:
                continue
            # longs are forced out on the way down (low..open), shorts on the way up (open..high)
            price = round((lo + o) / 2 if side == "long" else (o + h) / 2, 1)
            for k, (venue, share) in enumerate(SHARES.items()):
                qty = round(usd * share / price, 3)
                if qty <= 0:
                    continue
                when = t + HOUR_MS // 2 + k * 1_000 + (0 if side == "long" else 500)
                rows.append((venue, "BTC", when, side, f"{price:.1f}", f"{qty:.3f}"))
    out = ROOT / "market" / "data" / "liquidations_BTC_2026-02-05.csv"
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["venue", "coin", "time_ms", "side", "price", "quantity"])
        w.writerows(rows)
    got = {"long": 0.0, "short": 0.0}
    for r in rows:
        got[r[3]] += float(r[4]) * float(r[5])
    print(f"{out.name}: {len(rows)} prints over {len(bars)} hours")
    for side in ("long", "short"):
        print(
            f"  {side}: real ${want[side]:,.0f}, prints ${got[side]:,.0f} "
            f"(diff {got[side] - want[side]:+,.0f})"
        )


def threshold(shared: Path) -> None:
    raw = np.loadtxt(
        shared / "liquidations-bybit-btcusdt-1min-2026-09" / "BTCUSDT.6_1min.csv",
        delimiter=",",
        skiprows=1,
    )
    start, end = 1_789_419_600, 1_789_804_800  # fetch window 2026-09-14 21:00 .. 09-19 08:00
    minutes = (end - start) // 60
    grid = np.zeros((minutes, 2))
    idx = ((raw[:, 0] - start) // 60).astype(int)
    grid[idx] = raw[:, 1:3]
    five = np.lib.stride_tricks.sliding_window_view(grid, 5, axis=0).sum(axis=-1)
    thirty = grid[: minutes // 30 * 30].reshape(-1, 30, 2).sum(axis=1)
    print(f"Bybit minutes {minutes}, rolling 5-min windows {len(five)}, 30-min bars {len(thirty)}")
    cg = np.loadtxt(
        shared / "liquidations-coinglass-btc-2025-11-2026-06" / "coinglass_BTC_liquidation_30m.csv",
        delimiter=",",
        skiprows=1,
        usecols=(2, 3),
    )
    for q in (99.0, 99.5, 99.9):
        b5 = np.percentile(five.ravel(), q)
        b30 = np.percentile(thirty.ravel(), q)
        c30 = np.percentile(cg.ravel(), q)
        print(
            f"p{q}: Bybit 5-min {b5:.2f} BTC, 30-min {b30:.2f} BTC, ratio {b5 / b30:.3f};"
            f" CoinGlass 30-min ${c30:,.0f} -> 5-min ${c30 * b5 / b30:,.0f}"
        )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/liquidation_excerpt.py DATA_DIR")
    shared = Path(sys.argv[1])
    build_excerpt(shared)
    threshold(shared)
