"""What the chart worker runs: module-level functions (they travel to it by name) and the plain
data they take, so neither a chart's matplotlib time nor a heatmap's numpy peak lands on the bot.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from bot.views.levels import TraderLevel
from bot.views.real_prints import RealLiquidations
from bot.views.report import MapReport
from liqmap import Candles, Heatmap, ModelSettings, build_heatmap


@dataclass(frozen=True, eq=False)
class HeatmapInputs:
    """What a heatmap is computed from: plain data, so the chart worker can build it."""

    candles: Candles  # the window plus up to one window of warm-up, aligned to the columns
    symbol: str
    every: int  # candles per column
    columns: int  # the window's columns (the warm-up ones are dropped)


def heatmap_columns(inputs: HeatmapInputs, settings: ModelSettings | None) -> Heatmap:
    """The heatmap itself (numpy, no I/O): the window's columns, the warm-up dropped."""
    whole = len(inputs.candles) // inputs.every
    first = max(0, whole - inputs.columns)
    return build_heatmap(inputs.candles, inputs.symbol, inputs.every, settings, first=first)


def warm() -> int:
    """Import matplotlib and the chart code before the first request needs them."""
    import bot.views.charts  # noqa: F401

    return os.getpid()


def draw_map(
    report: MapReport,
    by_tier: bool,
    real: RealLiquidations | None,
    levels: tuple[TraderLevel, ...] = (),
    zone: str = "UTC",
) -> bytes:
    from bot.views.charts import render_map  # matplotlib only in the worker

    return render_map(report, by_tier=by_tier, real=real, levels=levels, zone=zone)


def draw_heatmap(
    inputs: HeatmapInputs,
    settings: ModelSettings | None,
    window: str,
    venues: tuple[str, ...],
    tiers: Sequence[float] | None,
    real: RealLiquidations | None,
    levels: tuple[TraderLevel, ...] = (),
    zone: str = "UTC",
) -> bytes:
    from bot.views.charts import render_heatmap  # matplotlib only in the worker

    heat = heatmap_columns(inputs, settings)
    return render_heatmap(heat, window, venues, tiers=tiers, real=real, levels=levels, zone=zone)
