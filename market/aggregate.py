"""Combining venues: pure functions over per-venue series.

The rule throughout: never sum an incomplete set silently. An OI change is computed only over
venues that have a value at both ends, so a venue that drops out never looks like an OI collapse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from liqmap import LiqMap, ModelSettings, build_map, combine_maps, make_grid
from liqmap.model import MODEL_OI_DELTA
from liqmap.times import HOUR_MS
from market.snapshot import MarketSnapshot

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# An OI point counts as "the value at t" if it is at most this old.
OI_TOLERANCE_MS = 30 * 60_000


def value_at(
    times: IntArray, values: FloatArray, t: int, tolerance_ms: int = OI_TOLERANCE_MS
) -> float | None:
    """The last value at or before ``t``, if it is at most ``tolerance_ms`` old."""
    i = int(np.searchsorted(times, t, side="right")) - 1
    if i < 0 or t - int(times[i]) > tolerance_ms or not np.isfinite(values[i]):
        return None
    return float(values[i])


def oi_change(
    series: Mapping[str, tuple[IntArray, FloatArray]],
    at: int,
    hours: float,
    tolerance_ms: int = OI_TOLERANCE_MS,
) -> tuple[float | None, tuple[str, ...]]:
    """Fractional change of summed OI (USD) over ``hours`` up to ``at``, and the venues counted.

    Only venues with a value at both ends count; with none, the change is unknown (None).
    """
    then_t = at - int(hours * HOUR_MS)
    now_sum = then_sum = 0.0
    used = []
    for venue, (times, usd) in series.items():
        now = value_at(times, usd, at, tolerance_ms)
        then = value_at(times, usd, then_t, tolerance_ms)
        if now is None or then is None:
            continue
        now_sum += now
        then_sum += then
        used.append(venue)
    if not used or then_sum <= 0:
        return None, ()
    return now_sum / then_sum - 1.0, tuple(used)


def attach_oi(
    candle_close: IntArray, oi_times: IntArray, oi_base: FloatArray, max_gap_ms: int
) -> FloatArray:
    """OI (base units) at each candle close, interpolated between stored points; NaN where the
    nearest points are further apart than ``max_gap_ms`` or outside the stored range (the engine
    then falls back to the volume proxy rather than invent OI)."""
    out = np.full(candle_close.shape, np.nan)
    if oi_times.size == 0:
        return out
    inside = (candle_close >= oi_times[0]) & (candle_close <= oi_times[-1])
    if oi_times.size == 1:
        out[candle_close == oi_times[0]] = oi_base[0]
        return out
    out[inside] = np.interp(candle_close[inside], oi_times, oi_base)
    right = np.clip(np.searchsorted(oi_times, candle_close, side="left"), 1, oi_times.size - 1)
    gap = oi_times[right] - oi_times[right - 1]
    out[inside & (gap > max_gap_ms)] = np.nan
    return out


def weighted_funding(
    rates: Mapping[str, tuple[float, float, int]], weights: Mapping[str, float]
) -> tuple[float, float, int] | None:
    """OI-weighted funding across venues: (rate per 8h, 8.0, earliest next time).

    ``rates[venue] = (rate per interval, interval hours, next time ms)``; rates are normalised to
    8h first, since venues settle at different intervals. Unweighted where no venue has OI.
    """
    if not rates:
        return None
    per_8h = {v: r * 8.0 / h for v, (r, h, _) in rates.items() if h > 0}
    if not per_8h:
        return None
    w = {v: max(weights.get(v, 0.0), 0.0) for v in per_8h}
    total = sum(w.values())
    if total <= 0:
        w = dict.fromkeys(per_8h, 1.0)
        total = float(len(per_8h))
    rate = sum(per_8h[v] * w[v] for v in per_8h) / total
    return rate, 8.0, min(n for _, _, n in rates.values())


def summed_map(
    snap: MarketSnapshot, settings: ModelSettings
) -> tuple[LiqMap, tuple[str, ...], dict[str, str]]:
    """One map per venue on a shared grid, summed; venues whose model differs from the majority
    (no OI history: volume proxy) are left out rather than mixed into USD figures."""
    ref = snap.venues[0].candles
    price = float(ref.close[-1])
    grid = make_grid(price, settings.range_pct, settings.bucket_pct)
    maps = {}
    for v in snap.venues:
        venue_settings = replace(settings, brackets=v.brackets) if v.brackets else settings
        maps[v.venue] = build_map(
            v.candles,
            snap.symbol,
            venue_settings,
            as_of=snap.at,
            price=price,
            grid=grid,
            current_oi_usd=v.open_interest_usd,
        )
    left_out = dict(snap.left_out)
    if any(m.model == MODEL_OI_DELTA for m in maps.values()):
        for venue, m in list(maps.items()):
            if m.model != MODEL_OI_DELTA:
                left_out[venue] = "no OI history yet"
                del maps[venue]
    return combine_maps(list(maps.values())), tuple(maps), left_out
