"""Charts as PNG bytes (matplotlib's object API, no pyplot: safe in a worker thread).

Map (liquidation-model.md §5): price on x, a dashed line at price, red bars for long
liquidations left of it, green for shorts right of it, cumulative curves on a second axis, the two
nearest clusters each side shaded, a title with symbol, venues, window, time and model. Sized for a
phone: 1200 x 900 px, large type.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bot.views import fmt
from bot.views.report import MapReport
from liqmap import Heatmap, PriceGrid, cumulative_curves, rebin

LONG_RED = "#e0464e"
SHORT_GREEN = "#21a366"
TIER_SHADES = ("#5c1a1e", "#9e2a31", "#e0464e", "#f08a8f", "#f7c4c6")
TIER_GREENS = ("#0d4a2c", "#16774a", "#21a366", "#6cc79b", "#b6e3cb")
BARS = 160


def _usd_axis(x: float, _pos: object) -> str:
    return fmt.usd(x)


def _display_range(r: MapReport) -> tuple[float, float]:
    """+-12% around price, widened to show the two nearest clusters each side (max +-30%)."""
    lo, hi = r.price * 0.88, r.price * 1.12
    below, above = r.nearest(2)
    if below:
        lo = min(lo, below[-1].low * 0.995)
    if above:
        hi = max(hi, above[-1].high * 1.005)
    edges = r.liq.grid.edges
    return max(lo, float(edges[0])), min(hi, float(edges[-1]))


def _cut(grid: PriceGrid, lo: float, hi: float) -> slice:
    a = int(np.searchsorted(grid.edges, lo, side="right")) - 1
    b = int(np.searchsorted(grid.edges, hi, side="left"))
    return slice(max(a, 0), min(b, grid.size))


def render_map(r: MapReport, by_tier: bool = False) -> bytes:
    """The liquidation map chart of a report as PNG bytes."""
    liq = r.liq
    lo, hi = _display_range(r)
    cut = _cut(liq.grid, lo, hi)
    sub = PriceGrid(liq.grid.centre, liq.grid.edges[cut.start : cut.stop + 1])
    d_grid, longs = rebin(liq.long_by_tier[:, cut], sub, BARS)
    _, shorts = rebin(liq.short_by_tier[:, cut], sub, BARS)
    cum_long, cum_short = cumulative_curves(liq)

    fig = Figure(figsize=(8, 6), dpi=150)
    ax = fig.add_subplot()
    lefts, widths = d_grid.lows, d_grid.highs - d_grid.lows
    layers = range(longs.shape[0]) if by_tier else [None]
    bottom_l = np.zeros(d_grid.size)
    bottom_s = np.zeros(d_grid.size)
    for k in layers:
        lv = longs.sum(axis=0) if k is None else longs[k]
        sv = shorts.sum(axis=0) if k is None else shorts[k]
        tier = "" if k is None else f" {liq.tiers[k].leverage:g}x"
        lc = LONG_RED if k is None else TIER_SHADES[k % len(TIER_SHADES)]
        sc = SHORT_GREEN if k is None else TIER_GREENS[k % len(TIER_GREENS)]
        ax.bar(lefts, lv, widths, bottom=bottom_l, align="edge", color=lc, label=f"longs{tier}")
        ax.bar(lefts, sv, widths, bottom=bottom_s, align="edge", color=sc, label=f"shorts{tier}")
        bottom_l += lv
        bottom_s += sv

    below, above = r.nearest(2)
    span = hi - lo
    for rank, c in enumerate(below + above):
        color = LONG_RED if c.side == "long" else SHORT_GREEN
        ax.axvspan(c.low, c.high, color=color, alpha=0.12, lw=0)
        x = min(max(c.peak, lo + 0.05 * span), hi - 0.05 * span)  # keep labels inside
        ax.annotate(
            f"{fmt.price(c.near_edge())}\n{fmt.usd(c.notional)}",
            xy=(x, 0.99 if rank % 2 == 0 else 0.88),
            xycoords=("data", "axes fraction"),
            ha="center",
            va="top",
            fontsize=8,
            color=color,
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    ax.axvline(r.price, color="#222222", ls="--", lw=1.4)
    ax.text(
        r.price,
        0.72,
        f" {fmt.price(r.price)}",
        transform=ax.get_xaxis_transform(),
        fontsize=10,
        fontweight="bold",
    )
    ax.set_xlim(lo, hi)
    ax.yaxis.set_major_formatter(FuncFormatter(_usd_axis))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:,.0f}"))
    ax.tick_params(labelsize=10)
    ax.set_ylabel("liquidations per bar", fontsize=11)
    ax.grid(axis="y", alpha=0.25)

    ax2 = ax.twinx()
    mids = liq.grid.mids[cut]
    below_mask = mids < r.price
    ax2.plot(mids[below_mask], cum_long[cut][below_mask], color=LONG_RED, lw=2)
    ax2.plot(mids[~below_mask], cum_short[cut][~below_mask], color=SHORT_GREEN, lw=2)
    ax2.yaxis.set_major_formatter(FuncFormatter(_usd_axis))
    ax2.set_ylabel("cumulative from price", fontsize=11)
    ax2.set_ylim(bottom=0)
    ax2.tick_params(labelsize=10)

    when = r.as_of.strftime("%Y-%m-%d %H:%M UTC")
    venues = "+".join(r.venues)
    if r.oi_venues and tuple(r.oi_venues) != tuple(r.venues):
        venues += f" (OI {'+'.join(r.oi_venues)})"
    fig.suptitle(f"{r.symbol}  liquidation map  {r.window}", fontsize=15, fontweight="bold")
    ax.set_title(f"{venues} | {when} | model {liq.model}", fontsize=10, color="#444444")
    handles, labels = ax.get_legend_handles_labels()
    order = list(range(0, len(handles), 2)) + list(range(1, len(handles), 2))  # longs, shorts
    fig.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        loc="lower center",
        ncol=len(handles) // 2,
        fontsize=9,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.1 if by_tier else 0.06, 1, 1))
    return _png(fig)


def render_heatmap(h: Heatmap, window: str, venues: tuple[str, ...]) -> bytes:
    """Price x time: colour = liquidation notional resting at that price at that time."""
    fig = Figure(figsize=(8, 6), dpi=150)
    ax = fig.add_subplot()
    lo = float(min(h.price.min() * 0.85, h.grid.edges[-1]))
    hi = float(max(h.price.max() * 1.15, h.grid.edges[0]))
    cut = _cut(h.grid, lo, hi)
    sub = PriceGrid(h.grid.centre, h.grid.edges[cut.start : cut.stop + 1])
    d_grid, values = rebin(h.intensity[cut].T, sub, 220)
    values = values.T
    times = [datetime.fromtimestamp(t / 1000, tz=UTC) for t in h.times]
    x = mdates.date2num(times)
    step = (x[1] - x[0]) if len(x) > 1 else 1 / 24
    x_edges = np.append(x - step, x[-1])
    positive = values[values > 0]
    vmax = float(positive.max()) if positive.size else 1.0
    norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=vmax)  # sqrt: dense bands stand out
    mesh = ax.pcolormesh(
        x_edges, d_grid.edges, np.where(values > 0, values, np.nan), cmap="magma", norm=norm
    )
    ax.plot(x - step / 2, h.price, color="#00d0ff", lw=1.4, label="price")
    ax.set_facecolor("#000004")
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d\n%H:%M"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    ax.set_ylim(d_grid.edges[0], d_grid.edges[-1])
    bar = fig.colorbar(mesh, ax=ax, pad=0.02)
    bar.set_label("liquidation notional per bucket")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(_usd_axis))
    fig.suptitle(f"{h.symbol}  liquidation heatmap  {window}", fontsize=15, fontweight="bold")
    ax.set_title(f"{'+'.join(venues)} | model {h.model}", fontsize=10, color="#444444")
    ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    return _png(fig)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
