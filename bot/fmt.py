"""Numbers as a trader reads them: $1.2M, 116,605.3, +2.4%, 0.0101%."""

from __future__ import annotations

import math


def usd(x: float | None) -> str:
    """Compact dollars: $950, $12.3K, $4.56M, $1.20B."""
    if x is None or not math.isfinite(x):
        return "n/a"
    a = abs(x)
    sign = "-" if x < 0 else ""
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if a >= size:
            return (
                f"{sign}${a / size:.3g}{unit}" if a / size < 100 else f"{sign}${a / size:.0f}{unit}"
            )
    return f"{sign}${a:.0f}"


def price(x: float) -> str:
    """Price with precision that suits its size."""
    if not math.isfinite(x):
        return "n/a"
    if x >= 1000:
        return f"{x:,.1f}"
    if x >= 1:
        return f"{x:,.3f}"
    return f"{x:.6g}"


def pct(x: float, signed: bool = True) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:+.2f}%" if signed else f"{x:.2f}%"


def ratio(x: float) -> str:
    """A ratio such as the fuel ratio: '1.83', 'unbounded' for x/0, 'n/a' for 0/0."""
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "unbounded"
    return f"{x:.2f}"


def asymmetry(x: float) -> str:
    """'2.41:1 longs' (heavier side named) or '1:1.35 shorts'."""
    if math.isnan(x):
        return "n/a (no liquidations in band)"
    if math.isinf(x):
        return "longs only"
    if x == 0:
        return "shorts only"
    if x >= 1:
        return f"{x:.2f}:1 (longs heavier)"
    return f"1:{1 / x:.2f} (shorts heavier)"


def funding(rate: float | None, interval_h: float = 8.0) -> str:
    if rate is None or not math.isfinite(rate):
        return "n/a"
    return f"{rate * 100:+.4f}% per {interval_h:g}h"


def notional(x: float | None, proxy: bool = False) -> str:
    """USD notional, or for volume-proxy maps a relative amount (no dollar sign: those maps are
    seeded from turnover, not from open interest)."""
    text = usd(x)
    return text.replace("$", "") + " rel." if proxy and text != "n/a" else text
