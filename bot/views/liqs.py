"""Texts about real liquidations (what the venues' streams recorded): ``/liqs``, the feed lines of
``/status``, the ``cascade_live`` alert and ``/skill``; and the prints a chart would mark.

Every sum says how long the streams were connected: a disconnect is not a quiet market.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.views import fmt
from bot.views.real_prints import ChartPrint, RealLiquidations, window_prints
from grading.report import grade_text
from grading.skill import Grade
from liqmap.times import HOUR_MS
from market.liquidation_summary import Cascade, LiqsSummary
from storage.liquidations import StoredPrints
from storage.map_refits import RefitRow

if TYPE_CHECKING:  # a type only: the feed module imports ccxt.pro
    from market.liquidation_feed import VenueStreamStatus

__all__ = ["ChartPrint", "RealLiquidations", "chart_prints", "window_prints"]

VENUE_NAMES = {"binanceusdm": "Binance", "bybit": "Bybit", "okx": "OKX", "bitget": "Bitget"}
CLOCK = "%H:%M %Z"
DAY = "%Y-%m-%d"


def venue_name(venue: str) -> str:
    return VENUE_NAMES.get(venue, venue)


def duration(ms: int) -> str:
    """'23h', '3.5h', '40 min' (rounded down: coverage is never overstated)."""
    if ms >= HOUR_MS:
        tenths = ms * 10 // HOUR_MS
        return f"{tenths // 10}h" if tenths % 10 == 0 else f"{tenths / 10:.1f}h"
    return f"{ms // 60_000} min"


def _coin(symbol: str) -> str:
    return html.escape(symbol.split("/")[0])


def liqs_html(
    symbol: str, window: str, summary: LiqsSummary, streaming: Sequence[str], zone: str = "UTC"
) -> str:
    """The ``/liqs`` answer. ``streaming``: the venues whose stream the bot runs; any other
    venue in the summary is listed as having none."""
    w = summary.window_ms
    lines = [
        f"<b>{_coin(symbol)} real liquidations, last {html.escape(window)}</b> "
        f"(to {fmt.when(summary.until_ms, zone)})",
        f"Longs liquidated <b>{fmt.usd(summary.long_usd)}</b>, "
        f"shorts liquidated <b>{fmt.usd(summary.short_usd)}</b>",
    ]
    without = []
    for v in summary.venues:
        if v.venue not in streaming:
            without.append(venue_name(v.venue))
            continue
        cover = (
            "not connected in this window"
            if v.covered_ms == 0
            else f"connected {duration(v.covered_ms)} of {duration(w)}"
        )
        if v.prints:
            lines.append(
                f"{venue_name(v.venue)}: longs {fmt.usd(v.long_usd)}, shorts "
                f"{fmt.usd(v.short_usd)} ({v.prints} prints); {cover}"
            )
        else:
            lines.append(f"{venue_name(v.venue)}: no prints; {cover}")
    if without:
        lines.append(f"No stream: {', '.join(without)} (no public liquidation feed)")
    if summary.largest:
        lines.append("\n<b>Largest prints</b>")
        for p in summary.largest:
            lines.append(
                f"{fmt.when(p.time_ms, zone, CLOCK)} {venue_name(p.venue)} {p.side}s "
                f"{fmt.usd(p.usd)} at {fmt.price(p.price)}"
            )
    if summary.bands:
        lines.append("\n<b>Where they happened</b>")
        for b in summary.bands:
            lines.append(
                f"{fmt.price(b.low)} - {fmt.price(b.high)}: longs {fmt.usd(b.long_usd)}, "
                f"shorts {fmt.usd(b.short_usd)}"
            )
    if not summary.largest:
        lines.append("No liquidation recorded in this window.")
    if any(v.covered_ms < w for v in summary.venues if v.venue in streaming):
        lines.append(
            "<i>Sums cover the connected time only: at least this much was liquidated.</i>"
        )
    return "\n".join(lines)


def feed_status_lines(statuses: Sequence[VenueStreamStatus]) -> list[str]:
    """``/status``: per venue, whether its liquidation stream is connected, since when, prints
    seen; a venue without a stream says so."""
    if not statuses:
        return ["<b>Real liquidations</b>: no feed in this mode"]
    lines = ["<b>Real liquidations</b> (venue streams)"]
    for st in statuses:
        name = venue_name(st.venue)
        if st.support == "none":
            lines.append(f"{name}: no public liquidation stream")
            continue
        if st.connected and st.connected_since_ms is not None:
            state = f"connected since {fmt.when(st.connected_since_ms)}"
        else:
            state = "⚠️ not connected" + (f" ({st.last_error})" if st.last_error else "")
        extra = f", last {fmt.when(st.last_print_ms)}" if st.last_print_ms else ""
        emulated = " (emulated)" if st.support == "emulated" else ""
        lines.append(
            html.escape(f"{name}{emulated}: {state}; {st.prints} prints seen{extra}")
            + (f", {st.reconnects} reconnects" if st.reconnects else "")
        )
    return lines


def cascade_html(
    symbol: str, cascade: Cascade, positions: Sequence[int], watching: bool, zone: str = "UTC"
) -> str:
    """The ``cascade_live`` alert for one chat: everything of one episode in one message (the
    chat's exposed positions by id, and its watch). The one place this message is worded."""
    side = cascade.side
    forced = "forced selling" if side == "long" else "forced buying"
    where = (
        f"at {fmt.price(cascade.low)}"
        if cascade.low == cascade.high
        else f"{fmt.price(cascade.low)} - {fmt.price(cascade.high)}"
    )
    lines = [
        f"🚨 <b>{_coin(symbol)} {side} liquidation cascade now</b>",
        f"{fmt.usd(cascade.usd)} of {side}s force-closed in 5 minutes to "
        f"{fmt.when(cascade.until_ms, zone, CLOCK)} ({cascade.prints} prints, {where}), all "
        f"venues: {forced} that can push price further.",
    ]
    if positions:
        ids = ", ".join(f"#{i}" for i in positions)
        lines.append(
            f"Your {side} position{'s' if len(positions) > 1 else ''} {ids} "
            "is on the side being liquidated."
        )
    elif watching:
        lines.append(f"You watch {_coin(symbol)}.")
    advice = (
        "Consider whether your stop sits beyond the next cluster, or reduce size; cascades "
        "often run until the next liquidation pool."
    )
    lines.append(advice)
    lines.append(f"<code>/liqs {_coin(symbol)} 1h</code> shows where they happened.")
    return "\n".join(lines)


def skill_html(grade: Grade, symbol: str, start_ms: int, end_ms: int, covered_ms: int) -> str:
    """``/skill``: the grading table in a monospace block, and how long the feed covered."""
    table = grade_text(grade, symbol, start_ms, end_ms)
    return (
        f"<pre>{html.escape(table)}</pre>\nFrom the bot's recorded liquidation feed: streams "
        f"connected {duration(covered_ms)} of {duration(end_ms - start_ms)}."
    )


def chart_prints(prints: StoredPrints, since_ms: int, until_ms: int) -> list[ChartPrint]:
    """The prints of ``[since_ms, until_ms)`` as (price, usd, side), largest first, for a map or
    heatmap to mark what was really liquidated next to what the map said."""
    return window_prints(prints.time, prints.side, prints.price, prints.usd, since_ms, until_ms)


def marks_caption(real: RealLiquidations, heatmap: bool = False) -> str:
    """The caption line (plain text) that says the chart marks real liquidations."""
    where = "Dots on the heatmap" if heatmap else "Dots under the bars"
    return (
        f"{where}: real liquidations the {real.source} recorded in this window, longs "
        f"{fmt.usd(real.long_usd)}, shorts {fmt.usd(real.short_usd)}, sized by USD."
    )


def swept_since_line(
    real: RealLiquidations,
    price: float,
    price_at: int,
    below: Sequence[float],
    above: Sequence[float],
) -> str:
    """When the feed recorded liquidations after the candle whose close the map quotes, and they
    printed past clusters the map still lists (``below``/``above``: their near edges), say so:
    the list is older than what the market already did. '' otherwise (plain text)."""
    later = [p for p in real.prints if p.time_ms > price_at]
    lows = [p.price for p in later if p.side == "long" and p.price < price]
    highs = [p.price for p in later if p.side == "short" and p.price > price]
    parts = []
    if lows and any(edge >= min(lows) for edge in below):
        parts.append(f"longs were liquidated down to {fmt.price(min(lows))}")
    if highs and any(edge <= max(highs) for edge in above):
        parts.append(f"shorts were liquidated up to {fmt.price(max(highs))}")
    if not parts:
        return ""
    return (
        f"⚠️ Since {fmt.when(price_at, pattern='%H:%M %Z')} {' and '.join(parts)} ({real.source}): "
        "clusters listed between the price and there may already be swept."
    )


def settings_line(rows: Sequence[RefitRow], zone: str = "UTC") -> str:
    """Which map settings are in use, since when, and the last weekly refit's record."""
    adopted = [r for r in rows if r.adopted]
    name = adopted[-1].in_use if adopted else "default"
    since = f"since {fmt.when(adopted[-1].at_ms, zone, DAY)}" if adopted else "never refitted"
    line = f"Map settings: {name} ({since})."
    if not rows:
        return f"{line} The weekly refit has not run yet."
    last = rows[-1]
    verdict = "adopted" if last.adopted else "kept"
    return (
        f"{line} Last refit {fmt.when(last.at_ms, zone, DAY)}: {verdict} {last.in_use}: "
        f"{last.reason}."
    )
