"""Item 5 of issue 12: ModelSettings variants graded on the bundled CoinGlass totals.

Usage: python -m benchmarks.tune_skill [tune|held-out] [variant ...]
Tune on the earlier part (2025-12-11 .. 2026-04-01); the held-out part is for the final figure.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from grading.api import grade_totals_file
from grading.cli import HELD_OUT_FROM, HELD_OUT_TO, TUNE_FROM
from grading.data import bundled_candles, bundled_totals
from grading.hourly import DEFAULT_LOOKBACK_H
from liqmap import ModelSettings
from liqmap.model import DEFAULT_HALF_LIVES_H, DEFAULT_TIER_WEIGHTS


def _halves(k: float | None) -> ModelSettings:
    if k is None:
        return ModelSettings(half_lives_h=None)
    return ModelSettings(half_lives_h={t: h * k for t, h in DEFAULT_HALF_LIVES_H.items() if h})


def _weights(w: dict[float, float]) -> ModelSettings:
    return ModelSettings(tier_weights=w)


VARIANTS: dict[str, Callable[[], tuple[ModelSettings, float]]] = {
    "default": lambda: (ModelSettings(), DEFAULT_LOOKBACK_H),
    "half-lives x0.5": lambda: (_halves(0.5), DEFAULT_LOOKBACK_H),
    "half-lives x0.25": lambda: (_halves(0.25), DEFAULT_LOOKBACK_H),
    "half-lives x0.1": lambda: (_halves(0.1), DEFAULT_LOOKBACK_H),
    "half-lives x2": lambda: (_halves(2.0), DEFAULT_LOOKBACK_H),
    "no decay": lambda: (_halves(None), DEFAULT_LOOKBACK_H),
    "lookback 1d": lambda: (ModelSettings(), 24),
    "lookback 3d": lambda: (ModelSettings(), 72),
    "lookback 30d": lambda: (ModelSettings(), 720),
    "lookback 30d, half-lives x0.25": lambda: (_halves(0.25), 720),
    "high leverage only (50x,100x)": lambda: (_weights({50: 0.5, 100: 0.5}), DEFAULT_LOOKBACK_H),
    "low leverage only (5x,10x)": lambda: (_weights({5: 0.5, 10: 0.5}), DEFAULT_LOOKBACK_H),
    "25x only": lambda: (_weights({25: 1.0}), DEFAULT_LOOKBACK_H),
    "even split (no taker)": lambda: (ModelSettings(split_clip=(0.5, 0.5)), DEFAULT_LOOKBACK_H),
    "taker split unclipped": lambda: (ModelSettings(split_clip=(0.0, 1.0)), DEFAULT_LOOKBACK_H),
}
for _p in (0.25, 0.5, 1.0, 1.5, 2.0, 3.0):
    VARIANTS[f"untouched^{_p:g}"] = lambda p=_p: (
        ModelSettings(untouched_power=p),
        DEFAULT_LOOKBACK_H,
    )
for _r in (0.0001, 0.001, 0.01, 0.1, 0.3, 1.0):
    for _q in (0.5, 1.0, 1.5, 2.0, 3.0):
        VARIANTS[f"resting {_r:g} ^{_q:g}"] = lambda r=_r, q=_q: (
            ModelSettings(resting_rate=r, resting_power=q),
            DEFAULT_LOOKBACK_H,
        )
VARIANTS["resting 0.1 ^1.5, lookback 30d"] = lambda: (
    ModelSettings(resting_rate=0.1, resting_power=1.5),
    720,
)
VARIANTS["resting 0.1 ^1.5, untouched^1"] = lambda: (
    ModelSettings(resting_rate=0.1, resting_power=1.5, untouched_power=1.0),
    DEFAULT_LOOKBACK_H,
)
VARIANTS["resting 0.1 ^1.5, no decay"] = lambda: (
    ModelSettings(resting_rate=0.1, resting_power=1.5, half_lives_h=None),
    DEFAULT_LOOKBACK_H,
)
_ = DEFAULT_TIER_WEIGHTS


def main(argv: list[str]) -> None:
    part = argv[0] if argv else "tune"
    start, end = (TUNE_FROM, HELD_OUT_FROM) if part == "tune" else (HELD_OUT_FROM, HELD_OUT_TO)
    names = argv[1:] or list(VARIANTS)
    candles, totals = bundled_candles(), bundled_totals()
    for name in names:
        settings, lookback = VARIANTS[name]()
        t0 = time.perf_counter()
        g = grade_totals_file(totals, candles, "BTC", start, end, settings, lookback, draws=300)
        cells = []
        for side in ("long", "short"):
            s = g.side(side)
            assert s.model.score is not None and s.baseline.score is not None
            assert s.margin.low is not None and s.margin.high is not None
            assert s.margin.score is not None
            cells.append(
                f"{side} map {s.model.score:+.3f} base {s.baseline.score:+.3f} "
                f"margin {s.margin.score:+.3f} [{s.margin.low:+.3f},{s.margin.high:+.3f}]"
            )
        dt = time.perf_counter() - t0
        print(f"{name:<32} {g.hours}h | {' | '.join(cells)} | {dt:.1f}s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
