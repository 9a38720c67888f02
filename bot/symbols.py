"""Symbols as traders type them: BTC, btc, BTCUSDT, BTC/USDT, BTC/USDT:USDT."""

from __future__ import annotations

import difflib
import re

from liqmap import unified_symbol

_SHAPE = re.compile(r"^[A-Za-z0-9]{1,20}(/[A-Za-z]{2,10}(:[A-Za-z]{2,10})?)?$")


class SymbolError(ValueError):
    """Not a symbol this bot follows; the message suggests the nearest ones."""


def parse_symbol(text: str, known: tuple[str, ...]) -> str:
    """The unified symbol (``BTC/USDT:USDT``) of ``text`` if it is one of ``known``."""
    raw = text.strip()
    if not _SHAPE.match(raw):
        raise SymbolError("a symbol looks like BTC, BTCUSDT or BTC/USDT")
    unified = unified_symbol(raw)
    if unified in known:
        return unified
    bases = [s.split("/")[0] for s in known]
    base = unified.split("/")[0]
    near = difflib.get_close_matches(base, bases, n=2, cutoff=0.5)
    hint = f" Did you mean {' or '.join(near)}?" if near else ""
    raise SymbolError(f"{base} is not a symbol I follow.{hint} I follow: {', '.join(bases)}.")
