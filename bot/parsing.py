"""Command arguments as traders type them, for the bot and the CLI: symbols (BTC, btc, BTCUSDT,
BTC/USDT, BTC/USDT:USDT), numbers and map windows. Pure: no Telegram, no storage."""

from __future__ import annotations

import difflib
import re

from bot.views.report import WINDOWS
from liqmap import unified_symbol

_SHAPE = re.compile(r"^[A-Za-z0-9]{1,20}(/[A-Za-z]{2,10}(:[A-Za-z]{2,10})?)?$")


class InputError(ValueError):
    """Bad command arguments; the text is shown to the user (escaped)."""


class SymbolError(InputError):
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


def parse_window(text: str | None, default: str = "1d") -> str:
    """``1d``, ``7D``, `` 30d `` -> one of :data:`WINDOWS`."""
    if text is None:
        return default
    w = text.strip().lower()
    if w not in WINDOWS:
        raise InputError(f"window must be one of {', '.join(WINDOWS)}")
    return w


def parse_number(text: str, what: str) -> float:
    """A number as typed: ``116000``, ``116,000``, ``20x``."""
    cleaned = text.strip().replace(",", "").replace("_", "").lower().removesuffix("x")
    try:
        value = float(cleaned)
    except ValueError:
        raise InputError(f"{what} must be a number, not {text[:20]!r}") from None
    return value
