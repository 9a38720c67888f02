"""Maps for the bot: one report and one chart per (symbol, window, refresh), shared by all users.

A hundred users asking for the same map within one refresh cost one build and one render. Reports
are built in a worker thread (numpy, reading the source); charts and heatmaps are drawn in the
chart worker process (``renderer``: matplotlib would hold the GIL, and the event loop with it).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from bot.clock import Clock
from bot.pipeline.heatmaps import heatmap_inputs
from bot.render import calls
from bot.render.renderer import Renderer, shared
from bot.views.levels import TraderLevel
from bot.views.real_prints import RealLiquidations
from bot.views.report import MapReport, make_report
from liqmap import ModelSettings
from market.source import MarketSource


class _Cache:
    """A small LRU of finished values with one in-flight computation per key."""

    def __init__(self, size: int, max_bytes: int | None = None) -> None:
        self.size = size
        self.max_bytes = max_bytes  # for bytes values (PNGs): the total kept
        self._bytes = 0
        self._done: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._locks: dict[tuple[Any, ...], asyncio.Lock] = {}
        self.misses = 0

    async def get(self, key: tuple[Any, ...], make: Callable[[], Awaitable[Any]]) -> Any:
        if key in self._done:
            self._done.move_to_end(key)
            return self._done[key]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key in self._done:
                return self._done[key]
            self.misses += 1
            value = await make()
            self._done[key] = value
            self._bytes += len(value) if isinstance(value, bytes) else 0
            while len(self._done) > self.size or (
                self.max_bytes is not None and self._bytes > self.max_bytes and len(self._done) > 1
            ):
                _, old = self._done.popitem(last=False)
                self._bytes -= len(old) if isinstance(old, bytes) else 0
        self._locks.pop(key, None)
        return value


class MapService:
    """Reports and charts at the clock's current refresh tick."""

    def __init__(
        self,
        source: MarketSource,
        clock: Clock,
        refresh_ms: int,
        settings: ModelSettings | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        self.source = source
        self.clock = clock
        self.refresh_ms = refresh_ms
        self.settings = settings or ModelSettings()
        # Per symbol, the settings the weekly refit adopted (bot.pipeline.map_refit): none yet
        # means ``settings``. Part of the report's cache key.
        self.by_symbol: dict[str, ModelSettings] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="liqbot-maps")
        self.renderer = renderer or shared()
        # Sized for one refresh of 20 symbols: a report is ~70 kB (20 symbols x 3 windows), a
        # chart 100-200 kB (the default maps and a few heatmaps). The LRU drops the previous
        # refresh's first, which no request at the new tick reads. Digest charts live in the
        # outbox's media table, not here.
        self._reports = _Cache(64)
        self._charts = _Cache(48, max_bytes=4_000_000)

    def tick(self, now_ms: int | None = None) -> int:
        """The refresh moment that a request at ``now_ms`` sees (floored to the interval)."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        return now - now % self.refresh_ms

    async def _in_thread(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def in_thread(self, fn: Callable[[], Any]) -> Any:
        """``fn`` in the maps' thread, off the event loop (the interactive map reads the source
        there too)."""
        return await self._in_thread(fn)

    def _sliced(self, tiers: tuple[float, ...] | None, symbol: str = "") -> ModelSettings:
        base = self.by_symbol.get(symbol, self.settings)
        return replace(base, tier_filter=tiers) if tiers else base

    async def report(
        self,
        symbol: str,
        window: str,
        at: int | None = None,
        tiers: tuple[float, ...] | None = None,
    ) -> MapReport:
        tick = self.tick() if at is None else at
        # The live store's version changes after each refresh: a map drawn mid-refresh is not
        # served (or alerted on) once the new data is in.
        settings = self._sliced(tiers, symbol)
        key = (symbol, window, tick, self.source.version, tiers, repr(settings))
        report: MapReport = await self._reports.get(
            key,
            lambda: self._in_thread(
                lambda: make_report(self.source, symbol, window, tick, settings)
            ),
        )
        return report

    async def chart(
        self,
        report: MapReport,
        by_tier: bool = False,
        real: RealLiquidations | None = None,
        levels: tuple[TraderLevel, ...] = (),
        zone: str = "UTC",
    ) -> bytes:
        """``real``: the window's recorded prints, marked under the bars (the feed keeps
        recording within a refresh, so their count and last time are part of the key).
        ``levels``: one trader's entries, liquidations, stops and price alerts (a chart without
        them is shared by everyone; one with them is that trader's). ``zone``: the chat's, the
        time drawn in the subtitle (part of the key: a chart is shared only within a zone)."""
        # Same symbol, window and moment but different data (a refresh landed) -> other totals.
        liq = report.liq
        key = (
            "map",
            report.symbol,
            report.window,
            liq.as_of,
            liq.total_long,
            liq.total_short,
            tuple(t.leverage for t in liq.tiers),
            by_tier,
            real.cache_key() if real else None,
            levels,
            zone,
        )
        png: bytes = await self._charts.get(
            key, lambda: self.renderer.run(calls.draw_map, report, by_tier, real, levels, zone)
        )
        return png

    async def heatmap(
        self,
        symbol: str,
        window: str,
        tiers: tuple[float, ...] | None = None,
        real: RealLiquidations | None = None,
        at: int | None = None,
        levels: tuple[TraderLevel, ...] = (),
        zone: str = "UTC",
    ) -> bytes:
        """``at``: the refresh tick the caller read ``real`` for (default: now's); ``levels``
        and ``zone``: one trader's prices and the chat's zone, drawn, so part of the key (as
        for :meth:`chart`)."""
        tick = self.tick() if at is None else at
        source = self.source
        settings = self._sliced(tiers, symbol)

        venues = source.venues

        async def draw() -> bytes:
            # Candles are read here (the source lives in this process); the columns are computed
            # and drawn in the worker.
            inputs = await self._in_thread(lambda: heatmap_inputs(source, symbol, window, tick))
            return await self.renderer.run(
                calls.draw_heatmap, inputs, settings, window, venues, tiers, real, levels, zone
            )

        refit = repr(settings) if symbol in self.by_symbol else ""
        real_key = real.cache_key() if real else None
        key = ("heat", symbol, window, tick, tiers, real_key, refit, levels, zone)
        png: bytes = await self._charts.get(key, draw)
        return png

    @property
    def renders(self) -> int:
        return self._charts.misses

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
