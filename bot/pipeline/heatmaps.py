"""Heatmap over a window, seeded with one window of warm-up so early columns are not empty."""

from __future__ import annotations

from bot.render.calls import HeatmapInputs, heatmap_columns
from liqmap import Heatmap, ModelSettings
from liqmap.times import HOUR_MS
from market.source import WINDOW_MS, MarketSource

# A column an hour, every two hours over 30 days: 360 columns are still more than a phone shows
# across the plot (~290 px in a 430 px wide chat), and half the columns halve the largest
# chart's memory and time in the chart worker.
COLUMN_MS = {"30d": 2 * HOUR_MS}


def heatmap_inputs(source: MarketSource, symbol: str, window: str, at: int) -> HeatmapInputs:
    """Columns every hour (30 days: two) over ``window`` up to ``at``; positions seeded from up
    to one window earlier (less where the data starts later)."""
    unified = source.resolve(symbol)
    candles, timeframe = source.window_candles(unified, window, at)
    start = int(candles.time[0])
    warm = source.candles(unified, timeframe, start - WINDOW_MS[window], at)
    skip = int((warm.time < start).sum())
    every = max(1, COLUMN_MS.get(window, HOUR_MS) // warm.interval_ms)
    # Align columns to the window's end: drop leading candles that do not fill a column.
    lead = (len(warm) - skip) % every
    warm = warm.slice(skip % every if skip else lead, len(warm))
    return HeatmapInputs(warm, unified, every, len(candles) // every)


def make_heatmap(
    source: MarketSource, symbol: str, window: str, at: int, settings: ModelSettings | None = None
) -> Heatmap:
    """The heatmap of ``window`` up to ``at`` (see ``heatmap_inputs``)."""
    return heatmap_columns(heatmap_inputs(source, symbol, window, at), settings)
