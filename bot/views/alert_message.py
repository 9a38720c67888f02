"""The alert message a trader receives: one per chat per symbol per pass, rendered from the rule
pass's findings (:mod:`alerts.findings`). The only place alert words live.

The message (Telegram HTML, every market string escaped):

- a headline from the most urgent finding (``+N more``), then price and the time in the
  user's zone;
- one "•" line per distinct market event (the same cluster edge fired for two positions and a
  watch is one line);
- one line per affected position (``#3 long x20: liq 110,642.6 is 1.2% below, inside the
  109.3-109.9K cluster``, then what fired for it);
- one "Consider:" line, the most urgent finding's action; then its rule's record line (the
  measured evidence) when the caller passes one; then stale venues.

To give a new rule its words, add a :class:`RuleWords` to :data:`RULE_WORDS`: ``title`` (the
headline, a few words), ``market`` (the "•" line, or empty when the position note says it
all), ``note`` (what it means for one position, or empty) and ``consider`` (the sentence after
"Consider:", from ``Finding.action``; empty for a rule with no advice: then no such line). A
rule's record line comes in as ``records[rule]`` (plain text, escaped here) and follows the
"Consider:" line of the message it leads.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfoNotFoundError

from alerts.advice import STOP_BUFFER_PCT
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
from alerts.findings import Act, Action, Finding, Position, PriceAlertFinding, Urgency, order
from alerts.inputs import SymbolMetrics
from alerts.rules import DEFAULT_CONFIG
from bot.clock import zone_info
from bot.views import fmt
from bot.views.distance import chance_pct, position_line
from bot.views.evidence import overshoot_note
from liqmap.clusters import LONG, SHORT, Cluster
from liqmap.touch import Volatility

MAX_CHARS = 3500  # Telegram allows 4,096; leave room for the held note
MUTE_SECONDS = 3600

Keyboard = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)
Words = Callable[[Finding, SymbolMetrics], str]


@dataclass(frozen=True)
class AlertMessage:
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


def esc(s: str) -> str:
    return html.escape(s, quote=False)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


# -- building blocks -------------------------------------------------------------------------


def short_range(c: Cluster) -> str:
    """'109.3-109.9K' (low to high, compact) for prices >= 1,000; else full prices."""
    if c.low >= 1000:
        return f"{c.low / 1000:.1f}-{c.high / 1000:.1f}K"
    return f"{fmt.price(c.low)}-{fmt.price(c.high)}"


def span(c: Cluster) -> str:
    """'97,000.0–96,500.0': near edge to far edge."""
    return f"{fmt.price(c.near_edge())}–{fmt.price(c.far_edge())}"


def local_time(ms: int, zone: str) -> str:
    """'21:40 Europe/Berlin', '21:40 UTC+03:00' (:func:`fmt.zone_label`; 'UTC' for an unknown
    zone)."""
    try:
        tz = zone_info(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz, zone = UTC, "UTC"
    return (
        f"{datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz):%H:%M} {fmt.zone_label(zone)}"
    )


def _where(c: Cluster) -> str:
    return "below" if c.side == LONG else "above"


def _amount(m: SymbolMetrics, x: float | None) -> str:
    return fmt.notional(x, m.relative_units)


def _funding(m: SymbolMetrics) -> str:
    return fmt.funding(m.funding)  # per 8 h (SymbolMetrics converts)


def stop_words(a: Action) -> str:
    """'a stop at <b>96,114.0</b>, 0.4% beyond the far edge of the long cluster 97,000.0–96,500.0
    (not inside it)', break-even for a trade in profit, or the trader's own limit when no cluster
    stands against the position."""
    if a.break_even and a.price is not None:
        return (
            f"a stop at break-even, <b>{fmt.price(a.price)}</b> (in profit: a stop past the "
            "entry would lock in a loss)"
        )
    if a.price is None or a.cluster is None:
        return "a stop at your own risk limit (no dense cluster against you in range)"
    c = a.cluster
    measured = overshoot_note()  # the buffer's measured record, not the articles' 0.3-0.8%
    return (
        f"a stop at <b>{fmt.price(a.price)}</b>, {STOP_BUFFER_PCT:g}% beyond the far edge of the "
        f"{c.side} cluster {span(c)} (not inside it{'; ' + measured if measured else ''})"
    )


def stop_loss_words(p: Position, stop: float) -> str:
    """'it caps the loss at 3.39% of the entry, 68% of your margin' for a stop on the losing
    side of the entry ('' otherwise, or without entry and leverage)."""
    loss = p.loss_pct(stop)
    if loss is None or p.leverage is None or loss <= 0:
        return ""
    return f"it caps the loss at {_loss_share(loss, p.leverage)}"


def _loss_share(loss_pct: float, leverage: float) -> str:
    """'3.39% of the entry, 68% of your margin'."""
    return f"{loss_pct:.2f}% of the entry, {loss_pct * leverage:.0f}% of your margin"


def own_stop_words(p: Position) -> str:
    """The trader's own stop (/stop): 'keeping your stop at 113,000.0, which fills before the
    liquidation (it caps the loss at 2.59% of the entry, 52% of your margin)', or that it sits
    past the liquidation price and never fills."""
    assert p.stop is not None
    own = fmt.price(p.stop)
    if not p.stop_comes_first():
        return (
            f"moving your stop at {own}: it sits past the liquidation price "
            f"{fmt.price(p.liquidation_price)}, so it would never fill"
        )
    loss = stop_loss_words(p, p.stop)
    text = f"keeping your stop at {own}, which fills before the liquidation"
    return text + (f" ({loss})" if loss else "")


def stop_advice(f: Finding, a: Action) -> str:
    """:func:`stop_words`, what the stop would cost the position, and a warning when the
    liquidation comes first. A trader who set a stop (/stop) hears about theirs: kept when it
    fills first, or to be moved when it sits past the liquidation price."""
    p = f.position
    if p is not None and p.stop is not None and not a.break_even:
        own = own_stop_words(p)
        return own if p.stop_comes_first() else f"{own}; or {stop_words(a)}"
    text = stop_words(a)
    if p is None:
        return text
    if a.liquidation_first:
        lp = fmt.price(p.liquidation_price)
        return text + f"; your liquidation price {lp} comes first, so cut leverage"
    named = a.price is not None and a.cluster is not None and not a.break_even
    if named and a.price is not None and (loss := stop_loss_words(p, a.price)):
        text += f"; {loss}"
    return text


def _action(f: Finding) -> Action:
    if f.action is None:
        raise ValueError(f"finding {f.dedupe_key} carries no action (evaluated without advice)")
    return f.action


def _nothing(f: Finding, m: SymbolMetrics) -> str:
    return ""


# -- cluster edge ----------------------------------------------------------------------------


def _edge_title(f: Finding, m: SymbolMetrics) -> str:
    c = f.cluster
    assert c is not None
    return f"price {f.value:.2f}% from a {c.side} cluster {_where(c)}"


def _edge_market(f: Finding, m: SymbolMetrics) -> str:
    c = f.cluster
    assert c is not None
    share = m.band_share(c)
    of_side = (
        f", {share * 100:.0f}% of the side within ±{m.band_pct:g}%" if math.isfinite(share) else ""
    )
    near = fmt.price(c.near_edge())
    return (
        f"Price is <b>{f.value:.2f}%</b> from {near}, the near edge of the {c.side}-liquidation "
        f"cluster {_where(c)}: {span(c)} ({_amount(m, c.notional)}{of_side})"
    )


def _edge_note(f: Finding, m: SymbolMetrics) -> str:
    a = _action(f)
    if a.kind == Act.CUT_RISK:
        if a.price is None or a.cluster is None:
            return "no cluster against you past your entry: stop at your own risk limit"
        return f"stop {fmt.price(a.price)}, beyond {short_range(a.cluster)}"
    if a.kind == Act.TAKE_PROFIT:
        return "fuel for you: consider partial profit into it"
    return "fuel for you, once the trade is in profit"


def _edge_consider(f: Finding, m: SymbolMetrics) -> str:
    c, a = f.cluster, _action(f)
    assert c is not None
    run = f"a break {_where(c)} {fmt.price(c.near_edge())} can run to {fmt.price(c.far_edge())}"
    if a.kind == Act.AVOID_NEW:
        return f"avoiding new {c.side}s inside {span(c)}: {run}."
    if a.kind == Act.CUT_RISK:
        return f"reducing leverage, or {stop_advice(f, a)}: {run}."
    if a.kind == Act.TAKE_PROFIT:
        return (
            f"taking partial profit into {span(c)} and trailing your stop: {run}, fuel for your "
            f"{a.side}."
        )
    return f"keeping your stop where it is: {run}, fuel for your {a.side}."


# -- fuel ratio ------------------------------------------------------------------------------


def _lfr_title(f: Finding, m: SymbolMetrics) -> str:
    return f"fuel ratio of #{f.sub_id} fell below {f.threshold:g}"


def _lfr_note(f: Finding, m: SymbolMetrics) -> str:
    entry = f.position.entry_lfr if f.position is not None else None
    return (
        f"fuel ratio fell below {f.threshold:g}: now {fmt.ratio(f.value)} vs "
        f"{fmt.ratio(entry)} at entry"
    )


def _lfr_consider(f: Finding, m: SymbolMetrics) -> str:
    a = _action(f)
    first = "taking partial profit" if a.kind == Act.TAKE_PROFIT else "reducing the size"
    return f"{first}, or {stop_advice(f, a)}."


# -- open interest ---------------------------------------------------------------------------


def _oi_title(f: Finding, m: SymbolMetrics) -> str:
    return f"open interest {fmt.pct(f.value, digits=1)} in 4 h"


def _oi_market(f: Finding, m: SymbolMetrics) -> str:
    return f"Open interest <b>{fmt.pct(f.value, digits=1)}</b> in 4 h: the map is stale"


def _oi_consider(f: Finding, m: SymbolMetrics) -> str:
    action = "treating the levels as upper bounds until the map rebuilds; don't size off them"
    if f.position is not None:
        action += ", and re-check your fuel ratio after the next refresh"
    return action + "."


# -- funding ---------------------------------------------------------------------------------


def _funding_title(f: Finding, m: SymbolMetrics) -> str:
    return f"funding {_funding(m)}"


def _funding_market(f: Finding, m: SymbolMetrics) -> str:
    return f"Funding <b>{_funding(m)}</b>: crowded positioning"


def _funding_consider(f: Finding, m: SymbolMetrics) -> str:
    a = _action(f)
    rate = m.funding or 0.0
    crowd = LONG if rate > 0 else SHORT
    near = m.below if rate > 0 else m.above
    move = "drop" if rate > 0 else "rise"
    if near:
        c = near[0]
        fuel = (
            f"a {move} can cascade through the {crowd} cluster {span(c)} ({_amount(m, c.notional)})"
        )
    else:
        fuel = f"a {move} can flush the crowded {crowd}s"
    if a.kind == Act.AVOID_NEW:
        return f"lower leverage on new {crowd}s: {fuel}."
    if a.kind == Act.CUT_RISK:
        return (
            f"reducing leverage (your {crowd} is on the crowded side and pays funding), or "
            f"{stop_advice(f, a)}. {_cap(fuel)}."
        )
    return f"trailing your stop rather than adding late: {fuel}, fuel for your {a.side}."


# -- squeeze ---------------------------------------------------------------------------------


def _squeeze_title(f: Finding, m: SymbolMetrics) -> str:
    return f"{'short' if f.key == 'short_squeeze' else 'long'}-squeeze setup"


def _squeeze_market(f: Finding, m: SymbolMetrics) -> str:
    kind = "Short" if f.key == "short_squeeze" else "Long"
    return f"{kind}-squeeze setup: funding <b>{_funding(m)}</b> with a large cluster near"


def _squeeze_consider(f: Finding, m: SymbolMetrics) -> str:
    a = _action(f)
    short_squeeze = f.key == "short_squeeze"
    side = SHORT if short_squeeze else LONG
    dense = m.dense_within(side, DEFAULT_CONFIG.squeeze_band_pct)
    if dense:
        c = dense[0]
        run = (
            f"a {'rise' if short_squeeze else 'drop'} into {fmt.price(c.near_edge())} forces "
            f"{side}s to {'buy' if short_squeeze else 'sell'} and can run to "
            f"{fmt.price(c.far_edge())}"
        )
    else:
        run = f"a squeeze of crowded {side}s can move fast"
    if a.kind == Act.AVOID_NEW:
        return f"avoiding new {side}s {'under' if short_squeeze else 'over'} the cluster: {run}."
    if a.kind == Act.CUT_RISK:
        return (
            f"reducing leverage (your {side} is on the squeezed side), or {stop_advice(f, a)}. "
            f"{_cap(run)}."
        )
    return f"taking partial profit into the cluster rather than adding: {run}."


# -- asymmetry -------------------------------------------------------------------------------


def _asymmetry_title(f: Finding, m: SymbolMetrics) -> str:
    return f"imbalance {fmt.asymmetry(f.value)}"


def _asymmetry_market(f: Finding, m: SymbolMetrics) -> str:
    return f"Long/short imbalance <b>{fmt.asymmetry(f.value)}</b> within ±{m.band_pct:g}%"


def _asymmetry_consider(f: Finding, m: SymbolMetrics) -> str:
    a = _action(f)
    if a.kind == Act.AVOID_NEW:
        where = ""
        if a.price is not None and a.cluster is not None:
            where = (
                f" (at {fmt.price(a.price)}, {STOP_BUFFER_PCT:g}% past the far edge of "
                f"{span(a.cluster)})"
            )
        return f"less {a.side} exposure, or stops beyond the nearest {a.side} cluster{where}."
    if a.kind == Act.CUT_RISK:
        return f"reducing leverage (your {a.side} is on the fragile side), or {stop_advice(f, a)}."
    return "trailing your stop rather than adding: the fuel sits on your side of the map."


# -- own liquidation in a cluster ------------------------------------------------------------


def _own_lp_title(f: Finding, m: SymbolMetrics) -> str:
    return f"liquidation of #{f.sub_id} sits in a large cluster"


def _own_lp_note(f: Finding, m: SymbolMetrics) -> str:
    c = f.cluster
    assert c is not None
    return f"liquidation in the {c.side} cluster {short_range(c)}: cut leverage"


def _own_lp_consider(f: Finding, m: SymbolMetrics) -> str:
    a = _action(f)
    below = a.cluster is not None and a.cluster.side == LONG
    return (
        f"reducing leverage or adding margin until your liquidation price is "
        f"{'below' if below else 'above'} <b>{fmt.price(a.price)}</b>; a stop beyond the "
        "cluster only protects you once the liquidation price is past it."
    )


# -- liquidation warning ---------------------------------------------------------------------


def worst_price(m: SymbolMetrics, side: int) -> float:
    """The price closest to a position's liquidation since the previous pass (what the
    liquidation warning measured from): the lowest low for a long, the highest high for a
    short."""
    if side > 0:
        return m.price if m.low_since is None else min(m.price, m.low_since)
    return m.price if m.high_since is None else max(m.price, m.high_since)


def volatility(m: SymbolMetrics) -> Volatility | None:
    if m.vol_fast is None or m.vol_slow is None:
        return None
    return Volatility(m.vol_fast, m.vol_slow)


def _warning_title(f: Finding, m: SymbolMetrics) -> str:
    chance = chance_pct(f.value / 100)
    if f.key == "escalate":
        return f"⚠️ liquidation of #{f.sub_id} closer: {chance} chance to touch it within 4 h"
    return f"⚠️ liquidation warning for #{f.sub_id}: {chance} chance to touch it within 4 h"


def _warning_note(f: Finding, m: SymbolMetrics) -> str:
    p = f.position
    assert p is not None
    worst = worst_price(m, p.side)
    if abs(worst / m.price - 1) < 1e-3:
        return ""
    return f"price reached {fmt.price(worst)} since the last check (now {fmt.price(m.price)})"


def _warning_consider(f: Finding, m: SymbolMetrics) -> str:
    a = _action(f)
    if a.kind == Act.PROTECT_GAIN and a.price is not None:
        return (
            f"moving your stop to break-even at {fmt.price(a.price)}: the trade is in profit, "
            "a stop there keeps it from turning into a loss, and the liquidation price can "
            "no longer be reached. Or take part of the gain now."
        )
    base = "adding margin or cutting the size (both move the liquidation price away)"
    p = f.position
    if a.price is not None or (p is not None and p.stop is not None):
        return f"{base}, or {stop_advice(f, a)}."
    close = closing_words(p, m.price) if p is not None else ""
    if a.liquidation_first and a.cluster is not None:
        return (
            f"{base}, or closing: the clusters {_where(a.cluster)} the price run past your "
            f"liquidation (to {fmt.price(a.cluster.far_edge())}), so no stop beyond them fills "
            f"first{'; ' + close if close else ''}."
        )
    return (
        f"{base}, or a stop between the price and your liquidation at the loss you accept (no "
        f"cluster stands in between){'; ' + close if close else ''}."
    )


def closing_words(p: Position, price: float) -> str:
    """'closing now at 114,198.0 would lose 1.55% of the entry, 31% of your margin'."""
    loss = p.loss_pct(price)
    if loss is None or p.leverage is None:
        return ""
    if loss <= 0:
        return f"closing now at {fmt.price(price)} would keep a gain"
    return f"closing now at {fmt.price(price)} would lose {_loss_share(loss, p.leverage)}"


@dataclass(frozen=True)
class RuleWords:
    """What one rule says (see the module docstring)."""

    title: Words
    consider: Words
    market: Words = _nothing
    note: Words = _nothing


RULE_WORDS: dict[str, RuleWords] = {
    CLUSTER_EDGE: RuleWords(_edge_title, _edge_consider, _edge_market, _edge_note),
    LFR_DEGRADED: RuleWords(_lfr_title, _lfr_consider, note=_lfr_note),
    OI_DROP: RuleWords(_oi_title, _oi_consider, _oi_market),
    FUNDING_EXTREME: RuleWords(_funding_title, _funding_consider, _funding_market),
    SQUEEZE: RuleWords(_squeeze_title, _squeeze_consider, _squeeze_market),
    ASYMMETRY: RuleWords(_asymmetry_title, _asymmetry_consider, _asymmetry_market),
    OWN_LP_IN_CLUSTER: RuleWords(_own_lp_title, _own_lp_consider, note=_own_lp_note),
    LIQUIDATION_WARNING: RuleWords(_warning_title, _warning_consider, note=_warning_note),
}


# -- the message -----------------------------------------------------------------------------


def position_head(m: SymbolMetrics, f: Finding) -> str:
    """'#3 BTC long x20: liquidation 110,642.6 is 1.2% below, about 0.9 typical 4-hour moves;
    chance to touch it within 4 h: 35%, within 24 h: 70%; inside the 109.3-109.9K cluster'
    (:func:`bot.views.distance.position_line`; the liquidation warning measures from the worst
    price since the last check, as its rule did)."""
    p = f.position
    assert p is not None
    price = worst_price(m, p.side) if f.rule == LIQUIDATION_WARNING else m.price
    lp = p.liquidation_price
    head = position_line(f.sub_id, m.symbol, p.side_name, p.leverage, lp, price, volatility(m))
    if lp is None:
        return head
    inside = next((c for c in m.large_clusters(p.side_name) if c.contains(lp)), None)
    if inside is not None:
        head += f"; inside the {short_range(inside)} cluster"
    return head


def stale_line(m: SymbolMetrics) -> str:
    names = ", ".join(m.stale[:3]) + (f" and {len(m.stale) - 3} more" if len(m.stale) > 3 else "")
    return f"<i>Stale data from {esc(names)}.</i>"


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


def message_text(
    findings: Sequence[Finding],
    m: SymbolMetrics,
    zone: str,
    now_ms: int,
    records: Mapping[str, str] | None = None,
) -> str:
    """The text of one chat's message about ``m.symbol`` (``findings``: that chat's)."""
    fs = order(findings)
    top = fs[0]
    words = RULE_WORDS[top.rule]
    others = len({(f.rule, f.key) for f in fs}) - 1
    more = f" (+{others} more)" if others > 0 else ""
    head = f"<b>{esc(fmt.market(m.symbol))}: {words.title(top, m)}</b>{more}"
    lines = [head, f"{fmt.price(m.price)} · {local_time(now_ms, zone)}"]
    seen: set[tuple[str, str]] = set()
    for f in fs:
        if (f.rule, f.key) in seen:
            continue
        line = RULE_WORDS[f.rule].market(f, m)
        if line:
            seen.add((f.rule, f.key))
            lines.append(f"• {line}")
    by_position: dict[int, list[Finding]] = {}
    for f in fs:
        if f.position is not None:
            by_position.setdefault(f.sub_id, []).append(f)
    for sid in sorted(by_position):
        mine = order(by_position[sid])  # the most urgent finding measures the position
        notes = list(dict.fromkeys(n for f in mine if (n := RULE_WORDS[f.rule].note(f, m))))
        tail = f" — {esc('; '.join(notes))}" if notes else ""
        lines.append(f"{esc(position_head(m, mine[0]))}{tail}")  # '<1%' is text, not a tag
    advice = words.consider(top, m)
    if advice:
        lines.append(f"<b>Consider:</b> {advice}")
    record = (records or {}).get(top.rule)
    if record:
        lines.append(f"<i>{esc(record)}</i>")
    if m.stale:
        lines.append(stale_line(m))
    return _fit(lines)


def alert_messages(
    findings: Sequence[Finding],
    m: SymbolMetrics,
    zones: Mapping[int, str],
    now_ms: int,
    records: Mapping[str, str] | None = None,
) -> list[AlertMessage]:
    """One message per chat from one pass's findings on ``m.symbol``. ``zones``: chat -> IANA
    zone. ``records``: rule -> its one-line measured record.

    The message is held (quiet hours) if any of its findings is held, and silent only if all
    are: one message can only be delivered once."""
    by_chat: dict[int, list[Finding]] = {}
    for f in findings:
        by_chat.setdefault(f.chat_id, []).append(f)
    out = []
    for chat, fs in by_chat.items():
        positions = sorted({f.sub_id for f in fs if f.position is not None})
        out.append(
            AlertMessage(
                dedupe_key=f"{m.symbol}:{chat}:{now_ms}",
                chat_id=chat,
                symbol=m.symbol,
                text=message_text(fs, m, zones.get(chat, "UTC"), now_ms, records),
                keyboard=keyboard_for(m.symbol, positions),
                silent=all(f.silent for f in fs),
                # a critical finding is never held, and takes the others along with it
                held=any(f.held for f in fs) and all(f.urgency < Urgency.CRITICAL for f in fs),
                rules=tuple(dict.fromkeys(f.rule for f in order(fs))),
                sub_ids=tuple(dict.fromkeys(f.sub_id for f in order(fs))),
            )
        )
    return out


def held_note(text: str, fired_ms: int, zone: str) -> str:
    """A held message is read later: say so, so stale numbers are not taken for live ones (the
    time written as every other time the chat reads: '18:05 UTC+03:00')."""
    return f"<i>Held during your quiet hours; fired {esc(local_time(fired_ms, zone))}.</i>\n{text}"


# -- price alerts (the trader's own level; one message per firing) ---------------------------


def _beyond(c: Cluster, price_now: float, relative: bool) -> str:
    side = "longs" if c.side == LONG else "shorts"
    return (
        f"{side} {fmt.price(c.near_edge())} - {fmt.price(c.far_edge())} "
        f"({fmt.pct(c.distance_pct(price_now))}) {fmt.notional(c.notional, relative)}"
    )


def price_alert_html(f: PriceAlertFinding, zone: str = "UTC") -> str:
    """The message: headline, the crossing candle with its time in the chat's zone, the price
    now, the clusters beyond the level, and what happens to the alert next."""
    base = f.symbol.split("/")[0]
    level = fmt.price(f.level)
    up = f.direction == "above"
    lines = [
        f"{'📈' if up else '📉'} <b>{esc(base)} {'rose above' if up else 'fell below'} {level}</b> "
        f"(price alert #{f.alert_id})",
        f"{'High' if up else 'Low'} {fmt.price(f.extreme)} in the "
        f"{esc(fmt.when(f.candle_ms, zone, '%H:%M %Z'))} candle; price now "
        f"{fmt.price(f.price_now)} ({esc(fmt.when(f.price_at, zone, '%H:%M'))}).",
    ]
    if f.beyond:
        shown = "; ".join(_beyond(c, f.price_now, f.relative_units) for c in f.beyond)
        lines.append(f"Beyond {level}: {esc(shown)}")
    else:
        lines.append(f"No large cluster beyond {level} on the map.")
    if f.every and f.rearm_at is not None:
        lines.append(
            f"<i>It fires again after price is back {'below' if up else 'above'} "
            f"{fmt.price(f.rearm_at)}; /alert del {f.alert_id} removes it.</i>"
        )
    else:
        lines.append("<i>Done: this alert will not fire again.</i>")
    return "\n".join(lines)


def price_alert_keyboard(f: PriceAlertFinding) -> Keyboard:
    """📊 Map, and a delete button for an alert that stays (``every``)."""
    row: tuple[tuple[str, str], ...] = (("📊 Map", f"map|{f.symbol.split('/')[0]}|1d"),)
    if f.every:
        row += ((f"✖ Delete #{f.alert_id}", f"palert|del|{f.alert_id}"),)
    return (row,)
