"""Per-venue unit normalisation: contracts -> base units -> USD.

Everything leaving ``market.feeds`` is in *base units* (BTC, ETH) and *USD notional*, where USD
means the USDT the linear perpetuals settle in (no USDT/USD conversion is applied).

What ccxt 4.5 hands back, per venue, for linear USDT perpetuals (checked against its parsers):

=============  ============  ===========================  ===================================
venue          book amounts  OI ``openInterestAmount``    OI ``openInterestValue`` (USD)
=============  ============  ===========================  ===================================
binanceusdm    base          base (``sumOpenInterest``)   history only (``sumOpenInterestValue``)
bybit          base          base (``openInterest``)      never: base * price
okx            CONTRACTS     CONTRACTS (``oi``)           ``oiUsd``; ``oiCcy`` is base
bitget         base          base (``size``)              never: base * price
=============  ============  ===========================  ===================================

OKX is the trap: ccxt leaves OKX order-book sizes and ``openInterestAmount`` in contracts, while
its OHLCV volume is already base (it reads ``volCcy``). OKX ``BTC-USDT-SWAP`` has
``ctVal = 0.01`` BTC (ccxt ``market['contractSize']``), ``ETH-USDT-SWAP`` 0.1 ETH.

Bybit: ``/v5/market/open-interest`` reports ``openInterest`` for linear contracts in base coin,
one side of the book (total longs == total shorts), like the other venues; ccxt copies it to
``openInterestAmount`` and leaves the value empty. ccxt's Bybit parser knows no
``singleOpenInterest`` field and none of the V5 answers it parses carries one; should one appear
and disagree with ``openInterest`` we keep ``openInterest`` and log it (see
:func:`open_interest_base`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Unit = Literal["base", "contracts"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class VenueUnits:
    """The unit each venue's ccxt answer uses for a quantity (see the module table)."""

    book_amount: Unit
    oi_amount: Unit
    tier_bounds: Literal["usd", "contracts"]


VENUE_UNITS: dict[str, VenueUnits] = {
    "binanceusdm": VenueUnits(book_amount="base", oi_amount="base", tier_bounds="usd"),
    "bybit": VenueUnits(book_amount="base", oi_amount="base", tier_bounds="usd"),
    # OKX position tiers (minSz/maxSz) are contract counts for SWAP, not notional.
    "okx": VenueUnits(book_amount="contracts", oi_amount="contracts", tier_bounds="contracts"),
    "bitget": VenueUnits(book_amount="base", oi_amount="base", tier_bounds="usd"),
}


def venue_units(venue: str) -> VenueUnits:
    """The unit table entry for ``venue``; ``KeyError`` names the known venues."""
    try:
        return VENUE_UNITS[venue]
    except KeyError:
        raise KeyError(f"no unit table for {venue!r}; known: {', '.join(VENUE_UNITS)}") from None


def contracts_to_base(contracts: Any, contract_size: float) -> Any:
    """Contracts -> base units (``contracts * contract_size``); scalars or numpy arrays."""
    if not (contract_size > 0 and math.isfinite(contract_size)):
        raise ValueError(f"contract size must be a positive number, got {contract_size!r}")
    return contracts * contract_size


def base_to_usd(base: Any, price: Any) -> Any:
    """Base units -> USD notional at ``price`` (USDT per base unit)."""
    return base * price


def amount_to_base(unit: Unit, amount: Any, contract_size: float) -> Any:
    """Convert an amount in ``unit`` to base units."""
    return contracts_to_base(amount, contract_size) if unit == "contracts" else amount


def book_to_base(venue: str, amounts: FloatArray, contract_size: float) -> FloatArray:
    """Order-book sizes as ccxt returns them -> base units."""
    result: FloatArray = amount_to_base(venue_units(venue).book_amount, amounts, contract_size)
    return result


def _num(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def open_interest_base(venue: str, oi: Mapping[str, Any], contract_size: float) -> float:
    """Base-unit open interest from one ccxt open-interest structure.

    OKX: ``openInterestAmount`` is contracts; converted with ``contract_size``. ``oiCcy`` (ccxt's
    deprecated ``baseVolume``) is cross-checked when present: a >0.1% mismatch raises
    ``ValueError``, since one of the two numbers is then wrong.
    """
    units = venue_units(venue)
    amount = _num(oi.get("openInterestAmount"))
    base = float(amount_to_base(units.oi_amount, amount, contract_size))
    if venue == "okx":
        reported = _num(oi.get("baseVolume"))
        mismatch = abs(reported - base) > 1e-3 * max(abs(reported), 1e-12)
        if math.isfinite(reported) and math.isfinite(base) and mismatch:
            raise ValueError(
                f"okx open interest: {amount} contracts * {contract_size} = {base} base, "
                f"but oiCcy says {reported}"
            )
    if venue == "bybit":
        info = oi.get("info")
        single = _num(info.get("singleOpenInterest")) if isinstance(info, Mapping) else math.nan
        if math.isfinite(single) and math.isfinite(base) and abs(single - base) > 1e-9 * base:
            log.warning(
                "bybit singleOpenInterest %s != openInterest %s; using openInterest", single, base
            )
    return base


def open_interest_usd(oi: Mapping[str, Any], base: float, price: float | None) -> float:
    """USD open interest: the venue's value when it reports one, else ``base * price``.

    NaN when neither is available (the caller decides whether that is acceptable).
    """
    value = _num(oi.get("openInterestValue"))
    if math.isfinite(value):
        return value
    if price is None:
        return math.nan
    return float(base_to_usd(base, price))
