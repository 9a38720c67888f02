"""Maintenance-margin brackets and the exchange's liquidation price.

Binance USD-M formula (isolated margin, one-way mode), from equity = maintenance margin::

    WB + Q * (LP - E) = Q * LP * mmr - cum,   WB = N / L,   N = Q * E

which solves to

    long  LP = E * (1 - 1/L - cum/N) / (1 - mmr)
    short LP = E * (1 + 1/L + cum/N) / (1 + mmr)

Worked check (Binance's example; tier 1, cum 0): E 60,000, 20x, mmr 0.4% gives
long 57,228.9 and short 62,749.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from liqmap.brackets_data import BINANCE_BRACKETS

FloatArray = npt.NDArray[np.float64]

# Position size the map assumes when it picks a bracket. The map spreads aggregate OI, not real
# positions, so one representative retail-sized position is used; a setting in ModelSettings.
DEFAULT_POSITION_NOTIONAL = 50_000.0


@dataclass(frozen=True)
class Bracket:
    """One maintenance tier: positions with notional in ``[min_notional, max_notional)``."""

    min_notional: float
    max_notional: float
    mmr: float
    max_leverage: float
    cum: float


# For symbols without a bundled table: Binance's common altcoin ladder (mmr 1% up to 50x for the
# first tier), conservative enough that a liquidation price is never placed too far away.
DEFAULT_BRACKETS: tuple[Bracket, ...] = (
    Bracket(0.0, 5_000.0, 0.01, 50.0, 0.0),
    Bracket(5_000.0, 50_000.0, 0.015, 25.0, 25.0),
    Bracket(50_000.0, 250_000.0, 0.02, 20.0, 275.0),
    Bracket(250_000.0, 1_000_000.0, 0.05, 10.0, 7_775.0),
    Bracket(1_000_000.0, 2_000_000.0, 0.1, 5.0, 57_775.0),
    Bracket(2_000_000.0, 5_000_000.0, 0.125, 4.0, 107_775.0),
    Bracket(5_000_000.0, 10_000_000.0, 0.15, 3.0, 232_775.0),
    Bracket(10_000_000.0, 20_000_000.0, 0.25, 2.0, 1_232_775.0),
    Bracket(20_000_000.0, 1e18, 0.5, 1.0, 6_232_775.0),
)


def unified_symbol(symbol: str) -> str:
    """``BTC``, ``btcusdt``, ``BTC/USDT`` or ``BTC/USDT:USDT`` -> ``BTC/USDT:USDT``."""
    s = symbol.strip().upper()
    if "/" in s:
        base, _, rest = s.partition("/")
        quote = rest.split(":")[0] or "USDT"
        return f"{base}/{quote}:{quote}"
    if s.endswith("USDT") and len(s) > 4:
        s = s[:-4]
    return f"{s}/USDT:USDT"


def brackets_from_tiers(
    floor_usd: npt.ArrayLike, cap_usd: npt.ArrayLike, mmr: npt.ArrayLike, max_lev: npt.ArrayLike
) -> tuple[Bracket, ...]:
    """Brackets from a venue's published tiers (Bybit, OKX, Bitget give no maintenance amount).

    ``cum`` keeps the maintenance margin continuous at every tier boundary, as Binance's own
    table does: ``cum_0 = 0``, ``cum_i = cum_{i-1} + floor_i * (mmr_i - mmr_{i-1})``.
    """
    floors = np.asarray(floor_usd, dtype=np.float64)
    caps = np.asarray(cap_usd, dtype=np.float64)
    rates = np.asarray(mmr, dtype=np.float64)
    levs = np.asarray(max_lev, dtype=np.float64)
    if not (floors.size and floors.shape == caps.shape == rates.shape == levs.shape):
        raise ValueError("tiers need matching, non-empty floor, cap, mmr and leverage columns")
    cum = np.concatenate(([0.0], np.cumsum(floors[1:] * np.diff(rates))))
    return tuple(
        Bracket(float(f), float(c), float(r), float(v), float(m))
        for f, c, r, v, m in zip(floors, caps, rates, levs, cum, strict=True)
    )


def brackets_for(symbol: str) -> tuple[tuple[Bracket, ...], bool]:
    """The symbol's brackets and whether they are the bundled Binance table (else the default)."""
    rows = BINANCE_BRACKETS.get(unified_symbol(symbol))
    if rows is None:
        return DEFAULT_BRACKETS, False
    return tuple(Bracket(*row) for row in rows), True


def max_leverage(brackets: tuple[Bracket, ...]) -> float:
    return max(b.max_leverage for b in brackets)


def bracket_for(
    brackets: tuple[Bracket, ...], notional: float, leverage: float
) -> tuple[Bracket, float]:
    """Bracket of a position and the notional it is assumed to have.

    A position at leverage ``L`` must sit in a bracket that allows ``L``; if the asked notional is
    too large for that leverage, it is capped at the largest notional that still allows it.
    """
    allowed = [b for b in brackets if b.max_leverage >= leverage]
    if not allowed:
        raise ValueError(f"leverage {leverage:g}x is above this symbol's maximum")
    cap = max(b.max_notional for b in allowed)
    n = min(notional, np.nextafter(cap, 0.0))
    for b in allowed:
        if b.min_notional <= n < b.max_notional:
            return b, n
    # Notional below every allowed bracket cannot happen (the first bracket starts at 0), but a
    # gap in a custom table could: take the nearest allowed bracket.
    return allowed[0], max(n, allowed[0].min_notional)


def liquidation_price(
    entry: npt.ArrayLike,
    leverage: float,
    side: str,
    mmr: float,
    cum: float = 0.0,
    notional: float = DEFAULT_POSITION_NOTIONAL,
) -> FloatArray:
    """Isolated-margin liquidation price (Binance formula; see module docstring).

    >>> round(float(liquidation_price(60_000, 20, "long", 0.004)), 1)
    57228.9
    >>> round(float(liquidation_price(60_000, 20, "short", 0.004)), 1)
    62749.0
    """
    if leverage <= 0 or not np.isfinite(leverage):
        raise ValueError("leverage must be a positive number")
    e = np.asarray(entry, dtype=np.float64)
    extra = cum / notional if notional > 0 else 0.0
    if side == "long":
        return np.asarray(e * (1 - 1 / leverage - extra) / (1 - mmr), dtype=np.float64)
    if side == "short":
        return np.asarray(e * (1 + 1 / leverage + extra) / (1 + mmr), dtype=np.float64)
    raise ValueError(f"side must be 'long' or 'short', got {side!r}")


def position_liquidation_price(
    symbol: str, entry: float, leverage: float, side: str, notional: float | None = None
) -> float:
    """Liquidation price of one real position, with its bracket picked from its notional."""
    brackets, _ = brackets_for(symbol)
    size = DEFAULT_POSITION_NOTIONAL if notional is None else notional
    bracket, n = bracket_for(brackets, size, leverage)
    return float(liquidation_price(entry, leverage, side, bracket.mmr, bracket.cum, n))
