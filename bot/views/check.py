"""The pre-trade check (/check, /open): where a position's liquidation sits against the map."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from alerts.advice import held_position_stop, position_stop
from alerts.catalogue import CATALOGUE_BY_NAME, LIQUIDATION_WARNING
from alerts.findings import liquidation_first
from bot.views import fmt
from bot.views.distance import liquidation_distance, touch_chances
from bot.views.report import MapReport
from bot.views.structure import chain_warning
from liqmap import (
    Cluster,
    PositionRisk,
    check_own_liquidation,
    cluster_pressure,
    fuel_ratio,
    no_trade_warning,
    position_liquidation_price,
    position_risk,
)
from liqmap.brackets import brackets_for, max_leverage
from liqmap.model import is_proxy
from liqmap.touch import Volatility

MAX_ENTRY_DISTANCE_PCT = 50.0
DEFAULT_WARNING_PCT = CATALOGUE_BY_NAME[LIQUIDATION_WARNING].default


class CheckError(ValueError):
    """A position that cannot be checked (bad numbers); the message says what is wrong."""


class FarEntry(CheckError):
    """An entry far from the price now: a typo, or a limit entry the trader may confirm."""


class AlreadyLiquidated(CheckError):
    """A position that would be liquidated at the price now."""


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
    own_stop: float | None = None  # the trader's own stop (/check ... sl 112000)

    @property
    def working_stop(self) -> float | None:
        """The stop the sizing, the warnings and the position risk judge: the trader's own
        when given, else the suggested one (the map's suggestion is still shown)."""
        return self.own_stop if self.own_stop is not None else self.stop


def validate_position(
    symbol: str, side: str, entry: float, leverage: float, price: float, far_ok: bool = False
) -> None:
    """Raise :class:`CheckError` with a trader-readable reason for impossible positions
    (:class:`FarEntry` for an entry far from price, unless ``far_ok``)."""
    if side not in ("long", "short"):
        raise CheckError("side must be long or short")
    if not math.isfinite(entry) or entry <= 0:
        raise CheckError("entry must be a positive price")
    cap = max_leverage(brackets_for(symbol)[0])
    if not math.isfinite(leverage) or leverage < 1 or leverage > cap:
        raise CheckError(f"leverage must be between 1 and {cap:g} for {symbol.split('/')[0]}")
    away = abs(entry / price - 1) * 100
    if away > MAX_ENTRY_DISTANCE_PCT and not far_ok:
        raise FarEntry(
            f"entry {fmt.price(entry)} is {away:.0f}% away from the price now "
            f"({fmt.price(price)}); check the number"
        )


def check_position(
    r: MapReport,
    side: str,
    entry: float,
    leverage: float,
    size_usd: float | None = None,
    far_ok: bool = False,
    zone: str = "UTC",
    own_stop: float | None = None,
) -> PositionCheck:
    """Everything the pre-trade check says, computed from one report. A position that would
    already be liquidated at the report's price is refused (:class:`AlreadyLiquidated`).
    ``own_stop``: the trader's stop, which the size advice and the position risk then judge."""
    validate_position(r.symbol, side, entry, leverage, r.price, far_ok)
    lp = position_liquidation_price(r.symbol, entry, leverage, side, size_usd)
    if (side == "long" and lp >= r.price) or (side == "short" and lp <= r.price):
        where = "above" if side == "long" else "below"
        raise AlreadyLiquidated(
            f"a {side} at {fmt.price(entry)} x{leverage:g} would already be liquidated: its "
            f"liquidation price {fmt.price(lp)} is {where} the price now {fmt.price(r.price)} "
            f"({fmt.when(r.price_at, zone, '%H:%M %Z')}). Nothing was stored"
        )
    own = check_own_liquidation(lp, side, r.clusters)
    stop = position_stop(r.clusters, side, entry)  # the one stop: alerts and digests too
    stop_price = stop.price if stop else None
    opposing = r.clusters.below if side == "long" else r.clusters.above
    pressure = cluster = None
    if r.book is not None and opposing and not is_proxy(r):  # relative units vs USD: no ratio
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
        position_risk=_position_risk(
            r, side, entry, leverage, lp, own_stop if own_stop is not None else stop_price
        ),
        own_stop=own_stop,
    )


def position_risk_now(
    r: MapReport, side: str, entry: float, leverage: float, lp: float, own_stop: float | None
) -> PositionRisk:
    """Position risk of an open position on the current map (for /positions and digests):
    its stop term judges the trader's stop (``/stop``) when set, else the suggested one."""
    if own_stop is None:
        suggested = held_position_stop(r.clusters, side, entry, r.price)
        own_stop = suggested.price if suggested else None
    return _position_risk(r, side, entry, leverage, lp, own_stop)


def position_risk_line(p: PositionRisk) -> str:
    return (
        f"Position risk {p.total:.0f}/100 (liquidation reach {p.reach:.0f}, in a cluster "
        f"{p.cluster:.0f}, stop past liquidation {p.stop:.0f}, leverage {p.leverage:.0f}, "
        f"funding {p.funding:.0f}, off-hours {p.session:.0f})"
    )


def _position_risk(
    r: MapReport, side: str, entry: float, leverage: float, lp: float, stop: float | None
) -> PositionRisk:
    funding = r.funding.rate * 8 / r.funding.interval_h if r.funding else None  # per 8 h
    when = r.as_of
    return position_risk(
        r.liq,
        r.clusters,
        side,
        entry,
        leverage,
        lp,
        funding,
        when.hour,
        when.weekday(),
        realised_range=r.risk.range_pct,
        stop=stop,
    )


def _lfr_words(x: float) -> str:
    if math.isnan(x):
        return "no liquidations within the band"
    if math.isinf(x) or x > 1.5:
        return "favourable: more fuel on your profit side"
    if x >= 1.1:
        return "neutral"
    if x >= 1.0:
        # the fuel-ratio alert arms only from 1.1 (alerts.rules: its re-arm band)
        return (
            "neutral, on the line: a small move can tip it below 1, so the fuel-ratio alert "
            "(below 1) does not watch it"
        )
    return "swimming upstream: more fuel against you"


def _cluster(c: Cluster, price: float, proxy: bool = False) -> str:
    """A cluster with its amount in the map's units (no ``$`` on a volume-proxy map)."""
    return (
        f"{fmt.price(c.near_edge())}-{fmt.price(c.far_edge())} "
        f"({fmt.pct(c.distance_pct(price))}, {fmt.notional(c.notional, proxy)})"
    )


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


@dataclass(frozen=True)
class SizeAdvice:
    risk_usd: float
    stop: float
    stop_distance_pct: float  # from entry
    max_notional: float  # the size whose loss at the stop is the risk
    max_leverage: float | None  # set when the stop sits past the liquidation at this leverage
    own: bool = False  # sized on the trader's own stop, not the suggested one


def _past_liquidation(c: PositionCheck, stop: float) -> bool:
    """The liquidation comes before ``stop``: the stop would never fill."""
    return liquidation_first(c.side, c.liquidation_price, stop)


def size_advice(c: PositionCheck, risk_usd: float) -> SizeAdvice | None:
    """Seed 001 step 3: keep the stop beyond the cluster and reduce the size instead. With the
    trader's own stop (``sl``), the size is the one whose loss at that stop is the risk."""
    stop = c.working_stop
    if stop is None:
        return None
    d = abs(stop / c.entry - 1) * 100
    if d <= 0:
        return None
    # the liquidation sits about 1/leverage away, minus maintenance: keep a 20% margin
    cap = max(1.0, math.floor(80 / d)) if _past_liquidation(c, stop) else None
    return SizeAdvice(risk_usd, stop, d, risk_usd / (d / 100), cap, c.own_stop is not None)


def size_html(a: SizeAdvice, c: PositionCheck, label: str) -> str:
    e = html.escape
    lev = a.max_leverage if a.max_leverage is not None else c.leverage
    text = (
        f"Size for your risk ({e(label)}): at most <b>{e(fmt.usd(a.max_notional))}</b> notional "
        f"({e(fmt.usd(a.max_notional / lev))} margin at x{lev:g}): "
        f"{'your' if a.own else 'the'} stop at "
        f"{e(fmt.price(a.stop))} ({a.stop_distance_pct:.2f}% away) then loses "
        f"{e(fmt.usd(a.risk_usd))}."
    )
    if a.max_leverage is not None:
        text += (
            f" At x{c.leverage:g} the liquidation comes before that stop: use "
            f"x{a.max_leverage:g} or less."
        )
    return text


def _touch_lines(
    c: PositionCheck, vol: Volatility | None, warning_pct: float | None = DEFAULT_WARNING_PCT
) -> list[str]:
    if vol is None:
        return []
    lines = [
        html.escape(
            f"From the price now: {liquidation_distance(c.price, c.liquidation_price, vol)}"
        )
    ]
    _, four, _ = touch_chances(c.price, c.liquidation_price, vol)
    if warning_pct is not None and four * 100 >= warning_pct:
        lines.append(
            f"⚠️ That is within the liquidation warning's reach ({warning_pct:g}% in 4 h): "
            "expect it as soon as the position is open, and again if price comes closer."
        )
    return lines


def check_html(
    c: PositionCheck,
    r: MapReport,
    advice: SizeAdvice | None = None,
    risk_label: str = "",
    volatility: Volatility | None = None,
    zone: str = "UTC",
    warning_pct: float | None = DEFAULT_WARNING_PCT,
) -> str:
    """The pre-trade check as Telegram HTML (every number and symbol escaped; the time in the
    chat's ``zone``). With ``volatility``, the distance from the price now in typical moves and
    the touch chances, and a note when the liquidation warning would fire at once (at the
    chat's ``warning_pct``; None: the chat turned the warning off)."""
    e = html.escape
    base = c.symbol.split("/")[0]
    lp_dist = (c.liquidation_price / c.entry - 1) * 100
    below, above = r.nearest(2)
    proxy = is_proxy(r)
    lines = [
        f"<b>{e(base)} {e(c.side)} {e(fmt.price(c.entry))} x{c.leverage:g}</b> "
        f"(price now {e(fmt.price(c.price))} at {e(fmt.when(r.price_at, zone, '%H:%M %Z'))}, "
        f"{e(r.window)} map)",
        f"Liquidation: <b>{e(fmt.price(c.liquidation_price))}</b> "
        f"({e(fmt.pct(lp_dist))} from entry)",
        *_touch_lines(c, volatility, warning_pct),
        f"Fuel ratio: <b>{e(fmt.ratio(c.fuel_ratio))}</b>, {e(_lfr_words(c.fuel_ratio))}",
        "Shorts above: "
        + e("; ".join(_cluster(x, c.price, proxy) for x in above) or "none within range"),
        "Longs below: "
        + e("; ".join(_cluster(x, c.price, proxy) for x in below) or "none within range"),
    ]
    if c.stop is not None and c.stop_distance_pct is not None:
        lines.append(
            f"Suggested stop: <b>{e(fmt.price(c.stop))}</b> ({c.stop_distance_pct:.2f}% from "
            "entry), just beyond the nearest cluster that would cascade against you"
        )
        # with the trader's own stop, its own lines judge that one (own_stop_html)
        if _past_liquidation(c, c.stop) and advice is None and c.own_stop is None:
            lines.append("⚠️ That stop is past your liquidation price: lower the leverage.")
    if advice is not None:
        lines.append(size_html(advice, c, risk_label))
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
    chain = chain_warning(r, c.working_stop, c.liquidation_price, proxy)
    if chain:
        lines.append(f"⚠️ {e(chain)}.")
    lines += risk_lines(c, r)
    return "\n".join(lines)


def own_stop_error(side: str, entry: float, stop: float) -> str | None:
    """Why the trader's own stop (``sl 112000``) cannot be a stop, or None."""
    if side == "long" and stop >= entry:
        return f"a long's stop sits below its entry ({fmt.price(entry)}), not at {fmt.price(stop)}"
    if side == "short" and stop <= entry:
        return f"a short's stop sits above its entry ({fmt.price(entry)}), not at {fmt.price(stop)}"
    if abs(stop / entry - 1) > 0.5:
        return "the stop is more than 50% from the entry; check the number"
    return None


def own_stop_html(c: PositionCheck, stop: float | None, size_usd: float | None) -> str:
    """The trader's own stop and size, as /check was given them: the loss at the stop in % of
    price, of margin (1R) and in USD with a size, and a warning when the liquidation comes
    first (the stop would never fill)."""
    lines = []
    if size_usd is not None:
        lines.append(
            f"Size {fmt.usd(size_usd)}: margin {fmt.usd(size_usd / c.leverage)} at x{c.leverage:g}."
        )
    if stop is not None:
        risk = abs(stop / c.entry - 1) * 100
        usd = f", {fmt.usd(size_usd * risk / 100)}" if size_usd is not None else ""
        lines.append(
            f"Your stop <b>{html.escape(fmt.price(stop))}</b>: {risk:.2f}% from entry, "
            f"{risk * c.leverage:.0f}% of margin{html.escape(usd)} (1R)."
        )
        if _past_liquidation(c, stop):
            lp = c.liquidation_price
            lines.append(
                f"⚠️ Your liquidation ({html.escape(fmt.price(lp))}) comes before that stop: it "
                "would never fill. Lower the leverage or move the stop."
            )
    return "\n".join(lines)
