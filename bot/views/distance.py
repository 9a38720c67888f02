"""How far a position is from its liquidation: the one formatter for every place a position is
shown (alerts, the liquidation warning, /positions, the digest, /check).

``#1 BTC long x20: liquidation 110,642.6 is 3.2% below, about 0.9 typical 4-hour moves; chance
to touch it within 4 h: 35%, within 24 h: 70%`` (the chances from :mod:`liqmap.touch`; without
volatility only the distance).
"""

from __future__ import annotations

import math

from bot.views import fmt
from liqmap.touch import Volatility, touch_chance, typical_moves


def chance_pct(p: float) -> str:
    """'35%'; '<1%' and '>99%' at the ends (a model never knows 0 or 100)."""
    if not math.isfinite(p):
        return "n/a"
    if p < 0.01:
        return "<1%"
    if p > 0.99:
        return ">99%"
    return f"{p * 100:.0f}%"


def touch_chances(price: float, lp: float, vol: Volatility | None) -> tuple[float, float, float]:
    """(typical 4-hour moves, chance within 4 h, within 24 h); NaN without volatility."""
    if vol is None or not (math.isfinite(lp) and lp > 0 and price > 0):
        return math.nan, math.nan, math.nan
    moves = float(typical_moves(price, lp, vol.fast, vol.slow))
    four = float(touch_chance(price, lp, vol.fast, vol.slow, 4))
    day = float(touch_chance(price, lp, vol.fast, vol.slow, 24))
    return moves, four, day


def liquidation_distance(price: float, lp: float | None, vol: Volatility | None) -> str:
    """'liquidation 110,642.6 is 3.2% below, about 0.9 typical 4-hour moves; chance to touch
    it within 4 h: 35%, within 24 h: 70%'."""
    if lp is None or not math.isfinite(lp):
        return "liquidation unknown"
    d = (lp / price - 1) * 100
    text = f"liquidation {fmt.price(lp)} is {abs(d):.1f}% {'below' if d < 0 else 'above'}"
    moves, four, day = touch_chances(price, lp, vol)
    if math.isfinite(moves):
        text += (
            f", about {moves:.1f} typical 4-hour moves; chance to touch it within 4 h: "
            f"{chance_pct(four)}, within 24 h: {chance_pct(day)}"
        )
    return text


def position_line(
    sub_id: int,
    symbol: str,
    side: str,
    leverage: float | None,
    lp: float | None,
    price: float,
    vol: Volatility | None,
) -> str:
    """'#1 BTC long x20: liquidation 110,642.6 is 3.2% below, about 0.9 typical ...' (no
    full stop: callers add their own ending)."""
    head = f"#{sub_id} {symbol.split('/')[0]} {side}"
    if leverage is not None and math.isfinite(leverage):
        head += f" x{leverage:g}"
    return f"{head}: {liquidation_distance(price, lp, vol)}"
