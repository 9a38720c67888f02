"""The alert rules of docs/model.md §4 as one vectorised pass over a symbol's
subscriptions.

``evaluate(metrics, subs, state, now_ms)`` is pure: no I/O, no clock, no Telegram, no SQL. Every
rule is a column operation over all subscriptions; the only Python loops are over the rules'
state slots, the two nearest clusters per side, the same-side clusters of the own-LP check, and
over the findings that actually fire (to attach their advice, :mod:`alerts.advice`).

Per (subscription, slot), in this order:

1. **Identity** (cluster edge, own LP): the slot's stored zone (the price range of the cluster
   it fired on) is matched to a current cluster if the two ranges overlap (within
   ``cluster_match_pct``), so a cluster re-binned by a bucket, grown, or partly swept from its
   near edge is the same cluster, while the next cluster of a stack (at least liqmap's 0.2%
   merge gap away) is a different one. A match inherits the hysteresis and cooldown of what it
   matched, even across ranks (the old #2 becoming #1 after #1 was swept); no match is a new
   cluster: armed, no cooldown. A disarmed or cooling cluster that left the two nearest is kept
   in a per-side memory slot so it does not alert again when it comes back.
2. **Re-arm** (hysteresis): a disarmed slot re-arms once the condition has cleared by the
   rule's margin (see :class:`AlertConfig`).
3. **Fire** when the rule applies to the subscription's kind, the data it needs is known, the
   condition holds, the slot is armed, its cooldown has passed, the user's mode for the rule is
   not off and the user is not muted. Firing disarms the slot, stamps ``last_fired_ms`` and
   bumps the episode counter; the finding's (:class:`alerts.findings.Finding`) dedupe key is
   ``f"{symbol}:{sub_id}:{rule}:{key}:{episode}"``.

Mute and mode ``off`` suppress the finding *without* disarming: if the condition still holds
when the mute ends (or the rule is switched on) the alert fires then. Quiet hours never
suppress: the finding is produced (and the slot disarmed) with ``held=True`` (policy "hold":
deliver when the quiet hours end) or ``silent=True`` (policy "silent": deliver now without
sound), unless it is ``Urgency.CRITICAL`` (delivered now, with sound). Mode ``silent`` always
gives ``silent=True``.

The dedupe key deliberately leaves out the cluster's price: a retried evaluation (a crash before
the state was committed) sees the same stored episode and so yields the same key even if the
cluster's edge moved by a bucket; a new cluster is a new alert through the identity check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.advice import StopBook, advise
from alerts.catalogue import (
    ASYMMETRY,
    CLUSTER_EDGE,
    FUNDING_EXTREME,
    LFR_DEGRADED,
    LIQUIDATION_WARNING,
    MODE_OFF,
    MODE_SILENT,
    OI_DROP,
    OWN_LP_IN_CLUSTER,
    POSITION,
    RULE_INDEX,
    SLOT_INDEX,
    SLOTS,
    SQUEEZE,
)
from alerts.findings import Action, Finding, Position, Urgency
from alerts.inputs import Subscriptions, SymbolMetrics
from alerts.state import NEVER, AlertState
from liqmap.clusters import LONG, SHORT, Cluster
from liqmap.metrics import DEFAULT_MIN_SHARE
from liqmap.times import HOUR_MS
from liqmap.touch import touch_chance, warning_levels

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class AlertConfig:
    """Engine settings shared by every user (the per-user numbers are the thresholds).

    Re-arm margins, with ``t`` the user's threshold:

    - cluster edge: distance to the near edge > ``edge_rearm_factor * t`` (2 x 0.5% = 1%);
    - LFR degraded: LFR >= ``lfr_rearm_factor * t`` (1.1);
    - OI drop: the 4 h drop < ``oi_rearm_factor * t`` (2/3 x 15% = 10%);
    - funding extreme: abs(funding) < ``funding_rearm_factor`` x the level that fires (80%);
    - squeeze: funding back under ``funding_rearm_factor * t`` in the squeeze direction, or no
      dense cluster of that side within ``squeeze_rearm_band_factor * squeeze_band_pct``;
    - asymmetry: imbalance < ``asymmetry_rearm_factor * t`` (0.88 x 2.5 = 2.2:1);
    - own LP: the liquidation price clear of every same-side cluster by
      ``own_lp_rearm_factor * t`` past its far edge and ``(factor - 1) * t`` before its near
      edge.

    ``min_share``: significance. A cluster takes part in cluster edge, squeeze and own LP only
    if it holds at least this share of its side's notional within the band (and at least the
    user's ``min_cluster``); the smaller ones are noise on the way to the wall.

    ``lfr_cooldown_ms``: the fuel ratio swings through 1.1 and back within the hour in a
    cascade; after an alert it stays quiet this long even if it re-armed (4 h: on the replayed
    2025-10-10 a short got it at 21:15 and again at 21:45 with the 30-minute cooldown).

    ``lfr_round``: the fuel ratio fires only when it is below the threshold as shown (rounded to
    this many decimals), so a 0.996 never reads "now 1.00 ... (alert below 1)".

    ``funding_p95_floor``: the "beyond its 30-day 95th percentile" branch of the funding rule
    also needs abs(funding) >= this x the threshold, so a calm month (p95 at the 0.01%
    baseline) does not make ordinary funding an alert and the user's threshold still matters.
    """

    cooldown_ms: int = 30 * 60_000
    edge_rearm_factor: float = 2.0
    lfr_rearm_factor: float = 1.1
    oi_rearm_factor: float = 2.0 / 3.0
    funding_rearm_factor: float = 0.8
    funding_p95_floor: float = 0.5
    squeeze_band_pct: float = 3.0
    squeeze_rearm_band_factor: float = 2.0
    asymmetry_rearm_factor: float = 0.88
    own_lp_rearm_factor: float = 2.0
    cluster_match_pct: float = 0.15  # over one 0.1% bucket, under liqmap's 0.2% merge gap
    zone_track_pct: float = 0.5  # follow a matched cluster once an edge moved this much
    min_share: float = DEFAULT_MIN_SHARE
    lfr_round: int = 2
    lfr_cooldown_ms: int = 4 * 3_600_000


DEFAULT_CONFIG = AlertConfig()


class _Pass:
    """The working arrays of one evaluation."""

    def __init__(
        self,
        m: SymbolMetrics,
        subs: Subscriptions,
        state: AlertState,
        now_ms: int,
        config: AlertConfig,
    ) -> None:
        self.m, self.subs, self.now, self.cfg = m, subs, int(now_ms), config
        self.n = len(subs)
        self.old = state.gather(subs.sub_id)
        self.new = self.old.copy()
        self.fire = np.zeros((len(SLOTS), self.n), dtype=np.bool_)
        self.thr = np.ascontiguousarray(subs.effective_thresholds().T)  # (rule, sub)
        self.modes = np.ascontiguousarray(subs.modes.T)
        self.muted = self.now < subs.muted_until_ms
        self.is_position = (subs.kind == POSITION) & (subs.side != 0)
        self.everyone = np.ones(self.n, dtype=np.bool_)
        self.slot_cluster: dict[int, Cluster] = {}  # cluster-edge slot -> the cluster in it
        self.lp_cluster: list[Cluster] = []  # own-LP hit index -> cluster
        self.lp_hit = np.full(self.n, -1, dtype=np.int64)
        self.min_cluster = subs.min_cluster
        # slot -> per-subscription ``findings.Urgency``; a slot not here is NORMAL. A rule that
        # escalates (closer means more urgent) sets its slot's row when it steps.
        self.urgency: dict[int, IntArray] = {}
        self.touch_4h = np.full(self.n, np.nan)  # the liquidation warning's chance, per sub

    def large(self, side: str) -> tuple[Cluster, ...]:
        """The significant clusters of ``side``, nearest first (see ``AlertConfig.min_share``)."""
        return self.m.large_clusters(side, self.cfg.min_share)

    def big_enough(self, c: Cluster) -> BoolArray:
        """Per subscription: the cluster passes the user's ``min_cluster``."""
        ok: BoolArray = c.notional >= self.min_cluster
        return ok

    # -- shared mechanics ---------------------------------------------------------------------

    def threshold(self, rule: str) -> FloatArray:
        row: FloatArray = self.thr[RULE_INDEX[rule]]
        return row

    def cooled(self, last: IntArray, cooldown_ms: int | None = None) -> BoolArray:
        wait = self.cfg.cooldown_ms if cooldown_ms is None else cooldown_ms
        ok: BoolArray = (last == NEVER) | (self.now - last >= wait)
        return ok

    def step(
        self,
        slot: int,
        applicable: BoolArray,
        cond: BoolArray,
        rearm: BoolArray,
        cooldown_ms: int | None = None,
    ) -> None:
        """Re-arm, then fire, one slot for every subscription (see the module docstring)."""
        rule = SLOTS[slot][0]
        new = self.new
        armed = new.armed[slot]
        last = new.last_fired_ms[slot]
        mode = self.modes[RULE_INDEX[rule]]
        armed = armed | (applicable & rearm & ~cond)
        cooled = self.cooled(last, cooldown_ms)
        fire = applicable & cond & armed & cooled & (mode != MODE_OFF) & ~self.muted
        new.armed[slot] = armed & ~fire
        new.last_fired_ms[slot] = np.where(fire, self.now, last)
        new.episode[slot] += fire
        self.fire[slot] = fire

    def forget_settled(self, slot: int) -> None:
        """Drop the identity zone of slots that are armed and out of cooldown: a new match
        would behave exactly like a fresh slot, and the stored row stops changing."""
        settled = self.new.armed[slot] & self.cooled(self.new.last_fired_ms[slot])
        self.new.zone_low[slot, settled] = np.nan
        self.new.zone_high[slot, settled] = np.nan

    def track(self, slot: int, matched: BoolArray, low: FloatArray, high: FloatArray) -> None:
        """Stamp the cluster's zone on fire; follow a matched cluster once an edge has moved by
        ``zone_track_pct`` (not on every refresh, so the stored row rarely changes)."""
        zlo, zhi = self.new.zone_low[slot], self.new.zone_high[slot]
        d = self.cfg.zone_track_pct / 100
        with np.errstate(invalid="ignore", divide="ignore"):
            moved = (np.abs(low / zlo - 1.0) > d) | (np.abs(high / zhi - 1.0) > d)
        update = self.fire[slot] | (matched & moved)
        self.new.zone_low[slot] = np.where(update, low, zlo)
        self.new.zone_high[slot] = np.where(update, high, zhi)

    def matches(
        self,
        zlo: FloatArray,
        zhi: FloatArray,
        low: float | FloatArray,
        high: float | FloatArray,
    ) -> BoolArray:
        """Whether a stored zone overlaps the cluster ``[low, high]`` (within tolerance)."""
        tol = self.cfg.cluster_match_pct / 100
        return np.isfinite(zlo) & (zlo <= high * (1 + tol)) & (zhi >= low * (1 - tol))

    # -- the rules ----------------------------------------------------------------------------

    def cluster_edge(self) -> None:
        t = self.threshold(CLUSTER_EDGE)
        rearm_t = self.cfg.edge_rearm_factor * t
        o, new, rows = self.old, self.new, np.arange(self.n)
        pairs = (("below", self.large(LONG)[:2]), ("above", self.large(SHORT)[:2]))
        for side, clusters in pairs:
            ranks = [SLOT_INDEX[(CLUSTER_EDGE, f"{side}{r}")] for r in (1, 2)]
            lost = SLOT_INDEX[(CLUSTER_EDGE, f"{side}_lost")]
            olds = [*ranks, lost]
            taken = np.zeros((len(olds), self.n), dtype=np.bool_)
            picks: list[IntArray] = []
            # Greedy identity match: each current cluster takes the first old slot whose zone
            # overlaps it, its own rank first; an old slot is taken at most once.
            for j, c in enumerate(clusters):
                pick = np.full(self.n, -1, dtype=np.int64)
                for k in [j] + [k for k in range(len(olds)) if k != j]:
                    zlo, zhi = o.zone_low[olds[k]], o.zone_high[olds[k]]
                    hit = (pick < 0) & ~taken[k] & self.matches(zlo, zhi, c.low, c.high)
                    pick[hit] = k
                    taken[k, hit] = True
                picks.append(pick)
            for j, slot in enumerate(ranks):
                # Unmatched (or no cluster at this rank): fresh, armed and without cooldown.
                # The old state, if it still matters, goes to the memory slot below; a slot
                # that held nothing worth keeping carries on its (expired) last_fired_ms.
                matched = picks[j] >= 0 if j < len(clusters) else np.zeros(self.n, np.bool_)
                src = np.array(olds)[np.maximum(picks[j], 0)] if j < len(clusters) else slot
                own_settled = ~np.isfinite(o.zone_low[slot])
                new.armed[slot] = np.where(matched, o.armed[src, rows], True)
                new.last_fired_ms[slot] = np.where(
                    matched,
                    o.last_fired_ms[src, rows],
                    np.where(own_settled, o.last_fired_ms[slot], NEVER),
                )
                new.zone_low[slot] = np.where(matched, o.zone_low[src, rows], np.nan)
                new.zone_high[slot] = np.where(matched, o.zone_high[src, rows], np.nan)
                if j >= len(clusters):
                    continue
                c = clusters[j]
                self.slot_cluster[slot] = c
                dist = self.m.edge_distance_pct(c)
                self.step(slot, self.big_enough(c), dist <= t, dist > rearm_t)
                self.track(slot, matched, np.full(self.n, c.low), np.full(self.n, c.high))
                self.forget_settled(slot)
            self._remember(olds, taken, lost, rearm_t)

    def _remember(self, olds: list[int], taken: BoolArray, lost: int, rearm_t: FloatArray) -> None:
        """Memory slot: the first old slot no current cluster matched that is still disarmed
        or cooling down. It re-arms once price is ``rearm_t`` away from its zone."""
        o, p, new = self.old, self.m.price, self.new
        new.armed[lost] = True
        new.last_fired_ms[lost] = NEVER
        new.zone_low[lost] = np.nan
        new.zone_high[lost] = np.nan
        kept = np.zeros(self.n, dtype=np.bool_)
        for k, slot in enumerate(olds):
            zlo, zhi = o.zone_low[slot], o.zone_high[slot]
            with np.errstate(invalid="ignore"):
                gap = np.maximum(np.maximum(zlo / p - 1.0, 1.0 - zhi / p), 0.0) * 100.0
                armed = o.armed[slot] | (gap > rearm_t)
            keep = ~kept & ~taken[k] & np.isfinite(zlo)
            keep &= ~armed | ~self.cooled(o.last_fired_ms[slot])
            new.armed[lost, keep] = armed[keep]
            new.last_fired_ms[lost, keep] = o.last_fired_ms[slot, keep]
            new.zone_low[lost, keep] = zlo[keep]
            new.zone_high[lost, keep] = zhi[keep]
            kept |= keep

    def lfr_degraded(self) -> None:
        t = self.threshold(LFR_DEGRADED)
        slot = SLOT_INDEX[(LFR_DEGRADED, "lfr")]
        lfr = np.where(self.subs.side > 0, self.m.lfr_long, self.m.lfr_short)
        entry = self.subs.entry_lfr
        # armed only when the entry stood clear of the line: an entry inside the re-arm band
        # (1.01 at a 1.0 threshold) would be told "fell below 1" by the next tick's noise
        applicable = self.is_position & (entry >= self.cfg.lfr_rearm_factor * t)  # NaN: never
        shown = np.round(lfr, self.cfg.lfr_round)  # never "1.00 ... (alert below 1)"
        rearm = lfr >= self.cfg.lfr_rearm_factor * t
        self.step(slot, applicable, shown < t, rearm, self.cfg.lfr_cooldown_ms)

    def oi_drop(self) -> None:
        change = self.m.oi_change
        if change is None:  # unknown (e.g. a venue missing at one end): never fires
            return
        t = self.threshold(OI_DROP)
        pct = change * 100.0
        slot = SLOT_INDEX[(OI_DROP, "oi")]
        self.step(slot, self.everyone, pct < -t, pct > -self.cfg.oi_rearm_factor * t)

    def funding_extreme(self) -> None:
        f = self.m.funding
        if f is None:
            return
        t = self.threshold(FUNDING_EXTREME)
        a = abs(f) * 100.0
        p95 = self.m.funding_p95
        floor = self.cfg.funding_p95_floor * t
        if p95 is None:
            cond = a >= t
            level = t
        else:
            p = p95 * 100.0
            cond = (a >= t) | ((a > p) & (a >= floor))
            level = np.minimum(t, np.maximum(p, floor))
        slot = SLOT_INDEX[(FUNDING_EXTREME, "funding")]
        self.step(slot, self.everyone, cond, a < self.cfg.funding_rearm_factor * level)

    def squeeze(self) -> None:
        f = self.m.funding
        if f is None:
            return
        t = self.threshold(SQUEEZE)
        pct = f * 100.0
        band = self.cfg.squeeze_band_pct
        far = band * self.cfg.squeeze_rearm_band_factor
        back = self.cfg.funding_rearm_factor * t
        d_short = self.nearest_large_distance(SHORT)
        d_long = self.nearest_large_distance(LONG)
        slot = SLOT_INDEX[(SQUEEZE, "short_squeeze")]
        self.step(
            slot, self.everyone, (pct <= -t) & (d_short <= band), (pct > -back) | (d_short > far)
        )
        slot = SLOT_INDEX[(SQUEEZE, "long_squeeze")]
        self.step(slot, self.everyone, (pct >= t) & (d_long <= band), (pct < back) | (d_long > far))

    def nearest_large_distance(self, side: str) -> FloatArray:
        """Per subscription: % to the nearest significant cluster of ``side`` that also passes
        the user's minimum (``inf`` when none)."""
        d = np.full(self.n, np.inf)
        for c in self.large(side):
            d = np.where(self.big_enough(c), np.minimum(d, self.m.edge_distance_pct(c)), d)
        return d

    def asymmetry(self) -> None:
        a = self.m.asymmetry
        if math.isnan(a):
            return
        t = self.threshold(ASYMMETRY)
        k = self.cfg.asymmetry_rearm_factor
        slot = SLOT_INDEX[(ASYMMETRY, "longs_heavy")]
        self.step(slot, self.everyone, a >= t, a < k * t)
        slot = SLOT_INDEX[(ASYMMETRY, "shorts_heavy")]
        self.step(slot, self.everyone, a <= 1.0 / t, a > 1.0 / (k * t))

    def own_lp_in_cluster(self) -> None:
        t = self.threshold(OWN_LP_IN_CLUSTER) / 100.0
        f = self.cfg.own_lp_rearm_factor
        lp = self.subs.liquidation_price
        applicable = self.is_position & np.isfinite(lp)
        n = self.n
        hit = self.lp_hit
        near = np.zeros(n, dtype=np.bool_)
        low, high = np.full(n, np.nan), np.full(n, np.nan)
        for code, side in ((1, LONG), (-1, SHORT)):
            rows = applicable & (self.subs.side == code)
            if not rows.any():
                continue
            for c in self.large(side):  # nearest first, as check_own_liquidation
                if side == LONG:  # inside [low, high] or up to t below the far edge (low)
                    zone = (lp >= c.low * (1 - t)) & (lp <= c.high)
                    margin = (lp >= c.low * (1 - f * t)) & (lp <= c.high * (1 + (f - 1) * t))
                else:
                    zone = (lp >= c.low) & (lp <= c.high * (1 + t))
                    margin = (lp >= c.low * (1 - (f - 1) * t)) & (lp <= c.high * (1 + f * t))
                new_hit = rows & zone & (hit < 0) & self.big_enough(c)
                if new_hit.any():
                    hit[new_hit] = len(self.lp_cluster)
                    low[new_hit], high[new_hit] = c.low, c.high
                    self.lp_cluster.append(c)
                near |= rows & margin
        slot = SLOT_INDEX[(OWN_LP_IN_CLUSTER, "lp")]
        o = self.old
        in_cluster = hit >= 0
        zlo, zhi = o.zone_low[slot], o.zone_high[slot]
        matched = in_cluster & self.matches(zlo, zhi, low, high)
        fresh = in_cluster & np.isfinite(zlo) & ~matched  # a different cluster: a new alert
        self.new.armed[slot, fresh] = True
        self.new.last_fired_ms[slot, fresh] = NEVER
        self.new.zone_low[slot, fresh] = np.nan
        self.new.zone_high[slot, fresh] = np.nan
        self.step(slot, applicable, in_cluster, ~near)
        self.track(slot, matched, low, high)
        self.forget_settled(slot)

    def liquidation_warning(self) -> None:
        """The chance that price touches the liquidation price within 4 h (``liqmap.touch``),
        from the worst price since the previous pass: fires at the threshold, once more
        (escalated) when halfway to certain, and re-arms below half the threshold. Critical
        (delivered in quiet hours) unless the user turned that off."""
        m = self.m
        if m.vol_fast is None or m.vol_slow is None:
            return
        subs = self.subs
        lp = subs.liquidation_price
        low = m.price if m.low_since is None else min(m.price, m.low_since)
        high = m.price if m.high_since is None else max(m.price, m.high_since)
        worst = np.where(subs.side > 0, low, high)
        past = np.where(subs.side > 0, worst <= lp, worst >= lp)  # the fate pass owns these
        applicable = self.is_position & np.isfinite(lp) & (lp > 0) & ~past
        with np.errstate(invalid="ignore"):
            chance = touch_chance(
                worst, np.where(applicable, lp, np.nan), m.vol_fast, m.vol_slow, 4
            )
        chance = np.where(applicable, chance, np.nan)
        self.touch_4h = chance
        t = self.threshold(LIQUIDATION_WARNING) / 100.0
        escalate, rearm = warning_levels(t)
        known = applicable & np.isfinite(chance)
        c = np.nan_to_num(chance, nan=0.0)
        warn = SLOT_INDEX[(LIQUIDATION_WARNING, "warn")]
        esc = SLOT_INDEX[(LIQUIDATION_WARNING, "escalate")]
        self.step(warn, known, c >= t, c < rearm)
        now = self.fire[warn]
        warned = ~self.new.armed[warn] & ~now  # warned earlier in this episode
        self.step(esc, known, (c >= escalate) & warned, c < rearm)
        self.new.armed[esc] &= ~(now & (c >= escalate))  # jumped past both: one message
        level = np.where(self.subs.wake_in_quiet, int(Urgency.CRITICAL), int(Urgency.HIGH))
        self.urgency[warn] = level.astype(np.int64)
        self.urgency[esc] = level.astype(np.int64)

    # -- findings -----------------------------------------------------------------------------

    def value_of(self, rule: str, cluster: Cluster | None, side: int, lp: float | None) -> float:
        """The measured number of a fired rule (``findings.VALUE_UNITS``)."""
        m = self.m
        if rule == CLUSTER_EDGE and cluster is not None:
            return m.edge_distance_pct(cluster)
        if rule == LFR_DEGRADED:
            return m.lfr_long if side > 0 else m.lfr_short
        if rule == OI_DROP:
            return (m.oi_change or 0.0) * 100.0
        if rule in (FUNDING_EXTREME, SQUEEZE):
            return (m.funding or 0.0) * 100.0
        if rule == ASYMMETRY:
            return m.asymmetry
        if rule == OWN_LP_IN_CLUSTER and lp is not None:
            return lp
        return math.nan

    def findings(self, with_advice: bool = True) -> list[Finding]:
        rows, slots = np.nonzero(self.fire.T)  # by subscription, then slot
        if rows.size == 0:
            return []
        subs, m = self.subs, self.m
        rule_of_slot = np.array([RULE_INDEX[rule] for rule, _ in SLOTS])[slots]
        modes = self.modes[rule_of_slot, rows]
        urgency = np.full(rows.size, int(Urgency.NORMAL), dtype=np.int64)
        for slot, per_sub in self.urgency.items():
            pick = slots == slot
            urgency[pick] = per_sub[rows[pick]]
        # quiet hours hold or silence a finding, unless it is critical
        quiet = subs.in_quiet_hours[rows] & (urgency < Urgency.CRITICAL)
        held = quiet & subs.hold_in_quiet[rows]
        silent = (modes == MODE_SILENT) | (quiet & ~subs.hold_in_quiet[rows])
        columns: list[list[Any]] = [
            subs.sub_id[rows].tolist(),
            subs.chat_id[rows].tolist(),
            self.new.episode[slots, rows].tolist(),
            silent.tolist(),
            held.tolist(),
            subs.kind[rows].tolist(),
            subs.side[rows].tolist(),
            _none_if_nan(subs.entry[rows]),
            _none_if_nan(subs.leverage[rows]),
            _none_if_nan(subs.liquidation_price[rows]),
            _none_if_nan(subs.entry_lfr[rows]),
            subs.opened_ms[rows].tolist(),
            self.thr[rule_of_slot, rows].tolist(),
            self.lp_hit[rows].tolist(),
            slots.tolist(),
            urgency.tolist(),
            rows.tolist(),
        ]
        stops = StopBook(m.map_clusters())  # the one stop (advice.position_stop), memoised
        advice: dict[tuple[Any, ...], Action] = {}  # many subscriptions share one piece
        out = []
        for (
            sub_id,
            chat_id,
            episode,
            sil,
            hld,
            kind,
            side,
            entry,
            lev,
            lp,
            elfr,
            opened,
            t,
            hit,
            s,
            u,
            row,
        ) in zip(*columns, strict=True):
            rule, key = SLOTS[s]
            position = (
                Position(side, entry, lev, lp, elfr, opened)
                if kind == POSITION and side != 0
                else None
            )
            if rule == OWN_LP_IN_CLUSTER:
                cluster: Cluster | None = self.lp_cluster[hit]
            else:
                cluster = self.slot_cluster.get(s)
            action = None
            if with_advice:
                young = position is not None and self.m.as_of - opened < HOUR_MS
                memo = (s, t, hit, side, entry, lp, young) if position else (s, t)
                action = advice.get(memo)
                if action is None:
                    action = advice[memo] = advise(
                        rule,
                        key,
                        m,
                        position,
                        cluster,
                        t,
                        stops,
                        own_lp_rearm_factor=self.cfg.own_lp_rearm_factor,
                    )
            out.append(
                Finding(
                    dedupe_key=f"{m.symbol}:{sub_id}:{rule}:{key}:{episode}",
                    chat_id=chat_id,
                    sub_id=sub_id,
                    symbol=m.symbol,
                    rule=rule,
                    key=key,
                    episode=episode,
                    at_ms=self.now,
                    silent=sil,
                    held=hld,
                    value=self.touch_4h[row] * 100.0
                    if rule == LIQUIDATION_WARNING
                    else self.value_of(rule, cluster, side, lp),
                    threshold=t,
                    cluster=cluster,
                    position=position,
                    action=action,
                    urgency=Urgency(u),
                )
            )
        return out


def _none_if_nan(a: FloatArray) -> list[float | None]:
    return [None if math.isnan(x) else x for x in a.tolist()]


def evaluate(
    metrics: SymbolMetrics,
    subs: Subscriptions,
    state: AlertState,
    now_ms: int,
    config: AlertConfig = DEFAULT_CONFIG,
    with_advice: bool = True,
) -> tuple[list[Finding], AlertState]:
    """Evaluate every rule for every subscription of ``metrics.symbol`` at ``now_ms``.

    Returns the findings (ordered by subscription, then rule slot) and the new state: ``state``
    with the rows of ``subs`` replaced (other subscriptions' rows are kept; drop deleted ones
    with ``AlertState.prune``). Persist both in one transaction; inserting messages keyed by
    the findings' ``dedupe_key`` makes a retried evaluation harmless. ``with_advice=False``
    leaves ``Finding.action`` None (benchmarks, backtests: the decisions alone).
    """
    p = _Pass(metrics, subs, state, now_ms, config)
    p.cluster_edge()
    p.lfr_degraded()
    p.oi_drop()
    p.funding_extreme()
    p.squeeze()
    p.asymmetry()
    p.own_lp_in_cluster()
    p.liquidation_warning()
    return p.findings(with_advice), state.merge(subs.sub_id, p.new)
