"""The map's structure in words: cascade chains (clusters within 1% of each other, a cascade
through one tends to run into the next) and stalls (a gap of 3% or more after a chain, where a
cascade tends to run out of fuel). Used by the summary, the /map caption and /check."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from bot.views import fmt
from bot.views.report import MapReport
from liqmap import CascadeChain, Cluster, ClusterSettings, cascade_chains

SETTINGS = ClusterSettings()


@dataclass(frozen=True)
class Stall:
    """A gap of ``gap_pct`` after the cluster whose far edge is ``after``."""

    after: float
    gap_pct: float


def gap_pct(inner: Cluster, outer: Cluster) -> float:
    return abs(outer.near_edge() / inner.far_edge() - 1.0) * 100.0


def chain_span(chain: CascadeChain) -> tuple[float, float]:
    """Near edge of the first cluster, far edge of the last (from price outwards)."""
    return chain.clusters[0].near_edge(), chain.clusters[-1].far_edge()


def first_chain(side: tuple[Cluster, ...]) -> CascadeChain | None:
    """The nearest chain of two or more clusters on one side."""
    return next((c for c in cascade_chains(side, SETTINGS) if len(c.clusters) > 1), None)


def first_stall(side: tuple[Cluster, ...]) -> Stall | None:
    """The nearest gap of ``stall_gap_pct`` or more between neighbouring clusters."""
    for inner, outer in itertools.pairwise(side):
        gap = gap_pct(inner, outer)
        if gap >= SETTINGS.stall_gap_pct:
            return Stall(inner.far_edge(), gap)
    return None


def chain_words(chain: CascadeChain, proxy: bool) -> str:
    """'3 clusters 109,944.0 -> 108,210.5 within 1% of each other, $6.1M'."""
    near, far = chain_span(chain)
    return (
        f"{len(chain.clusters)} clusters {fmt.price(near)} -> {fmt.price(far)} within "
        f"{SETTINGS.stack_pct:g}% of each other, {fmt.notional(chain.notional, proxy)}"
    )


def side_structure(name: str, side: tuple[Cluster, ...], proxy: bool) -> str:
    """'Chain below: ...; gap 3.4% after 108,210.5' (or what is there instead)."""
    chain = first_chain(side)
    stall = first_stall(side)
    parts = [
        f"Chain {name}: {chain_words(chain, proxy)}"
        if chain
        else f"No chain {name} (no clusters within {SETTINGS.stack_pct:g}%)"
    ]
    if stall is not None:
        # say where the gap sits against the chain: right after it, nearer, or further out
        where = ""
        if chain is not None and stall.after != chain.clusters[-1].far_edge():
            nearer = side.index(chain.clusters[0]) > next(
                i for i, c in enumerate(side) if c.far_edge() == stall.after
            )
            where = "before the chain, " if nearer else "further out, "
        parts.append(
            f"{where}gap {stall.gap_pct:.1f}% after {fmt.price(stall.after)} (cascade stalls)"
        )
    return "; ".join(parts)


def structure_lines(r: MapReport, proxy: bool) -> list[str]:
    """One line per side, nearest side first in reading order: above, then below."""
    return [
        side_structure("above", r.clusters.above, proxy),
        side_structure("below", r.clusters.below, proxy),
    ]


def chain_around(r: MapReport, level: float) -> CascadeChain | None:
    """The chain (two or more clusters) whose span holds ``level``, if any."""
    for side in (r.clusters.below, r.clusters.above):
        for chain in cascade_chains(side, SETTINGS):
            if len(chain.clusters) < 2:
                continue
            a, b = chain_span(chain)
            if min(a, b) <= level <= max(a, b):
                return chain
    return None


def chain_warning(r: MapReport, stop: float | None, liquidation: float, proxy: bool) -> str:
    """/check: 'your stop sits inside a chain ...' when the stop or the liquidation price lies
    within a cascade chain's span; '' otherwise."""
    for what, level in (("stop", stop), ("liquidation price", liquidation)):
        chain = chain_around(r, level) if level is not None else None
        if chain is not None:
            return (
                f"Your {what} sits inside a chain ({chain_words(chain, proxy)}): a cascade "
                "would run through it"
            )
    return ""
