"""Charts are drawn in a worker process, never in a thread of the bot.

Why a process: a matplotlib thread starves the event loop of the GIL (its many short numpy calls
release and retake the GIL, and CPython only forces a hand-over to a waiting thread when nobody
else took the GIL meanwhile), so a render thread stalls every chat, the send limiter and the
SQLite commits of the loop (figures: README, "One update never blocks another"). A process has
its own GIL. The numpy part of a heatmap runs there too, so neither its time nor its memory lands
on the bot.

One worker per bot process (``worker``: a fresh interpreter, as forking a process that runs
threads and holds SQLite connections is unsafe), shared by every ``MapService``, fed through a
pipe by one thread of the bot. If the worker dies (killed, out of memory) a new one is started
and the chart drawn once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, TypeVar, cast

from bot.render.calls import warm
from bot.render.worker import BOOT, read_frame, write_frame

log = logging.getLogger(__name__)
T = TypeVar("T")


class RenderTimeout(TimeoutError):
    """A chart was not drawn within the renderer's timeout (the worker drawing it, if it had
    started, was stopped)."""


class WorkerDied(RuntimeError):
    """The chart worker exited (killed, out of memory) before it answered."""


class _Worker:
    """One chart worker process and its pipe."""

    def __init__(self) -> None:
        # Isolated (-I: no PYTHON* variables, no script directory ahead of the standard library)
        # and without the bot's settings: it draws, so it needs no token, secret or URL. Its
        # sys.path is the bot's, sent first (worker.BOOT).
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LIQBOT_", "TELEGRAM_"))}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", BOOT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            path = [os.path.abspath(p) for p in sys.path]
            write_frame(cast(IO[bytes], self.proc.stdin), pickle.dumps(path))
        except OSError as exc:
            raise WorkerDied(f"chart worker not started: {exc}") from None

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any]:
        try:
            write_frame(cast(IO[bytes], self.proc.stdin), pickle.dumps((fn, args), protocol=5))
            answer = read_frame(cast(IO[bytes], self.proc.stdout))
            if answer is None:
                raise WorkerDied(f"exit code {self.proc.poll()}")
        except (OSError, ValueError) as exc:
            # a broken or closed pipe, or a stream out of step: this worker is done
            self.proc.kill()
            raise WorkerDied(str(exc)) from None
        try:
            return cast(tuple[str, Any], pickle.loads(answer))
        except Exception as exc:  # an exception this side cannot rebuild from its arguments
            return "error", RuntimeError(f"the chart failed; its error did not come back: {exc}")

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

    ``timeout``: seconds a chart may take, queue included (a 30-day heatmap takes well under
    1 s). Past it the caller gets ``RenderTimeout`` and, if its chart is being drawn, the worker
    is killed, so one stuck chart cannot queue every later chart behind it (and, with each
    chat's updates in order, that chat's later commands)."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self._calls = itertools.count()
        self._running: tuple[int, _Worker] | None = None  # the call being drawn, and where
        # One thread talks to the worker: calls queue here without holding a thread each.
        self._caller = ThreadPoolExecutor(1, thread_name_prefix="liqbot-charts")

    def _current(self) -> _Worker:
        with self._lock:
            if self._worker is None:
                self._worker = _Worker()
            return self._worker

    def _call(self, call: int, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        worker = self._current()
        with self._lock:
            self._running = (call, worker)
        try:
            status, value = worker.call(fn, args)
        except WorkerDied:
            self._discard(worker)
            raise
        finally:
            with self._lock:
                self._running = None
        if status == "error":
            raise value
        return cast(T, value)

    def start(self) -> None:
        """Start the worker now and let it import matplotlib (~1 s) while the bot starts."""
        self._caller.submit(self._call, next(self._calls), warm, ())

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the worker (``fn`` module-level, arguments picklable); its exception,
        if it raises, with its type."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            call = next(self._calls)
            job = loop.run_in_executor(self._caller, self._call, call, fn, args)
            done, _ = await asyncio.wait({job}, timeout=self.timeout)
            if not done:
                job.cancel()  # if still queued, it never runs
                self._stop_if_running(call)
                log.error(
                    "chart not drawn within %g s (%s)", self.timeout, getattr(fn, "__name__", fn)
                )
                raise RenderTimeout(f"chart not drawn within {self.timeout:g} s")
            try:
                return job.result()
            except WorkerDied:
                log.warning("chart worker died (attempt %d); starting a new one", attempt)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _stop_if_running(self, call: int) -> None:
        """Kill the worker if it is drawing ``call``: never the one that took over, nor the
        next call's, when the chart finished just as time ran out."""
        with self._lock:
            running = self._running
        if running is not None and running[0] == call:
            self._discard(running[1], kill=True)

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
