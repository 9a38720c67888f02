"""The pre-trade check (/check, /open): where a position's liquidation sits against the map."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from bot.views import fmt
from bot.views.report import MapReport
from bot.views.summary import is_proxy
from liqmap import (
    Cluster,
    PositionRisk,
    check_own_liquidation,
    cluster_pressure,
    fuel_ratio,
    no_trade_warning,
    position_liquidation_price,
    position_risk,
    suggest_stop,
)
from liqmap.brackets import brackets_for, max_leverage

MAX_ENTRY_DISTANCE_PCT = 50.0


class CheckError(ValueError):
    """A position that cannot be checked (bad numbers); the message says what is wrong."""


@dataclass(frozen=True)
class PositionCheck:
    symbol: str
    side: str
    entry: float
    leverage: float
    price: float
    liquidation_price: float
    fuel_ratio: float
    risk_score: float
    own_lp_status: str
    own_lp_cluster: Cluster | None
    stop: float | None
    stop_distance_pct: float | None
    no_trade_cluster: Cluster | None
    pressure: float | None
    pressure_cluster: Cluster | None
    position_risk: PositionRisk | None = None


def validate_position(symbol: str, side: str, entry: float, leverage: float, price: float) -> None:
    """Raise :class:`CheckError` with a trader-readable reason for impossible positions."""
    if side not in ("long", "short"):
        raise CheckError("side must be long or short")
    if not math.isfinite(entry) or entry <= 0:
        raise CheckError("entry must be a positive price")
    cap = max_leverage(brackets_for(symbol)[0])
    if not math.isfinite(leverage) or leverage < 1 or leverage > cap:
        raise CheckError(f"leverage must be between 1 and {cap:g} for {symbol.split('/')[0]}")
    away = abs(entry / price - 1) * 100
    if away > MAX_ENTRY_DISTANCE_PCT:
        raise CheckError(
            f"entry {fmt.price(entry)} is {away:.0f}% away from the price now "
            f"({fmt.price(price)}); check the number"
        )


def check_position(
    r: MapReport, side: str, entry: float, leverage: float, size_usd: float | None = None
) -> PositionCheck:
    """Everything the pre-trade check says, computed from one report."""
    validate_position(r.symbol, side, entry, leverage, r.price)
    lp = position_liquidation_price(r.symbol, entry, leverage, side, size_usd)
    own = check_own_liquidation(lp, side, r.clusters)
    stop = suggest_stop(r.clusters, side, entry)
    opposing = r.clusters.below if side == "long" else r.clusters.above
    pressure = cluster = None
    if r.book is not None and opposing:
        cluster = opposing[0]
        pressure = cluster_pressure(r.liq, r.book, cluster)
    return PositionCheck(
        symbol=r.symbol,
        side=side,
        entry=entry,
        leverage=leverage,
        price=r.price,
        liquidation_price=lp,
        fuel_ratio=fuel_ratio(r.liq, side, r.band_pct),
        risk_score=r.risk.total,
        own_lp_status=own.status,
        own_lp_cluster=own.cluster,
        stop=stop.price if stop else None,
        stop_distance_pct=stop.distance_pct if stop else None,
        no_trade_cluster=no_trade_warning(entry, r.clusters),
        pressure=pressure,
        pressure_cluster=cluster,
        position_risk=_position_risk(r, side, entry, leverage, lp),
    )


def _position_risk(
    r: MapReport, side: str, entry: float, leverage: float, lp: float
) -> PositionRisk:
    funding = r.funding.rate * 8 / r.funding.interval_h if r.funding else None  # per 8 h
    when = r.as_of
    return position_risk(
        r.liq, r.clusters, side, entry, leverage, lp, funding, when.hour, when.weekday(),
        realised_range=r.risk.range_pct,
    )  # fmt: skip


def _lfr_words(x: float) -> str:
    if math.isnan(x):
        return "no liquidations within the band"
    if math.isinf(x) or x > 1.5:
        return "favourable: more fuel on your profit side"
    if x >= 1.0:
        return "neutral"
    return "swimming upstream: more fuel against you"


def _cluster(c: Cluster, price: float, proxy: bool = False) -> str:
    """A cluster with its amount in the map's units (no ``$`` on a volume-proxy map)."""
    return (
        f"{fmt.price(c.near_edge())}-{fmt.price(c.far_edge())} "
        f"({fmt.pct(c.distance_pct(price))}, {fmt.notional(c.notional, proxy)})"
    )


def _side(clusters: tuple[Cluster, ...], price: float, proxy: bool) -> str:
    return "; ".join(_cluster(x, price, proxy) for x in clusters) or "none within range"


def risk_lines(c: PositionCheck, r: MapReport) -> list[str]:
    """'Market risk' (the map around price) and 'Position risk' (this position), each named."""
    lines = [f"Market risk: <b>{r.risk.total:.0f}/100</b>"]
    p = c.position_risk
    if p is not None:
        lines.append(
            f"Position risk: <b>{p.total:.0f}/100</b> (liquidation reach {p.reach:.0f}, "
            f"in a cluster {p.cluster:.0f}, stop past liquidation {p.stop:.0f}, leverage "
            f"{p.leverage:.0f}, funding {p.funding:.0f}, off-hours {p.session:.0f})"
        )
    return lines


def check_html(c: PositionCheck, r: MapReport) -> str:
    """The pre-trade check as Telegram HTML (every number and symbol escaped)."""
    e = html.escape
    base = c.symbol.split("/")[0]
    lp_dist = (c.liquidation_price / c.entry - 1) * 100
    below, above = r.nearest(2)
    proxy = is_proxy(r)
    lines = [
        f"<b>{e(base)} {e(c.side)} {e(fmt.price(c.entry))} x{c.leverage:g}</b> "
        f"(price now {e(fmt.price(c.price))}, {e(r.window)} map)",
        f"Liquidation: <b>{e(fmt.price(c.liquidation_price))}</b> "
        f"({e(fmt.pct(lp_dist))} from entry)",
        f"Fuel ratio: <b>{e(fmt.ratio(c.fuel_ratio))}</b>, {e(_lfr_words(c.fuel_ratio))}",
        "Shorts above: " + e(_side(above, c.price, proxy)),
        "Longs below: " + e(_side(below, c.price, proxy)),
    ]
    if c.stop is not None and c.stop_distance_pct is not None:
        lines.append(
            f"Suggested stop: <b>{e(fmt.price(c.stop))}</b> ({c.stop_distance_pct:.2f}% from "
            "entry), just beyond the nearest cluster that would cascade against you"
        )
        if (c.side == "long" and c.stop <= c.liquidation_price) or (
            c.side == "short" and c.stop >= c.liquidation_price
        ):
            lines.append("⚠️ That stop is past your liquidation price: lower the leverage.")
    if c.own_lp_status != "clear" and c.own_lp_cluster is not None:
        where = "inside" if c.own_lp_status == "inside" else "just past"
        lines.append(
            f"⚠️ Your liquidation sits {where} the {e(_cluster(c.own_lp_cluster, c.price, proxy))} "
            "cluster: a cascade through it would take you with it. Lower the leverage."
        )
    if c.no_trade_cluster is not None:
        lines.append(
            f"⚠️ No-trade buffer: entry is within 0.5% of a major cluster "
            f"({e(_cluster(c.no_trade_cluster, c.price, proxy))}). Expect slippage and wicks; "
            "wait for price to clear it."
        )
    if c.pressure is not None and c.pressure_cluster is not None:
        verdict = "the book cannot absorb it" if c.pressure > 1 else "the book can absorb it"
        lines.append(
            f"Cascade pressure to {e(fmt.price(c.pressure_cluster.far_edge()))}: "
            f"{e(fmt.ratio(c.pressure))} ({verdict})"
        )
    lines += risk_lines(c, r)
    return "\n".join(lines)
