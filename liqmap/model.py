"""The liquidation map: seed new positions from OI growth, drop what price has swept since.

All of it is vectorised over candles x leverage tiers; see ``docs`` in the README for the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from liqmap.brackets import (
    DEFAULT_POSITION_NOTIONAL,
    Bracket,
    bracket_for,
    brackets_for,
    liquidation_price,
    max_leverage,
)
from liqmap.grid import PriceGrid, make_grid
from liqmap.stops import spread_beyond, unrevisited_extremes
from liqmap.times import HOUR_MS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_TIER_WEIGHTS: Mapping[float, float] = {5: 0.15, 10: 0.30, 25: 0.25, 50: 0.20, 100: 0.10}
# Hours for a tier's unswept levels to lose half their weight. Every tier needs an entry: a
# number, or None for an explicit "no decay" (a forgotten tier must not silently never decay).
DEFAULT_HALF_LIVES_H: Mapping[float, float | None] = {5: 480, 10: 120, 25: 48, 50: 24, 100: 12}

MODEL_OI_DELTA = "oi-delta"
MODEL_VOLUME_PROXY = "volume-proxy"


class Modelled(Protocol):
    """Anything drawn by one model: a map, a heatmap, a report of a map."""

    @property
    def model(self) -> str: ...


def is_proxy(drawn: Modelled) -> bool:
    """Drawn by the volume proxy (no OI history): its amounts are relative units, never USD."""
    return drawn.model == MODEL_VOLUME_PROXY


SPLIT_TAKER = "taker"
SPLIT_RATIO = "long-short-ratio"
SPLIT_CANDLE = "candle-direction"
SPLIT_EVEN = "even"


class ModelInputError(ValueError):
    """The candles or settings cannot produce a map (empty window, mismatched lengths...)."""


@dataclass(frozen=True)
class Candles:
    """One venue's candles, oldest first. Times are candle *open* times in ms (UTC).

    ``taker_buy`` (base units), ``oi`` (open interest at candle close, base units) and
    ``long_short_ratio`` are optional; NaN marks a missing value inside a series.
    ``interval_ms`` is the candle length.
    """

    time: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    interval_ms: int
    taker_buy: FloatArray | None = None
    oi: FloatArray | None = None
    long_short_ratio: FloatArray | None = None

    def __post_init__(self) -> None:
        n = self.time.size
        for name in ("open", "high", "low", "close", "volume"):
            if getattr(self, name).shape != (n,):
                raise ModelInputError(f"candles.{name} must have {n} values")
        for name in ("taker_buy", "oi", "long_short_ratio"):
            arr = getattr(self, name)
            if arr is not None and arr.shape != (n,):
                raise ModelInputError(f"candles.{name} must have {n} values")
        if self.interval_ms <= 0:
            raise ModelInputError("candles.interval_ms must be positive")

    def __len__(self) -> int:
        return int(self.time.size)

    @property
    def close_time(self) -> IntArray:
        return self.time + self.interval_ms

    def slice(self, start: int, stop: int) -> Candles:
        """Candles ``[start, stop)`` (positions, not times)."""

        def cut(a: FloatArray | None) -> FloatArray | None:
            return None if a is None else a[start:stop]

        return Candles(
            time=self.time[start:stop],
            open=self.open[start:stop],
            high=self.high[start:stop],
            low=self.low[start:stop],
            close=self.close[start:stop],
            volume=self.volume[start:stop],
            interval_ms=self.interval_ms,
            taker_buy=cut(self.taker_buy),
            oi=cut(self.oi),
            long_short_ratio=cut(self.long_short_ratio),
        )


@dataclass(frozen=True)
class ModelSettings:
    """Every choice the model makes, so it can be tuned against evidence, not taste."""

    tier_weights: Mapping[float, float] = field(default_factory=lambda: dict(DEFAULT_TIER_WEIGHTS))
    # Only these leverages are drawn (None: all). Weights are not renormalised, so a filtered
    # map shows exactly that slice of the full map.
    tier_filter: tuple[float, ...] | None = None
    # Per tier half-life in hours, or None for that tier's "no decay"; the whole mapping None:
    # no tier decays. A tier of ``tier_weights`` missing here is an error, not "no decay".
    half_lives_h: Mapping[float, float | None] | None = field(
        default_factory=lambda: dict(DEFAULT_HALF_LIVES_H)
    )
    split_clip: tuple[float, float] = (0.2, 0.8)
    range_pct: float = 30.0
    bucket_pct: float = 0.1
    position_notional: float = DEFAULT_POSITION_NOTIONAL
    # Scale each side so its total equals current OI in USD (else: raw seeded USD notional).
    scale_to_oi: bool = False
    # The venue's own maintenance brackets (from its published tiers); None: Binance's bundled
    # table for the symbol, or the documented default.
    brackets: tuple[Bracket, ...] | None = None
    # Prior from how long a level has sat untouched: each surviving level's USD is multiplied
    # by (hours since price last traded at it, within the window, / 24h) ** untouched_power.
    # 0: off (plain USD). Levels nobody has revisited gather stops and late entries too.
    untouched_power: float = 0.0
    # Resting-order pool: every price level price has not revisited gathers stops and
    # unmodelled positions. Per 1% of price, the pool holds ``resting_rate`` x the window's USD
    # seeded per hour x (hours untouched) ** ``resting_power``, out to ``range_pct``. 0: off.
    resting_rate: float = 0.0
    resting_power: float = 1.0
    # Resting stops (``liqmap.stops``), also outside the tiers: at every unrevisited swing low
    # (long side) / high (short side) of the last ``swing_hours`` (0: the whole window) that was
    # the extreme of the ``swing_pivot_h`` before it, ``swing_rate`` x USD seeded per hour x
    # (hours it has held) ** ``stop_power``, spread over ``stop_band_pct`` beyond the level.
    # 0: off. (Stops at round numbers were tried too and lost on every period graded, so they
    # left the engine: README "How good is the map".)
    swing_rate: float = 0.0
    swing_hours: float = 0.0
    swing_pivot_h: float = 3.0
    stop_band_pct: float = 0.3
    stop_power: float = 1.0
    # Long side of every pool above (resting, swing) times this: the sides differ.
    long_pool_factor: float = 1.0

    def __post_init__(self) -> None:
        if not self.tier_weights:
            raise ModelInputError("at least one leverage tier is needed")
        for lev, w in self.tier_weights.items():
            if not (np.isfinite(lev) and lev >= 1):
                raise ModelInputError(f"leverage tier {lev!r} must be a number >= 1")
            if not (np.isfinite(w) and w >= 0):
                raise ModelInputError(f"tier weight {w!r} must be >= 0")
        if self.tier_filter is not None:
            unknown = [t for t in self.tier_filter if t not in self.tier_weights]
            if unknown or not self.tier_filter:
                known = ", ".join(f"{t:g}" for t in sorted(self.tier_weights))
                raise ModelInputError(f"unknown leverage tier(s); choose from {known}")
        if self.half_lives_h is not None:
            missing = [t for t in self.tier_weights if t not in self.half_lives_h]
            if missing:
                names = ", ".join(f"{t:g}x" for t in sorted(missing))
                raise ModelInputError(
                    f"no half-life for tier(s) {names}: give hours, or None for no decay"
                )
            for lev, h in self.half_lives_h.items():
                if h is not None and not (np.isfinite(h) and h > 0):
                    raise ModelInputError(f"half-life {h!r} of tier {lev:g}x must be > 0 or None")
        if not (np.isfinite(self.untouched_power) and 0 <= self.untouched_power <= 4):
            raise ModelInputError("untouched_power must be between 0 and 4")
        if not (np.isfinite(self.resting_rate) and self.resting_rate >= 0):
            raise ModelInputError("resting_rate must be >= 0")
        if not (np.isfinite(self.resting_power) and 0 <= self.resting_power <= 4):
            raise ModelInputError("resting_power must be between 0 and 4")
        nonneg = ("swing_rate", "swing_hours", "swing_pivot_h", "long_pool_factor")
        for name in nonneg:
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ModelInputError(f"{name} must be >= 0")
        if not (np.isfinite(self.stop_power) and 0 <= self.stop_power <= 4):
            raise ModelInputError("stop_power must be between 0 and 4")
        if not (np.isfinite(self.stop_band_pct) and 0 < self.stop_band_pct <= 10):
            raise ModelInputError("stop_band_pct must be above 0 and at most 10")

    @property
    def has_pool(self) -> bool:
        """Any resting pool on (resting orders, swing stops)."""
        return bool(self.resting_rate or self.swing_rate)


@dataclass(frozen=True)
class Tier:
    """A leverage tier as drawn: its leverage (after the symbol's cap), weight and bracket."""

    leverage: float
    weight: float
    bracket: Bracket
    notional: float
    half_life_h: float | None


@dataclass(frozen=True)
class LiqMap:
    """A liquidation map at ``as_of`` (ms): USD notional per bucket, long and short side.

    ``long`` is forced *selling* if price falls to the bucket; ``short`` forced *buying*.
    ``long_by_tier``/``short_by_tier`` break it down per tier (rows follow ``tiers``); with
    the resting pool on, ``long = long_by_tier.sum(0) + long_resting`` (short alike).
    """

    symbol: str
    as_of: int
    price: float
    grid: PriceGrid
    long: FloatArray
    short: FloatArray
    long_by_tier: FloatArray
    short_by_tier: FloatArray
    tiers: tuple[Tier, ...]
    model: str
    split: str
    units: str
    seeded_long: float
    seeded_short: float
    brackets_bundled: bool
    # The resting pools per bucket (``resting_rate``, ``swing_rate``), already
    # inside ``long``/``short`` but in no tier; None when all are off.
    long_resting: FloatArray | None = None
    short_resting: FloatArray | None = None

    @property
    def total_long(self) -> float:
        return float(self.long.sum())

    @property
    def total_short(self) -> float:
        return float(self.short.sum())


def resolve_tiers(symbol: str, settings: ModelSettings) -> tuple[tuple[Tier, ...], bool]:
    """The tiers drawn for ``symbol``: filtered, capped at its maximum leverage, with brackets."""
    brackets, bundled = brackets_for(symbol)
    if settings.brackets:
        brackets, bundled = settings.brackets, True
    cap = max_leverage(brackets)
    wanted = settings.tier_filter or tuple(settings.tier_weights)
    tiers = []
    for lev in sorted(wanted):
        weight = float(settings.tier_weights[lev])
        used = float(min(lev, cap))
        bracket, notional = bracket_for(brackets, settings.position_notional, used)
        half = None if settings.half_lives_h is None else settings.half_lives_h[lev]
        tiers.append(Tier(used, weight, bracket, notional, half))
    return tuple(tiers), bundled


def typical_price(c: Candles) -> FloatArray:
    return (c.high + c.low + c.close) / 3.0


def oi_changes(c: Candles) -> FloatArray | None:
    """``OI_t - OI_{t-1}`` (0 for the first candle); None when the window has no full OI."""
    if c.oi is None or len(c) == 0 or not np.all(np.isfinite(c.oi)):
        return None
    return np.diff(c.oi, prepend=c.oi[0])


def new_notional(c: Candles) -> tuple[FloatArray, str]:
    """USD notional opened in each candle and the model used.

    ``N_t = max(OI_t - OI_{t-1}, 0) * P_t``; without OI, turnover (volume * P_t) as a proxy.
    """
    p = typical_price(c)
    d_oi = oi_changes(c)
    if d_oi is None:
        return c.volume * p, MODEL_VOLUME_PROXY
    return np.maximum(d_oi, 0.0) * p, MODEL_OI_DELTA


SPLIT_SOURCES = (SPLIT_EVEN, SPLIT_TAKER, SPLIT_RATIO, SPLIT_CANDLE)


def long_share(c: Candles, clip: tuple[float, float] = (0.2, 0.8)) -> tuple[FloatArray, str]:
    """Share of each candle's new notional opened long, and the source used for most candles.

    Taker buy share, else long/short account ratio ``r/(1+r)``, else candle direction
    ``0.5 + 0.5*(C-O)/(H-L)``, else 0.5; clipped to ``clip``. Chosen per candle.
    """
    n = len(c)
    share = np.full(n, np.nan)
    source = np.zeros(n, dtype=np.int64)  # index into SPLIT_SOURCES
    with np.errstate(divide="ignore", invalid="ignore"):
        if c.taker_buy is not None:
            s = c.taker_buy / c.volume
            ok = np.isfinite(s) & (c.volume > 0)
            share[ok] = s[ok]
            source[ok] = 1
        if c.long_short_ratio is not None:
            r = c.long_short_ratio
            s = r / (1.0 + r)
            ok = np.isnan(share) & np.isfinite(s) & (r >= 0)
            share[ok] = s[ok]
            source[ok] = 2
        rng = c.high - c.low
        s = 0.5 + 0.5 * (c.close - c.open) / rng
        ok = np.isnan(share) & (rng > 0) & np.isfinite(s)
        share[ok] = s[ok]
        source[ok] = 3
    share[np.isnan(share)] = 0.5
    counts = np.bincount(source, minlength=len(SPLIT_SOURCES))
    main = SPLIT_SOURCES[int(np.argmax(counts))] if n else SPLIT_EVEN
    return np.clip(share, clip[0], clip[1]), main


def oi_decrease_factors(c: Candles) -> FloatArray:
    """Per candle, the share of live positions that stayed open: ``1 - |dOI| / OI_{t-1}``."""
    d_oi = oi_changes(c)
    if d_oi is None:
        return np.ones(len(c))
    prev = np.concatenate(([c.oi[0]], c.oi[:-1])) if c.oi is not None else np.ones(len(c))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where((d_oi < 0) & (prev > 0), 1.0 - np.abs(d_oi) / prev, 1.0)
    return np.clip(f, 0.0, 1.0)


def suffix_product_after(f: FloatArray) -> FloatArray:
    """``out[t] = prod(f[t+1:])`` (1 for the last element)."""
    out = np.ones_like(f)
    if f.size > 1:
        out[:-1] = np.cumprod(f[::-1])[::-1][1:]
    return out


def suffix_extreme_after(values: FloatArray, kind: str) -> FloatArray:
    """``out[t] = min(values[t+1:])`` (or max); +inf / -inf for the last element."""
    fill = np.inf if kind == "min" else -np.inf
    acc = np.minimum.accumulate if kind == "min" else np.maximum.accumulate
    out = np.full_like(values, fill)
    if values.size > 1:
        out[:-1] = acc(values[::-1])[::-1][1:]
    return out


@dataclass(frozen=True)
class Levels:
    """Every seeded level of a window: arrays shaped (candles, tiers)."""

    long_price: FloatArray
    short_price: FloatArray
    long_amount: FloatArray  # USD seeded, before sweep, OI-decrease and decay
    short_amount: FloatArray
    model: str
    split: str


def seed_levels(c: Candles, tiers: tuple[Tier, ...], clip: tuple[float, float]) -> Levels:
    """Liquidation prices and seeded USD notional for every candle x tier."""
    p = typical_price(c)
    notional, model = new_notional(c)
    share, split = long_share(c, clip)
    weights = np.array([t.weight for t in tiers])
    # LP is linear in the entry price: one factor per tier, broadcast over every candle.
    long_factor = np.array(
        [
            float(
                liquidation_price(1.0, t.leverage, "long", t.bracket.mmr, t.bracket.cum, t.notional)
            )
            for t in tiers
        ]
    )
    short_factor = np.array(
        [
            float(
                liquidation_price(
                    1.0, t.leverage, "short", t.bracket.mmr, t.bracket.cum, t.notional
                )
            )
            for t in tiers
        ]
    )
    long_price = p[:, None] * long_factor[None, :]
    short_price = p[:, None] * short_factor[None, :]
    long_amount = (notional * share)[:, None] * weights[None, :]
    short_amount = (notional * (1.0 - share))[:, None] * weights[None, :]
    return Levels(long_price, short_price, long_amount, short_amount, model, split)


def decay_factors(c: Candles, tiers: tuple[Tier, ...], as_of: int) -> FloatArray:
    """(candles, tiers) weight left after each tier's half-life, by age at ``as_of``."""
    age_h = (as_of - c.close_time).astype(np.float64) / HOUR_MS
    out = np.ones((len(c), len(tiers)))
    for k, t in enumerate(tiers):
        if t.half_life_h:
            out[:, k] = np.power(0.5, np.maximum(age_h, 0.0) / t.half_life_h)
    return out


def bin_levels(grid: PriceGrid, prices: FloatArray, amounts: FloatArray) -> FloatArray:
    """Sum ``amounts`` into the grid's buckets per tier: returns (tiers, buckets)."""
    n_tiers = prices.shape[1]
    live = amounts > 0  # most levels are swept: locate only the survivors
    tier = np.broadcast_to(np.arange(n_tiers)[None, :], prices.shape)[live]
    idx = grid.index_of(prices[live])
    inside = idx >= 0
    flat = idx[inside] + tier[inside] * grid.size
    counts = np.bincount(flat, weights=amounts[live][inside], minlength=n_tiers * grid.size)
    return np.asarray(counts, dtype=np.float64).reshape(n_tiers, grid.size)


UNTOUCHED_UNIT_H = 24.0


def hours_untouched(c: Candles, prices: FloatArray, side: str, as_of: int) -> FloatArray:
    """Hours from the last candle that traded at each price (long levels: the last candle whose
    low reached it; short: whose high did) to ``as_of``. Never within the window: the window's
    age + 1h (the grading baseline's convention)."""
    if side == "long":
        # suffix minimum of lows is non-decreasing: the last candle at or under x is a search
        reach = np.minimum.accumulate(c.low[::-1])[::-1]
        last = np.searchsorted(reach, prices, side="right") - 1
    else:
        reach = np.maximum.accumulate(c.high[::-1])[::-1]
        last = np.searchsorted(-reach, -prices, side="right") - 1
    close = c.close_time
    span = (as_of - int(close[0])) / HOUR_MS + 1.0
    age = np.where(last >= 0, (as_of - close[np.maximum(last, 0)]) / HOUR_MS, span)
    return np.maximum(np.asarray(age, dtype=np.float64), 0.0)


def untouched_weights(
    c: Candles, prices: FloatArray, live: FloatArray, side: str, as_of: int, power: float
) -> FloatArray:
    """``(hours untouched / 24h) ** power`` for the live levels (1 elsewhere)."""
    out = np.ones_like(prices)
    alive = live > 0
    if alive.any():
        age = hours_untouched(c, prices[alive], side, as_of)
        out[alive] = np.power(np.maximum(age, 0.25) / UNTOUCHED_UNIT_H, power)
    return out


# The resting pool is laid out on points 0.01% apart: ten per 0.1% bucket, so any bucket
# alignment sees it evenly.
RESTING_STEP_PCT = 0.01


@dataclass(frozen=True)
class RestingPool:
    """The resting-order pool as points: below price (long side), above price (short side)."""

    long_price: FloatArray
    long_usd: FloatArray
    short_price: FloatArray
    short_usd: FloatArray


def resting_pool(
    c: Candles, levels: Levels, settings: ModelSettings, as_of: int, price: float
) -> RestingPool:
    """Every resting pool as points: the uniform pool (each 0.01% step away from ``price``:
    rate x USD seeded per hour x 1 step's share of 1% x hours untouched ** power) and swing
    stops (``ModelSettings``). Empty when all are off."""
    empty = np.zeros(0)
    if not settings.has_pool or len(c) == 0:
        return RestingPool(empty, empty, empty, empty)
    window_h = max((as_of - int(c.time[0])) / HOUR_MS, 1.0)
    per_hour = float(levels.long_amount.sum() + levels.short_amount.sum()) / window_h
    parts = {"long": ([empty], [empty]), "short": ([empty], [empty])}
    if settings.resting_rate:
        step = float(np.log1p(RESTING_STEP_PCT / 100.0))
        k = np.arange(1, int(np.log1p(settings.range_pct / 100.0) / step) + 1, dtype=np.float64)
        unit = settings.resting_rate * per_hour * 100.0 * step
        for side, pts in (("long", price * np.exp(-k * step)), ("short", price * np.exp(k * step))):
            usd = unit * np.power(hours_untouched(c, pts, side, as_of), settings.resting_power)
            parts[side][0].append(pts)
            parts[side][1].append(usd)
    for side in ("long", "short"):
        for pts, usd in _stop_levels(c, settings, as_of, price, per_hour, side):
            band = spread_beyond(pts, usd, settings.stop_band_pct, side)
            parts[side][0].append(band[0])
            parts[side][1].append(band[1])
    lp, lu = np.concatenate(parts["long"][0]), np.concatenate(parts["long"][1])
    sp, su = np.concatenate(parts["short"][0]), np.concatenate(parts["short"][1])
    return RestingPool(lp, lu * settings.long_pool_factor, sp, su)


def _stop_levels(
    c: Candles, settings: ModelSettings, as_of: int, price: float, per_hour: float, side: str
) -> list[tuple[FloatArray, FloatArray]]:
    """Swing stop levels of one side (before spreading), with their USD."""
    out = []
    below = side == "long"
    if settings.swing_rate:
        pivot = round(settings.swing_pivot_h * HOUR_MS / c.interval_ms)
        ix = unrevisited_extremes(c.low, c.high, pivot, side)
        held = (as_of - c.close_time[ix]).astype(np.float64) / HOUR_MS
        if settings.swing_hours:
            ix, held = ix[held <= settings.swing_hours], held[held <= settings.swing_hours]
        pts = (c.low if below else c.high)[ix]
        ok = (pts < price) if below else (pts > price)
        usd = settings.swing_rate * per_hour * np.power(np.maximum(held, 0.25), settings.stop_power)
        out.append((pts[ok], usd[ok]))
    return out


def surviving_levels(
    candles: Candles, tiers: tuple[Tier, ...], settings: ModelSettings, as_of: int
) -> tuple[Levels, FloatArray, FloatArray]:
    """Seeded levels and the USD each still holds at ``as_of`` (0 where swept).

    A long level seeded at t survives iff ``LP < min(close[t], low[t+1:])``, a short iff
    ``LP > max(close[t], high[t+1:])`` (suffix extremes: one pass). The seeding candle's own
    close counts because it trades after the positions opened in that candle; without it, a
    long wick drags the typical price so far that levels would sit on the wrong side of price.
    Survivors keep the share ``prod(1 - |dOI|/OI)`` over later OI drops, times their tier's decay.
    """
    levels = seed_levels(candles, tiers, settings.split_clip)
    later_low = np.minimum(suffix_extreme_after(candles.low, "min"), candles.close)[:, None]
    later_high = np.maximum(suffix_extreme_after(candles.high, "max"), candles.close)[:, None]
    keep = suffix_product_after(oi_decrease_factors(candles))[:, None]
    keep = keep * decay_factors(candles, tiers, as_of)
    long_live = np.where(levels.long_price < later_low, levels.long_amount * keep, 0.0)
    short_live = np.where(levels.short_price > later_high, levels.short_amount * keep, 0.0)
    if settings.untouched_power:
        p = settings.untouched_power
        long_live = long_live * untouched_weights(
            candles, levels.long_price, long_live, "long", as_of, p
        )
        short_live = short_live * untouched_weights(
            candles, levels.short_price, short_live, "short", as_of, p
        )
    return levels, long_live, short_live


def build_map(
    candles: Candles,
    symbol: str,
    settings: ModelSettings | None = None,
    as_of: int | None = None,
    price: float | None = None,
    grid: PriceGrid | None = None,
    current_oi_usd: float | None = None,
) -> LiqMap:
    """The liquidation map after the last candle.

    Steps (README, "The model"): ``N_t = max(dOI,0) * P_t`` split long/short; per tier a
    liquidation price; a long level survives iff ``LP < min(close[t], low[t+1:])`` (short:
    ``LP > max(close[t], high[t+1:])``); survivors are scaled by ``prod(1 - |dOI|/OI)`` over
    later OI drops and by the tier's decay, then binned.
    """
    settings = settings or ModelSettings()
    if len(candles) == 0:
        raise ModelInputError("no candles in the window")
    as_of = int(candles.close_time[-1]) if as_of is None else int(as_of)
    price = float(candles.close[-1]) if price is None else float(price)
    grid = grid or make_grid(price, settings.range_pct, settings.bucket_pct)
    tiers, bundled = resolve_tiers(symbol, settings)

    levels, long_live, short_live = surviving_levels(candles, tiers, settings, as_of)
    long_by_tier = bin_levels(grid, levels.long_price, long_live)
    short_by_tier = bin_levels(grid, levels.short_price, short_live)
    units = "USD notional (seeded from OI growth)"
    if levels.model == MODEL_VOLUME_PROXY:
        units = "relative (turnover proxy, not USD of open positions)"
    if settings.scale_to_oi and current_oi_usd and current_oi_usd > 0:
        for side in (long_by_tier, short_by_tier):
            total = side.sum()
            if total > 0:
                side *= current_oi_usd / total
        units = "USD, each side scaled to current open interest"
    long, short = long_by_tier.sum(axis=0), short_by_tier.sum(axis=0)
    long_resting = short_resting = None
    if settings.has_pool:
        pool = resting_pool(candles, levels, settings, as_of, price)
        long_resting = bin_levels(grid, pool.long_price[:, None], pool.long_usd[:, None])[0]
        short_resting = bin_levels(grid, pool.short_price[:, None], pool.short_usd[:, None])[0]
        long, short = long + long_resting, short + short_resting
        units += ", plus a resting-order pool at untouched levels"
    return LiqMap(
        symbol=symbol,
        as_of=as_of,
        price=price,
        grid=grid,
        long=long,
        short=short,
        long_by_tier=long_by_tier,
        short_by_tier=short_by_tier,
        tiers=tiers,
        model=levels.model,
        split=levels.split,
        units=units,
        seeded_long=float(levels.long_amount.sum()),
        seeded_short=float(levels.short_amount.sum()),
        brackets_bundled=bundled,
        long_resting=long_resting,
        short_resting=short_resting,
    )


def combine_maps(maps: list[LiqMap]) -> LiqMap:
    """Sum per-venue maps drawn on the same grid (docs/model.md §2.10: compute per
    exchange, convert to USD, sum). The caller decides which venues belong in the sum."""
    if not maps:
        raise ModelInputError("no venue maps to combine")
    first = maps[0]
    if len(maps) == 1:
        return first
    if any(m.grid.edges.shape != first.grid.edges.shape for m in maps) or not all(
        np.array_equal(m.grid.edges, first.grid.edges) for m in maps
    ):
        raise ModelInputError("venue maps must share one price grid")
    if len({m.model for m in maps}) > 1 or len({m.units for m in maps}) > 1:
        raise ModelInputError("cannot add maps in different units")
    splits = {m.split for m in maps}
    return LiqMap(
        symbol=first.symbol,
        as_of=max(m.as_of for m in maps),
        price=first.price,
        grid=first.grid,
        long=np.sum([m.long for m in maps], axis=0),
        short=np.sum([m.short for m in maps], axis=0),
        long_by_tier=np.sum([m.long_by_tier for m in maps], axis=0),
        short_by_tier=np.sum([m.short_by_tier for m in maps], axis=0),
        tiers=first.tiers,
        model=first.model,
        split=first.split if len(splits) == 1 else "mixed",
        units=first.units,
        seeded_long=sum(m.seeded_long for m in maps),
        seeded_short=sum(m.seeded_short for m in maps),
        brackets_bundled=first.brackets_bundled,
        long_resting=_sum_resting([m.long_resting for m in maps]),
        short_resting=_sum_resting([m.short_resting for m in maps]),
    )


def _sum_resting(parts: list[FloatArray | None]) -> FloatArray | None:
    present = [p for p in parts if p is not None]
    return np.sum(present, axis=0) if present else None
