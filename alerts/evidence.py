"""The alerts' measured record: ``alerts/evidence.json``, written by one backtest command
(``liqbot backtest BTC --from 2025-01-01 --to 2026-01-01 --evidence alerts/evidence.json``,
``backtest/evidence.py``), read here. Never edited by hand."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

EVIDENCE_FILE = Path(__file__).with_name("evidence.json")


@dataclass(frozen=True)
class RuleRecord:
    """What followed one rule's alerts in the backtest (``edge``: None when too few)."""

    alerts: int
    per: str
    alerts_per_week: float | None
    next_4h_range_pct: float | None
    random_hours_pct: float | None
    edge: bool | None


@dataclass(frozen=True)
class Evidence:
    symbol: str
    start: str
    end: str
    generated: str
    rules: dict[str, RuleRecord]
    overshoot: dict[str, float]  # cluster_edge pushes past the far edge: p50_pct, p75_pct...

    @property
    def period(self) -> str:
        """'BTC 2025' for a calendar year (its first maps may start a day late: a window's
        worth of data comes first), else 'BTC 2025-03-01..2025-07-01'."""
        coin = self.symbol.split("/")[0]
        a, b = self.start[:10], self.end[:10]
        if (
            a[5:8] == "01-"
            and int(a[8:10]) <= 7
            and b[5:] == "01-01"
            and int(b[:4]) == int(a[:4]) + 1
        ):
            return f"{coin} {a[:4]}"
        return f"{coin} {a}..{b}"


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def parse_evidence(data: dict[str, Any]) -> Evidence:
    rules = {
        name: RuleRecord(
            int(r["alerts"]),
            str(r["per"]),
            _num(r.get("alerts_per_week")),
            _num(r.get("next_4h_range_pct")),
            _num(r.get("random_hours_pct")),
            r.get("edge"),
        )
        for name, r in data["rules"].items()
    }
    shoot = {k: float(v) for k, v in data.get("overshoot", {}).items() if _num(v) is not None}
    return Evidence(data["symbol"], data["from"], data["to"], data["generated"], rules, shoot)


@cache
def bundled_evidence() -> Evidence | None:
    """The packaged record, or None when the file is missing or unreadable (no record line)."""
    try:
        return parse_evidence(json.loads(EVIDENCE_FILE.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
