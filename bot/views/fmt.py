"""Numbers as a trader reads them: $1.2M, 116,605.3, +2.4%, 0.0101%."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from bot.clock import zone_info

# The alert texts, the bot's replies, the CLI and the chart axes format numbers the same way: one
# implementation in the lowest layer (alerts may import only liqmap).
from liqmap.units import amount, axis_amount, notional, pct, price, price_tick, ratio, usd

__all__ = [
    "amount",
    "asymmetry",
    "axis_amount",
    "funding",
    "market",
    "notional",
    "pct",
    "price",
    "price_tick",
    "ratio",
    "usd",
    "when",
    "zone_label",
]


def when(ms: int, zone: str = "UTC", pattern: str = "%Y-%m-%d %H:%M %Z") -> str:
    """A moment (ms) in a zone: '2025-10-10 20:00 UTC'; the zone written one way everywhere,
    as /tz names it (:func:`zone_label`): 'UTC+03:00' (not '+03'), 'Asia/Kolkata' (not 'IST')."""
    if "%Z" in pattern:
        pattern = pattern.replace("%Z", zone_label(zone).replace("%", "%%"))
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(zone_info(zone)).strftime(pattern)


_ETC_OFFSET = re.compile(r"^Etc/GMT([+-])([0-9]{1,2})$")


def zone_label(zone: str) -> str:
    """A zone as a trader reads it: 'Etc/GMT-3' (POSIX signs, inverted) is 'UTC+03:00';
    'Etc/GMT' and 'Etc/UTC' are 'UTC'; any other name (a city, an offset stored as typed,
    'UTC+05:30') is itself."""
    m = _ETC_OFFSET.match(zone)
    if m:
        sign = "+" if m.group(1) == "-" else "-"
        return f"UTC{sign}{int(m.group(2)):02d}:00"
    return "UTC" if zone in ("Etc/GMT", "Etc/UTC", "Etc/GMT0", "Etc/Zulu") else zone


def market(symbol: str) -> str:
    """A market as traders name it: 'BTC' for the USDT perpetual (BTC/USDT:USDT), the bot's
    usual market; any other quote or settlement said, so two markets never read the same:
    'BTC (USDC)', 'BTC (USD, BTC-settled)', 'BTC (USDT spot)'."""
    base, _, rest = symbol.partition("/")
    quote, _, settle = rest.partition(":")
    if not quote:
        return base
    if not settle:
        return f"{base} ({quote} spot)"
    if quote == "USDT" and settle == "USDT":
        return base
    return f"{base} ({quote})" if settle == quote else f"{base} ({quote}, {settle}-settled)"


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
