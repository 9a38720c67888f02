"""What the rule pass finds, as data: no words, no HTML (the words are in one view module,
``bot.views.alert_message``).

The contract, for whoever adds a rule or a line:

- The rule pass (``alerts.rules.evaluate``) returns one :class:`Finding` per (subscription,
  fired slot). A finding names the ``rule`` and its slot ``key`` (``catalogue.SLOTS``), whose
  subscription (``sub_id``, ``chat_id``; ``position`` holds the numbers of a position, None for a
  watch), the ``cluster`` it fired on (cluster edge, own liquidation), the measured ``value``
  against the user's ``threshold`` (in the rule's unit, see :data:`VALUE_UNITS`), delivery
  (``held`` for quiet hours, ``silent``, the ``dedupe_key`` that makes a retry harmless) and the
  suggested :class:`Action`.
- ``urgency`` orders a message (most urgent first: headline and "Consider" line come from the
  first finding, see :func:`order`) and decides quiet hours: :attr:`Urgency.CRITICAL` is never
  held (it is delivered during quiet hours, with sound); the other levels follow the user's
  quiet-hours policy. The liquidation warning is critical (high when the user turned waking
  off); every other rule is :attr:`Urgency.NORMAL`; among equal
  urgencies :data:`PRIORITY` (then the subscription id) decides.
- :class:`Action` is the advice as data: what to do (:class:`Act`), about which side, and the
  price it names (the stop, or where the liquidation price must go) with the cluster that price
  clears. Every stop is ``alerts.advice.position_stop`` (``liqmap.suggest_stop``, chain-aware,
  from the position's entry), the one the pre-trade check and the digest show too.

To add a rule: its name and slots in ``catalogue``, its column operation in ``rules._Pass``
(with its ``value`` in ``rules._Pass.value_of`` and its advice in ``advice.advise``), its
place in :data:`PRIORITY`, and its words in ``bot.views.alert_message.RULE_WORDS`` (headline,
market line, position note, "Consider" sentence). A per-rule "record" line (the measured
evidence) is passed to the renderer as ``records[rule]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum

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
from liqmap.clusters import LONG, SHORT, Cluster


class Urgency(IntEnum):
    """How soon the trader must read it."""

    NORMAL = 0  # held in the user's quiet hours if they asked for that
    HIGH = 1  # before the normal ones in a message; quiet hours still apply
    CRITICAL = 2  # first, and delivered in quiet hours with sound (never held, never silent)


# Among findings of equal urgency, most urgent first (the first one gives the headline and the
# "Consider" line; the market lines follow this order). A rule missing here sorts last.
PRIORITY: tuple[str, ...] = (
    LIQUIDATION_WARNING,
    OWN_LP_IN_CLUSTER,
    CLUSTER_EDGE,
    LFR_DEGRADED,
    SQUEEZE,
    OI_DROP,
    FUNDING_EXTREME,
    ASYMMETRY,
)
_RANK = {rule: i for i, rule in enumerate(PRIORITY)}

# What ``Finding.value`` measures, per rule.
VALUE_UNITS: dict[str, str] = {
    CLUSTER_EDGE: "% from price to the cluster's near edge (unsigned)",
    LFR_DEGRADED: "the position's fuel ratio now",
    OI_DROP: "% change of open interest over 4 h (negative: a drop)",
    FUNDING_EXTREME: "% funding per 8 h (signed)",
    SQUEEZE: "% funding per 8 h (signed)",
    ASYMMETRY: "longs below / shorts above within the band",
    OWN_LP_IN_CLUSTER: "the position's liquidation price",
    LIQUIDATION_WARNING: "% chance that price touches the liquidation price within 4 h",
}


class Act(StrEnum):
    """The kinds of advice."""

    AVOID_NEW = "avoid_new"  # a watch: no new positions of ``side`` there, or lower leverage
    CUT_RISK = "cut_risk"  # reduce leverage or size, or a stop at ``price`` (None: own limit)
    TAKE_PROFIT = "take_profit"  # the move feeds the position: take partial profit
    KEEP_STOP = "keep_stop"  # the move feeds the position, no profit yet: keep or trail the stop
    DISCOUNT_MAP = "discount_map"  # the map overstates what is left: don't size off it
    MOVE_LIQUIDATION = "move_liquidation"  # less leverage / more margin: the LP past ``price``
    PROTECT_GAIN = "protect_gain"  # in profit: a stop at ``price`` (the entry) keeps the gain


@dataclass(frozen=True, slots=True)
class Action:
    """One piece of advice. ``side``: the positions it is about ("long"/"short": the
    position's own side, or for a watch the side at risk). ``price``: the stop (CUT_RISK,
    TAKE_PROFIT, AVOID_NEW of the asymmetry rule) or the liquidation target
    (MOVE_LIQUIDATION), None when there is none; ``cluster``: the cluster that price is beyond
    (the last of a chain). ``liquidation_first``: the position's liquidation price comes
    before that stop, so the stop would never fill. ``break_even``: the position is in profit,
    so the stop named is its entry (a stop past the entry would lock in a loss)."""

    kind: Act
    side: str
    price: float | None = None
    cluster: Cluster | None = None
    liquidation_first: bool = False
    break_even: bool = False


def liquidation_first(side: int | str, liquidation_price: float | None, stop: float) -> bool:
    """The liquidation price sits before ``stop`` (``side``: +1/-1 or "long"/"short"): the stop
    would never fill. The one test of it, for alerts, /check, /open and /stop."""
    lp = liquidation_price
    if lp is None or lp != lp:  # unknown (None or NaN)
        return False
    long = side == LONG if isinstance(side, str) else side > 0
    return lp >= stop if long else lp <= stop


@dataclass(frozen=True, slots=True)
class Position:
    """The numbers of the position a finding is about (None where unknown)."""

    side: int  # +1 long, -1 short
    entry: float | None
    leverage: float | None
    liquidation_price: float | None
    entry_lfr: float | None
    opened_ms: int = 0  # when it was opened (0: unknown, long ago)
    stop: float | None = None  # the trader's own stop (/stop), None if none

    def stop_comes_first(self) -> bool:
        """The trader's stop sits between the entry side and the liquidation price, so it
        fills first (a stop past the liquidation price never fills)."""
        if self.stop is None or self.liquidation_price is None:
            return False
        return not liquidation_first(self.side, self.liquidation_price, self.stop)

    @property
    def side_name(self) -> str:
        return LONG if self.side > 0 else SHORT

    def loss_pct(self, price: float) -> float | None:
        """% of the entry lost if closed at ``price`` (negative: a gain); None without entry."""
        if self.entry is None or not self.entry > 0:
            return None
        return (self.entry - price) / self.entry * self.side * 100

    def in_profit(self, price: float) -> bool:
        """Price has moved the position's way since entry."""
        return self.entry is not None and (price - self.entry) * self.side > 0


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that fired for one subscription (see the module docstring)."""

    dedupe_key: str
    chat_id: int
    sub_id: int
    symbol: str
    rule: str
    key: str
    episode: int
    at_ms: int
    silent: bool
    held: bool
    value: float = math.nan
    threshold: float = math.nan
    cluster: Cluster | None = None
    position: Position | None = None
    action: Action | None = None
    urgency: Urgency = Urgency.NORMAL


def order(findings: Iterable[Finding]) -> list[Finding]:
    """Most urgent first: urgency, then :data:`PRIORITY`, then the subscription."""
    return sorted(findings, key=lambda f: (-f.urgency, _RANK.get(f.rule, len(PRIORITY)), f.sub_id))


PRICE_ALERT = "price_alert"


@dataclass(frozen=True, slots=True)
class PriceAlertFinding:
    """One firing of a trader's price alert (``/alert BTC 120k``; the pass is
    ``bot.pipeline.price_alert_pass``): the candle that crossed ``level`` (its open time, and its
    high for ``above``, its low for ``below``), the map price at the pass, the clusters beyond
    the level (nearest first) and, for an ``every`` alert, the price it re-arms at. Its words are
    ``bot.views.alert_message.price_alert_html``."""

    chat_id: int
    alert_id: int
    fired_count: int
    symbol: str
    level: float
    direction: str  # 'above' / 'below'
    every: bool
    candle_ms: int
    extreme: float
    price_now: float
    price_at: int
    beyond: tuple[Cluster, ...]
    relative_units: bool  # volume-proxy map: amounts are not USD
    rearm_at: float | None
    rule: str = PRICE_ALERT

    @property
    def dedupe_key(self) -> str:
        return f"{PRICE_ALERT}:{self.alert_id}:{self.fired_count}"


def clusters_beyond(
    below: Iterable[Cluster], above: Iterable[Cluster], level: float, direction: str
) -> tuple[Cluster, ...]:
    """The two nearest clusters past ``level`` in the direction it was crossed: where a move
    that broke through it would run next (long clusters under a level broken downwards, short
    clusters over one broken upwards)."""
    if direction == "above":
        return tuple(c for c in above if c.near_edge() > level)[:2]
    return tuple(c for c in below if c.near_edge() < level)[:2]
