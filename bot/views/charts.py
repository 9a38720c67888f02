"""Charts as PNG (or JPEG) bytes, made for a phone (matplotlib's object API, no pyplot: safe in
a worker thread).

Sized 1080 px wide (portrait) with type that stays legible when a chat shows the picture about
430 px wide (checked by downscaling and looking: docs/img/). Map (docs/model.md §5): bars
of long liquidations left of price (red) and shorts right of it (green), the cumulative curves
in their own panel below so nothing crosses the bars, the two nearest clusters each side and the
largest each side labelled with their notional; labels are placed in rows above the bars and
moved until they overlap nothing (:func:`place_labels`).
"""

from __future__ import annotations

import io
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import matplotlib

from liqmap.times import DAY_MS

matplotlib.use("Agg")
import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.ticker import Formatter, FuncFormatter, MaxNLocator
from matplotlib.transforms import Bbox

from bot.clock import zone_info
from bot.tiers import tier_note
from bot.views import fmt
from bot.views.levels import ALERT, ENTRY, LIQUIDATION, STOP, TraderLevel
from bot.views.real_marks import add_legend, draw_heat_marks, draw_map_strip
from bot.views.real_prints import RealLiquidations
from bot.views.report import MapReport
from liqmap import Candles, Cluster, Heatmap, PriceGrid, cumulative_curves, rebin
from liqmap.model import is_proxy

LONG_RED = "#d63a43"
SHORT_GREEN = "#1a9a5e"
TIER_SHADES = ("#5c1a1e", "#9e2a31", "#e0464e", "#f08a8f", "#f7c4c6")
TIER_GREENS = ("#0d4a2c", "#16774a", "#21a366", "#6cc79b", "#b6e3cb")
INK = "#1b1b1b"
GREY = "#555555"
# The trader's own prices: colours apart from the bars' red and green and the price's black.
LEVEL_STYLE = {
    ENTRY: ("#1f5fd1", "-"),
    LIQUIDATION: ("#8a2be2", "-"),
    STOP: ("#d97706", "--"),
    ALERT: ("#0e8a8a", "-."),
}
BARS = 110  # ~10 px per bar at 1080 px: readable towers, not hairlines

# 4.5 x 5.6 in at 240 dpi = 1080 x 1344 px. Shown 430 px wide a 10 pt letter is ~13 px tall.
WIDTH_IN, DPI = 4.5, 240
TITLE_PT, SUB_PT, LABEL_PT, TICK_PT = 13.0, 9.0, 9.5, 9.0


# -- shared pieces ----------------------------------------------------------------------------


class PriceFormatter(Formatter):
    """Price ticks with the decimals their spacing needs (DOGE: 0.150, 0.155; PEPE: 0.0000115)."""

    def __init__(self) -> None:
        self.step = 0.0

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        self.step = float(np.min(np.diff(values))) if len(values) > 1 else 0.0
        return [self(v) for v in values]

    def __call__(self, x: float, pos: int | None = None) -> str:
        return fmt.price_tick(x, self.step) if self.step else fmt.price(x)


def units_note(proxy: bool) -> str:
    return "relative units (volume proxy, not USD)" if proxy else "USD notional"


def _amount_axis(proxy: bool) -> FuncFormatter:
    return FuncFormatter(lambda v, _p: fmt.axis_amount(v, proxy) if v else "0")


def _titles(fig: Figure, head: str, lines: list[str]) -> float:
    """Title and subtitle lines at the top; returns the figure fraction they take."""
    fig.text(0.03, 0.985, head, fontsize=TITLE_PT, fontweight="bold", va="top", color=INK)
    y = 0.985 - 0.036
    for line in lines:
        fig.text(0.03, y, line, fontsize=SUB_PT, va="top", color=GREY)
        y -= 0.024
    return 1 - y


def _figure(height_in: float) -> Figure:
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(fig)  # a renderer to measure text with before saving
    return fig


def _renderer(ax: Axes) -> RendererAgg:
    canvas = ax.get_figure(root=True).canvas  # type: ignore[union-attr]
    assert isinstance(canvas, FigureCanvasAgg)
    renderer: RendererAgg = canvas.get_renderer()
    return renderer


def _save(fig: Figure, image: str) -> bytes:
    buf = io.BytesIO()
    if image == "jpeg":
        fig.savefig(buf, format="jpeg", pil_kwargs={"quality": 88})
    else:
        fig.savefig(buf, format="png")
    return buf.getvalue()


# -- label placement --------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """A text to place above the bars at ``x`` (data), pointing down to ``(x, y_to)``."""

    x: float
    y_to: float
    text: str
    color: str
    boxed: bool = False


def _bar_top(ax: Axes, lefts: np.ndarray, rights: np.ndarray, tops: np.ndarray, box: Bbox) -> float:
    """Highest bar (display y) under the horizontal span of ``box``."""
    inv = ax.transData.inverted()
    x0 = inv.transform((box.x0, 0))[0]
    x1 = inv.transform((box.x1, 0))[0]
    under = (rights >= x0) & (lefts <= x1)
    top = float(tops[under].max()) if under.any() else 0.0
    return float(ax.transData.transform((0, top))[1])


def _extent(t: Text, renderer: RendererAgg) -> Bbox:
    """A label's full extent: its text and the rounded box drawn around it."""
    t.update_bbox_position_size(renderer)
    patch = t.get_bbox_patch()
    box = t.get_window_extent(renderer)
    return Bbox.union([box, patch.get_window_extent(renderer)]) if patch else box


def place_labels(
    ax: Axes,
    labels: Sequence[Label],
    lefts: np.ndarray,
    rights: np.ndarray,
    tops: np.ndarray,
    pad_px: float = 6.0,
) -> tuple[list[Text], list[Line2D]]:
    """Place each label (in priority order) in the first row from the top where it overlaps no
    placed label, no bar and stays inside the axes; slide it sideways to fit the edges. Labels
    that fit nowhere are left out (the caller makes headroom first)."""
    renderer = _renderer(ax)
    frame = ax.get_window_extent(renderer)
    placed: list[Bbox] = []
    texts: list[Text] = []
    lines: list[Line2D] = []
    for lab in labels:
        t = ax.text(
            lab.x,
            0.0,
            lab.text,
            transform=ax.transData,
            ha="center",
            va="top",
            fontsize=LABEL_PT,
            fontweight="bold",
            color="white" if lab.boxed else lab.color,
            linespacing=1.15,
            bbox={
                "boxstyle": "round,pad=0.25",
                "fc": INK if lab.boxed else "white",
                "ec": INK if lab.boxed else lab.color,
                "lw": 0.8,
            },
            zorder=5,
        )
        ok = False
        top = frame.y1 - pad_px
        t.set_transform(matplotlib.transforms.IdentityTransform())
        x_disp = float(ax.transData.transform((lab.x, 0))[0])
        while not ok:
            # the box's top at ``top`` (display), centred on the cluster, slid inside the frame
            t.set_position((x_disp, top))
            box = _extent(t, renderer)
            dx = max(0.0, frame.x0 + pad_px - box.x0) - max(0.0, box.x1 - (frame.x1 - pad_px))
            dy = top - box.y1
            t.set_position((x_disp + dx, top + dy))
            box = _extent(t, renderer)
            if box.y0 <= frame.y0 + pad_px:
                break  # no room left above the bars
            grown = box.padded(pad_px / 2)
            clear_of_bars = box.y0 > _bar_top(ax, lefts, rights, tops, box) + pad_px
            if clear_of_bars and not any(grown.overlaps(p) for p in placed):
                ok = True
            else:
                top -= box.height / 2  # next row down, half a label at a time
        if not ok:
            t.remove()
            continue
        placed.append(box.padded(pad_px / 2))
        # keep the placement in data coordinates: stable through savefig
        inv = ax.transData.inverted()
        t.set_position(tuple(inv.transform(t.get_position())))
        t.set_transform(ax.transData)
        texts.append(t)
        foot = inv.transform((box.x0 + box.width / 2, box.y0))
        (line,) = ax.plot(
            [foot[0], lab.x], [foot[1], lab.y_to], color=lab.color, lw=0.9, ls=":", zorder=4
        )
        lines.append(line)
    return texts, lines


# -- the map ----------------------------------------------------------------------------------


def marked_clusters(r: MapReport) -> list[tuple[Cluster, str]]:
    """The clusters a map labels, in the order they get room: nearest each side, the largest
    each side, then the second nearest; each with its tag."""
    below, above = r.nearest(2)
    marks: dict[int, tuple[Cluster, str]] = {}
    order: list[tuple[Cluster, str]] = []
    for side_all, near in ((r.clusters.below, below), (r.clusters.above, above)):
        largest = max(side_all, key=lambda c: c.notional) if side_all else None
        picks = [(near[0], "nearest")] if near else []
        if largest is not None:
            picks.append((largest, "largest"))
        if len(near) > 1:
            picks.append((near[1], "2nd nearest"))
        order.extend(picks)
    for c, tag in order:
        key = id(c)
        if key in marks:  # nearest and largest at once
            marks[key] = (c, f"{marks[key][1]}, {tag}")
        else:
            marks[key] = (c, tag)

    def rank(mark: tuple[Cluster, str]) -> tuple[bool, bool]:
        tags = mark[1].split(", ")  # exact tags: "2nd nearest" is not "nearest"
        return "nearest" not in tags, "largest" not in tags

    return sorted(marks.values(), key=rank)


def _display_range(
    r: MapReport, marks: list[tuple[Cluster, str]], real: RealLiquidations | None = None
) -> tuple[float, float]:
    """+-8% around price, widened to show every marked cluster and every real print of the
    window (as far as the grid goes)."""
    lo, hi = r.price * 0.92, r.price * 1.08
    for c, _ in marks:
        lo = min(lo, c.low - 0.01 * r.price)
        hi = max(hi, c.high + 0.01 * r.price)
    seen = real.price_range() if real else None
    if seen:
        lo = min(lo, seen[0] - 0.01 * r.price)
        hi = max(hi, seen[1] + 0.01 * r.price)
    edges = r.liq.grid.edges
    return max(lo, float(edges[0])), min(hi, float(edges[-1]))


def _cut(grid: PriceGrid, lo: float, hi: float) -> slice:
    a = int(np.searchsorted(grid.edges, lo, side="right")) - 1
    b = int(np.searchsorted(grid.edges, hi, side="left"))
    return slice(max(a, 0), min(b, grid.size))


def cluster_label(c: Cluster, tag: str, proxy: bool) -> str:
    """'108,210.5\\n$6.1M, largest': near edge, the cluster's notional (not one bar's)."""
    return f"{fmt.price(c.near_edge())}\n{fmt.notional(c.notional, proxy)} {tag}"


def map_title(r: MapReport, tiers: str, zone: str = "UTC") -> tuple[str, list[str]]:
    """Title and subtitles; the map's moment in the chat's ``zone``."""
    base = fmt.market(r.symbol)
    venues = "+".join(r.venues)
    if r.oi_venues and tuple(r.oi_venues) != tuple(r.venues):
        venues += f" (OI {'+'.join(r.oi_venues)})"
    when = fmt.when(r.liq.as_of, zone)
    third = f"model {r.liq.model} · {units_note(is_proxy(r))}"
    if tiers:
        third = f"{tiers} · " + third
    return f"{base} liquidation map · {r.window}", [f"{venues} · {when}", third]


def render_map(
    r: MapReport,
    by_tier: bool = False,
    image: str = "png",
    real: RealLiquidations | None = None,
    levels: Sequence[TraderLevel] = (),
    zone: str = "UTC",
) -> bytes:
    """The liquidation map chart of a report (``image``: png or jpeg); ``real``: the window's
    real liquidations, marked in a strip under the bars; ``levels``: the trader's own prices
    (entry, liquidation, stop, price alerts), drawn and labelled; ``zone``: the chat's, for the
    time in the subtitle."""
    return _save(map_figure(r, by_tier, real, levels, zone), image)


def _levels_in_range(
    r: MapReport, levels: Sequence[TraderLevel], lo: float, hi: float
) -> tuple[list[TraderLevel], float, float]:
    """The levels the chart can show (inside the map's grid), and the display range widened to
    show them all."""
    return _levels_within(r.liq.grid, r.price, levels, lo, hi)


def _levels_within(
    grid: PriceGrid, price: float, levels: Sequence[TraderLevel], lo: float, hi: float
) -> tuple[list[TraderLevel], float, float]:
    """The levels inside ``grid``, and ``lo``-``hi`` widened (1% of ``price`` beyond each) to
    show them all."""
    edges = grid.edges
    shown = [v for v in levels if float(edges[0]) <= v.price <= float(edges[-1])]
    for v in shown:
        lo = max(min(lo, v.price - 0.01 * price), float(edges[0]))
        hi = min(max(hi, v.price + 0.01 * price), float(edges[-1]))
    return shown, lo, hi


MERGE_FRACTION = 0.025  # levels closer than this share of the price axis (~8 px on a phone)


def level_groups(levels: Sequence[TraderLevel], span: float) -> list[list[TraderLevel]]:
    """The trader's levels by price, those a few px apart in one group: two lines that close
    cannot carry two labels a reader can tell apart."""
    groups: list[list[TraderLevel]] = []
    for v in sorted(levels, key=lambda v: v.price):
        if groups and v.price - groups[-1][-1].price <= span * MERGE_FRACTION:
            groups[-1].append(v)
        else:
            groups.append([v])
    return groups


def level_label_style(color: str) -> dict[str, Any]:
    """A trader's level label: bold, in its line's colour, on a white box (map and heatmap)."""
    return {
        "ha": "left",
        "fontsize": LABEL_PT,
        "fontweight": "bold",
        "color": color,
        "bbox": {"boxstyle": "round,pad=0.25", "fc": "white", "ec": color, "lw": 0.8},
    }


def group_label(group: Sequence[TraderLevel]) -> str:
    """'alert 112,000.0 ×2' for the same level twice; different ones side by side."""
    counts = Counter(v.label for v in group)
    return " · ".join(f"{text} ×{n}" if n > 1 else text for text, n in counts.items())


def _level_row_layout(
    band: Axes, groups: list[list[TraderLevel]], pad_px: float = 6.0
) -> list[tuple[Text, float]] | None:
    """Each group's label in the first row of the band where it clears the labels left of it,
    as near its line as it can; None (nothing left drawn) when one fits no row."""
    renderer = _renderer(band)
    frame = band.get_window_extent(renderer)
    rights: list[float] = []  # per row: the right edge of its last label
    out: list[tuple[Text, float]] = []
    for g in groups:
        kinds = {v.kind for v in g}
        color = LEVEL_STYLE[g[0].kind][0] if len(kinds) == 1 else INK
        x = sum(v.price for v in g) / len(g)
        t = band.text(
            0.0,
            0.0,
            group_label(g),
            transform=matplotlib.transforms.IdentityTransform(),
            va="top",
            zorder=5,
            **level_label_style(color),
        )
        t.set_position((0.0, 0.0))
        box = _extent(t, renderer)
        w, h, inset = box.width, box.height, t.get_position()[0] - box.x0
        rows = max(1, int((frame.height - pad_px) // (h + pad_px)))
        if len(rights) < rows:
            rights += [frame.x0] * (rows - len(rights))
        x_disp = float(band.transData.transform((x, 0))[0])
        want = min(max(x_disp - w / 2, frame.x0 + pad_px), frame.x1 - pad_px - w)
        # the row that leaves the label nearest its line (the upper one on a tie)
        fits = [
            (x0 - want, k, x0)
            for k in range(rows)
            if (x0 := max(want, rights[k] + pad_px if rights[k] > frame.x0 else want)) + w
            <= frame.x1 - pad_px + 0.5
        ]
        if not fits:
            for placed, _ in out:
                placed.remove()
            t.remove()
            return None
        _, k, x0 = min(fits)
        rights[k] = x0 + w
        top = frame.y1 - pad_px - k * (h + pad_px)
        t.set_position((x0 + inset, top - (box.y1 - t.get_position()[1])))
        out.append((t, x))
    return out


def _place_levels(band: Axes, groups: list[list[TraderLevel]]) -> None:
    """Every group labelled in the band above the bars, with a dotted leader down to its line; a
    group that finds no room joins its nearest neighbour (one label for both), and again."""
    while (laid := _level_row_layout(band, groups)) is None and len(groups) > 1:
        gaps = [b[0].price - a[-1].price for a, b in itertools.pairwise(groups)]
        i = gaps.index(min(gaps))
        groups[i : i + 2] = [groups[i] + groups[i + 1]]
    renderer = _renderer(band)
    inv = band.transData.inverted()
    for t, x in laid or []:
        box = _extent(t, renderer)
        # keep the placement in data coordinates: stable through savefig
        t.set_position(tuple(inv.transform(t.get_position())))
        t.set_transform(band.transData)
        foot = inv.transform((box.x0 + box.width / 2, box.y0))
        band.plot([foot[0], x], [foot[1], 0.0], color=t.get_color(), lw=0.9, ls=":", zorder=4)


def map_figure(
    r: MapReport,
    by_tier: bool = False,
    real: RealLiquidations | None = None,
    levels: Sequence[TraderLevel] = (),
    zone: str = "UTC",
) -> Figure:
    """The map as a matplotlib figure, labels placed (tests measure it)."""
    liq = r.liq
    proxy = is_proxy(r)
    marks = marked_clusters(r)
    real = real if real and real.prints else None
    lo, hi = _display_range(r, marks, real)
    mine, lo, hi = _levels_in_range(r, levels, lo, hi)
    cut = _cut(liq.grid, lo, hi)
    sub = PriceGrid(liq.grid.centre, liq.grid.edges[cut.start : cut.stop + 1])
    d_grid, longs = rebin(liq.long_by_tier[:, cut], sub, BARS)
    _, shorts = rebin(liq.short_by_tier[:, cut], sub, BARS)
    cum_long, cum_short = cumulative_curves(liq)
    tiers = tier_note([t.leverage for t in liq.tiers])

    # the real-liquidations strip takes no label rows; the trader's levels take a few
    band_h_in = 1.0 if mine else 0.0  # the band above the bars that labels the levels
    fig = _figure((6.1 if real else 5.6) + band_h_in)
    head, sublines = map_title(r, tiers, zone)
    top = _titles(fig, head, sublines)
    legend_h = (0.075 if by_tier else 0.045) + (0.03 if real else 0.0)
    bottom = 0.06 + legend_h
    cum_h = 0.17
    gap = 0.035
    strip_h, strip_gap = (0.05, 0.014) if real else (0.0, 0.0)
    bar_bottom = bottom + cum_h + gap + strip_h + strip_gap
    band_h = band_h_in / fig.get_figheight()
    ax = fig.add_axes((0.15, bar_bottom, 0.78, 1 - top - 0.01 - bar_bottom - band_h))
    ax_cum = fig.add_axes((0.15, bottom, 0.78, cum_h), sharex=ax)

    lefts, rights = d_grid.lows, d_grid.highs
    widths = rights - lefts
    layers: list[int | None] = list(range(longs.shape[0])) if by_tier else [None]
    bottom_l = np.zeros(d_grid.size)
    bottom_s = np.zeros(d_grid.size)
    handles: list[object] = []
    names: list[str] = []
    for k in layers:
        lv = longs.sum(axis=0) if k is None else longs[k]
        sv = shorts.sum(axis=0) if k is None else shorts[k]
        lc = LONG_RED if k is None else TIER_SHADES[k % len(TIER_SHADES)]
        sc = SHORT_GREEN if k is None else TIER_GREENS[k % len(TIER_GREENS)]
        ax.bar(lefts, lv, widths, bottom=bottom_l, align="edge", color=lc, lw=0)
        ax.bar(lefts, sv, widths, bottom=bottom_s, align="edge", color=sc, lw=0)
        bottom_l += lv
        bottom_s += sv
        if k is None:
            handles += [Patch(color=lc), Patch(color=sc)]
            names += ["longs (forced selling)", "shorts (forced buying)"]
        else:
            handles.append((Patch(color=lc), Patch(color=sc)))
            names.append(f"{liq.tiers[k].leverage:g}x")
    tops = bottom_l + bottom_s
    peak = float(tops.max()) if tops.size and tops.max() > 0 else 1.0

    for c, _ in marks:
        color = LONG_RED if c.side == "long" else SHORT_GREEN
        ax.axvspan(c.low, c.high, color=color, alpha=0.10, lw=0)
    for a in (ax, ax_cum):
        a.axvline(r.price, color=INK, ls="--", lw=1.0, zorder=3)
        a.set_xlim(lo, hi)
        a.tick_params(labelsize=TICK_PT, length=3)
        a.spines[["top", "right"]].set_visible(False)
        a.grid(axis="y", alpha=0.25)
        a.yaxis.set_major_formatter(_amount_axis(proxy))
        a.yaxis.set_major_locator(MaxNLocator(nbins=3, min_n_ticks=2))
    ax.tick_params(labelbottom=False)
    ax_cum.xaxis.set_major_locator(MaxNLocator(nbins=4, min_n_ticks=3))
    ax_cum.xaxis.set_major_formatter(PriceFormatter())
    ax.set_ylabel("per bar", fontsize=TICK_PT, color=GREY)
    ax_cum.set_ylabel("cumulative", fontsize=TICK_PT, color=GREY)

    mids = liq.grid.mids[cut]
    below_mask = mids < r.price
    for mask, curve, color in (
        (below_mask, cum_long[cut], LONG_RED),
        (~below_mask, cum_short[cut], SHORT_GREEN),
    ):
        ax_cum.fill_between(mids[mask], curve[mask], color=color, alpha=0.25)
        ax_cum.plot(mids[mask], curve[mask], color=color, lw=1.6)
    ax_cum.set_ylim(bottom=0)

    labels = [Label(r.price, peak * 0.02, fmt.price(r.price), INK, boxed=True)]
    for c, tag in marks:
        color = LONG_RED if c.side == "long" else SHORT_GREEN
        i = int(np.clip(np.searchsorted(rights, c.peak), 0, tops.size - 1))
        labels.append(Label(c.peak, float(tops[i]), cluster_label(c, tag, proxy), color))
    # The trader's own prices: a line each, labelled in their own band above the bars (so
    # they neither take the clusters' rows nor squeeze the bars).
    for v in mine:
        color, style = LEVEL_STYLE[v.kind]
        for a in (ax, ax_cum):
            a.axvline(v.price, color=color, ls=style, lw=1.6, zorder=3.5)
    if mine:
        band = fig.add_axes((0.15, 1 - top - 0.01 - band_h, 0.78, band_h), sharex=ax)
        band.set_ylim(0, 1)
        band.axis("off")
        _place_levels(band, level_groups(mine, hi - lo))
    # Headroom above the bars for the labels: grow it until every label finds a place (at the
    # most, keep the ones that fit: the lowest-priority label is the one left out).
    headrooms = (1.9, 2.4, 3.0, 3.8, 5.0)
    for headroom in headrooms:
        ax.set_ylim(0, peak * headroom)
        placed, connectors = place_labels(ax, labels, lefts, rights, tops)
        if len(placed) == len(labels) or headroom == headrooms[-1]:
            break
        for artist in [*placed, *connectors]:
            artist.remove()
    if real:
        # the strip under the bars: what was really liquidated, on the same price axis
        ax_real = fig.add_axes((0.15, bottom + cum_h + gap, 0.78, strip_h), sharex=ax)
        ax_real.axvline(r.price, color=INK, ls="--", lw=1.0, zorder=2)
        off = draw_map_strip(ax_real, real, d_grid.edges)
        ax_real.tick_params(labelbottom=False, length=0)
        ax_real.set_ylabel(
            "real", fontsize=TICK_PT, color=GREY, rotation=0, ha="right", va="center"
        )
        ax_real.set_xlim(lo, hi)
        add_legend(fig, real, (0.5, 0.0), "lower center", TICK_PT, off)
    fig.legend(  # type: ignore[call-overload]  # tuples of patches: HandlerTuple draws them
        handles,
        names,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.03 if real else 0.0),
        ncol=5 if by_tier else 2,
        fontsize=TICK_PT,
        frameon=False,
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0)},
        handlelength=1.6 if by_tier else 1.0,
        columnspacing=1.0,
        title="leverage tiers: longs | shorts" if by_tier else None,
        title_fontsize=TICK_PT,
    )
    return fig


# -- the heatmap ------------------------------------------------------------------------------


def _heat_levels(ax: Axes, levels: Sequence[TraderLevel], lo: float, hi: float) -> None:
    """The trader's prices across the heatmap: a line each (a white edge keeps it visible on
    the dark cells) and one label per group at the left, on its line or nudged just clear of
    its neighbour's; groups that cannot all fit the height share a label."""
    for v in levels:
        color, style = LEVEL_STYLE[v.kind]
        ax.axhline(v.price, color="white", lw=2.6, alpha=0.9, zorder=3.4)
        ax.axhline(v.price, color=color, ls=style, lw=1.5, zorder=3.5)
    groups = level_groups(levels, hi - lo)
    renderer = _renderer(ax)
    frame = ax.get_window_extent(renderer)
    pad = 4.0
    while True:
        texts: list[tuple[Text, float]] = []
        for g in groups:
            color = LEVEL_STYLE[g[0].kind][0] if len({v.kind for v in g}) == 1 else INK
            y = sum(v.price for v in g) / len(g)
            t = ax.text(
                0.015,
                float(ax.transAxes.inverted().transform(ax.transData.transform((0, y)))[1]),
                group_label(g),
                transform=ax.transAxes,
                va="center",
                zorder=6,
                **level_label_style(color),
            )
            texts.append((t, y))
        heights = [_extent(t, renderer).height for t, _ in texts]
        if sum(heights) + pad * len(texts) <= frame.height or len(groups) == 1:
            break
        for t, _ in texts:
            t.remove()
        gaps = [b[0].price - a[-1].price for a, b in itertools.pairwise(groups)]
        i = gaps.index(min(gaps))
        groups[i : i + 2] = [groups[i] + groups[i + 1]]
    # centres in display space, in price order: pushed up clear of the one below, then down
    # clear of the frame's top and the one above
    want = [float(ax.transData.transform((0, y))[1]) for _, y in texts]
    ys = list(want)
    for k in range(len(ys)):
        low = frame.y0 + heights[k] / 2 + pad
        if k:
            low = max(low, ys[k - 1] + (heights[k - 1] + heights[k]) / 2 + pad)
        ys[k] = max(ys[k], low)
    for k in reversed(range(len(ys))):
        high = frame.y1 - heights[k] / 2 - pad
        if k + 1 < len(ys):
            high = min(high, ys[k + 1] - (heights[k + 1] + heights[k]) / 2 - pad)
        ys[k] = min(ys[k], high)
    inv = ax.transAxes.inverted()
    for (t, _), y in zip(texts, ys, strict=True):
        t.set_position((0.015, float(inv.transform((0, y))[1])))


def _hourly_candles(c: Candles, columns: int) -> tuple[np.ndarray, ...]:
    """Candles merged so about ``columns`` remain: (open time ms, open, high, low, close)."""
    n = len(c)
    k = max(1, int(np.ceil(n / columns)))
    starts = np.arange(0, n, k)
    ends = np.minimum(starts + k, n) - 1
    return (
        c.time[starts],
        c.open[starts],
        np.maximum.reduceat(c.high, starts),
        np.minimum.reduceat(c.low, starts),
        c.close[ends],
        (c.time[ends] + c.interval_ms - c.time[starts]).astype(np.float64),
    )


def heat_scale(values: np.ndarray) -> tuple[float, float]:
    """The colour scale's range: from the median of the non-empty cells (below it: dark) to
    their 99.5th percentile (above it: brightest), so the contrast sits where the mass is
    instead of on a few extreme cells."""
    positive = values[values > 0]
    if positive.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(positive, [50.0, 99.5])
    return float(lo), float(max(hi, lo * 1.001, 1e-12))


def heatmap_title(
    h: Heatmap,
    window: str,
    venues: tuple[str, ...],
    tiers: Sequence[float] | None,
    zone: str = "UTC",
) -> tuple[str, list[str]]:
    """Title and subtitles; the last column's time in the chat's ``zone``."""
    base = fmt.market(h.symbol)
    when = fmt.when(int(h.times[-1]), zone)
    note = tier_note(tiers) if tiers else ""
    proxy = is_proxy(h)
    third = f"model {h.model} · {units_note(proxy)}"
    if note:
        third = f"{note} · {third}"
    return f"{base} liquidation heatmap · {window}", [
        f"{'+'.join(venues)} · as of {when}",
        third,
    ]


def render_heatmap(
    h: Heatmap,
    window: str,
    venues: tuple[str, ...],
    candles: Candles | None = None,
    tiers: Sequence[float] | None = None,
    image: str = "png",
    real: RealLiquidations | None = None,
    levels: Sequence[TraderLevel] = (),
    zone: str = "UTC",
) -> bytes:
    """Price x time: colour = liquidation notional resting at that price at that time; the
    price (a line, or ``candles``) and a marker with the last price; ``real``: the window's
    real liquidations as dots at (time, price); ``levels``: the trader's own prices, a labelled
    line each; ``zone``: the chat's, for the times on the axis and in the subtitle."""
    return _save(heatmap_figure(h, window, venues, candles, tiers, real, levels, zone), image)


def heatmap_figure(
    h: Heatmap,
    window: str,
    venues: tuple[str, ...],
    candles: Candles | None = None,
    tiers: Sequence[float] | None = None,
    real: RealLiquidations | None = None,
    levels: Sequence[TraderLevel] = (),
    zone: str = "UTC",
) -> Figure:
    """The heatmap as a matplotlib figure."""
    proxy = is_proxy(h)
    real = real if real and real.prints else None
    fig = _figure(5.6)
    head, sublines = heatmap_title(h, window, venues, tiers, zone)
    top = _titles(fig, head, sublines)
    legend_y = 1 - top + 0.004  # the real-liquidations line sits under the subtitles
    top += 0.03 if real else 0.0
    ax = fig.add_axes((0.17, 0.2, 0.67, 1 - top - 0.015 - 0.2))
    cax = fig.add_axes((0.17, 0.095, 0.67, 0.022))

    span = float(h.price.max() / h.price.min())
    pad = max(0.03, (span - 1) * 0.35)  # room around the price path, more for volatile windows
    lo = max(float(h.price.min()) * (1 - pad), float(h.grid.edges[0]))
    hi = min(float(h.price.max()) * (1 + pad), float(h.grid.edges[-1]))
    mine, lo, hi = _levels_within(h.grid, float(h.price[-1]), levels, lo, hi)
    cut = _cut(h.grid, lo, hi)
    sub = PriceGrid(h.grid.centre, h.grid.edges[cut.start : cut.stop + 1])
    d_grid, values = rebin(h.intensity[cut].T, sub, 180)
    values = values.T
    times = [datetime.fromtimestamp(t / 1000, tz=UTC) for t in h.times]
    x = np.asarray(mdates.date2num(times))
    step = float(x[1] - x[0]) if len(x) > 1 else 1 / 24
    x_edges = np.append(x - step, x[-1])
    vmin, vmax = heat_scale(values)
    norm = PowerNorm(gamma=0.6, vmin=vmin, vmax=vmax, clip=True)
    mesh = ax.pcolormesh(
        x_edges, d_grid.edges, np.where(values > 0, values, np.nan), cmap="inferno", norm=norm
    )
    ax.set_facecolor("#000004")
    if candles is not None and len(candles):
        t0, o, hh, ll, cl, dur = _hourly_candles(candles, 90)
        xs = np.asarray(mdates.date2num([datetime.fromtimestamp(t / 1000, tz=UTC) for t in t0]))
        w = dur / DAY_MS
        up = cl >= o
        for i in range(xs.size):
            color = "#4fe3a0" if up[i] else "#ff6b8a"
            mid = xs[i] + w[i] / 2
            ax.plot([mid, mid], [ll[i], hh[i]], color=color, lw=0.8, zorder=3)
            body_lo, body_hi = min(o[i], cl[i]), max(o[i], cl[i])
            ax.add_patch(
                Rectangle(
                    (xs[i] + w[i] * 0.15, body_lo),
                    w[i] * 0.7,
                    max(body_hi - body_lo, (hi - lo) * 0.001),
                    color=color,
                    zorder=3,
                )
            )
    else:
        ax.plot(x - step / 2, h.price, color="#3fd8ff", lw=1.3, zorder=3)
    if real:
        col_ms = [int(h.times[0]) - int(step * DAY_MS)] + [int(t) for t in h.times]
        off = draw_heat_marks(ax, real, col_ms, float(d_grid.edges[0]), float(d_grid.edges[-1]))
        add_legend(fig, real, (0.03, legend_y), "upper left", SUB_PT, off)
    last = float(h.price[-1])
    ax.plot([x[-1] - step / 2], [last], "o", ms=5, color="#3fd8ff", mec="white", zorder=4)
    ax.axhline(last, color="#3fd8ff", lw=0.7, ls=":", zorder=2)
    ax.annotate(
        fmt.price(last),
        xy=(1.0, last),
        xycoords=("axes fraction", "data"),
        xytext=(4, 0),
        textcoords="offset points",
        va="center",
        ha="left",
        fontsize=LABEL_PT - 1,
        fontweight="bold",
        color="white",
        bbox={"boxstyle": "round,pad=0.25", "fc": "#0b6e8a", "ec": "none"},
        annotation_clip=False,
    )
    ax.set_xlim(x_edges[0], x_edges[-1])
    ax.set_ylim(d_grid.edges[0], d_grid.edges[-1])
    if mine:
        _heat_levels(ax, mine, float(d_grid.edges[0]), float(d_grid.edges[-1]))
    days = x_edges[-1] - x_edges[0]
    local = zone_info(zone)  # the axis in the chat's zone, as the subtitle
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=5, tz=local))
    ax.xaxis.set_major_formatter(
        mdates.DateFormatter("%H:%M" if days <= 1.5 else "%b %d", tz=local)
    )
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.yaxis.set_major_formatter(PriceFormatter())
    ax.tick_params(labelsize=TICK_PT, length=3)
    bar = fig.colorbar(mesh, cax=cax, orientation="horizontal")
    # ticks within the scale only: with clip=True one past vmax lands on the end, over the last
    ticks = MaxNLocator(nbins=3).tick_values(0.0, vmax)
    bar.set_ticks([float(t) for t in ticks if 0.0 <= t <= vmax])
    bar.ax.xaxis.set_major_formatter(_amount_axis(proxy))
    bar.ax.tick_params(labelsize=TICK_PT - 0.5, length=2)
    bar.set_label(
        f"{'relative amount (not USD)' if proxy else 'USD'} per price bucket; power scale:\n"
        "dark up to the median cell, brightest from the 99.5th percentile",
        fontsize=TICK_PT - 1,
        color=GREY,
    )
    return fig
