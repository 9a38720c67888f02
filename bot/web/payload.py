"""The interactive map's data: one JSON document per (symbol, window, tier slice, venues), built
from the same report and heatmap code the charts use, plus the asking trader's own lines.

Compact on purpose (a phone on a mobile network): prices and sizes rounded, the heatmap matrix
quantised to one byte per cell (square-root scale, base64), at most ``MAX_ROWS`` price rows and
the ``MAX_PRINTS`` largest real liquidations."""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.pipeline.heatmaps import HeatmapInputs
from bot.views.real_prints import RealLiquidations
from bot.views.report import MapReport
from liqmap import Heatmap
from storage.price_alerts import PriceAlert
from storage.subscriptions import POSITION, Subscription

MAX_ROWS = 240  # heatmap price rows: more than a phone's plot height shows unzoomed
MAX_PRINTS = 400
JsonDict = dict[str, Any]


def sig(x: float, digits: int = 6) -> float:
    """``x`` to ``digits`` significant digits (prices stay exact to the cent at 6 for BTC)."""
    if x == 0 or not math.isfinite(x):
        return 0.0
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def usd_list(values: npt.NDArray[np.float64]) -> list[int]:
    return [int(v) for v in np.rint(values)]


def map_part(report: MapReport) -> JsonDict:
    """The bars by price (long below, short above), their cumulative curves from price outwards
    and the labelled clusters."""
    liq = report.liq
    edges = liq.grid.edges
    below = liq.grid.mids < report.price
    # cumulative from price outwards: longs summed downwards, shorts upwards
    cum_long = np.where(below, np.cumsum(np.where(below, liq.long, 0)[::-1])[::-1], 0)
    cum_short = np.where(~below, np.cumsum(np.where(~below, liq.short, 0)), 0)
    return {
        "buckets": {
            "lo": sig(float(edges[0]), 8),
            "ratio": float(edges[1] / edges[0]),
            "long": usd_list(liq.long),
            "short": usd_list(liq.short),
        },
        "cumulative": {"long": usd_list(cum_long), "short": usd_list(cum_short)},
        "clusters": [
            {
                "side": c.side,
                "low": sig(c.low),
                "high": sig(c.high),
                "peak": sig(c.peak),
                "notional": round(c.notional),
                "share": round(c.share, 3),
            }
            for c in report.clusters.all
        ],
    }


def heatmap_part(heat: Heatmap, inputs: HeatmapInputs) -> JsonDict:
    """Price x time, one byte a cell: rows log-spaced from ``lo`` by ``ratio``, column-major
    (``q[col * rows + row]``); notional = vmax * (q / 255)^2. The price range is the chart's:
    the window's price path with room around it."""
    grid = heat.grid
    span = float(heat.price.max() / heat.price.min())
    pad = max(0.03, (span - 1) * 0.35)
    lo_i = max(0, int(grid.index_of([float(heat.price.min()) * (1 - pad)])[0]))
    hi_i = int(grid.index_of([float(heat.price.max()) * (1 + pad)])[0])
    hi_i = grid.size - 1 if hi_i < 0 else hi_i
    values = heat.intensity[lo_i : hi_i + 1]  # (rows, cols)
    merge = max(1, math.ceil(values.shape[0] / MAX_ROWS))
    rows = values.shape[0] // merge
    values = values[: rows * merge].reshape(rows, merge, -1).sum(axis=1)
    vmax = float(values.max()) if values.size else 0.0
    q = np.zeros_like(values, dtype=np.uint8)
    if vmax > 0:
        q = np.rint(255 * np.sqrt(np.clip(values, 0, None) / vmax)).astype(np.uint8)
    times = heat.times
    step = int(times[1] - times[0]) if times.size > 1 else 3_600_000
    return {
        "heatmap": {
            "lo": sig(float(grid.edges[lo_i]), 8),
            "ratio": float(grid.edges[lo_i + merge] / grid.edges[lo_i]),
            "rows": rows,
            "cols": int(values.shape[1]),
            "t_end": int(times[-1]),  # the last column's close; each column is ``step`` long
            "step": step,
            "vmax": round(vmax),
            "q": base64.b64encode(q.T.tobytes()).decode(),
        },
        "candles": column_candles(inputs, int(values.shape[1])),
    }


def column_candles(inputs: HeatmapInputs, cols: int) -> list[list[float]]:
    """One OHLC candle per heatmap column (the column's ``every`` candles merged)."""
    c, k = inputs.candles, inputs.every
    n = cols * k
    o, h, lo, cl = (a[-n:].reshape(cols, k) for a in (c.open, c.high, c.low, c.close))
    return [
        [sig(float(a)), sig(float(b)), sig(float(x)), sig(float(d))]
        for a, b, x, d in zip(o[:, 0], h.max(axis=1), lo.min(axis=1), cl[:, -1], strict=True)
    ]


def prints_part(real: RealLiquidations | None) -> list[list[float | int | str]]:
    """The window's largest real liquidations: [unix s, price, USD, side liquidated]."""
    if not real:
        return []
    return [
        [p.time_ms // 1000, sig(p.price), round(p.usd), p.side] for p in real.prints[:MAX_PRINTS]
    ]


def positions_part(subs: list[Subscription], symbol: str) -> list[JsonDict]:
    """The trader's open positions on this symbol, as the lines the page draws."""
    out = []
    for sub in subs:
        if sub.kind != POSITION or sub.symbol != symbol or sub.entry is None:
            continue
        out.append(
            {
                "id": sub.id,
                "side": sub.side,
                "leverage": sub.leverage,
                "entry": sub.entry,
                "liquidation": sub.liquidation_price,
                "stop": sub.stop_price,
            }
        )
    return out


def alerts_part(alerts: list[PriceAlert]) -> list[JsonDict]:
    """The trader's active price alerts on this symbol (``/alert``), as labelled levels."""
    return [
        {"id": a.id, "price": a.level, "direction": a.direction, "every": a.every} for a in alerts
    ]


def report_part(report: MapReport, all_venues: tuple[str, ...]) -> JsonDict:
    return {
        "symbol": report.symbol.split("/")[0],
        "window": report.window,
        "as_of": report.liq.as_of,
        "price": report.price,
        "price_at": report.price_at,
        "venues": list(report.venues),
        "venues_all": list(all_venues),
        "tiers": [t.leverage for t in report.liq.tiers],
        "model": report.liq.model,
        "long_total": round(report.liq.total_long),
        "short_total": round(report.liq.total_short),
    }
