"""Charts read on a phone: labels measured in the rendered figure overlap nothing, tick labels
of a PEPE-priced map are distinct numbers, a volume-proxy map shows no dollar sign."""

from __future__ import annotations

import itertools

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from bot.clock import parse_utc_ms
from bot.pipeline.heatmaps import make_heatmap
from bot.views.charts import heatmap_figure, map_figure
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


def _btc(window: str, tiers: tuple[float, ...] | None = None) -> MapReport:
    return make_report(ReplaySource(), "BTC", window, DEFAULT_AT, ModelSettings(tier_filter=tiers))


CASES = {
    "btc-1d": lambda: map_figure(_btc("1d")),
    "btc-7d-by-tier": lambda: map_figure(_btc("7d"), by_tier=True),
    "btc-30d-10-25x": lambda: map_figure(_btc("30d", (10.0, 25.0))),
    "pepe-1d": lambda: map_figure(scaled_report("PEPE/USDT:USDT", PEPE)),
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
