"""The map summary as text (CLI) or Telegram HTML, and as JSON."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from bot.tiers import tier_note
from bot.views import fmt
from bot.views.report import MapReport, finite_or_none
from bot.views.structure import structure_lines
from liqmap import Cluster, RiskScore, cumulative_curves, largest_each_side
from liqmap.model import is_proxy


def _plain(text: str) -> str:
    return text


def _html_bold(text: str) -> str:
    return f"<b>{text}</b>"


def cluster_line(c: Cluster, price: float, proxy: bool = False) -> str:
    """'123,090.0 - 123,583.0 (+5.56%) $1.47M' with the near edge first."""
    near, far = c.near_edge(), c.far_edge()
    distance = fmt.pct(c.distance_pct(price))
    return f"{fmt.price(near)} - {fmt.price(far)} ({distance}) {fmt.notional(c.notional, proxy)}"


def price_time(r: MapReport, zone: str = "UTC") -> str:
    """' (20:00 UTC close)' when the price is older than the map's moment (hourly candles)."""
    if r.price_at >= r.liq.as_of - 60_000:
        return ""
    return f" ({fmt.when(r.price_at, zone, '%H:%M %Z')} close)"


def summary_lines(
    r: MapReport, bold: Callable[[str], str] = _plain, esc: Callable[[str], str] = _plain
) -> list[str]:
    """The summary, one line each; ``esc`` escapes every market string, ``bold`` marks heads."""
    below, above = r.nearest(2)
    venues = ", ".join(r.venues)
    oi_src = f"; OI from {', '.join(r.oi_venues)}" if r.oi_venues else ""
    lines = [
        bold(esc(f"{r.symbol} liquidation map, {r.window}")) + esc(f"  ({fmt.when(r.liq.as_of)})"),
        esc(
            f"Price {fmt.price(r.price)}{price_time(r)} | {venues}{oi_src} | {r.candles} x "
            f"{r.timeframe} candles"
        ),
        "",
        bold("Shorts above (forced buying if price rises)"),
    ]
    proxy = is_proxy(r)
    largest = dict(zip(("above", "below"), largest_lines(r, both=True), strict=True))
    lines += [esc(f"  {i}. {cluster_line(c, r.price, proxy)}") for i, c in enumerate(above, 1)] or [
        "  none within range"
    ]
    lines += [esc(f"  {largest['above']}")] if largest["above"] else []
    lines.append(bold("Longs below (forced selling if price falls)"))
    lines += [esc(f"  {i}. {cluster_line(c, r.price, proxy)}") for i, c in enumerate(below, 1)] or [
        "  none within range"
    ]
    lines += [esc(f"  {largest['below']}")] if largest["below"] else []
    lines += [esc(line) for line in structure_lines(r, proxy)]
    band = f"{r.band_pct:g}%"
    funding = "n/a"
    if r.funding is not None:
        funding = f"{fmt.funding(r.funding.rate, r.funding.interval_h)}"
        funding += f" (next {fmt.when(r.funding.next_time)})"
    oi = fmt.usd(r.open_interest_usd)
    if r.open_interest_usd is not None and r.oi_venues:
        oi += f" ({', '.join(r.oi_venues)})"
    risk = r.risk
    tiers = ",".join(f"{t.leverage:g}x" for t in r.liq.tiers)
    lines += [
        "",
        esc(
            f"Within +-{band}: longs below {fmt.notional(r.long_below, proxy)}, "
            f"shorts above {fmt.notional(r.short_above, proxy)}"
        ),
        esc(f"Asymmetry: {fmt.asymmetry(r.asymmetry)}"),
        esc(f"Funding: {funding}"),
        esc(f"Open interest: {oi}"),
        bold(esc(f"Market risk: {risk.total:.0f}/100")) + esc(f" ({risk_terms(risk)})"),
        esc(f"Model: {r.liq.model}, long/short split: {r.liq.split}, tiers {tiers}"),
        esc(f"Units: {r.liq.units}"),
    ]
    if r.left_out:
        gone = "; ".join(f"{v} ({why})" for v, why in r.left_out.items())
        lines.append(esc(f"Not included: {gone}"))
    if r.stale:
        lines.append(esc(f"Stale data from: {', '.join(r.stale)}"))
    for what, why in r.missing.items():
        lines.append(esc(f"{what}: {why}"))
    if not r.liq.brackets_bundled:
        lines.append(esc("Brackets: default table (no bundled brackets for this symbol)"))
    return lines


def summary_text(r: MapReport) -> str:
    return "\n".join(summary_lines(r))


def summary_html(r: MapReport) -> str:
    return "\n".join(summary_lines(r, bold=_html_bold, esc=html.escape))


def caption_html(r: MapReport, marks: str = "", zone: str = "UTC") -> str:
    """The summary for a chart's caption (Telegram allows 1,024 characters): the same facts as
    the CLI's summary, compact; ``marks``: a line saying the chart marks real liquidations;
    ``zone``: the chat's (times), the market named as traders name it ('BTC')."""
    e = html.escape
    below, above = r.nearest(2)
    proxy = is_proxy(r)

    def side(clusters: tuple[Cluster, ...]) -> str:
        return "; ".join(cluster_line(c, r.price, proxy) for c in clusters) or "none within range"

    funding = fmt.funding(r.funding.rate, r.funding.interval_h) if r.funding else "n/a"
    venues = ", ".join(r.venues)
    if r.oi_venues and tuple(r.oi_venues) != tuple(r.venues):
        venues += f" (OI {', '.join(r.oi_venues)})"
    lines = [
        f"<b>{e(fmt.market(r.symbol))} {e(r.window)}</b>  {e(fmt.price(r.price))}"
        f"{e(price_time(r, zone))}  {e(fmt.when(r.liq.as_of, zone))}",
        f"<b>Shorts above</b>: {e(side(above))}",
        f"<b>Longs below</b>: {e(side(below))}",
        *(e(line) for line in structure_lines(r, proxy)),
        *(e(line) for line in largest_lines(r)),
        e(
            f"+-{r.band_pct:g}%: longs {fmt.notional(r.long_below, proxy)} / shorts "
            f"{fmt.notional(r.short_above, proxy)},"
            f" asymmetry {fmt.asymmetry(r.asymmetry)}"
        ),
        e(f"Funding {funding}, OI {fmt.usd(r.open_interest_usd)}"),
        f"<b>Market risk {r.risk.total:.0f}/100</b>",
        e(f"{r.liq.model} | {venues} | {r.liq.units}"),
    ]
    if marks:
        lines[3:3] = [e(marks)]  # after the clusters: trimmed after them, before the rest
    tiers = tier_note([t.leverage for t in r.liq.tiers])
    if tiers:
        lines[0] += e(f"  ({tiers})")
    if r.left_out:
        lines.append(
            e("Not included: " + ", ".join(f"{v} ({_short(w)})" for v, w in r.left_out.items()))
        )
    if r.stale:
        lines.append(e("Stale: " + ", ".join(r.stale)))
    for what, why in r.missing.items():
        lines.append(e(f"{what}: {_short(why, 80)}"))
    text = "\n".join(lines)
    while len(text) > CAPTION_LIMIT and len(lines) > 3:  # Telegram: 1,024 characters
        lines.pop()
        text = "\n".join(lines)
    return text


CAPTION_LIMIT = 1000


def _short(reason: str, width: int = 40) -> str:
    """A venue's reason for being left out, cut to fit a caption (full text in /status)."""
    return reason if len(reason) <= width else reason[: width - 1] + "…"


def _price(x: float) -> float:
    """A price for JSON: 8 significant digits, so a PEPE price does not round to 0."""
    return float(f"{float(x):.8g}")


def report_json(r: MapReport) -> dict[str, Any]:
    """The JSON of ``liqbot map --json``: stable keys, plain numbers, null for undefined."""
    liq = r.liq
    mids = liq.grid.mids
    buckets = [
        {"price": _price(p), "long": round(float(lo), 2), "short": round(float(sh), 2)}
        for p, lo, sh in zip(mids, liq.long, liq.short, strict=True)
    ]
    clusters = [
        {
            "side": c.side,
            "low": _price(c.low),
            "high": _price(c.high),
            "peak": _price(c.peak),
            "notional": round(c.notional, 2),
            "share": round(c.share, 4),
            "distance_pct": round(c.distance_pct(r.price), 3),
        }
        for c in r.clusters.all
    ]
    cum_long, cum_short = cumulative_curves(liq)
    below = mids < r.price
    # From price outwards, each point the total a move to that price would liquidate.
    cumulative = {
        "long_below": [
            {"price": _price(p), "notional": round(float(v), 2)}
            for p, v in zip(mids[below][::-1], cum_long[below][::-1], strict=True)
        ],
        "short_above": [
            {"price": _price(p), "notional": round(float(v), 2)}
            for p, v in zip(mids[~below], cum_short[~below], strict=True)
        ],
    }
    return {
        "symbol": r.symbol,
        "as_of": r.as_of.isoformat().replace("+00:00", "Z"),
        "price": r.price,
        "window": r.window,
        "timeframe": r.timeframe,
        "venues": list(r.venues),
        "oi_venues": list(r.oi_venues),
        "left_out": r.left_out,
        "stale": list(r.stale),
        "missing": r.missing,
        "model": liq.model,
        "split": liq.split,
        "units": liq.units,
        "tiers": [{"leverage": t.leverage, "weight": t.weight} for t in liq.tiers],
        "buckets": buckets,
        "clusters": clusters,
        "cumulative": cumulative,
        "long_below": round(r.long_below, 2),
        "short_above": round(r.short_above, 2),
        "band_pct": r.band_pct,
        "asymmetry": finite_or_none(r.asymmetry),
        "funding_rate": r.funding.rate if r.funding else None,
        "open_interest_usd": r.open_interest_usd,
        "risk_score": r.risk.total,
        "risk_terms": {
            "volatility": round(r.risk.volatility, 2),
            "session": round(r.risk.session, 2),
        },
        "expected_range_4h_pct": r.risk.expected_range_pct,
    }


def risk_terms(risk: RiskScore) -> str:
    """'next 4 h ~1.2%: recent moves 48, session +9': the forecast and the two named terms."""
    parts = []
    if risk.expected_range_pct is not None:
        parts.append(f"next 4 h ~{risk.expected_range_pct:.1f}%:")
    parts.append(f"recent moves {risk.volatility:.0f}, session {risk.session:+.0f}")
    return " ".join(parts)


def largest_lines(r: MapReport, both: bool = False) -> list[str]:
    """'Largest below: 109,944.0 - 109,286.6 (-5.71%) $4.03M', one per side (above, then
    below), when the largest cluster of that side is not already among the nearest listed: a
    wall never vanishes from the text while it towers on the chart. ``both``: always two
    entries, '' where nothing needs adding."""
    below, above = r.nearest(2)
    big_below, big_above = largest_each_side(r.clusters)
    proxy = is_proxy(r)
    out = []
    for word, big, listed in (("above", big_above, above), ("below", big_below, below)):
        if big is not None and big not in listed:
            out.append(f"Largest {word}: {cluster_line(big, r.price, proxy)}")
        elif both:
            out.append("")
    return out
