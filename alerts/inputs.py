"""What the rules read: one symbol's fresh map metrics, and all its subscriptions as columns."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.catalogue import (
    DEFAULT_THRESHOLDS,
    MODE_NAMES,
    MODE_ON,
    POSITION,
    RULE_INDEX,
    RULES,
    WATCH,
)
from liqmap.clusters import LONG, SHORT, Cluster, MapClusters
from liqmap.metrics import DEFAULT_MIN_SHARE, asymmetry, band_share, band_totals, fuel_ratio
from liqmap.model import LiqMap, is_proxy

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Int8Array = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]


class AlertInputError(ValueError):
    """Inputs the rules cannot evaluate (bad shapes, duplicate ids, a non-positive price).
    A programming error in the caller: not retried."""


def _finite_or_none(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class SymbolMetrics:
    """One symbol's map at ``as_of`` (ms) reduced to what the rules need.

    ``below``/``above``: the nearest long clusters below and short clusters above, nearest first
    (only the first two are used). ``clusters``: every cluster of the map (own-LP and squeeze
    checks). ``lfr_long``/``lfr_short``: ``liqmap.metrics.fuel_ratio`` for a long and a short
    (``inf`` unbounded, ``nan`` empty). ``asymmetry``: longs below / shorts above within
    ``band_pct``; ``long_below``/``short_above``: those two totals, for the text.
    ``relative_units``: the map came from the volume-proxy model (no OI history), so every
    notional (clusters, totals) is in relative units seeded from turnover, not USD; the texts
    then write amounts as "1.35B rel." instead of "$1.35B".
    ``vol_fast``/``vol_slow``: per-hour variance of log price now (``liqmap.touch``: the last
    hours and the last three days), None when unknown (then the liquidation warning is
    silent). ``low_since``/``high_since``: the lowest low and highest high of the candles since
    the previous pass, so a move between two refreshes is seen (None: only ``price``).
    ``oi_change_4h``: fraction (-0.18 = fell 18%), computed only over venues present at both
    ends; None (or NaN) when unknown, and then the OI rule never fires. ``funding_rate`` and
    ``funding_p95_abs`` (95th percentile of abs(funding) over 30 days): fractions per 8 h.
    """

    symbol: str
    as_of: int
    price: float
    below: tuple[Cluster, ...]
    above: tuple[Cluster, ...]
    clusters: tuple[Cluster, ...]
    lfr_long: float
    lfr_short: float
    asymmetry: float
    oi_change_4h: float | None = None
    funding_rate: float | None = None
    funding_p95_abs: float | None = None
    long_below: float | None = None
    short_above: float | None = None
    band_pct: float = 10.0
    venues: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    relative_units: bool = False
    vol_fast: float | None = None
    vol_slow: float | None = None
    low_since: float | None = None
    high_since: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.price) and self.price > 0):
            raise AlertInputError(f"price must be a positive number, got {self.price!r}")

    @property
    def oi_change(self) -> float | None:
        return _finite_or_none(self.oi_change_4h)

    @property
    def funding(self) -> float | None:
        return _finite_or_none(self.funding_rate)

    @property
    def funding_p95(self) -> float | None:
        return _finite_or_none(self.funding_p95_abs)

    def side_clusters(self, side: str) -> tuple[Cluster, ...]:
        """Every cluster of ``side``, nearest to price first."""
        own = [c for c in self.clusters if c.side == side]
        return tuple(sorted(own, key=lambda c: abs(c.near_edge() - self.price)))

    def edge_distance_pct(self, cluster: Cluster) -> float:
        """Unsigned % from price to the cluster's near edge (0 when price is inside it)."""
        if cluster.contains(self.price):
            return 0.0
        return abs(cluster.near_edge() / self.price - 1.0) * 100.0

    def dense_within(self, side: str, band_pct: float) -> tuple[Cluster, ...]:
        """Clusters of ``side`` whose near edge is within ``band_pct`` of price, nearest first
        (shorts above, longs below)."""
        return tuple(c for c in self.side_clusters(side) if self.edge_distance_pct(c) <= band_pct)

    def dense_notional(self, side: str, band_pct: float) -> float:
        """Notional (USD, or relative units) of the clusters of ``side`` within ``band_pct``
        (squeeze rule)."""
        return float(sum(c.notional for c in self.dense_within(side, band_pct)))

    def nearest_dense_distance(self, side: str) -> float:
        """% from price to the nearest cluster of ``side`` (``inf`` when there is none)."""
        dists = [self.edge_distance_pct(c) for c in self.side_clusters(side)]
        return min(dists, default=math.inf)

    def band_share(self, c: Cluster) -> float:
        """The cluster's share of its side's notional within the band (``inf`` when the band
        holds none of that side, or the totals are unknown: then every cluster counts)."""
        if self.long_below is None or self.short_above is None:
            return math.inf
        return band_share(c, self.long_below, self.short_above)

    def large_clusters(
        self, side: str, min_share: float = DEFAULT_MIN_SHARE
    ) -> tuple[Cluster, ...]:
        """The clusters of ``side`` holding at least ``min_share`` of their side within the band
        (significant: the only ones the cluster rules alert on), nearest first."""
        return tuple(c for c in self.side_clusters(side) if self.band_share(c) >= min_share)

    def largest(self, side: str) -> Cluster | None:
        """The largest cluster of ``side`` (by notional)."""
        own = self.side_clusters(side)
        return max(own, key=lambda c: c.notional) if own else None

    def map_clusters(self) -> MapClusters:
        """``clusters`` as liqmap's below/above view (for ``suggest_stop``)."""
        return MapClusters(self.side_clusters(LONG), self.side_clusters(SHORT))


def metrics_from_map(
    liq: LiqMap,
    clusters: MapClusters,
    *,
    oi_change_4h: float | None = None,
    funding_rate: float | None = None,
    funding_interval_h: float = 8.0,
    funding_p95_abs: float | None = None,
    band_pct: float = 10.0,
    venues: Sequence[str] = (),
    stale: Sequence[str] = (),
    volatility: tuple[float, float] | None = None,
    since: tuple[float, float] | None = None,
) -> SymbolMetrics:
    """Build :class:`SymbolMetrics` from a fresh map. ``funding_rate`` is per
    ``funding_interval_h`` and converted to per 8 h (linearly: a 4 h rate x 2);
    ``funding_p95_abs`` comes per 8 h (``MarketSource.funding_p95`` converts each settlement by
    its own interval).
    ``relative_units`` is set for volume-proxy maps (their notionals are not USD).
    ``volatility``: (fast, slow) per-hour variances; ``since``: (lowest low, highest high) of
    the candles since the previous pass."""
    to_8h = 8.0 / funding_interval_h
    long_below, short_above = band_totals(liq, band_pct)
    below, above = clusters.nearest(2)
    return SymbolMetrics(
        symbol=liq.symbol,
        as_of=int(liq.as_of),
        price=float(liq.price),
        below=below,
        above=above,
        clusters=clusters.all,
        lfr_long=fuel_ratio(liq, LONG, band_pct),
        lfr_short=fuel_ratio(liq, SHORT, band_pct),
        asymmetry=asymmetry(liq, band_pct),
        oi_change_4h=oi_change_4h,
        funding_rate=None if funding_rate is None else funding_rate * to_8h,
        funding_p95_abs=funding_p95_abs,
        long_below=long_below,
        short_above=short_above,
        band_pct=band_pct,
        venues=tuple(venues),
        stale=tuple(stale),
        relative_units=is_proxy(liq),
        vol_fast=volatility[0] if volatility else None,
        vol_slow=volatility[1] if volatility else None,
        low_since=since[0] if since else None,
        high_since=since[1] if since else None,
    )


def _column(values: Any, dtype: Any, n: int, name: str) -> Any:
    arr = np.asarray(values, dtype=dtype)
    if arr.shape != (n,):
        raise AlertInputError(f"Subscriptions.{name} must have shape ({n},), got {arr.shape}")
    return arr


@dataclass(frozen=True, eq=False)
class Subscriptions:
    """Every position and watch of one symbol, one row each, as numpy columns.

    - ``sub_id``: unique within the symbol across positions and watches, never reused (it keys
      the state and the dedupe key); rows sorted by ``sub_id`` take the fast path.
    - ``kind``: 1 position, 0 watch. ``side``: +1 long, -1 short, 0 for watches.
    - ``entry``, ``leverage``, ``liquidation_price``, ``entry_lfr`` (the LFR stored with the
      entry-time snapshot): NaN for watches.
    - ``thresholds``, ``modes``: shaped (n, len(RULES)) in ``catalogue.RULES`` order; a NaN
      threshold means the rule's default; modes 0 off, 1 on, 2 silent.
    - ``muted_until_ms``: 0 when not muted.
    - ``in_quiet_hours``: the caller's verdict for now in the user's zone; ``hold_in_quiet``:
      the user's quiet-hours policy (True: hold until they end; False: send silently).
    - ``min_cluster``: the user's minimum cluster notional (``/alerts set min_cluster 5M``) for
      the cluster rules, 0 for none (on top of the engine's share of the side).
    - ``wake_in_quiet``: the liquidation warning reaches the user in quiet hours (the default;
      ``/alerts set wake off`` makes it wait like the other alerts).
    - ``opened_ms``: when each position was opened (0: long ago), so no profit is advised in
      a trade's first hour.
    """

    sub_id: IntArray
    chat_id: IntArray
    kind: Int8Array
    side: Int8Array
    entry: FloatArray
    leverage: FloatArray
    liquidation_price: FloatArray
    entry_lfr: FloatArray
    thresholds: FloatArray
    modes: Int8Array
    muted_until_ms: IntArray
    in_quiet_hours: BoolArray
    hold_in_quiet: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    min_cluster: FloatArray = field(default_factory=lambda: np.zeros(0))
    wake_in_quiet: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    opened_ms: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        n = int(np.asarray(self.sub_id).shape[0])
        set_ = object.__setattr__
        set_(self, "sub_id", _column(self.sub_id, np.int64, n, "sub_id"))
        set_(self, "chat_id", _column(self.chat_id, np.int64, n, "chat_id"))
        set_(self, "kind", _column(self.kind, np.int8, n, "kind"))
        set_(self, "side", _column(self.side, np.int8, n, "side"))
        for name in ("entry", "leverage", "liquidation_price", "entry_lfr"):
            set_(self, name, _column(getattr(self, name), np.float64, n, name))
        set_(self, "muted_until_ms", _column(self.muted_until_ms, np.int64, n, "muted_until_ms"))
        set_(self, "in_quiet_hours", _column(self.in_quiet_hours, np.bool_, n, "in_quiet_hours"))
        hold = np.asarray(self.hold_in_quiet, dtype=np.bool_)
        set_(self, "hold_in_quiet", np.zeros(n, dtype=np.bool_) if hold.size == 0 else hold)
        _column(self.hold_in_quiet, np.bool_, n, "hold_in_quiet")
        floor = np.nan_to_num(np.asarray(self.min_cluster, dtype=np.float64))
        set_(self, "min_cluster", np.zeros(n) if floor.size == 0 else floor)
        _column(self.min_cluster, np.float64, n, "min_cluster")
        wake = np.asarray(self.wake_in_quiet, dtype=np.bool_)
        set_(self, "wake_in_quiet", np.ones(n, dtype=np.bool_) if wake.size == 0 else wake)
        _column(self.wake_in_quiet, np.bool_, n, "wake_in_quiet")
        opened = np.asarray(self.opened_ms, dtype=np.int64)
        set_(self, "opened_ms", np.zeros(n, dtype=np.int64) if opened.size == 0 else opened)
        _column(self.opened_ms, np.int64, n, "opened_ms")
        thresholds = np.asarray(self.thresholds, dtype=np.float64)
        modes = np.asarray(self.modes, dtype=np.int8)
        shape = (n, len(RULES))
        if thresholds.shape != shape or modes.shape != shape:
            raise AlertInputError(f"thresholds and modes must be shaped {shape}")
        set_(self, "thresholds", thresholds)
        set_(self, "modes", modes)
        if np.unique(self.sub_id).shape[0] != n:
            raise AlertInputError("sub_id must be unique")
        if not np.isin(self.kind, (WATCH, POSITION)).all():
            raise AlertInputError("kind must be 0 (watch) or 1 (position)")
        if not np.isin(self.side, (-1, 0, 1)).all():
            raise AlertInputError("side must be +1, -1 or 0")
        if not np.isin(self.modes, tuple(MODE_NAMES)).all():
            raise AlertInputError("modes must be 0 (off), 1 (on) or 2 (silent)")

    def __len__(self) -> int:
        return int(self.sub_id.shape[0])

    def effective_thresholds(self) -> FloatArray:
        """``thresholds`` with NaN replaced by each rule's default."""
        defaults = np.broadcast_to(np.asarray(DEFAULT_THRESHOLDS), self.thresholds.shape)
        return np.where(np.isnan(self.thresholds), defaults, self.thresholds)

    def take(self, index: npt.ArrayLike) -> Subscriptions:
        """The rows at ``index`` (an int array or a boolean mask)."""
        idx = np.asarray(index)
        return Subscriptions(
            sub_id=self.sub_id[idx],
            chat_id=self.chat_id[idx],
            kind=self.kind[idx],
            side=self.side[idx],
            entry=self.entry[idx],
            leverage=self.leverage[idx],
            liquidation_price=self.liquidation_price[idx],
            entry_lfr=self.entry_lfr[idx],
            thresholds=self.thresholds[idx],
            modes=self.modes[idx],
            muted_until_ms=self.muted_until_ms[idx],
            in_quiet_hours=self.in_quiet_hours[idx],
            hold_in_quiet=self.hold_in_quiet[idx],
            min_cluster=self.min_cluster[idx],
            wake_in_quiet=self.wake_in_quiet[idx],
            opened_ms=self.opened_ms[idx],
        )

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> Subscriptions:
        """Build from dict rows (the bot's repository rows; tests). Keys: ``sub_id``,
        ``chat_id``, ``kind`` ("position"/"watch"), and optionally ``side`` ("long"/"short"),
        ``entry``, ``leverage``, ``liquidation_price``, ``entry_lfr``, ``thresholds``
        ({rule: value}), ``modes`` ({rule: "off"/"on"/"silent"}), ``muted_until_ms``,
        ``in_quiet_hours``, ``hold_in_quiet``, ``min_cluster``, ``wake_in_quiet``,
        ``opened_ms``. Missing values take their defaults."""
        recs = list(records)
        n = len(recs)
        thresholds = np.full((n, len(RULES)), np.nan)
        modes = np.full((n, len(RULES)), MODE_ON, dtype=np.int8)
        mode_codes = {v: k for k, v in MODE_NAMES.items()}
        kinds = {"watch": WATCH, "position": POSITION, WATCH: WATCH, POSITION: POSITION}
        sides = {"long": 1, "short": -1, None: 0, 1: 1, -1: -1, 0: 0}

        def num(r: Mapping[str, Any], key: str) -> float:
            v = r.get(key)
            return math.nan if v is None else float(v)

        for i, r in enumerate(recs):
            for rule, value in (r.get("thresholds") or {}).items():
                if value is not None:
                    thresholds[i, RULE_INDEX[rule]] = float(value)
            for rule, mode in (r.get("modes") or {}).items():
                modes[i, RULE_INDEX[rule]] = mode_codes[mode] if isinstance(mode, str) else mode
        return cls(
            sub_id=np.array([int(r["sub_id"]) for r in recs], dtype=np.int64),
            chat_id=np.array([int(r["chat_id"]) for r in recs], dtype=np.int64),
            kind=np.array([kinds[r.get("kind", "watch")] for r in recs], dtype=np.int8),
            side=np.array([sides[r.get("side")] for r in recs], dtype=np.int8),
            entry=np.array([num(r, "entry") for r in recs]),
            leverage=np.array([num(r, "leverage") for r in recs]),
            liquidation_price=np.array([num(r, "liquidation_price") for r in recs]),
            entry_lfr=np.array([num(r, "entry_lfr") for r in recs]),
            thresholds=thresholds,
            modes=modes,
            muted_until_ms=np.array([int(r.get("muted_until_ms") or 0) for r in recs]),
            in_quiet_hours=np.array([bool(r.get("in_quiet_hours")) for r in recs], dtype=bool),
            hold_in_quiet=np.array([bool(r.get("hold_in_quiet")) for r in recs], dtype=bool),
            min_cluster=np.array([float(r.get("min_cluster") or 0.0) for r in recs]),
            wake_in_quiet=np.array([bool(r.get("wake_in_quiet", True)) for r in recs], dtype=bool),
            opened_ms=np.array([int(r.get("opened_ms") or 0) for r in recs], dtype=np.int64),
        )
