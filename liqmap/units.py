"""Numbers as a trader reads them, one implementation for every layer (texts, alerts, chart axes,
captions): prices from BTC to PEPE, USD amounts, relative amounts, percentages.

Here rather than in ``bot`` because ``alerts`` may import only ``liqmap``. Pure string formatting.
"""

from __future__ import annotations

import math

PRICE_DIGITS = 6  # significant digits of a price: 2,431.55; 0.160520 -> 0.16052


def _decimals(x: float) -> int:
    """Decimals that give ``PRICE_DIGITS`` significant digits (at least one at and above 1)."""
    whole = math.floor(math.log10(x)) + 1  # digits before the point (<= 0 below 1)
    return max(1, PRICE_DIGITS - whole) if x >= 1 else PRICE_DIGITS - whole


def price(x: float | None) -> str:
    """116,605.3 / 2,431.55 / 0.16052 / 0.0000116605: thousands separators, never an exponent."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    a, sign = abs(x), "-" if x < 0 else ""
    decimals = _decimals(a)
    text = f"{a:,.{decimals}f}"
    if a < 1:  # below 1 the trailing zeros carry no information: 0.160520 -> 0.16052
        text = text.rstrip("0").rstrip(".")
    return sign + text


def price_tick(x: float, step: float) -> str:
    """An axis tick: as many decimals as the tick step needs, so neighbours always differ
    (a DOGE axis reads 0.150, 0.155, not 0, 0)."""
    if not math.isfinite(x):
        return ""
    if step <= 0 or not math.isfinite(step):
        return price(x)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if abs(x) < 0.5 * step:  # the tick at zero
        return "0"
    return f"{x:,.{decimals}f}"


def usd(x: float | None) -> str:
    """$950, $12.3K, $4.56M, $1.20B."""
    return amount(x, "$")


def amount(x: float | None, unit: str = "") -> str:
    """A large amount with K/M/B: '12.3K', or with a currency prefix '$12.3K'."""
    if x is None or not math.isfinite(x):
        return "n/a"
    a, sign = abs(x), "-" if x < 0 else ""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if a >= size:
            v = a / size
            return f"{sign}{unit}{v:.3g}{suffix}" if v < 100 else f"{sign}{unit}{v:.0f}{suffix}"
    if 0 < a < 1:
        return f"{sign}{unit}{a:.2g}"
    return f"{sign}{unit}{a:.0f}"


def notional(x: float | None, relative: bool = False) -> str:
    """USD notional, or for relative units (volume-proxy maps, seeded from turnover rather than
    open interest) the same figure without a dollar sign: '1.35B rel.'."""
    if not relative:
        return usd(x)
    text = amount(x)
    return text if text == "n/a" else text + " rel."


def axis_amount(x: float, relative: bool = False) -> str:
    """An amount on a chart axis: '$1.2M', or '1.2M' in relative units."""
    return amount(x) if relative else usd(x)


def pct(x: float, signed: bool = True, digits: int = 2) -> str:
    """+2.41% / 2.41%."""
    if not math.isfinite(x):
        return "n/a"
    return f"{x:+.{digits}f}%" if signed else f"{x:.{digits}f}%"


def ratio(x: float | None) -> str:
    """2.41, 'unbounded' for infinity, 'n/a' for undefined."""
    if x is None or math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "unbounded"
    return f"{x:.2f}"
