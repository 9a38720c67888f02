"""Real liquidations marked on the charts: what the map said next to what happened.

On the map, a thin strip under the bars shares their price axis: one dot per price bar where
prints happened, shorts above the strip's centre line, longs below it (mirrored), the dot's area
proportional to the USD liquidated there. On the heatmap, dots at (time, price), summed per
column and price step so a busy feed stays a few dozen dots. Both say the totals in a legend line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import matplotlib.dates as mdates
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D

from bot.views import fmt
from bot.views.real_prints import RealLiquidations

FloatArray = npt.NDArray[np.float64]

LONG_DOT = "#d63a43"  # the map's long and short colours
SHORT_DOT = "#1a9a5e"
# Dot diameters (points): the largest bin fills its half of the strip; the smallest stays a
# visible dot at 430 px (1 pt at 240 dpi shown 430/1080 wide is ~1.3 screen px).
MAP_DOT_PT = (3.0, 11.0)
HEAT_DOT_PT = (3.5, 15.0)
HEAT_PRICE_STEPS = 90


def _columns(real: RealLiquidations) -> tuple[FloatArray, FloatArray, FloatArray, np.ndarray]:
    """(time ms, price, usd, is_long) arrays."""
    ps = real.prints
    return (
        np.array([p.time_ms for p in ps], dtype=np.float64),
        np.array([p.price for p in ps], dtype=np.float64),
        np.array([p.usd for p in ps], dtype=np.float64),
        np.array([p.side == "long" for p in ps], dtype=bool),
    )


def _diameters(usd: FloatArray, biggest: float, size_pt: tuple[float, float]) -> FloatArray:
    """Area proportional to USD, never smaller than a visible dot."""
    lo, hi = size_pt
    d = hi * np.sqrt(usd / biggest) if biggest > 0 else np.full(usd.shape, lo)
    return np.maximum(d, lo)


def legend_text(real: RealLiquidations, off_chart_usd: float = 0.0) -> str:
    text = (
        f"real liquidations ({real.source}): {fmt.usd(real.long_usd)} long, "
        f"{fmt.usd(real.short_usd)} short"
    )
    if off_chart_usd > 0:
        text += f" ({fmt.usd(off_chart_usd)} off the chart)"
    return text.replace("$", r"\$")  # two dollar signs would start matplotlib's math mode


def _handle(size_pt: float) -> tuple[Line2D, Line2D]:
    def dot(color: str) -> Line2D:
        return Line2D([], [], ls="", marker="o", ms=size_pt, mfc=color, mec="white", mew=0.6)

    return dot(LONG_DOT), dot(SHORT_DOT)


def add_legend(
    fig: Figure,
    real: RealLiquidations,
    anchor: tuple[float, float],
    loc: str,
    fontsize: float,
    off_chart_usd: float = 0.0,
) -> None:
    """One legend line: a long and a short dot, then the totals."""
    fig.legend(  # type: ignore[call-overload]  # a tuple of dots: HandlerTuple draws them
        [_handle(7.0)],
        [legend_text(real, off_chart_usd)],
        loc=loc,
        bbox_to_anchor=anchor,
        fontsize=fontsize,
        frameon=False,
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0.3)},
        handlelength=1.6,
        handletextpad=0.5,
        borderaxespad=0.0,
    )


def draw_map_strip(ax: Axes, real: RealLiquidations, edges: FloatArray) -> float:
    """Dots per price bar of the map (``edges``) in the strip ``ax`` (y 0..1: longs below the
    centre line, shorts above). Returns the USD of prints outside the bars' price range."""
    _, price, usd, is_long = _columns(real)
    inside = (price >= edges[0]) & (price < edges[-1])
    off = float(usd[~inside].sum())
    n = edges.size - 1
    idx = np.clip(np.searchsorted(edges, price[inside], side="right") - 1, 0, n - 1)
    per_bin = np.zeros((2, n))
    np.add.at(per_bin, (np.where(is_long[inside], 0, 1), idx), usd[inside])
    biggest = float(per_bin.max()) if per_bin.size else 0.0
    mids = (edges[:-1] + edges[1:]) / 2
    ax.axhline(0.5, color="#bbbbbb", lw=0.6, zorder=1)
    for row, y, color in ((0, 0.27, LONG_DOT), (1, 0.73, SHORT_DOT)):
        hit = per_bin[row] > 0
        if not hit.any():
            continue
        d = _diameters(per_bin[row][hit], biggest, MAP_DOT_PT)
        order = np.argsort(-d)  # big dots first, small ones drawn on top stay visible
        ax.scatter(
            mids[hit][order],
            np.full(int(hit.sum()), y),
            s=d[order] ** 2,
            c=color,
            edgecolors="white",
            linewidths=0.5,
            alpha=0.9,
            zorder=3,
            clip_on=True,
        )
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_facecolor("#f4f4f4")
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    return off


def draw_heat_marks(
    ax: Axes, real: RealLiquidations, column_edges_ms: Sequence[int], lo: float, hi: float
) -> float:
    """Dots at (time, price) on the heatmap, summed per column (``column_edges_ms``) and per
    1/90 of the price range. Returns the USD of prints outside the drawn range."""
    t, price, usd, is_long = _columns(real)
    t_edges = np.asarray(column_edges_ms, dtype=np.float64)
    p_edges = np.linspace(lo, hi, HEAT_PRICE_STEPS + 1)
    inside = (t >= t_edges[0]) & (t < t_edges[-1]) & (price >= lo) & (price < hi)
    off = float(usd[~inside].sum())
    ti = np.clip(np.searchsorted(t_edges, t[inside], side="right") - 1, 0, t_edges.size - 2)
    pi = np.clip(np.searchsorted(p_edges, price[inside], side="right") - 1, 0, HEAT_PRICE_STEPS - 1)
    sums = np.zeros((2, t_edges.size - 1, HEAT_PRICE_STEPS))
    np.add.at(sums, (np.where(is_long[inside], 0, 1), ti, pi), usd[inside])
    # USD-weighted price and time of each cell, so a dot sits where its prints were
    wp = np.zeros_like(sums)
    wt = np.zeros_like(sums)
    np.add.at(wp, (np.where(is_long[inside], 0, 1), ti, pi), usd[inside] * price[inside])
    np.add.at(wt, (np.where(is_long[inside], 0, 1), ti, pi), usd[inside] * t[inside])
    biggest = float(sums.max()) if sums.size else 0.0
    for row, color in ((0, LONG_DOT), (1, SHORT_DOT)):
        hit = sums[row] > 0
        if not hit.any():
            continue
        cell_usd = sums[row][hit]
        ys = wp[row][hit] / cell_usd
        when = [datetime.fromtimestamp(ms / 1000, tz=UTC) for ms in wt[row][hit] / cell_usd]
        xs = np.asarray(mdates.date2num(when))
        d = _diameters(cell_usd, biggest, HEAT_DOT_PT)
        order = np.argsort(-d)
        ax.scatter(
            xs[order],
            ys[order],
            s=d[order] ** 2,
            c=color,
            edgecolors="white",
            linewidths=0.8,
            alpha=0.85,
            zorder=5,
            clip_on=True,
        )
    return off
