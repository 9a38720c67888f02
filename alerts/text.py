"""Alert messages: Telegram HTML (tags b, i, code only; every market or user string escaped).

Each message says what crossed what with numbers, the nearest levels on each side, and what to
consider doing. Under ``MAX_CHARS`` characters.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

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
from alerts.inputs import SymbolMetrics
from liqmap.clusters import LONG, SHORT, Cluster
from liqmap.units import notional, pct, price, ratio

MAX_CHARS = 1000


# -- numbers as a trader reads them: price, notional, pct, ratio come from liqmap.units -------


def funding(rate: float | None) -> str:
    """A per-8h fraction as a percentage: +0.0712%."""
    if rate is None or not math.isfinite(rate):
        return "n/a"
    return f"{rate * 100:+.4f}%"


def imbalance(a: float) -> str:
    if math.isnan(a):
        return "n/a"
    if math.isinf(a):
        return "longs only"
    if a == 0:
        return "shorts only"
    return f"{a:.2f}:1 longs heavier" if a >= 1 else f"1:{1 / a:.2f} shorts heavier"


def esc(s: str) -> str:
    return html.escape(s, quote=False)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


# -- building blocks -------------------------------------------------------------------------


def in_profit(entry: float, side: int, price_now: float) -> bool:
    """Price has moved the position's way since entry (partial profit needs a profit)."""
    return (price_now - entry) * side > 0


@dataclass(frozen=True)
class SubView:
    """The scalars of one subscription a message needs (None where not applicable)."""

    kind: int
    side: int
    entry: float | None
    leverage: float | None
    liquidation_price: float | None
    entry_lfr: float | None

    @property
    def is_position(self) -> bool:
        return self.kind == POSITION and self.side != 0

    @property
    def side_name(self) -> str:
        return LONG if self.side > 0 else SHORT

    def in_profit(self, price_now: float) -> bool:
        return self.entry is not None and in_profit(self.entry, self.side, price_now)


def cluster_span(m: SymbolMetrics, c: Cluster) -> str:
    """'109,944.0–109,286.6 (-5.71%, $4.03M)': near edge to far edge, distance, notional
    ('4.03M rel.' for relative units)."""
    d = (c.near_edge() / m.price - 1.0) * 100.0
    amount = notional(c.notional, m.relative_units)
    return f"{price(c.near_edge())}–{price(c.far_edge())} ({pct(d)}, {amount})"


def levels_block(m: SymbolMetrics) -> str:
    below = "; ".join(cluster_span(m, c) for c in m.below[:2]) or "none in range"
    above = "; ".join(cluster_span(m, c) for c in m.above[:2]) or "none in range"
    return f"<i>Longs below:</i> {below}\n<i>Shorts above:</i> {above}"


def position_line(m: SymbolMetrics, sub: SubView) -> str:
    if not sub.is_position:
        return ""
    parts = [f"Your {sub.side_name}"]
    if sub.entry is not None:
        move = (m.price / sub.entry - 1.0) * 100.0
        parts.append(f"entry {price(sub.entry)} (price {pct(move)} since)")
    if sub.leverage is not None:
        parts.append(f"{sub.leverage:g}x")
    if sub.liquidation_price is not None:
        parts.append(f"liq. {price(sub.liquidation_price)}")
    return ", ".join(parts) + "."


def stop_beyond(c: Cluster, buffer_pct: float) -> float:
    """``buffer_pct`` beyond the cluster's far edge (below a long cluster, above a short one)."""
    if c.side == LONG:
        return c.low * (1 - buffer_pct / 100)
    return c.high * (1 + buffer_pct / 100)


def risk_side_cluster(m: SymbolMetrics, side: int) -> Cluster | None:
    """The nearest cluster that would cascade against a position of ``side``."""
    near = m.below if side > 0 else m.above
    return near[0] if near else None


def lp_comes_first(sub: SubView, stop: float) -> bool:
    """Whether the position's liquidation price sits before ``stop`` (the stop never fills)."""
    lp = sub.liquidation_price
    return lp is not None and ((sub.side > 0 and lp >= stop) or (sub.side < 0 and lp <= stop))


def stop_advice(m: SymbolMetrics, sub: SubView, buffer_pct: float) -> str:
    """'a stop at X, 0.4% beyond the far edge of the long cluster A–B (not inside it)'."""
    c = risk_side_cluster(m, sub.side)
    if c is None:
        return "a stop at your own risk limit (no dense cluster against you in range)"
    stop = stop_beyond(c, buffer_pct)
    text = (
        f"a stop at <b>{price(stop)}</b>, {buffer_pct:g}% beyond the far edge of the {c.side} "
        f"cluster {price(c.near_edge())}–{price(c.far_edge())} (not inside it)"
    )
    if lp_comes_first(sub, stop):
        lp = price(sub.liquidation_price)
        text += f"; your liquidation price {lp} comes first, so cut leverage"
    return text


@dataclass(frozen=True)
class MessageContext:
    """What every message of one evaluation shares, formatted once. ``relative``: amounts are
    in relative units (a volume-proxy map), constant for the symbol's whole evaluation."""

    m: SymbolMetrics
    symbol: str
    levels: str
    stale: str
    relative: bool = False

    def amount(self, x: float | None) -> str:
        """A notional amount in this map's units: '$1.35B', or '1.35B rel.'."""
        return notional(x, self.relative)

    @classmethod
    def of(cls, m: SymbolMetrics) -> MessageContext:
        names = ", ".join(m.stale[:3]) + (
            f" and {len(m.stale) - 3} more" if len(m.stale) > 3 else ""
        )
        stale = f"\n<i>Stale data from {esc(names)}.</i>" if m.stale else ""
        return cls(m, esc(m.symbol), levels_block(m), stale, m.relative_units)


def _assemble(ctx: MessageContext, title: str, body: list[str], action: str) -> str:
    head = f"<b>{ctx.symbol}: {title}</b>"
    body_text = "\n".join(b for b in body if b)
    full = f"{head}\n{body_text}\n{ctx.levels}\n<b>Consider:</b> {action}{ctx.stale}"
    if len(full) > MAX_CHARS:  # drop the levels block before anything that explains the alert
        full = f"{head}\n{body_text}\n<b>Consider:</b> {action}{ctx.stale}"
    return full


# -- one message per rule --------------------------------------------------------------------


def cluster_edge_text(
    ctx: MessageContext, sub: SubView, key: str, c: Cluster, threshold: float, buffer_pct: float
) -> str:
    m = ctx.m
    dist = m.edge_distance_pct(c)
    below = c.side == LONG
    where = "below" if below else "above"
    near, far = price(c.near_edge()), price(c.far_edge())
    title = f"price {dist:.2f}% from the {c.side}-liquidation cluster {where}"
    body = [
        f"Price {price(m.price)} is <b>{dist:.2f}%</b> from <b>{near}</b>, the near edge of "
        f"cluster #{key[-1]} {where} (alert within {threshold:g}%): {near}–{far}, "
        f"{ctx.amount(c.notional)} of {c.side} liquidations ({c.share * 100:.0f}% of the "
        f"side), forced {'selling' if below else 'buying'} if price trades into it.",
        position_line(m, sub),
    ]
    run = f"a break {where} {near} can run to {far}"
    if not sub.is_position:
        action = f"avoiding new {c.side}s inside {near}–{far}: {run}."
    elif (sub.side > 0) == below:  # the cluster is on the position's losing side
        stop = stop_beyond(c, buffer_pct)
        action = (
            f"reducing leverage, or moving the stop beyond the cluster to <b>{price(stop)}</b> "
            f"({buffer_pct:g}% past its far edge, not inside it): {run}."
        )
        if lp_comes_first(sub, stop):
            action += f" Your liquidation price {price(sub.liquidation_price)} comes first."
    elif sub.in_profit(m.price):
        action = (
            f"taking partial profit into {near}–{far} and trailing your stop: {run}, fuel for "
            f"your {sub.side_name}."
        )
    else:  # a cluster in the position's favour, but no profit to take yet
        action = f"keeping your stop where it is: {run}, fuel for your {sub.side_name}."
    return _assemble(ctx, title, body, action)


def lfr_text(ctx: MessageContext, sub: SubView, threshold: float, buffer_pct: float) -> str:
    m = ctx.m
    lfr = m.lfr_long if sub.side > 0 else m.lfr_short
    title = f"your {sub.side_name}'s fuel ratio fell below {threshold:g}"
    against, favour = (
        (m.long_below, m.short_above) if sub.side > 0 else (m.short_above, m.long_below)
    )
    side_against = "longs below" if sub.side > 0 else "shorts above"
    side_for = "shorts above" if sub.side > 0 else "longs below"
    totals = ""
    if against is not None and favour is not None:
        totals = (
            f" Within ±{m.band_pct:g}%: {ctx.amount(against)} of {side_against} against you vs "
            f"{ctx.amount(favour)} of {side_for} for you."
        )
    body = [
        f"Liquidation Fuel Ratio now <b>{ratio(lfr)}</b> vs {ratio(sub.entry_lfr)} at entry "
        f"(alert below {threshold:g}): you are swimming upstream.{totals}",
        position_line(m, sub),
    ]
    tighten = stop_advice(m, sub, buffer_pct)
    action = (
        f"taking partial profit, or tightening to {tighten}."
        if sub.in_profit(m.price)
        else f"reducing the size, or tightening to {tighten}."
    )
    return _assemble(ctx, title, body, action)


def oi_drop_text(ctx: MessageContext, sub: SubView, threshold: float) -> str:
    m = ctx.m
    change = (m.oi_change or 0.0) * 100
    title = f"open interest {pct(change, digits=1)} in 4 h"
    body = [
        f"Open interest changed <b>{pct(change, digits=1)}</b> over 4 h (alert beyond "
        f"-{threshold:g}%): positions were closed voluntarily, so the map, seeded from OI "
        "growth, is stale and its clusters overstate what is left.",
        position_line(m, sub),
    ]
    action = "treating the levels as upper bounds until the map rebuilds; don't size off them"
    if sub.is_position:
        action += ", and re-check your fuel ratio after the next refresh"
    return _assemble(ctx, title, body, action + ".")


def funding_text(ctx: MessageContext, sub: SubView, threshold: float, buffer_pct: float) -> str:
    m = ctx.m
    f = m.funding or 0.0
    p95 = m.funding_p95
    crowd = LONG if f > 0 else SHORT
    why = [f"threshold ±{threshold:g}%"]
    if p95 is not None:
        why.append(f"30-day 95th percentile {p95 * 100:.4f}%")
    title = f"funding {funding(f)} per 8h"
    payer = "longs pay shorts" if f > 0 else "shorts pay longs"
    body = [
        f"Funding is <b>{funding(f)}</b> per 8h ({payer}; {', '.join(why)}): {crowd} "
        "positioning is crowded.",
        position_line(m, sub),
    ]
    near = m.below if f > 0 else m.above
    move = "drop" if f > 0 else "rise"
    if near:
        c = near[0]
        fuel = (
            f"a {move} can cascade through the {crowd} cluster {price(c.near_edge())}–"
            f"{price(c.far_edge())} ({ctx.amount(c.notional)})"
        )
    else:
        fuel = f"a {move} can flush the crowded {crowd}s"
    if not sub.is_position:
        action = f"lower leverage on new {crowd}s: {fuel}."
    elif sub.side_name == crowd:
        action = (
            f"reducing leverage (your {crowd} is on the crowded side and pays funding), or "
            f"{stop_advice(m, sub, buffer_pct)}. {_cap(fuel)}."
        )
    else:
        action = (
            f"trailing your stop rather than adding late: {fuel}, fuel for your {sub.side_name}."
        )
    return _assemble(ctx, title, body, action)


def squeeze_text(
    ctx: MessageContext,
    sub: SubView,
    key: str,
    threshold: float,
    band_pct: float,
    buffer_pct: float,
) -> str:
    m = ctx.m
    short_squeeze = key == "short_squeeze"
    side = SHORT if short_squeeze else LONG
    dense = m.dense_within(side, band_pct)
    f = m.funding or 0.0
    where = "above" if short_squeeze else "below"
    title = f"{'short' if short_squeeze else 'long'}-squeeze setup"
    nearest = f", nearest {cluster_span(m, dense[0])}" if dense else ""
    body = [
        f"Funding <b>{funding(f)}</b> per 8h ({side}s pay; alert at "
        f"{'-' if short_squeeze else '+'}{threshold:g}%) with "
        f"<b>{ctx.amount(m.dense_notional(side, band_pct))}</b> of {side} liquidations within "
        f"{band_pct:g}% {where}{nearest}.",
        position_line(m, sub),
    ]
    if dense:
        c = dense[0]
        run = (
            f"a {'rise' if short_squeeze else 'drop'} into {price(c.near_edge())} forces {side}s "
            f"to {'buy' if short_squeeze else 'sell'} and can run to {price(c.far_edge())}"
        )
    else:
        run = f"a squeeze of crowded {side}s can move fast"
    if not sub.is_position:
        action = f"avoiding new {side}s {'under' if short_squeeze else 'over'} the cluster: {run}."
    elif sub.side_name == side:
        action = (
            f"reducing leverage (your {side} is on the squeezed side), or "
            f"{stop_advice(m, sub, buffer_pct)}. {_cap(run)}."
        )
    else:
        action = f"taking partial profit into the cluster rather than adding: {run}."
    return _assemble(ctx, title, body, action)


def asymmetry_text(
    ctx: MessageContext, sub: SubView, key: str, threshold: float, buffer_pct: float
) -> str:
    m = ctx.m
    longs_heavy = key == "longs_heavy"
    fragile = LONG if longs_heavy else SHORT
    title = f"long/short imbalance {imbalance(m.asymmetry)}"
    totals = ""
    if m.long_below is not None and m.short_above is not None:
        totals = (
            f"Within ±{m.band_pct:g}%: {ctx.amount(m.long_below)} of long liquidations below vs "
            f"{ctx.amount(m.short_above)} of shorts above. "
        )
    body = [
        f"{totals}Imbalance <b>{imbalance(m.asymmetry)}</b> (alert at {threshold:g}:1 either "
        f"way): {'downside' if longs_heavy else 'upside'} moves are structurally faster, fed "
        f"by forced {'selling' if longs_heavy else 'buying'}. Not a direction call.",
        position_line(m, sub),
    ]
    near = m.below if longs_heavy else m.above
    if not sub.is_position:
        where = (
            f" (at {price(stop_beyond(near[0], buffer_pct))}, {buffer_pct:g}% past its far edge)"
            if near
            else ""
        )
        action = f"less {fragile} exposure, or stops beyond the nearest {fragile} cluster{where}."
    elif sub.side_name == fragile:
        stop = stop_advice(m, sub, buffer_pct)
        action = f"reducing leverage (your {fragile} is on the fragile side), or {stop}."
    else:
        action = "trailing your stop rather than adding: the fuel sits on your side of the map."
    return _assemble(ctx, title, body, action)


def own_lp_text(
    ctx: MessageContext, sub: SubView, c: Cluster, threshold: float, rearm_factor: float
) -> str:
    m = ctx.m
    lp = sub.liquidation_price if sub.liquidation_price is not None else math.nan
    if c.contains(lp):
        where = "inside"
    else:
        where = f"{abs(lp / c.far_edge() - 1) * 100:.2f}% past the far edge of"
    long_cluster = c.side == LONG
    # Clear of the re-arm margin (twice the threshold beyond the far edge by default).
    margin = rearm_factor * threshold / 100
    target = c.low * (1 - margin) if long_cluster else c.high * (1 + margin)
    title = f"your liquidation price sits in a {c.side} cluster"
    body = [
        f"Your liquidation price <b>{price(lp)}</b> is {where} the {c.side} cluster "
        f"{price(c.near_edge())}–{price(c.far_edge())} ({ctx.amount(c.notional)}; alert within "
        f"{threshold:g}% past it): a cascade through that cluster would run through it.",
        position_line(m, sub),
    ]
    action = (
        f"reducing leverage or adding margin until your liquidation price is "
        f"{'below' if long_cluster else 'above'} <b>{price(target)}</b>; a stop beyond the "
        "cluster only protects you once the liquidation price is past it."
    )
    return _assemble(ctx, title, body, action)


def render(
    rule: str,
    key: str,
    ctx: MessageContext,
    sub: SubView,
    threshold: float,
    cluster: Cluster | None,
    *,
    squeeze_band_pct: float,
    stop_buffer_pct: float,
    own_lp_rearm_factor: float,
) -> str:
    """The message of one fired (rule, key); ``cluster`` is the cluster the rule fired on
    (cluster edge, own LP)."""
    if rule == CLUSTER_EDGE and cluster is not None:
        return cluster_edge_text(ctx, sub, key, cluster, threshold, stop_buffer_pct)
    if rule == LFR_DEGRADED:
        return lfr_text(ctx, sub, threshold, stop_buffer_pct)
    if rule == OI_DROP:
        return oi_drop_text(ctx, sub, threshold)
    if rule == FUNDING_EXTREME:
        return funding_text(ctx, sub, threshold, stop_buffer_pct)
    if rule == SQUEEZE:
        return squeeze_text(ctx, sub, key, threshold, squeeze_band_pct, stop_buffer_pct)
    if rule == ASYMMETRY:
        return asymmetry_text(ctx, sub, key, threshold, stop_buffer_pct)
    if rule == OWN_LP_IN_CLUSTER and cluster is not None:
        return own_lp_text(ctx, sub, cluster, threshold, own_lp_rearm_factor)
    raise ValueError(f"no message for rule {rule!r}/{key!r}")
