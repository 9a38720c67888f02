"""Alert rules as pure functions (docs/model.md §4): one vectorised pass per symbol.

``evaluate(metrics, subs, state, now_ms) -> (findings, new_state)``; see ``alerts.rules`` and,
for what a finding holds, ``alerts.findings``.
"""

from alerts.catalogue import (
    ASYMMETRY,
    CLUSTER_EDGE,
    FUNDING_EXTREME,
    LFR_DEGRADED,
    MODE_OFF,
    MODE_ON,
    MODE_SILENT,
    OI_DROP,
    OWN_LP_IN_CLUSTER,
    POSITION,
    RULE_CATALOGUE,
    RULES,
    SLOTS,
    SQUEEZE,
    WATCH,
    RuleInfo,
    rule_catalogue,
)
from alerts.findings import Act, Action, Finding, Position, Urgency
from alerts.inputs import AlertInputError, Subscriptions, SymbolMetrics, metrics_from_map
from alerts.rules import DEFAULT_CONFIG, AlertConfig, evaluate
from alerts.state import AlertState

__all__ = [
    "ASYMMETRY",
    "CLUSTER_EDGE",
    "DEFAULT_CONFIG",
    "FUNDING_EXTREME",
    "LFR_DEGRADED",
    "MODE_OFF",
    "MODE_ON",
    "MODE_SILENT",
    "OI_DROP",
    "OWN_LP_IN_CLUSTER",
    "POSITION",
    "RULES",
    "RULE_CATALOGUE",
    "SLOTS",
    "SQUEEZE",
    "WATCH",
    "Act",
    "Action",
    "AlertConfig",
    "AlertInputError",
    "AlertState",
    "Finding",
    "Position",
    "RuleInfo",
    "Subscriptions",
    "SymbolMetrics",
    "Urgency",
    "evaluate",
    "metrics_from_map",
    "rule_catalogue",
]
