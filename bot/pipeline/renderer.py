"""Charts are drawn in a worker process, never in a thread of the bot.

Why a process: a matplotlib thread starves the event loop of the GIL. Measured here, a thread
drawing a 400-bar chart in a loop delays a 5 ms asyncio timer by 98 ms at the median and 400 ms
at worst (its many short numpy calls release and retake the GIL, and CPython only forces a
hand-over to a waiting thread when nobody else took the GIL meanwhile), so a render thread stalls
every chat, the send limiter and the SQLite commits of the loop. A process has its own GIL. The
numpy part of a heatmap (hundreds of map columns, ~30 MB at its peak for 30 days) runs there too,
so neither its time nor its memory lands on the bot.

One worker per bot process, started on first use with ``spawn`` (forking a process that runs
threads and holds SQLite connections is unsafe) and shared by every ``MapService``. If the worker
dies (killed, out of memory) the pool is rebuilt and the chart drawn once more.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import wait
from typing import Any, TypeVar

from bot.pipeline.heatmaps import HeatmapInputs, heatmap_columns
from bot.pipeline.memory import release_freed_memory
from bot.views.real_prints import RealLiquidations
from bot.views.report import MapReport
from liqmap import ModelSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


# --- what the worker runs (module-level: they travel by name) -----------------------------------


def _exit_with_parent() -> None:
    """The worker's initializer: exit as soon as the bot's process is gone, however it ended
    (a SIGKILL runs no clean-up; an orphaned worker would hold its memory until the host
    restarts)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="liqbot-parent-watch", daemon=True).start()


def warm() -> int:
    """Import matplotlib and the chart code before the first request needs them."""
    import bot.views.charts  # noqa: F401

    return os.getpid()


def draw_map(report: MapReport, by_tier: bool, real: RealLiquidations | None) -> bytes:
    from bot.views.charts import render_map  # matplotlib only in the worker

    try:
        return render_map(report, by_tier=by_tier, real=real)
    finally:
        release_freed_memory()  # the figure's temporaries, back to the OS between charts


def draw_heatmap(
    inputs: HeatmapInputs,
    settings: ModelSettings | None,
    window: str,
    venues: tuple[str, ...],
    tiers: Sequence[float] | None,
    real: RealLiquidations | None,
) -> bytes:
    from bot.views.charts import render_heatmap  # matplotlib only in the worker

    try:
        heat = heatmap_columns(inputs, settings)
        return render_heatmap(heat, window, venues, tiers=tiers, real=real)
    finally:
        release_freed_memory()  # a 30-day heatmap's columns add ~30 MB at their peak


# --- the bot's side -----------------------------------------------------------------------------


class RenderTimeout(TimeoutError):
    """A chart took longer than the renderer allows; its worker was stopped."""


class Renderer:
    """A one-worker process pool, rebuilt if its worker dies or hangs.

    ``timeout``: seconds one chart may take (a 30-day heatmap takes about 1 s). Past it the worker
    is killed, so one stuck chart cannot queue every later chart behind it (and, with each
    chat's updates in order, that chat's later commands)."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_exit_with_parent,
                )
                self._pool.submit(warm)  # the import (~1 s) overlaps with the bot's start
            return self._pool

    def start(self) -> None:
        """Start the worker now rather than on the first chart."""
        self._executor()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the worker (``fn`` module-level, arguments picklable)."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self._executor()
            try:
                return await asyncio.wait_for(
                    loop.run_in_executor(pool, fn, *args), timeout=self.timeout
                )
            except TimeoutError:
                log.error("chart worker took over %g s on %s; stopping it", self.timeout,
                          getattr(fn, "__name__", fn))  # fmt: skip
                self._discard(pool, kill=True)
                raise RenderTimeout(f"chart not drawn within {self.timeout:g} s") from None
            except BrokenProcessPool:
                log.warning("chart worker died (attempt %d); starting a new one", attempt)
                self._discard(pool)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _discard(self, pool: ProcessPoolExecutor, kill: bool = False) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        if kill:  # a busy worker ignores shutdown(); the pool has no public kill
            for process in list(pool._processes.values()):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


_shared = Renderer()


def shared() -> Renderer:
    """The bot process's renderer (one worker process, whatever the number of services)."""
    return _shared
