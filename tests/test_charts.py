"""Charts read on a phone: labels measured in the rendered figure overlap nothing, tick labels
of a PEPE-priced map are distinct numbers, a volume-proxy map shows no dollar sign."""

from __future__ import annotations

import itertools

import matplotlib.dates as mdates
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from bot.cli import bundled_marks
from bot.clock import parse_utc_ms, zone_info
from bot.pipeline.heatmaps import make_heatmap
from bot.views import fmt
from bot.views.charts import LABEL_PT, LEVEL_STYLE, heatmap_figure, map_figure, map_title
from bot.views.levels import ALERT, ENTRY, LIQUIDATION, STOP, TraderLevel
from bot.views.real_marks import LONG_DOT, SHORT_DOT
from bot.views.real_prints import RealLiquidations
from bot.views.report import MapReport, make_report
from liqmap import ModelSettings
from market.replay import DEFAULT_AT, ReplaySource
from tests.scaled import PEPE, scaled_report


def _hidden_ticks(fig: Figure) -> set[int]:
    """Tick labels matplotlib keeps but does not draw (their tick is outside the view)."""
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick, loc in zip(axis.get_major_ticks(), axis.get_majorticklocs(), strict=False):
                if not lo - 1e-12 * abs(hi) <= loc <= hi + 1e-12 * abs(hi):
                    hidden |= {id(tick.label1), id(tick.label2)}
    return hidden


def _boxes(fig: Figure) -> list[tuple[Text, Bbox]]:
    """Every text drawn on the figure with its extent."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    hidden = _hidden_ticks(fig)
    return [
        (t, t.get_window_extent(renderer))
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and id(t) not in hidden
    ]


def _cluster_labels(fig: Figure) -> list[tuple[Text, Bbox]]:
    """The price marker and the cluster labels: boxed texts in the bar axes."""
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    return [(t, t.get_bbox_patch().get_window_extent(renderer)) for t in ax.texts]  # type: ignore[union-attr]


def _bars(fig: Figure) -> list[Bbox]:
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    return [
        p.get_window_extent(renderer)
        for p in fig.axes[0].patches
        if isinstance(p, Rectangle) and p.get_height() > 0 and p.get_alpha() is None
    ]


def _btc(window: str, tiers: tuple[float, ...] | None = None, at: int = DEFAULT_AT) -> MapReport:
    return make_report(ReplaySource(), "BTC", window, at, ModelSettings(tier_filter=tiers))


# a long at 116,000 x20 with its stop, and two price alerts (issue 20)
TRADER_LEVELS = (
    TraderLevel(116_000.0, ENTRY, "entry 116,000.0"),
    TraderLevel(110_642.6, LIQUIDATION, "liq. 110,642.6"),
    TraderLevel(113_000.0, STOP, "stop 113,000.0"),
    TraderLevel(112_000.0, ALERT, "alert 112,000.0"),
    TraderLevel(120_000.0, ALERT, "alert 120,000.0"),
)
FLUSH = parse_utc_ms("2026-02-05T21:00Z")  # inside the bundled recorded prints (06:00 .. 06:00)


def _recorded(window: str, at: int = FLUSH) -> RealLiquidations:
    real = bundled_marks("BTC/USDT:USDT", window, at)
    assert real is not None
    return real


CASES = {
    "btc-1d": lambda: map_figure(_btc("1d")),
    "btc-7d-by-tier": lambda: map_figure(_btc("7d"), by_tier=True),
    "btc-30d-10-25x": lambda: map_figure(_btc("30d", (10.0, 25.0))),
    "pepe-1d": lambda: map_figure(scaled_report("PEPE/USDT:USDT", PEPE)),
    "btc-flush-1d-real": lambda: map_figure(_btc("1d", at=FLUSH), real=_recorded("1d")),
    "btc-flush-7d-by-tier-real": lambda: map_figure(
        _btc("7d", at=FLUSH), by_tier=True, real=_recorded("7d")
    ),
    "btc-1d-trader-levels": lambda: map_figure(_btc("1d"), levels=TRADER_LEVELS),
}


@pytest.mark.parametrize("case", list(CASES))
def test_labels_overlap_nothing_and_stay_inside(case: str) -> None:
    fig = CASES[case]()
    fig.canvas.draw()  # type: ignore[attr-defined]
    labels = _cluster_labels(fig)
    # the price marker plus the two nearest and the largest each side (deduplicated)
    assert len(labels) >= 4
    frame = fig.axes[0].get_window_extent()
    for (a, box_a), (b, box_b) in itertools.combinations(labels, 2):
        assert not box_a.overlaps(box_b), (a.get_text(), b.get_text())
    bars = _bars(fig)
    assert bars
    for t, box in labels:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, t.get_text()
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1, t.get_text()
        assert not any(box.overlaps(bar) for bar in bars), t.get_text()
    # every text of the figure (titles, ticks, legend) is inside the picture
    page = fig.bbox
    for t, box in _boxes(fig):
        assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1, t.get_text()
    # tick labels of each axis do not collide with each other
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            hidden = _hidden_ticks(fig)
            ticks = [
                t.get_window_extent()
                for t in axis.get_ticklabels()
                if t.get_text() and id(t) not in hidden
            ]
            assert not any(a.overlaps(b) for a, b in itertools.combinations(ticks, 2))


def test_labels_name_the_cluster_notional_and_the_largest_each_side() -> None:
    r = _btc("1d")
    fig = map_figure(r)
    text = "\n".join(t.get_text() for t in fig.axes[0].texts)
    largest_below = max(r.clusters.below, key=lambda c: c.notional)
    largest_above = max(r.clusters.above, key=lambda c: c.notional)
    assert "largest" in text and "nearest" in text
    for c in (largest_below, largest_above, *r.nearest(2)[0], *r.nearest(2)[1]):
        assert f"{c.near_edge():,.1f}" in text


def test_pepe_priced_map_has_distinct_nonzero_price_ticks() -> None:
    fig = map_figure(scaled_report("PEPE/USDT:USDT", PEPE))
    fig.canvas.draw()  # type: ignore[attr-defined]
    ticks = [t.get_text() for t in fig.axes[1].get_xticklabels() if t.get_text()]
    assert len(ticks) >= 3
    assert len(set(ticks)) == len(ticks)
    assert all(float(t.replace(",", "")) > 0 and "e" not in t.lower() for t in ticks)


def test_volume_proxy_map_and_heatmap_show_no_dollar_sign() -> None:
    at = parse_utc_ms("2025-06-01T12:00")
    src = ReplaySource()
    r = make_report(src, "ETH", "7d", at)
    assert r.liq.model == "volume-proxy"
    for fig in (
        map_figure(r),
        heatmap_figure(make_heatmap(src, "ETH", "7d", at), "7d", src.venues),
    ):
        fig.canvas.draw()  # type: ignore[attr-defined]
        texts = [t.get_text() for t, _ in _boxes(fig)]
        assert texts and not [t for t in texts if "$" in t]
        assert any("relative" in t for t in texts)


def test_heatmap_says_when_and_where_price_is() -> None:
    src = ReplaySource()
    h = make_heatmap(src, "BTC", "30d", DEFAULT_AT)
    fig = heatmap_figure(
        h, "30d", src.venues, candles=src.window_candles("BTC", "30d", DEFAULT_AT)[0]
    )
    fig.canvas.draw()  # type: ignore[attr-defined]
    texts = [t.get_text() for t, _ in _boxes(fig)]
    assert any("as of 2025-10-10 20:00 UTC" in t for t in texts)
    assert "116,605.3" in texts  # the current-price marker
    dates = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert 2 <= len(dates) <= 5 and len(set(dates)) == len(dates)
    boxes = [t.get_window_extent() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def _dots(ax: Axes) -> list[tuple[float, float, float, str]]:
    """(x data, y data, diameter pt, colour) of every dot drawn in ``ax``."""
    out = []
    for coll in ax.collections:
        if not isinstance(coll, PathCollection):
            continue
        offsets = coll.get_offsets()
        n = len(offsets)
        colours = [to_hex(c) for c in coll.get_facecolors()]
        sizes = np.broadcast_to(coll.get_sizes(), (n,))
        for i, (x, y) in enumerate(offsets):
            out.append((float(x), float(y), float(np.sqrt(sizes[i])), colours[i % len(colours)]))
    return out


def test_map_marks_the_real_liquidations_of_its_window_in_a_strip() -> None:
    r = _btc("1d", at=FLUSH)
    real = _recorded("1d")
    # 06:30 .. 20:30: 15 hours x 2 sides x 3 venues of the recorded file
    assert len(real.prints) == 90
    fig = map_figure(r, real=real)
    fig.canvas.draw()  # type: ignore[attr-defined]
    bars, strip = fig.axes[0], fig.axes[2]
    dots = _dots(strip)
    assert dots and not _dots(bars)
    longs = [d for d in dots if d[3] == LONG_DOT]
    shorts = [d for d in dots if d[3] == SHORT_DOT]
    # mirrored: shorts above the centre line, longs below; one dot per price bar with prints
    assert longs and shorts and all(d[1] < 0.5 for d in longs) and all(d[1] > 0.5 for d in shorts)
    # every print is on the chart (the price range widened to the 71.6k of the morning), each
    # next to a dot of its side: one dot per price bar (~1/110 of the range) with prints
    lo, hi = strip.get_xlim()
    bar = (hi - lo) / 100
    for p in real.prints:
        near = longs if p.side == "long" else shorts
        assert min(abs(d[0] - p.price) for d in near) < bar, p
    assert len(longs) <= len({p.price for p in real.prints if p.side == "long"})
    assert lo <= min(p.price for p in real.prints) and max(p.price for p in real.prints) <= hi
    # sized by USD: the 20:30 flush ($134M of longs at 63,735.4) is the biggest dot
    biggest = max(dots, key=lambda d: d[2])
    assert biggest[3] == LONG_DOT and abs(biggest[0] - 63_735.4) < (hi - lo) / 100
    assert min(d[2] for d in dots) >= 3.0  # still a dot at 430 px
    texts = [t.get_text() for t, _ in _boxes(fig)]
    line = f"real liquidations (recorded): \\{fmt.usd(real.long_usd)} long"
    assert any(t.startswith(line) for t in texts), texts
    assert real.long_usd == pytest.approx(
        sum(p.usd for p in real.prints if p.side == "long"), rel=1e-12
    )
    # legend lines and ticks do not collide with each other anywhere on the page
    legend_boxes = [b for t, b in _boxes(fig) if t.axes is None]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(legend_boxes, 2))


def test_map_without_real_prints_has_no_strip() -> None:
    r = _btc("1d", at=FLUSH)
    empty = RealLiquidations(())
    for fig in (map_figure(r), map_figure(r, real=empty)):
        assert len(fig.axes) == 2
        assert not any("real liquidations" in t.get_text() for t in fig.findobj(Text))


def test_heatmap_marks_real_liquidations_at_time_and_price() -> None:
    src = ReplaySource()
    h = make_heatmap(src, "BTC", "1d", FLUSH)
    real = _recorded("1d")
    candles = src.window_candles("BTC", "1d", FLUSH)[0]
    fig = heatmap_figure(h, "1d", src.venues, candles=candles, real=real)
    fig.canvas.draw()  # type: ignore[attr-defined]
    ax = fig.axes[0]
    dots = _dots(ax)
    # one dot per hour and side (the three venues' prints of an hour share a cell)
    assert len(dots) == 30
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y, _, _ in dots)
    flush = max(dots, key=lambda d: d[2])
    when = mdates.num2date(flush[0])
    assert (when.hour, when.minute, flush[3]) == (20, 30, LONG_DOT)
    assert flush[1] == pytest.approx(63_735.4)
    page = fig.bbox
    boxes = _boxes(fig)
    for t, box in boxes:
        assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1, t.get_text()
    # the legend line sits under the subtitles and overlaps no other figure text
    figure_texts = [(t, b) for t, b in boxes if t.axes is None]
    assert any("real liquidations (recorded)" in t.get_text() for t, _ in figure_texts)
    for (a, box_a), (b, box_b) in itertools.combinations(figure_texts, 2):
        assert not box_a.overlaps(box_b), (a.get_text(), b.get_text())
    assert all(ax.get_window_extent().y1 < b.y0 for t, b in figure_texts if "real" in t.get_text())


def test_the_largest_cluster_outranks_the_second_nearest_for_a_label() -> None:
    """When labels compete for room, each side's nearest comes first, then its largest, and the
    second nearest last ("2nd nearest" is not "nearest")."""
    from bot.views.charts import marked_clusters

    r = make_report(ReplaySource(), "BTC", "1d", parse_utc_ms("2026-02-05T20:55Z"))
    tags = [tag.split(", ") for _, tag in marked_clusters(r)]
    first_second = next(i for i, t in enumerate(tags) if "2nd nearest" in t)
    assert all("nearest" in t or "largest" in t for t in tags[:first_second])
    assert any("largest" in t and "nearest" not in t for t in tags[:first_second])


def test_heatmap_draws_the_traders_levels_labelled_and_its_times_in_the_chats_zone() -> None:
    src = ReplaySource()
    h = make_heatmap(src, "BTC", "1d", DEFAULT_AT)
    fig = heatmap_figure(h, "1d", src.venues, levels=TRADER_LEVELS, zone="Etc/GMT-3")
    fig.canvas.draw()  # type: ignore[attr-defined]
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    across = {  # the lines drawn across the whole plot: (price, colour)
        (round(float(line.get_ydata()[0]), 1), to_hex(line.get_color()))
        for line in ax.lines
        if list(line.get_xdata()) == [0, 1]
    }
    for v in TRADER_LEVELS:  # each level in view, its line in its kind's colour, labelled
        assert lo < v.price < hi and (v.price, LEVEL_STYLE[v.kind][0]) in across, v
    frame = ax.get_window_extent()
    labels = [t for t in ax.texts if any(v.label in t.get_text() for v in TRADER_LEVELS)]
    assert {v.label for v in TRADER_LEVELS} <= {
        x for t in labels for x in t.get_text().split(" · ")
    }
    boxes = [t.get_bbox_patch().get_window_extent() for t in labels]  # type: ignore[union-attr]
    for t, box in zip(labels, boxes, strict=True):
        assert t.get_fontsize() >= LABEL_PT  # ~13 px tall shown 430 px wide
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0, t.get_text()
        assert box.y1 <= frame.y1, t.get_text()
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    # the chat's zone: in the subtitle and on the time axis
    texts = [t.get_text() for t, _ in _boxes(fig)]
    assert any("as of 2025-10-10 23:00 UTC+03:00" in t for t in texts), texts
    local = zone_info("Etc/GMT-3")
    for label, loc in zip(ax.get_xticklabels(), ax.get_xticks(), strict=True):
        if label.get_text():
            assert label.get_text() == mdates.num2date(loc, tz=local).strftime("%H:%M")


def test_the_map_says_its_moment_in_the_chats_zone() -> None:
    r = _btc("1d")
    assert map_title(r, "", "Etc/GMT-3")[1][0].endswith("· 2025-10-10 23:00 UTC+03:00")
    assert map_title(r, "")[1][0].endswith("· 2025-10-10 20:00 UTC")
    assert map_title(r, "")[0].startswith("BTC liquidation map")
