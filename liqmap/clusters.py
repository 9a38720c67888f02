"""Clusters: contiguous runs of dense buckets, and how they stack into cascade chains."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from liqmap.grid import PriceGrid
from liqmap.model import LiqMap

FloatArray = npt.NDArray[np.float64]

LONG = "long"
SHORT = "short"


@dataclass(frozen=True)
class Cluster:
    """A run of dense buckets on one side. ``share`` is its part of that side's total."""

    side: str
    low: float
    high: float
    peak: float
    notional: float
    share: float

    def near_edge(self) -> float:
        """The edge price meets first: the top of a long cluster, the bottom of a short one."""
        return self.high if self.side == LONG else self.low

    def far_edge(self) -> float:
        return self.low if self.side == LONG else self.high

    def distance_pct(self, price: float) -> float:
        """Signed % move from ``price`` to the near edge (negative below)."""
        return (self.near_edge() / price - 1.0) * 100.0

    def contains(self, price: float) -> bool:
        return self.low <= price <= self.high


@dataclass(frozen=True)
class ClusterSettings:
    """Dense = above this percentile of the side's non-zero buckets; runs closer than
    ``merge_gap_pct`` are one cluster."""

    percentile: float = 80.0
    merge_gap_pct: float = 0.2
    stack_pct: float = 1.0
    stall_gap_pct: float = 3.0


def find_clusters(
    values: FloatArray, grid: PriceGrid, side: str, settings: ClusterSettings | None = None
) -> list[Cluster]:
    """Clusters of one side's bucket values, ordered by price (low to high)."""
    settings = settings or ClusterSettings()
    nonzero = values[values > 0]
    if nonzero.size == 0:
        return []
    threshold = float(np.percentile(nonzero, settings.percentile))
    dense = values > threshold if nonzero.size > 1 else values > 0
    if not dense.any():
        dense = values >= threshold
    edges = np.flatnonzero(np.diff(np.concatenate(([0], dense.astype(np.int8), [0]))))
    starts, stops = edges[0::2], edges[1::2]  # runs [start, stop)
    # Merge runs separated by a gap smaller than merge_gap_pct of price.
    merged: list[list[int]] = [[int(starts[0]), int(stops[0])]]
    for a, b in zip(starts[1:], stops[1:], strict=True):
        gap_pct = (grid.edges[a] / grid.edges[merged[-1][1]] - 1.0) * 100.0
        if gap_pct < settings.merge_gap_pct:
            merged[-1][1] = int(b)
        else:
            merged.append([int(a), int(b)])
    total = float(values.sum())
    out = []
    for a, b in merged:
        run = values[a:b]
        peak = a + int(np.argmax(run))
        notional = float(run.sum())
        out.append(
            Cluster(
                side=side,
                low=float(grid.edges[a]),
                high=float(grid.edges[b]),
                peak=float(grid.mids[peak]),
                notional=notional,
                share=notional / total if total > 0 else 0.0,
            )
        )
    return out


@dataclass(frozen=True)
class MapClusters:
    """Long clusters below price (nearest first) and short clusters above (nearest first)."""

    below: tuple[Cluster, ...]
    above: tuple[Cluster, ...]

    def nearest(self, count: int = 2) -> tuple[tuple[Cluster, ...], tuple[Cluster, ...]]:
        return self.below[:count], self.above[:count]

    def largest(self) -> Cluster | None:
        every = self.below + self.above
        return max(every, key=lambda c: c.notional) if every else None

    @property
    def all(self) -> tuple[Cluster, ...]:
        return self.below + self.above


def map_clusters(liq: LiqMap, settings: ClusterSettings | None = None) -> MapClusters:
    """Clusters of both sides, each ordered from price outwards."""
    longs = find_clusters(liq.long, liq.grid, LONG, settings)
    shorts = find_clusters(liq.short, liq.grid, SHORT, settings)
    below = sorted(longs, key=lambda c: -c.high)
    above = sorted(shorts, key=lambda c: c.low)
    return MapClusters(tuple(below), tuple(above))


@dataclass(frozen=True)
class CascadeChain:
    """Clusters within ``stack_pct`` of each other, ordered from price outwards, and whether a
    gap of ``stall_gap_pct`` or more follows the last one (the cascade tends to stall there)."""

    clusters: tuple[Cluster, ...]
    stalls_after: bool

    @property
    def notional(self) -> float:
        return sum(c.notional for c in self.clusters)


def cascade_chains(
    ordered: tuple[Cluster, ...], settings: ClusterSettings | None = None
) -> list[CascadeChain]:
    """Group one side's clusters (ordered from price outwards) into stacked chains."""
    settings = settings or ClusterSettings()
    if not ordered:
        return []

    def gap_pct(inner: Cluster, outer: Cluster) -> float:
        a, b = inner.far_edge(), outer.near_edge()
        return abs(b / a - 1.0) * 100.0

    groups: list[list[Cluster]] = [[ordered[0]]]
    for inner, outer in itertools.pairwise(ordered):
        if gap_pct(inner, outer) <= settings.stack_pct:
            groups[-1].append(outer)
        else:
            groups.append([outer])
    chains = []
    for i, g in enumerate(groups):
        nxt = groups[i + 1][0] if i + 1 < len(groups) else None
        stalls = nxt is None or gap_pct(g[-1], nxt) >= settings.stall_gap_pct
        chains.append(CascadeChain(tuple(g), stalls))
    return chains
