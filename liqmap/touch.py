"""The chance that price touches a level (a position's liquidation price) within a horizon.

Pure numpy. Price is modelled as a driftless Brownian motion in log price whose variance per
hour is read from the recent candles (Parkinson's high-low estimator), so the reflection
principle gives the chance that the path touches a level ``d`` (log distance) away within
``h`` hours:

    P(touch within h) = 2 * (1 - Phi(d / (sigma * sqrt(h)))) = erfc(d / (sigma * sqrt(2 h)))

Volatility comes in bursts, so ``sigma`` is not one number: a *fast* variance (the last hours,
exponentially weighted) and a *slow* one (the last three days) are blended for each horizon as a
GARCH-style forecast that decays from the fast level to the slow one with time constant
``TouchSettings.decay_h``: the average variance over the next ``h`` hours is

    var(h) = slow + (fast - slow) * (1 - exp(-h / tau)) / (h / tau)

so the 4 h chance follows a sudden move more than the 24 h one does. Fat tails: the variance
is a two-point scale mixture (``tail_share`` of the time ``tail_scale`` times the variance, the
rest scaled down so the mean variance is unchanged), which keeps the typical move and lifts the
chance of a far touch. "Typical 4-hour moves" is the distance in units of sigma over 4 h.

Per-candle Parkinson variance (per hour, for candles of ``interval_h`` hours):

    v = ln(high / low)^2 / (4 ln 2) / interval_h
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from liqmap.times import HOUR_MS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PARKINSON = 1.0 / (4.0 * math.log(2.0))
TYPICAL_MOVE_H = 4.0  # "typical 4-hour moves": sigma over this many hours


Level = TypeVar("Level", float, FloatArray)


class TouchInputError(ValueError):
    """Candles or levels the touch model cannot read (mismatched shapes, non-positive prices)."""


@dataclass(frozen=True)
class TouchSettings:
    """The model's constants (chosen on 2026 candles, not on the backtested 2025; see README).

    ``fast_half_life_h``: half-life of the fast variance's exponential weights, in hours.
    ``slow_h``: the slow variance is the plain mean over this many hours.
    ``decay_h``: time constant of the fast level's decay towards the slow one.
    ``tail_share``/``tail_scale``: the fat-tail mixture (0 share: plain Brownian motion).
    ``floor_pct``: a lower bound on the 1 h sigma (% of price), so a frozen feed (candles with
    high == low) does not read as a market that cannot move.
    """

    fast_half_life_h: float = 1.0
    slow_h: float = 72.0
    decay_h: float = 3.0
    tail_share: float = 0.25
    tail_scale: float = 2.5
    floor_pct: float = 0.05


DEFAULT_TOUCH = TouchSettings()


@dataclass(frozen=True)
class Volatility:
    """Per-hour variance of log price now: ``fast`` (the last hours) and ``slow`` (the day)."""

    fast: float
    slow: float

    def variance(self, hours: float, settings: TouchSettings = DEFAULT_TOUCH) -> float:
        """Average per-hour variance expected over the next ``hours``."""
        return float(
            horizon_variance(np.array([self.fast]), np.array([self.slow]), hours, settings)[0]
        )

    def typical_move_pct(
        self, hours: float = TYPICAL_MOVE_H, settings: TouchSettings = DEFAULT_TOUCH
    ) -> float:
        """One sigma of the ``hours`` log return, in % (the "typical 4-hour move")."""
        return math.expm1(math.sqrt(self.variance(hours, settings) * hours)) * 100.0


def candle_variance(high: FloatArray, low: FloatArray, interval_ms: int) -> FloatArray:
    """Parkinson variance of each candle, per hour."""
    high, low = np.asarray(high, dtype=np.float64), np.asarray(low, dtype=np.float64)
    if high.shape != low.shape:
        raise TouchInputError("high and low must have the same shape")
    if interval_ms <= 0:
        raise TouchInputError("interval_ms must be positive")
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(high / low)
    v: FloatArray = np.where(np.isfinite(lr) & (lr >= 0), lr * lr * PARKINSON, np.nan)
    return v / (interval_ms / HOUR_MS)


def rolling_volatility(
    high: FloatArray,
    low: FloatArray,
    interval_ms: int,
    settings: TouchSettings = DEFAULT_TOUCH,
) -> tuple[FloatArray, FloatArray]:
    """(fast, slow) per-hour variance known at the close of each candle, oldest first.

    Fast: exponentially weighted mean of the candles so far (half-life ``fast_half_life_h``);
    slow: mean of the candles of the last ``slow_h`` hours. Candles without a range (NaN) are
    skipped. The first candles use what there is.
    """
    v = candle_variance(high, low, interval_ms)
    ok = np.isfinite(v)
    x = np.where(ok, v, 0.0)
    w = ok.astype(np.float64)
    per_h = HOUR_MS / interval_ms
    # fast: a truncated exponential kernel (8 half-lives carry 99.6% of the weight)
    decay = 0.5 ** (1.0 / (settings.fast_half_life_h * per_h))
    k = max(math.ceil(8 * settings.fast_half_life_h * per_h), 1)
    kern = decay ** np.arange(k)
    fast = _causal(x, kern) / np.maximum(_causal(w, kern), 1e-12)
    m = max(round(settings.slow_h * per_h), 1)
    box = np.ones(m)
    slow = _causal(x, box) / np.maximum(_causal(w, box), 1e-12)
    floor = (settings.floor_pct / 100.0) ** 2
    none = _causal(w, box) == 0
    fast = np.where(none, np.nan, np.maximum(fast, floor))
    slow = np.where(none, np.nan, np.maximum(slow, floor))
    return fast, slow


def _causal(x: FloatArray, kernel: FloatArray) -> FloatArray:
    """sum_j kernel[j] * x[i - j] for every i (what is known at the close of candle i)."""
    out: FloatArray = np.convolve(x, kernel, mode="full")[: x.size]
    return out


def volatility_now(
    high: FloatArray,
    low: FloatArray,
    close_time: IntArray,
    interval_ms: int,
    as_of: int,
    settings: TouchSettings = DEFAULT_TOUCH,
) -> Volatility | None:
    """The volatility known at ``as_of`` from the candles closed by then (None if none)."""
    close_time = np.asarray(close_time, dtype=np.int64)
    done = np.flatnonzero(close_time <= as_of)
    if done.size == 0:
        return None
    last = int(done[-1])
    per_h = HOUR_MS / interval_ms
    first = max(
        0, last + 1 - math.ceil(max(settings.slow_h, 8 * settings.fast_half_life_h) * per_h)
    )
    fast, slow = rolling_volatility(
        high[first : last + 1], low[first : last + 1], interval_ms, settings
    )
    if not (math.isfinite(fast[-1]) and math.isfinite(slow[-1])):
        return None
    return Volatility(float(fast[-1]), float(slow[-1]))


def horizon_variance(
    fast: FloatArray, slow: FloatArray, hours: float, settings: TouchSettings = DEFAULT_TOUCH
) -> FloatArray:
    """Average per-hour variance over the next ``hours``: the fast level decaying to the slow."""
    r = hours / settings.decay_h
    keep = (1.0 - math.exp(-r)) / r if r > 0 else 1.0
    out: FloatArray = np.asarray(slow) + (np.asarray(fast) - np.asarray(slow)) * keep
    return out


def _erfc(x: FloatArray) -> FloatArray:
    """Complementary error function for x >= 0 (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7)."""
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    out: FloatArray = poly * np.exp(-x * x)
    return out


def touch_chance(
    price: FloatArray | float,
    level: FloatArray | float,
    fast: FloatArray | float,
    slow: FloatArray | float,
    hours: float,
    settings: TouchSettings = DEFAULT_TOUCH,
) -> FloatArray:
    """Chance (0-1) that price touches ``level`` within ``hours``, element-wise.

    ``fast``/``slow``: per-hour variances (see :func:`rolling_volatility`). A level at or past
    price is touched already (1.0); NaN inputs give NaN.

    >>> float(touch_chance(100.0, 97.0, 3e-4, 3e-4, 4.0, TouchSettings(tail_share=0)).round(2))
    0.08
    """
    p, lv = np.asarray(price, dtype=np.float64), np.asarray(level, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.abs(np.log(lv / p))
    var = horizon_variance(np.asarray(fast, float), np.asarray(slow, float), hours, settings)
    s, k = settings.tail_share, settings.tail_scale
    calm = (1.0 - s * k) / (1.0 - s) if s > 0 else 1.0  # the mixture keeps the mean variance
    chance = np.zeros(np.broadcast(d, var).shape)
    for weight, scale in ((1.0 - s, calm), (s, k)):
        if weight <= 0:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            z = d / np.sqrt(2.0 * var * scale * hours)
        chance = chance + weight * _erfc(np.where(np.isfinite(z), z, 0.0))
    out: FloatArray = np.where(np.isnan(d) | np.isnan(var), np.nan, np.clip(chance, 0.0, 1.0))
    return np.where(d == 0, 1.0, out)


def typical_moves(
    price: FloatArray | float,
    level: FloatArray | float,
    fast: FloatArray | float,
    slow: FloatArray | float,
    settings: TouchSettings = DEFAULT_TOUCH,
) -> FloatArray:
    """The distance to ``level`` in typical 4-hour moves: |ln(level / price)| / (sigma * 2)."""
    p, lv = np.asarray(price, dtype=np.float64), np.asarray(level, dtype=np.float64)
    var = horizon_variance(
        np.asarray(fast, float), np.asarray(slow, float), TYPICAL_MOVE_H, settings
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.abs(np.log(lv / p)) / np.sqrt(var * TYPICAL_MOVE_H)
    return out


def warning_levels(threshold: Level) -> tuple[Level, Level]:
    """(escalate, re-arm) for a warning that fires when the 4 h chance reaches ``threshold``:
    it escalates once when the chance is halfway from the threshold to certain (20% -> 60%),
    and re-arms (a new episode) once the chance is back under half the threshold (10%)."""
    return 1.0 - (1.0 - threshold) / 2.0, threshold / 2.0
