"""The alert rules of docs/model.md §4: names, defaults, units, and the state slots.

Every threshold is a per-user setting in the unit named here; ``NaN`` in a subscription's
threshold column means "the default".
"""

from __future__ import annotations

from dataclasses import dataclass

CLUSTER_EDGE = "cluster_edge"
LFR_DEGRADED = "lfr_degraded"
OI_DROP = "oi_drop"
FUNDING_EXTREME = "funding_extreme"
SQUEEZE = "squeeze"
ASYMMETRY = "asymmetry"
OWN_LP_IN_CLUSTER = "own_lp_in_cluster"
LIQUIDATION_WARNING = "liquidation_warning"

# Column order of ``Subscriptions.thresholds`` and ``Subscriptions.modes``.
RULES: tuple[str, ...] = (
    CLUSTER_EDGE,
    LFR_DEGRADED,
    OI_DROP,
    FUNDING_EXTREME,
    SQUEEZE,
    ASYMMETRY,
    OWN_LP_IN_CLUSTER,
    LIQUIDATION_WARNING,
)
RULE_INDEX: dict[str, int] = {name: i for i, name in enumerate(RULES)}

# Subscription kinds and rule modes (the integer codes the columnar arrays hold).
WATCH = 0
POSITION = 1
KIND_NAMES: dict[int, str] = {WATCH: "watch", POSITION: "position"}

MODE_OFF = 0
MODE_ON = 1
MODE_SILENT = 2
MODE_NAMES: dict[int, str] = {MODE_OFF: "off", MODE_ON: "on", MODE_SILENT: "silent"}


@dataclass(frozen=True)
class RuleInfo:
    """What /alerts shows for one rule."""

    name: str
    title: str
    description: str
    default: float
    unit: str
    applies_to: tuple[str, ...]  # "position", "watch"
    rearm: str
    low: float = 0.0  # the thresholds a user may set: outside them the rule means nothing
    high: float = 1000.0
    # The mode of a chat that never set one. "off" for a rule whose measured record shows no
    # edge over random hours (alerts/evidence.json): a trader can still turn it on in /alerts.
    default_mode: str = "on"


_BOTH = ("position", "watch")
_POSITIONS = ("position",)

RULE_CATALOGUE: tuple[RuleInfo, ...] = (
    RuleInfo(
        CLUSTER_EDGE,
        "Cluster edge",
        "Price comes within the threshold of the near edge of one of the two nearest "
        "liquidation clusters, below or above.",
        0.5,
        "% from the edge",
        _BOTH,
        "when price is back beyond twice the threshold from that edge; a new cluster is a new "
        "alert",
        0.05,
        5.0,
    ),
    RuleInfo(
        LFR_DEGRADED,
        "Fuel ratio degraded",
        "Your position's Liquidation Fuel Ratio was at or above the threshold at entry and is "
        "now below it (the map turned against you).",
        1.0,
        "LFR",
        _POSITIONS,
        "when the LFR is back above 1.1 x the threshold",
        0.2,
        3.0,
    ),
    RuleInfo(
        OI_DROP,
        "Open interest drop",
        "Aggregate open interest fell more than the threshold within 4 hours: positions were "
        "closed voluntarily and the map is stale.",
        15.0,
        "% in 4 h",
        _BOTH,
        "when the 4 h drop is back under 2/3 of the threshold (10% by default)",
        2.0,
        80.0,
    ),
    RuleInfo(
        FUNDING_EXTREME,
        "Funding extreme",
        "abs(funding) reaches the threshold, or goes beyond its 30-day 95th percentile (and is "
        "at least half the threshold).",
        0.05,
        "% per 8 h",
        _BOTH,
        "when abs(funding) is back under 80% of the level that fired",
        0.001,
        1.0,
    ),
    RuleInfo(
        SQUEEZE,
        "Squeeze setup",
        "Funding at or beyond minus the threshold with dense short liquidations within 3% above "
        "(short squeeze), or at or beyond plus the threshold with dense longs within 3% below.",
        0.03,
        "% per 8 h",
        _BOTH,
        "when funding is back under 80% of the threshold or no dense cluster is within 6%",
        0.001,
        1.0,
    ),
    RuleInfo(
        ASYMMETRY,
        "Asymmetry",
        "Long liquidations below vs short liquidations above (within the band) reach the "
        "threshold ratio either way.",
        2.5,
        "x : 1",
        _BOTH,
        "when the imbalance is back under 0.88 x the threshold (2.2 : 1 by default)",
        1.2,
        20.0,
    ),
    RuleInfo(
        OWN_LP_IN_CLUSTER,
        "Own liquidation in a cluster",
        "Your position's liquidation price sits inside a same-side cluster, or within the "
        "threshold past its far edge: a cascade through it would run through you.",
        0.5,
        "% past the far edge",
        _POSITIONS,
        "when the liquidation price is clear of every same-side cluster by twice the threshold",
        0.05,
        5.0,
        default_mode="off",  # BTC 2025: the next 4 h after it moved no more than random hours
    ),
    RuleInfo(
        LIQUIDATION_WARNING,
        "Liquidation warning",
        "The chance that price touches your position's liquidation price within 4 hours (from "
        "the market's recent volatility, checked on every candle's low or high) reaches the "
        "threshold; once more when it is halfway to certain. It reaches you in quiet hours "
        "(/alerts set wake off to hold it like the others).",
        3.0,  # the backtest's choice: the highest that warned >= 90% of liquidations 15 min early
        "% chance to touch in 4 h",
        _POSITIONS,
        "when the chance is back under half the threshold",
        0.5,
        90.0,
    ),
)
CATALOGUE_BY_NAME: dict[str, RuleInfo] = {r.name: r for r in RULE_CATALOGUE}
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(CATALOGUE_BY_NAME[r].default for r in RULES)
DEFAULT_MODES: tuple[int, ...] = tuple(
    {v: k for k, v in MODE_NAMES.items()}[CATALOGUE_BY_NAME[r].default_mode] for r in RULES
)


def rule_catalogue() -> tuple[RuleInfo, ...]:
    """The rules in display order, for /alerts."""
    return RULE_CATALOGUE


# State slots: one hysteresis/cooldown/episode record per (subscription, slot).
# cluster_edge tracks the two nearest clusters on each side by rank, plus one "lost" slot per
# side that remembers a cluster which left the two nearest (or vanished for a refresh) while
# it was still disarmed or cooling down, so it does not alert again when it comes back.
SLOTS: tuple[tuple[str, str], ...] = (
    (CLUSTER_EDGE, "below1"),
    (CLUSTER_EDGE, "below2"),
    (CLUSTER_EDGE, "above1"),
    (CLUSTER_EDGE, "above2"),
    (CLUSTER_EDGE, "below_lost"),
    (CLUSTER_EDGE, "above_lost"),
    (LFR_DEGRADED, "lfr"),
    (OI_DROP, "oi"),
    (FUNDING_EXTREME, "funding"),
    (SQUEEZE, "short_squeeze"),
    (SQUEEZE, "long_squeeze"),
    (ASYMMETRY, "longs_heavy"),
    (ASYMMETRY, "shorts_heavy"),
    (OWN_LP_IN_CLUSTER, "lp"),
    (LIQUIDATION_WARNING, "warn"),
    (LIQUIDATION_WARNING, "escalate"),
)
SLOT_INDEX: dict[tuple[str, str], int] = {s: i for i, s in enumerate(SLOTS)}
# Slots that only hold memory and never fire.
MEMORY_SLOTS = frozenset(
    {SLOT_INDEX[(CLUSTER_EDGE, "below_lost")], SLOT_INDEX[(CLUSTER_EDGE, "above_lost")]}
)
