"""The grade as a trader reads it (a table) and as a program reads it (--json)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from grading.scoring import Interval
from grading.skill import SIDES, Grade


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _fmt(iv: Interval, pct: bool) -> str:
    if iv.score is None or iv.low is None or iv.high is None:
        return "too few to say"
    if pct:
        return f"{100 * iv.score:5.1f}%  [{100 * iv.low:5.1f}, {100 * iv.high:5.1f}]"
    return f"{iv.score:+.3f}  [{iv.low:+.3f}, {iv.high:+.3f}]"


def grade_text(grade: Grade, symbol: str, start_ms: int, end_ms: int) -> str:
    """The table: model, random (or placebo) and baseline per side, 95% intervals, counts."""
    events = grade.mode == "events"
    if events:
        title = "share of liquidated USD in the map's top third of price buckets"
        rows = (("map", "model"), ("random ranking", "random"), ("naive baseline", "baseline"))
        counts = f"{grade.hours} hours, {grade.events} liquidation prints"
        margin_name = "map - baseline (share points)"
    else:
        title = "rank correlation of hourly liquidated USD with the map's USD in the hour's range,"
        title += "\n  partial on the size of the move"
        rows = (("map", "model"), ("placebo", "random"), ("naive baseline", "baseline"))
        counts = f"{grade.hours} hours ({grade.events} with liquidations), hourly totals"
        margin_name = "map - baseline"
    lines = [
        f"How good is the map: {symbol}, {_iso(start_ms)} .. {_iso(end_ms)} UTC",
        f"  {title}",
        f"  rests on {counts}; 95% intervals from resampled hours",
        "",
    ]
    for side in SIDES:
        g = grade.side(side)
        who = "longs liquidated" if side == "long" else "shorts liquidated"
        lines.append(f"{who} ({g.hours} hours, {g.usd / 1e6:,.1f}M USD)")
        for label, key in rows:
            lines.append(f"  {label:<16}{_fmt(getattr(g, key), events)}")
        lines.append(f"  {margin_name:<16}{_fmt(g.margin, events)}")
    if events:
        lines.append(
            "random scores ~33% by construction; the map is useful where it beats the baseline"
        )
    else:
        lines.append(
            "0 = no information beyond the move's size; the map is useful where it beats both"
        )
    return "\n".join(lines)


def grade_json(grade: Grade) -> dict[str, Any]:
    """``{"hours", "events", "long": {"model", "random", "baseline"}, "short": {...}}``."""
    out: dict[str, Any] = {"hours": grade.hours, "events": grade.events}
    for side in SIDES:
        g = grade.side(side)
        out[side] = {
            "model": g.model.as_dict(),
            "random": g.random.as_dict(),
            "baseline": g.baseline.as_dict(),
        }
    return out
