"""ModelSettings variants graded on the bundled CoinGlass totals.

Usage: python -m benchmarks.tune_skill [tune|held-out] [variant ...]
Tune on the earlier part (2025-12-11 .. 2026-04-01); the held-out part is for the final figure.
A variant is a name below or ``key=value,key=value`` of ``ModelSettings`` fields (numbers), plus
``lookback=HOURS``. Each line ends with the pools' USD as a multiple of the positions' USD (median
over three 7-day maps of the tuning period): under 1, positions dominate the map's dollars.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

from grading.api import grade_totals_file
from grading.cli import HELD_OUT_FROM, HELD_OUT_TO, TUNE_FROM
from grading.data import bundled_candles, bundled_totals
from grading.hourly import DEFAULT_LOOKBACK_H
from liqmap import Candles, ModelSettings, build_map
from liqmap.model import DEFAULT_HALF_LIVES_H, DEFAULT_TIER_WEIGHTS
from liqmap.times import HOUR_MS


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
# Third round (docs/model.md §6.1): stops at swing extremes and round numbers (liqmap.stops).
# The one candidate taken to the held-out hours: swing stops at the a-priori defaults (3h pivot,
# 0.3% band, power 1), rate low enough that positions keep most of the map's USD.
CANDIDATE = "swing_rate=0.01"
for _spec in (
    CANDIDATE,
    "swing_rate=1,stop_power=1",
    "swing_rate=0.1,stop_power=1",
    "swing_rate=10,stop_power=1",
    "swing_rate=1,stop_power=0",
    "swing_rate=1,stop_power=2",
):
    VARIANTS[_spec] = lambda spec=_spec: _parse(spec)


def _parse(spec: str) -> tuple[ModelSettings, float]:
    """``key=value,...`` into settings (numbers only) and the lookback in hours."""
    fields: dict[str, float] = {}
    lookback = float(DEFAULT_LOOKBACK_H)
    for part in spec.split(","):
        key, value = part.split("=")
        if key.strip() == "lookback":
            lookback = float(value)
        else:
            fields[key.strip()] = float(value)
    return ModelSettings(**fields), lookback  # type: ignore[arg-type]


def pool_share(candles: Candles, settings: ModelSettings, start: int, end: int) -> float:
    """Median over three 7-day maps in ``[start, end)`` of the pools' USD / positions' USD."""
    if not settings.has_pool:
        return 0.0
    out = []
    for as_of in np.linspace(start + DEFAULT_LOOKBACK_H * HOUR_MS, end, 3).astype(np.int64):
        first = int(np.searchsorted(candles.time, as_of - DEFAULT_LOOKBACK_H * HOUR_MS))
        stop = int(np.searchsorted(candles.close_time, as_of, side="right"))
        m = build_map(candles.slice(first, stop), "BTC", settings)
        assert m.long_resting is not None and m.short_resting is not None
        pool = float(m.long_resting.sum() + m.short_resting.sum())
        out.append(pool / float(m.long_by_tier.sum() + m.short_by_tier.sum()))
    return float(np.median(out))


def main(argv: list[str]) -> None:
    part = argv[0] if argv else "tune"
    start, end = (TUNE_FROM, HELD_OUT_FROM) if part == "tune" else (HELD_OUT_FROM, HELD_OUT_TO)
    names = argv[1:] or list(VARIANTS)
    # The final figure gets the CLI's 1,000 bootstraps; exploring gets 300.
    draws = 300 if part == "tune" else 1000
    candles, totals = bundled_candles(), bundled_totals()
    for name in names:
        settings, lookback = VARIANTS[name]() if name in VARIANTS else _parse(name)
        t0 = time.perf_counter()
        g = grade_totals_file(totals, candles, "BTC", start, end, settings, lookback, draws=draws)
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
        share = pool_share(candles, settings, TUNE_FROM, HELD_OUT_FROM)
        print(
            f"{name:<32} {g.hours}h | {' | '.join(cells)} | pool {share:.3g}x | {dt:.1f}s",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
