"""What ``/liqs SYMBOL [1h|4h|24h]`` shows, and the ``cascade_live`` condition: pure functions
over recorded prints (parallel arrays, as ``storage.liquidations.read_prints`` returns them) and
the streams' coverage. No I/O, no Telegram.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from liqmap.times import DAY_MS, HOUR_MS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WINDOWS_MS = {"1h": HOUR_MS, "4h": 4 * HOUR_MS, "24h": DAY_MS}
# Measured, see market/data/PROVENANCE.md: p99.5 of 5-minute one-side sums, three venues, BTC.
CASCADE_LIVE_USD = 5_000_000.0
CASCADE_WINDOW_MS = 5 * 60_000


@dataclass(frozen=True)
class VenueTotals:
    venue: str
    long_usd: float
    short_usd: float
    prints: int
    covered_ms: int  # how much of the window this venue's stream was connected


@dataclass(frozen=True)
class Print:
    venue: str
    time_ms: int
    side: str
    price: float
    usd: float


@dataclass(frozen=True)
class PriceBand:
    """A price range where liquidations clustered: ``low..high`` holds ``long_usd`` of longs and
    ``short_usd`` of shorts liquidated."""

    low: float
    high: float
    long_usd: float
    short_usd: float


@dataclass(frozen=True)
class LiqsSummary:
    since_ms: int
    until_ms: int
    venues: list[VenueTotals]  # every venue asked about, streaming or not
    long_usd: float
    short_usd: float
    largest: list[Print]
    bands: list[PriceBand]

    @property
    def window_ms(self) -> int:
        return self.until_ms - self.since_ms

    def fully_covered(self, venue: str) -> bool:
        return any(v.venue == venue and v.covered_ms >= self.window_ms for v in self.venues)


def covered_ms(spans: Sequence[tuple[int, int]], since: int, until: int) -> int:
    """Total ms of ``[since, until)`` inside the (sorted, non-overlapping) spans."""
    return int(sum(max(0, min(b, until) - max(a, since)) for a, b in spans))


def summarise(
    venue: Sequence[str],
    time_ms: IntArray,
    side: Sequence[str],
    price: FloatArray,
    usd: FloatArray,
    coverage: Mapping[str, Sequence[tuple[int, int]]],
    since_ms: int,
    until_ms: int,
    *,
    venues: Sequence[str] = (),
    top: int = 5,
    band_pct: float = 0.5,
    max_bands: int = 3,
) -> LiqsSummary:
    """The ``/liqs`` figures for the prints in ``[since_ms, until_ms)``.

    Per venue: long/short USD, print count and connected time (a venue with prints but less
    coverage than the window means "at least this much"). ``largest``: the ``top`` prints by
    USD. ``bands``: prices binned in ``band_pct`` % steps of the window's median price, the
    ``max_bands`` bins with the most USD, highest first by USD.
    """
    t = np.asarray(time_ms, dtype=np.int64)
    keep = (t >= since_ms) & (t < until_ms)
    ven = np.asarray(venue, dtype=object)[keep]
    sd = np.asarray(side, dtype=object)[keep]
    px = np.asarray(price, dtype=np.float64)[keep]
    us = np.asarray(usd, dtype=np.float64)[keep]
    tt = t[keep]
    is_long = sd == "long"
    names = list(dict.fromkeys([*venues, *coverage.keys(), *ven.tolist()]))
    totals = [
        VenueTotals(
            v,
            float(us[(ven == v) & is_long].sum()),
            float(us[(ven == v) & ~is_long].sum()),
            int((ven == v).sum()),
            covered_ms(coverage.get(v, ()), since_ms, until_ms),
        )
        for v in names
    ]
    order = np.argsort(-us, kind="stable")[:top]
    largest = [
        Print(str(ven[i]), int(tt[i]), str(sd[i]), float(px[i]), float(us[i])) for i in order
    ]
    bands: list[PriceBand] = []
    if len(px):
        step = float(np.median(px)) * band_pct / 100.0
        bins = np.floor(px / step).astype(np.int64)
        ids, inverse = np.unique(bins, return_inverse=True)
        long_by = np.bincount(inverse, weights=np.where(is_long, us, 0.0), minlength=len(ids))
        short_by = np.bincount(inverse, weights=np.where(is_long, 0.0, us), minlength=len(ids))
        for j in np.argsort(-(long_by + short_by), kind="stable")[:max_bands]:
            lo = float(ids[j] * step)
            bands.append(PriceBand(lo, lo + step, float(long_by[j]), float(short_by[j])))
    return LiqsSummary(
        since_ms,
        until_ms,
        totals,
        float(us[is_long].sum()),
        float(us[~is_long].sum()),
        largest,
        bands,
    )


@dataclass(frozen=True)
class Cascade:
    """``usd`` of ``side`` positions liquidated in the 5 minutes ending ``until_ms``."""

    side: str
    usd: float
    since_ms: int
    until_ms: int
    prints: int
    low: float  # price range the prints spanned
    high: float


def cascade_live(
    time_ms: IntArray,
    side: Sequence[str],
    price: FloatArray,
    usd: FloatArray,
    now_ms: int,
    threshold_usd: float = CASCADE_LIVE_USD,
    window_ms: int = CASCADE_WINDOW_MS,
) -> list[Cascade]:
    """Each side whose real liquidations in ``(now_ms - window_ms, now_ms]`` reach
    ``threshold_usd`` (all venues summed). Empty when neither does. The alert pass calls this
    every tick with the last 5 minutes of prints; episode/cooldown handling stays in the rule."""
    t = np.asarray(time_ms, dtype=np.int64)
    sd = np.asarray(side, dtype=object)
    us = np.asarray(usd, dtype=np.float64)
    px = np.asarray(price, dtype=np.float64)
    recent = (t > now_ms - window_ms) & (t <= now_ms)
    out = []
    for s in ("long", "short"):
        m = recent & (sd == s)
        total = float(us[m].sum())
        if m.any() and total >= threshold_usd:
            out.append(
                Cascade(
                    s,
                    total,
                    now_ms - window_ms,
                    now_ms,
                    int(m.sum()),
                    float(px[m].min()),
                    float(px[m].max()),
                )
            )
    return out
