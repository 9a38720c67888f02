"""Leverage-tier slices of the map as traders type them (``10,25``, ``10-25x``, ``25x``) and as
titles name them. Pure: shared by the CLI's ``--tiers`` and the bot's ``/map BTC 7d 10-25x``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from liqmap.model import DEFAULT_TIER_WEIGHTS

TIERS = tuple(float(t) for t in sorted(DEFAULT_TIER_WEIGHTS))
# re.ASCII: without it \d also matches Arabic-Indic and full-width digits
_RANGE = re.compile(r"^(\d+(?:\.\d+)?)x?-(\d+(?:\.\d+)?)x?$", re.ASCII)


class TierError(ValueError):
    """Not a tier slice; the message lists the tiers on offer."""


def known() -> str:
    return ", ".join(f"{t:g}x" for t in TIERS)


def parse_tiers(text: str) -> tuple[float, ...]:
    """``10,25`` / ``10x,25x`` -> (10, 25); ``10-25x`` -> every tier from 10x to 25x."""
    cleaned = text.strip().lower().replace(" ", "")
    m = _RANGE.match(cleaned)
    if m:
        lo, hi = sorted((float(m.group(1)), float(m.group(2))))
        picked = tuple(t for t in TIERS if lo <= t <= hi)
        if not picked:
            raise TierError(f"no tier between {lo:g}x and {hi:g}x; tiers are {known()}")
        return picked
    tiers: list[float] = []
    for part in cleaned.split(","):
        try:
            value = float(part.removesuffix("x"))
        except ValueError:
            raise TierError(f"{text!r} is not a tier list; use e.g. 10,25 or 10-25x") from None
        if value not in DEFAULT_TIER_WEIGHTS:
            raise TierError(f"{part!r} is not a tier; choose from {known()}")
        tiers.append(value)
    return tuple(sorted(dict.fromkeys(tiers)))


def looks_like_tiers(text: str) -> bool:
    """Whether a /map argument is meant as tiers (ends in x, or a range)."""
    t = text.strip().lower()
    return t.endswith("x") or bool(_RANGE.match(t)) or ("," in t)


def tier_note(tiers: Sequence[float]) -> str:
    """'tiers 10x, 25x' when the map is a slice of the model's tiers, else ''. ``tiers`` are
    the leverages drawn, one per tier (a symbol's cap may turn 100x into a second 50x: that
    is still every tier)."""
    if len(tiers) >= len(DEFAULT_TIER_WEIGHTS):
        return ""
    return "tiers " + ", ".join(f"{t:g}x" for t in dict.fromkeys(tiers))


def tier_code(tiers: Sequence[float] | None) -> str:
    """Compact form for button data: '10-25' (a contiguous run) or '10,50'; '' for all."""
    if not tiers or set(tiers) >= set(TIERS):
        return ""
    ts = sorted(tiers)
    idx = [TIERS.index(t) for t in ts]
    if len(ts) > 1 and idx == list(range(idx[0], idx[-1] + 1)):
        return f"{ts[0]:g}-{ts[-1]:g}"
    return ",".join(f"{t:g}" for t in ts)
