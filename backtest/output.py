"""The backtest's results as a JSON-ready object and as a terminal table."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from typing import Any

from backtest.claims import Claim
from backtest.rule_stats import RuleStats, position_load
from backtest.run import Replay


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%MZ")


def clean(x: Any) -> Any:
    """NaN and infinities as null, tuples as lists (JSON has neither)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v) for v in x]
    return x


def results_json(replay: Replay, rules: list[RuleStats], claims: list[Claim]) -> dict[str, Any]:
    """``rules``: one entry per rule (``alerts_per_week`` and what followed); ``claims``: one
    entry per claim (``verdict`` and its numbers)."""
    spec = replay.spec
    models = [s.model for s in replay.steps]
    result: dict[str, Any] = clean(
        {
            "symbol": replay.symbol,
            "from": _iso(spec.start),
            "to": _iso(spec.end),
            "window": spec.window,
            "every_minutes": spec.every_ms // 60_000,
            "maps": len(replay.steps),
            "weeks": replay.weeks,
            "seconds": replay.seconds,
            "maps_per_second": len(replay.steps) / replay.seconds if replay.seconds > 0 else None,
            "models": {m: models.count(m) for m in sorted(set(models))},
            "alerts_config": dataclasses.asdict(spec.config),
            "positions": dataclasses.asdict(spec.positions),
            "rules": {r.rule: dataclasses.asdict(r) for r in rules},
            "claims": {c.id: dataclasses.asdict(c) for c in claims},
            "position_load": position_load(replay),
        }
    )
    return result


def _num(x: float, digits: int = 2) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.{digits}f}"


def text_table(replay: Replay, rules: list[RuleStats], claims: list[Claim]) -> str:
    spec = replay.spec
    rate = len(replay.steps) / replay.seconds if replay.seconds > 0 else math.nan
    lines = [
        f"{replay.symbol} backtest {_iso(spec.start)} .. {_iso(spec.end)}, {spec.window} maps "
        f"every {spec.every_ms // 60_000} min: {len(replay.steps)} maps in "
        f"{replay.seconds:.1f} s ({rate:,.0f} maps/s), {replay.weeks:.1f} weeks",
        "",
        f"{'rule':<18} {'per':<9} {'alerts':>7} {'per week':>9}  "
        f"{'next 4h range %':>16}  {'random hours %':>15}",
    ]
    for r in rules:
        off = "" if r.enabled else "  (off)"
        lines.append(
            f"{r.rule:<18} {r.per:<9} {r.alerts:>7} {_num(r.alerts_per_week):>9}  "
            f"{_num(r.next_4h_range_pct):>16}  {_num(r.baseline_4h_range_pct):>15}{off}"
        )
    sweeps = [r for r in rules if r.sweep]
    if sweeps:
        lines += ["", "Alerts per week by threshold (one watcher):"]
        for r in sweeps:
            cells = ", ".join(
                f"{row['threshold']:g}{'*' if row.get('default') else ''}: "
                f"{row['alerts_per_week']:.2f}"
                for row in r.sweep
            )
            lines.append(f"  {r.rule}: {cells}  (* default)")
    lines += ["", "Claims:"]
    for c in claims:
        lines += [f"  [{c.verdict.upper()}] {c.title}", f"    {c.summary}"]
    return "\n".join(lines)
