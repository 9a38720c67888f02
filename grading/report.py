"""The grade as a trader reads it (a table) and as a program reads it (--json)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from grading.scoring import Interval
from grading.skill import SIDES, Grade
from grading.walk_forward import GRID, WalkForward


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


def walk_forward_text(wf: WalkForward, symbol: str, start_ms: int, end_ms: int) -> str:
    """The walk-forward table: the refitted map, the baseline and the fixed default per side,
    then which settings graded which block."""
    lines = [
        f"The map refitted walk-forward: {symbol}, {_iso(start_ms)} .. {_iso(end_ms)} UTC",
        "  rank correlation of hourly liquidated USD with the map's USD in the hour's range,",
        "  partial on the size of the move; every 4 weeks the settings with the best score over",
        "  the 8 weeks before (never later hours); 95% intervals from resampled days",
        f"  rests on {wf.hours} graded hours; {wf.seconds:.1f} s",
        "",
    ]
    rows = (
        ("map, walk-forward", "model"),
        ("naive baseline", "baseline"),
        ("fixed default", "default"),
        ("walk-fwd - baseline", "margin"),
        ("default - baseline", "default_margin"),
    )
    for side in SIDES:
        lines.append("longs liquidated" if side == "long" else "shorts liquidated")
        for label, key in rows:
            lines.append(f"  {label:<20}{_fmt(wf.sides[side][key], False)}")
    lines += ["", "settings picked (block from .. to: settings, picked on N hours before it)"]
    for b in wf.blocks:
        lines.append(f"  {_iso(b.start)} .. {_iso(b.end)}: {b.settings} ({b.past_hours} h)")
    return "\n".join(lines)


def walk_forward_json(wf: WalkForward, start_ms: int, end_ms: int) -> dict[str, Any]:
    """``{"hours", "long": {"model", "baseline", "default", "margin", "default_margin"},
    "short": ..., "blocks": [...]}``, each figure ``{"score", "low", "high"}``."""
    out: dict[str, Any] = {
        "hours": wf.hours,
        "from": _iso(start_ms),
        "to": _iso(end_ms),
        "seconds": round(wf.seconds, 2),
    }
    for side in SIDES:
        out[side] = {k: iv.as_dict() for k, iv in wf.sides[side].items()}
    out["blocks"] = [
        {
            "from": _iso(b.start),
            "to": _iso(b.end),
            "settings": b.settings,
            "past_hours": b.past_hours,
        }
        for b in wf.blocks
    ]
    out["grid"] = {name: repr(settings) for name, settings in GRID}
    return out
