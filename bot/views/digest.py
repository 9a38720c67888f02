"""The 4-hourly digest: one message per user covering every watched symbol and position.

Aligned to the user's time zone (local 00:00, 04:00, 08:00...), skipped in quiet hours, split
cleanly (between symbols) if it would pass Telegram's 4,096 characters.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from datetime import UTC, datetime

from alerts.advice import held_position_stop
from bot.clock import zone_info
from bot.views import fmt
from bot.views.distance import liquidation_distance
from bot.views.report import MapReport
from bot.views.summary import cluster_line, largest_lines
from liqmap import fuel_ratio
from liqmap.model import is_proxy
from liqmap.touch import Volatility
from storage.subscriptions import Subscription
from storage.users import User

LIMIT = 4096


def _lfr(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.ratio(x)


def _stop_words(r: MapReport, s: Subscription) -> str:
    """The trader's own stop (``/stop``) as /positions shows it; the suggestion /check and the
    alerts name only when they set none."""
    assert s.side is not None and s.entry is not None
    if s.stop_price is not None:
        away = fmt.pct((s.stop_price / r.price - 1) * 100)
        return f"; your stop {fmt.price(s.stop_price)} ({away} away)"
    stop = held_position_stop(r.clusters, s.side, s.entry, r.price)
    return f"; suggested stop {fmt.price(stop.price)}" if stop else ""


def symbol_block(
    r: MapReport,
    subs: list[Subscription],
    oi_change_4h: float | None,
    now_ms: int,
    volatility: Volatility | None = None,
) -> str:
    e = html.escape
    base = r.symbol.split("/")[0]
    change = f" ({fmt.pct(r.price_change_4h * 100)} 4h)" if r.price_change_4h is not None else ""
    age_min = max(0, (now_ms - r.liq.as_of) // 60_000)
    below, above = r.nearest(2)
    proxy = is_proxy(r)
    shorts = "; ".join(cluster_line(c, r.price, proxy) for c in above) or "none"
    longs = "; ".join(cluster_line(c, r.price, proxy) for c in below) or "none"
    oi = "n/a" if oi_change_4h is None else fmt.pct(oi_change_4h * 100)
    funding = fmt.funding(r.funding.rate, r.funding.interval_h) if r.funding else "n/a"
    lines = [
        f"<b>{e(base)}</b> {e(fmt.price(r.price))}{e(change)} | data {age_min} min old"
        + (f" | stale: {e(', '.join(r.stale))}" if r.stale else ""),
        f"  Shorts above: {e(shorts)}",
        f"  Longs below: {e(longs)}",
        *(f"  {e(line)}" for line in largest_lines(r)),
        f"  Asymmetry {e(fmt.asymmetry(r.asymmetry))} | OI 4h {e(oi)} | funding {e(funding)}",
    ]
    for s in subs:
        if s.kind != "position" or s.side is None or s.entry is None:
            continue
        if s.liquidated:  # a dead position gets no numbers that read like advice
            lines.append(
                e(
                    f"  #{s.id} {s.side} {fmt.price(s.entry)} x{s.leverage:g}: liquidated at "
                    f"~{fmt.price(s.liquidation_price)}; /close {s.id} clears it"
                )
            )
            continue
        now_lfr = fuel_ratio(r.liq, s.side, r.band_pct)
        then = s.entry_snapshot.get("lfr")
        worse = " ⚠️" if then is not None and then >= 1.0 and now_lfr < 1.0 else ""
        lp = s.liquidation_price or float("nan")
        lines.append(
            e(
                f"  #{s.id} {s.side} {fmt.price(s.entry)} x{s.leverage:g}: LFR {_lfr(now_lfr)}"
                f" now vs {_lfr(then)} at entry{worse}; "
                f"{liquidation_distance(r.price, lp, volatility)}" + _stop_words(r, s)
            )
        )
    return "\n".join(lines)


def digest_messages(
    user: User,
    reports: Mapping[str, MapReport],
    subs: list[Subscription],
    oi_changes: Mapping[str, float | None],
    now_ms: int,
    volatility: Mapping[str, Volatility | None] | None = None,
) -> list[str]:
    """The digest as one or more HTML messages, each within Telegram's limit. ``volatility``:
    per symbol, for the distance to each position's liquidation in typical moves."""
    local = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(zone_info(user.tz))
    zone = fmt.zone_label(user.tz)  # 'UTC+03:00', not 'Etc/GMT-3'
    head = f"<b>Digest {html.escape(local.strftime('%a %H:%M'))} {html.escape(zone)}</b>"
    blocks = []
    for symbol, r in reports.items():
        mine = [s for s in subs if s.symbol == symbol]
        vol = (volatility or {}).get(symbol)
        blocks.append(symbol_block(r, mine, oi_changes.get(symbol), now_ms, vol))
    return split_message(head + "\n\n" + "\n\n".join(blocks))


def split_message(text: str, limit: int = LIMIT) -> list[str]:
    """Split at blank lines (between symbols), then at line ends, so no message passes
    ``limit`` and no line is cut (a single line longer than the limit is the only exception)."""
    out: list[str] = []
    current = ""
    for block in text.split("\n\n"):
        for piece in [block] if len(block) <= limit else block.split("\n"):
            sep = "\n\n" if piece is block else "\n"
            if current and len(current) + len(sep) + len(piece) > limit:
                out.append(current)
                current = ""
            current = f"{current}{sep}{piece}" if current else piece
    if current:
        out.append(current)
    return [m[:limit] for m in out]
