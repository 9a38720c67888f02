"""Naming a tier slice of the map ('tiers 10x, 25x'): charts, captions and buttons say so."""

from __future__ import annotations

from collections.abc import Sequence

from liqmap.model import DEFAULT_TIER_WEIGHTS


def tier_note(tiers: Sequence[float]) -> str:
    """'tiers 10x, 25x' when the map is a slice of the model's tiers, else ''."""
    if set(tiers) >= set(DEFAULT_TIER_WEIGHTS):
        return ""
    return "tiers " + ", ".join(f"{t:g}x" for t in tiers)
