"""Charts are drawn in a worker process, never in a thread of the bot.

Why a process: a matplotlib thread starves the event loop of the GIL. Measured here, a thread
drawing a 400-bar chart in a loop delays a 5 ms asyncio timer by 98 ms at the median and 400 ms
at worst (its many short numpy calls release and retake the GIL, and CPython only forces a
hand-over to a waiting thread when nobody else took the GIL meanwhile), so a render thread stalls
every chat, the send limiter and the SQLite commits of the loop. A process has its own GIL. The
numpy part of a heatmap (hundreds of map columns, ~12 MB at its peak for 30 days) runs there too,
so neither its time nor its memory lands on the bot.

One worker per bot process (``chart_worker``: a fresh interpreter, as forking a process that runs
threads and holds SQLite connections is unsafe), shared by every ``MapService``, fed through a
pipe by one thread of the bot. If the worker dies (killed, out of memory) a new one is started
and the chart drawn once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, TypeVar, cast

from bot.pipeline.chart_worker import read_frame, write_frame
from bot.pipeline.heatmaps import HeatmapInputs, heatmap_columns
from bot.views.real_prints import RealLiquidations
from bot.views.report import MapReport
from liqmap import ModelSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


# --- what the worker runs (module-level: they travel by name) -----------------------------------


def warm() -> int:
    """Import matplotlib and the chart code before the first request needs them."""
    import bot.views.charts  # noqa: F401

    return os.getpid()


def draw_map(report: MapReport, by_tier: bool, real: RealLiquidations | None) -> bytes:
    from bot.views.charts import render_map  # matplotlib only in the worker

    return render_map(report, by_tier=by_tier, real=real)


def draw_heatmap(
    inputs: HeatmapInputs,
    settings: ModelSettings | None,
    window: str,
    venues: tuple[str, ...],
    tiers: Sequence[float] | None,
    real: RealLiquidations | None,
) -> bytes:
    from bot.views.charts import render_heatmap  # matplotlib only in the worker

    heat = heatmap_columns(inputs, settings)
    return render_heatmap(heat, window, venues, tiers=tiers, real=real)


# --- the bot's side -----------------------------------------------------------------------------


class RenderTimeout(TimeoutError):
    """A chart took longer than the renderer allows; its worker was stopped."""


class WorkerDied(RuntimeError):
    """The chart worker exited (killed, out of memory) before it answered."""


class _Worker:
    """One chart worker process and its pipe."""

    def __init__(self) -> None:
        # The worker finds the bot's modules (and a test's) where this process found them, and
        # gets none of the bot's settings: it draws, so it needs no token, secret or URL.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LIQBOT_", "TELEGRAM_"))}
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in sys.path)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.pipeline.chart_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )  # fmt: skip

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any]:
        try:
            write_frame(cast(IO[bytes], self.proc.stdin), pickle.dumps((fn, args), protocol=5))
            answer = read_frame(cast(IO[bytes], self.proc.stdout))
            if answer is None:
                raise WorkerDied(f"exit code {self.proc.poll()}")
            return cast(tuple[str, Any], pickle.loads(answer))
        except (OSError, ValueError, pickle.UnpicklingError, EOFError) as exc:
            # a broken or closed pipe, or a stream out of step: this worker is done
            self.proc.kill()
            raise WorkerDied(str(exc)) from None

    def stop(self, kill: bool = False) -> None:
        """End the worker without blocking: closing its stdin ends an idle one (it reads EOF);
        ``kill`` ends a busy one too."""
        if kill:
            self.proc.kill()
        threading.Thread(target=self._end, name="liqbot-charts-reap", daemon=True).start()

    def _end(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
        self.proc.wait()  # reaped: no zombie left


class Renderer:
    """One chart worker process, fed one call at a time, replaced if it dies or hangs.

    ``timeout``: seconds one chart may take (a 30-day heatmap takes about 1 s). Past it the worker
    is killed, so one stuck chart cannot queue every later chart behind it (and, with each
    chat's updates in order, that chat's later commands)."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        # One thread talks to the worker: calls queue here without holding a thread each.
        self._caller = ThreadPoolExecutor(1, thread_name_prefix="liqbot-charts")

    def _current(self) -> _Worker:
        with self._lock:
            if self._worker is None:
                self._worker = _Worker()
            return self._worker

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        worker = self._current()
        try:
            status, value = worker.call(fn, args)
        except WorkerDied:
            self._discard(worker)
            raise
        if status == "error":
            raise value
        return cast(T, value)

    def start(self) -> None:
        """Start the worker now and let it import matplotlib (~1 s) while the bot starts."""
        self._caller.submit(self._call, warm, ())

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the worker (``fn`` module-level, arguments picklable)."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            try:
                return await asyncio.wait_for(
                    loop.run_in_executor(self._caller, self._call, fn, args), timeout=self.timeout
                )
            except TimeoutError:
                log.error("chart worker took over %g s on %s; stopping it", self.timeout,
                          getattr(fn, "__name__", fn))  # fmt: skip
                with self._lock:
                    worker = self._worker
                if worker is not None:
                    self._discard(worker, kill=True)
                raise RenderTimeout(f"chart not drawn within {self.timeout:g} s") from None
            except WorkerDied:
                log.warning("chart worker died (attempt %d); starting a new one", attempt)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _discard(self, worker: _Worker, kill: bool = False) -> None:
        with self._lock:
            if self._worker is worker:
                self._worker = None
        worker.stop(kill=kill)

    def close(self) -> None:
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()


_shared = Renderer()


def shared() -> Renderer:
    """The bot process's renderer (one worker process, whatever the number of services)."""
    return _shared
