"""One message per chat per symbol per pass: everything that fired for a chat on one symbol (all
its positions and its watch) folded into one alert.

``group_events`` is pure (no I/O, no clock): the events of one ``evaluate`` pass, the
subscriptions they came from, the map metrics and each chat's time zone in; one
:class:`GroupedAlert` per (chat, symbol) out, with its text (Telegram HTML), its buttons as plain
data (the sender turns them into an inline keyboard) and one dedupe key per chat/symbol/tick.

The message: a headline (symbol, price, the time in the user's zone), one line per distinct
market event (the same cluster edge fired for two positions and a watch is one line), one line
per affected position (``#3 long x20: liq 110,642.6 is 1.2% below, inside the 109.3-109.9K
cluster``, plus what fired for it), and one "Consider" line from the most urgent event.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts.catalogue import (
    ASYMMETRY,
    CLUSTER_EDGE,
    FUNDING_EXTREME,
    LFR_DEGRADED,
    OI_DROP,
    OWN_LP_IN_CLUSTER,
    POSITION,
    SQUEEZE,
)
from alerts.inputs import Subscriptions, SymbolMetrics
from alerts.rules import AlertEvent
from alerts.text import (
    esc,
    funding,
    imbalance,
    in_profit,
    notional,
    pct,
    price,
    ratio,
    stop_beyond,
)
from liqmap.clusters import LONG, Cluster

MAX_CHARS = 3500  # Telegram allows 4,096; leave room for the held note
MUTE_SECONDS = 3600

# Most urgent first: the "Consider" line and the order of the market lines follow it.
URGENCY = (
    OWN_LP_IN_CLUSTER,
    CLUSTER_EDGE,
    LFR_DEGRADED,
    SQUEEZE,
    OI_DROP,
    FUNDING_EXTREME,
    ASYMMETRY,
)

Keyboard = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)


@dataclass(frozen=True)
class GroupedAlert:
    """One outbox row: everything one chat gets about one symbol from one pass."""

    dedupe_key: str
    chat_id: int
    symbol: str
    text: str
    keyboard: Keyboard
    silent: bool
    held: bool
    rules: tuple[str, ...]
    sub_ids: tuple[int, ...]


def short_range(c: Cluster) -> str:
    """'109.3-109.9K' (low to high, compact) for prices >= 1,000; else full prices."""
    if c.low >= 1000:
        return f"{c.low / 1000:.1f}-{c.high / 1000:.1f}K"
    return f"{price(c.low)}-{price(c.high)}"


def local_time(ms: int, zone: str) -> str:
    """'21:40 Europe/Berlin' ('UTC' for an unknown zone)."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz, zone = ZoneInfo("UTC"), "UTC"
    return f"{datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz):%H:%M} {zone}"


def _where(m: SymbolMetrics, c: Cluster) -> str:
    return "below" if c.side == LONG else "above"


def market_line(m: SymbolMetrics, e: AlertEvent, cluster: Cluster | None) -> str:
    """What happened, once per (rule, key) however many subscriptions it fired for."""
    amount = lambda x: notional(x, m.relative_units)  # noqa: E731 - one-line helper
    if e.rule == CLUSTER_EDGE and cluster is not None:
        d = m.edge_distance_pct(cluster)
        share = m.band_share(cluster)
        of_side = (
            f", {share * 100:.0f}% of the side within ±{m.band_pct:g}%"
            if math.isfinite(share)
            else ""
        )
        near = price(cluster.near_edge())
        return (
            f"Price is <b>{d:.2f}%</b> from {near}, the near edge of the {cluster.side}-"
            f"liquidation cluster {_where(m, cluster)}: {near}–{price(cluster.far_edge())} "
            f"({amount(cluster.notional)}{of_side})"
        )
    if e.rule == OI_DROP:
        change = (m.oi_change or 0.0) * 100
        return f"Open interest <b>{pct(change, digits=1)}</b> in 4 h: the map is stale"
    if e.rule == FUNDING_EXTREME:
        return f"Funding <b>{funding(m.funding)}</b> per 8h: crowded positioning"
    if e.rule == SQUEEZE:
        kind = "Short" if e.key == "short_squeeze" else "Long"
        return (
            f"{kind}-squeeze setup: funding <b>{funding(m.funding)}</b> with a large cluster near"
        )
    if e.rule == ASYMMETRY:
        return f"Long/short imbalance <b>{imbalance(m.asymmetry)}</b> within ±{m.band_pct:g}%"
    return ""


def title(m: SymbolMetrics, e: AlertEvent) -> str:
    """What happened, in a few words, for the headline."""
    c = e.cluster
    if e.rule == CLUSTER_EDGE and c is not None:
        return f"price {m.edge_distance_pct(c):.2f}% from a {c.side} cluster {_where(m, c)}"
    if e.rule == OI_DROP:
        return f"open interest {pct((m.oi_change or 0.0) * 100, digits=1)} in 4 h"
    if e.rule == FUNDING_EXTREME:
        return f"funding {funding(m.funding)} per 8h"
    if e.rule == SQUEEZE:
        return f"{'short' if e.key == 'short_squeeze' else 'long'}-squeeze setup"
    if e.rule == ASYMMETRY:
        return f"imbalance {imbalance(m.asymmetry)}"
    if e.rule == LFR_DEGRADED:
        return f"fuel ratio of #{e.sub_id} fell below {e.threshold:g}"
    if e.rule == OWN_LP_IN_CLUSTER:
        return f"liquidation of #{e.sub_id} sits in a large cluster"
    return e.rule


def position_head(m: SymbolMetrics, subs: Subscriptions, i: int) -> str:
    """'#3 long x20: liq 110,642.6 is 1.2% below, inside the 109.3-109.9K cluster'."""
    side = LONG if subs.side[i] > 0 else "short"
    head = f"#{int(subs.sub_id[i])} {side}"
    lev = float(subs.leverage[i])
    if math.isfinite(lev):
        head += f" x{lev:g}"
    lp = float(subs.liquidation_price[i])
    if not math.isfinite(lp):
        return head
    d = (lp / m.price - 1) * 100
    head += f": liq {price(lp)} is {abs(d):.1f}% {'below' if d < 0 else 'above'}"
    same_side = m.large_clusters(side)
    inside = next((c for c in same_side if c.contains(lp)), None)
    if inside is not None:
        head += f", inside the {short_range(inside)} cluster"
    return head


def position_note(
    m: SymbolMetrics,
    subs: Subscriptions,
    i: int,
    e: AlertEvent,
    cluster: Cluster | None,
    buffer_pct: float,
) -> str:
    """What one fired rule means for this position (empty when the market line says it all)."""
    side = int(subs.side[i])
    if e.rule == LFR_DEGRADED:
        lfr = m.lfr_long if side > 0 else m.lfr_short
        return (
            f"fuel ratio fell below {e.threshold:g}: now {ratio(lfr)} vs "
            f"{ratio(float(subs.entry_lfr[i]))} at entry"
        )
    if e.rule == OWN_LP_IN_CLUSTER and cluster is not None:
        return f"liquidation in the {cluster.side} cluster {short_range(cluster)}: cut leverage"
    if e.rule == CLUSTER_EDGE and cluster is not None:
        losing = (side > 0) == (cluster.side == LONG)
        if losing:
            return f"stop beyond it: {price(stop_beyond(cluster, buffer_pct))}"
        if in_profit(float(subs.entry[i]), side, m.price):
            return "fuel for you: consider partial profit into it"
        return "fuel for you, once the trade is in profit"
    return ""


def consider(e: AlertEvent) -> str:
    """The action of the most urgent event, taken from its full single-alert text."""
    marker = "<b>Consider:</b>"
    at = e.text.find(marker)
    if at < 0:
        return ""
    rest = e.text[at:].split("\n", 1)[0]
    return rest


def _fit(lines: list[str]) -> str:
    """Whole lines up to ``MAX_CHARS`` (never cut inside an HTML tag), then a count."""
    kept: list[str] = []
    size = 0
    for k, line in enumerate(lines):
        if size + len(line) + 1 > MAX_CHARS - 40:
            kept.append(f"… and {len(lines) - k} more lines (/positions)")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def keyboard_for(symbol: str, positions: Sequence[int]) -> Keyboard:
    base = symbol.split("/")[0]
    rows: list[tuple[tuple[str, str], ...]] = [
        (("📊 Map", f"map|{base}|1d"), ("🔕 Mute 1h", f"mute|{MUTE_SECONDS}"))
    ]
    closes = tuple((f"✖ Close #{p}", f"pos|close|{p}") for p in positions)
    for k in range(0, len(closes), 3):  # three per row: phones are narrow
        rows.append(closes[k : k + 3])
    return tuple(rows)


def group_events(
    events: Sequence[AlertEvent],
    subs: Subscriptions,
    m: SymbolMetrics,
    zones: Mapping[int, str],
    now_ms: int,
    buffer_pct: float = 0.4,
) -> list[GroupedAlert]:
    """Fold one pass's events into one message per chat. ``zones``: chat -> IANA zone.

    The message is held (quiet hours) if any of its events is held, and silent only if all
    are: one message can only be delivered once."""
    row_of = {int(s): i for i, s in enumerate(subs.sub_id.tolist())}
    by_chat: dict[int, list[AlertEvent]] = {}
    for e in events:
        by_chat.setdefault(e.chat_id, []).append(e)
    out = []
    for chat, evs in by_chat.items():
        evs = sorted(evs, key=lambda e: (URGENCY.index(e.rule), e.sub_id))
        zone = zones.get(chat, "UTC")
        what = title(m, evs[0])
        others = len({(e.rule, e.key) for e in evs}) - 1
        more = f" (+{others} more)" if others > 0 else ""
        when = f"{price(m.price)} · {local_time(now_ms, zone)}"
        head = f"<b>{esc(m.symbol)}: {what}</b>{more}\n{when}"
        lines = [head]
        seen: set[tuple[str, str]] = set()
        for e in evs:
            if (e.rule, e.key) in seen:
                continue
            line = market_line(m, e, e.cluster)
            if line:
                seen.add((e.rule, e.key))
                lines.append(f"• {line}")
        positions: list[int] = []
        for e in evs:
            if subs.kind[row_of[e.sub_id]] == POSITION and e.sub_id not in positions:
                positions.append(e.sub_id)
        for sid in sorted(positions):
            i = row_of[sid]
            notes = [
                position_note(m, subs, i, e, e.cluster, buffer_pct) for e in evs if e.sub_id == sid
            ]
            notes = list(dict.fromkeys(n for n in notes if n))
            tail = f" — {'; '.join(notes)}" if notes else ""
            lines.append(f"{position_head(m, subs, i)}{tail}")
        action = consider(evs[0])
        if action:
            lines.append(action)
        if m.stale:
            lines.append(f"<i>Stale data from {esc(', '.join(m.stale[:3]))}.</i>")
        text = _fit(lines)
        out.append(
            GroupedAlert(
                dedupe_key=f"{m.symbol}:{chat}:{now_ms}",
                chat_id=chat,
                symbol=m.symbol,
                text=text,
                keyboard=keyboard_for(m.symbol, sorted(positions)),
                silent=all(e.silent for e in evs),
                held=any(e.held for e in evs),
                rules=tuple(dict.fromkeys(e.rule for e in evs)),
                sub_ids=tuple(dict.fromkeys(e.sub_id for e in evs)),
            )
        )
    return out
