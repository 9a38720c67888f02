"""The advice of a finding, as data (:class:`alerts.findings.Action`), and the one stop.

Every stop the bot names, in the pre-trade check, ``/open``, alerts and digests, is
:func:`position_stop`: ``liqmap.suggest_stop`` from the position's entry, beyond the nearest
cluster that would cascade against it and beyond any cluster chained to that one.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right

from alerts.catalogue import (
    ASYMMETRY,
    CLUSTER_EDGE,
    FUNDING_EXTREME,
    LFR_DEGRADED,
    LIQUIDATION_WARNING,
    OI_DROP,
    OWN_LP_IN_CLUSTER,
    SQUEEZE,
)
from alerts.findings import Act, Action, Position, liquidation_first
from alerts.inputs import SymbolMetrics
from liqmap.clusters import LONG, SHORT, Cluster, MapClusters
from liqmap.metrics import StopSuggestion, suggest_stop
from liqmap.times import HOUR_MS
from liqmap.touch import Volatility

STOP_BUFFER_PCT = 0.4  # beyond the far edge: 0.3-0.5% keeps the stop out of the wick


def position_stop(
    clusters: MapClusters, side: str, entry: float, buffer_pct: float = STOP_BUFFER_PCT
) -> StopSuggestion | None:
    """The stop for a ``side`` position entered at ``entry`` on this map (None: no cluster
    against it)."""
    return suggest_stop(clusters, side, entry, buffer_pct)


class StopBook:
    """:func:`position_stop` for many entries on one map. The answer depends on the entry only
    through which clusters lie beyond it, so it is computed once per such set."""

    def __init__(self, clusters: MapClusters, buffer_pct: float = STOP_BUFFER_PCT) -> None:
        self.clusters, self.buffer_pct = clusters, buffer_pct
        self._highs = sorted(c.high for c in clusters.below)  # long candidates: high < entry
        self._lows = sorted(c.low for c in clusters.above)  # short candidates: low > entry
        self._memo: dict[tuple[str, int], StopSuggestion | None] = {}

    def at(self, side: str, entry: float) -> StopSuggestion | None:
        if side == LONG:
            key = (side, bisect_left(self._highs, entry))
        else:
            key = (side, len(self._lows) - bisect_right(self._lows, entry))
        if key not in self._memo:
            self._memo[key] = position_stop(self.clusters, side, entry, self.buffer_pct)
        s = self._memo[key]
        if s is None:
            return None
        return dataclasses.replace(s, distance_pct=abs(s.price / entry - 1) * 100)

    def held(self, side: str, entry: float, price: float) -> StopSuggestion | None:
        """The stop of a position already open: its entry's, or, once price has passed that
        one (it would fill at once), the one from the price now."""
        s = self.at(side, entry)
        sign = 1 if side == LONG else -1
        if s is not None and (s.price - price) * sign >= 0:
            s = self.at(side, price)
        return s


def held_position_stop(
    clusters: MapClusters, side: str, entry: float, price: float
) -> StopSuggestion | None:
    """:meth:`StopBook.held` on one map: the stop /positions, digests and alerts name for an
    open position."""
    return StopBook(clusters).held(side, entry, price)


def profit_beyond_noise(pos: Position, m: SymbolMetrics) -> bool:
    """In profit by more than the entry's noise: one typical 4-hour move (``liqmap.touch``)
    when the volatility is known, and open for an hour at least. A move inside the noise, or
    in the trade's first hour, is no profit to take yet."""
    if not pos.in_profit(m.price) or pos.entry is None:
        return False
    if pos.opened_ms and m.as_of - pos.opened_ms < HOUR_MS:
        return False
    if m.vol_fast is None or m.vol_slow is None:
        return True
    noise = Volatility(m.vol_fast, m.vol_slow).typical_move_pct()
    return abs(m.price / pos.entry - 1) * 100 > noise


def _stop_action(kind: Act, pos: Position, m: SymbolMetrics, stops: StopBook) -> Action:
    if pos.entry is not None and profit_beyond_noise(pos, m):
        # the one stop sits past the entry: for a trade in profit it would lock in a loss
        return Action(kind, pos.side_name, pos.entry, break_even=True)
    entry = pos.entry if pos.entry is not None else m.price
    s = stops.held(pos.side_name, entry, m.price)
    if s is None:
        return Action(kind, pos.side_name)
    first = liquidation_first(pos.side, pos.liquidation_price, s.price)
    return Action(kind, pos.side_name, s.price, s.cluster, first)


def advise(
    rule: str,
    key: str,
    m: SymbolMetrics,
    pos: Position | None,
    cluster: Cluster | None,
    threshold: float,
    stops: StopBook,
    own_lp_rearm_factor: float = 2.0,
) -> Action:
    """What to consider doing about one finding (``pos`` None for a watch)."""
    if rule == CLUSTER_EDGE and cluster is not None:
        if pos is None:
            return Action(Act.AVOID_NEW, cluster.side, cluster=cluster)
        if (pos.side > 0) == (cluster.side == LONG):  # the cluster is on the losing side
            return _stop_action(Act.CUT_RISK, pos, m, stops)
        kind = Act.TAKE_PROFIT if profit_beyond_noise(pos, m) else Act.KEEP_STOP
        return Action(kind, pos.side_name, cluster=cluster)
    if rule == LFR_DEGRADED and pos is not None:
        kind = Act.TAKE_PROFIT if profit_beyond_noise(pos, m) else Act.CUT_RISK
        return _stop_action(kind, pos, m, stops)
    if rule == OI_DROP:
        return Action(Act.DISCOUNT_MAP, pos.side_name if pos else "")
    if rule in (FUNDING_EXTREME, SQUEEZE, ASYMMETRY):
        if rule == FUNDING_EXTREME:
            exposed = LONG if (m.funding or 0.0) > 0 else SHORT  # the crowded side
        elif rule == SQUEEZE:
            exposed = SHORT if key == "short_squeeze" else LONG  # the squeezed side
        else:
            exposed = LONG if key == "longs_heavy" else SHORT  # the fragile side
        if pos is None:
            if rule != ASYMMETRY:
                return Action(Act.AVOID_NEW, exposed)
            s = stops.at(exposed, m.price)  # a stop for a position opened now
            return Action(Act.AVOID_NEW, exposed, s.price if s else None, s.cluster if s else None)
        if pos.side_name == exposed:
            return _stop_action(Act.CUT_RISK, pos, m, stops)
        kind = Act.TAKE_PROFIT if rule == SQUEEZE else Act.KEEP_STOP
        return Action(kind, pos.side_name)
    if rule == LIQUIDATION_WARNING and pos is not None:
        if profit_beyond_noise(pos, m) and pos.entry is not None:
            # a stop beyond the entry would lock in a loss: break-even keeps the gain and
            # makes the liquidation unreachable
            return Action(Act.PROTECT_GAIN, pos.side_name, pos.entry)
        # add margin or cut size (the renderer says both), or a stop that fills before the
        # liquidation: placed from the price now (it has moved towards the liquidation, so the
        # entry's stop may sit above it), beyond the chain of clusters in between
        s = stops.at(pos.side_name, m.price)
        if s is None:
            return Action(Act.CUT_RISK, pos.side_name)
        if liquidation_first(pos.side, pos.liquidation_price, s.price):
            return Action(Act.CUT_RISK, pos.side_name, None, s.cluster, liquidation_first=True)
        return Action(Act.CUT_RISK, pos.side_name, s.price, s.cluster)
    if rule == OWN_LP_IN_CLUSTER and cluster is not None:
        # clear of the re-arm margin (twice the threshold beyond the far edge by default)
        margin = own_lp_rearm_factor * threshold / 100
        long_cluster = cluster.side == LONG
        target = cluster.low * (1 - margin) if long_cluster else cluster.high * (1 + margin)
        side = pos.side_name if pos else cluster.side
        return Action(Act.MOVE_LIQUIDATION, side, target, cluster)
    raise ValueError(f"no advice for rule {rule!r}/{key!r}")
