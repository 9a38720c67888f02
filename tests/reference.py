"""The liquidation map written plainly, candle by candle, in pure Python (no numpy).

This is the model of README "The model" as a trader would simulate it by hand: walk the candles
in order; each candle first liquidates the earlier levels its low/high reaches, then closes a
share of every open level if OI fell, then opens new levels at its typical price (dropping at
once any level its own close has already passed). The engine
(`liqmap.model.build_map`) must agree with it to floating-point rounding.

Heaps keep the sweep cheap (the highest long level and the lowest short level are the first to
be hit), and OI-decrease scaling is one running product divided out at the end, so the benchmark
can run it on 43,200 candles in seconds rather than hours.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right

from liqmap.model import Candles, ModelSettings, resolve_tiers


def liquidation_price(
    entry: float, leverage: float, side: str, mmr: float, cum: float, notional: float
) -> float:
    # Binance: WB + Q*(LP - E) = Q*LP*mmr - cum (long; mirrored for short), WB = N/L, N = Q*E
    if side == "long":
        return entry * (1 - 1 / leverage - cum / notional) / (1 - mmr)
    return entry * (1 + 1 / leverage + cum / notional) / (1 + mmr)


def long_share(c: Candles, t: int, clip: tuple[float, float]) -> float:
    share = None
    if c.taker_buy is not None:
        tb, vol = float(c.taker_buy[t]), float(c.volume[t])
        if vol > 0 and math.isfinite(tb):
            share = tb / vol
    if share is None and c.long_short_ratio is not None:
        r = float(c.long_short_ratio[t])
        if math.isfinite(r) and r >= 0:
            share = r / (1 + r)
    if share is None:
        o, h, low, cl = (float(c.open[t]), float(c.high[t]), float(c.low[t]), float(c.close[t]))
        if h > low:
            share = 0.5 + 0.5 * (cl - o) / (h - low)
    if share is None:
        share = 0.5
    return min(max(share, clip[0]), clip[1])


def reference_map(
    c: Candles, symbol: str, settings: ModelSettings, as_of: int, edges: list[float]
) -> tuple[list[float], list[float]]:
    """Long and short USD per bucket ``[edges[i], edges[i+1])``."""
    tiers, _ = resolve_tiers(symbol, settings)
    n = len(c)
    has_oi = c.oi is not None and all(math.isfinite(float(x)) for x in c.oi)
    longs: list[tuple[float, int, int, float, float]] = []  # (-price, t, k, usd, scale_at_seed)
    shorts: list[tuple[float, int, int, float, float]] = []  # (price, t, k, usd, scale_at_seed)
    scale = 1.0
    for t in range(n):
        low, high = float(c.low[t]), float(c.high[t])
        while longs and -longs[0][0] >= low:
            heapq.heappop(longs)
        while shorts and shorts[0][0] <= high:
            heapq.heappop(shorts)
        typical = (high + low + float(c.close[t])) / 3
        if has_oi:
            assert c.oi is not None
            prev = float(c.oi[t - 1]) if t > 0 else float(c.oi[0])
            change = float(c.oi[t]) - prev
            if change < 0 and prev > 0:
                scale *= max(0.0, 1 - abs(change) / prev)
            opened = max(change, 0.0) * typical
        else:
            opened = float(c.volume[t]) * typical
        share = long_share(c, t, settings.split_clip)
        close = float(c.close[t])
        for k, tier in enumerate(tiers):
            b = tier.bracket
            lp = liquidation_price(typical, tier.leverage, "long", b.mmr, b.cum, tier.notional)
            sp = liquidation_price(typical, tier.leverage, "short", b.mmr, b.cum, tier.notional)
            # the candle's own close comes after its entries: a level it passed is already gone
            if lp < close:
                heapq.heappush(longs, (-lp, t, k, opened * share * tier.weight, scale))
            if sp > close:
                heapq.heappush(shorts, (sp, t, k, opened * (1 - share) * tier.weight, scale))

    def decay(t: int, k: int) -> float:
        half = tiers[k].half_life_h
        if not half:
            return 1.0
        close = int(c.time[t]) + c.interval_ms
        return 0.5 ** (max(as_of - close, 0) / 3_600_000 / half)

    size = len(edges) - 1
    long_out = [0.0] * size
    short_out = [0.0] * size
    for heap, out, sign in ((longs, long_out, -1.0), (shorts, short_out, 1.0)):
        for key, t, k, usd, seeded_scale in heap:
            price = sign * key
            i = bisect_right(edges, price) - 1
            if 0 <= i < size and usd > 0:
                kept = scale / seeded_scale if seeded_scale > 0 else 0.0
                out[i] += usd * kept * decay(t, k)
    return long_out, short_out
