"""Charts are drawn in the chart worker process, and a dead worker is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.clock import ReplayClock
from bot.pipeline.maps import MapService
from bot.render.calls import warm
from bot.render.renderer import Renderer, RenderTimeout, shared
from market.replay import DEFAULT_AT, ReplaySource

PNG = b"\x89PNG"
ROOT = Path(__file__).resolve().parents[1]


async def test_charts_are_drawn_in_another_process_and_survive_its_death() -> None:
    renderer = Renderer()  # its own worker: killing it leaves the suite's shared one alone
    maps = MapService(ReplaySource(), ReplayClock(DEFAULT_AT), 300_000, renderer=renderer)
    try:
        worker = await renderer.run(warm)  # the worker's pid
        assert worker != os.getpid()

        report = await maps.report("BTC", "1d")
        assert (await maps.chart(report)).startswith(PNG)

        os.kill(worker, signal.SIGKILL)  # out of memory, or killed by hand
        heat = await maps.heatmap("BTC", "1d")
        assert heat.startswith(PNG)
        assert await renderer.run(warm) != worker
    finally:
        maps.close()
        renderer.close()


def stuck(seconds: float) -> int:
    """A chart that never finishes (run in the worker: module-level, found by name)."""
    time.sleep(seconds)
    return os.getpid()


async def test_a_stuck_chart_is_stopped_and_the_next_one_drawn() -> None:
    renderer = Renderer(timeout=60.0)
    try:
        worker = await renderer.run(warm)  # started and warm: a busy machine takes seconds
        renderer.timeout = 1.0
        with pytest.raises(RenderTimeout):
            await renderer.run(stuck, 30.0)
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not _alive(worker)  # killed, not left running its 30 s
        renderer.timeout = 60.0  # the fresh worker's start is not the stuck chart's
        assert await renderer.run(stuck, 0.0) != worker  # a fresh worker answers
    finally:
        renderer.close()


def fails_loudly(message: str) -> int:
    """A chart that prints to stdout (the worker's protocol pipe, were it not moved) and fails."""
    print("a stray line on stdout")
    raise ValueError(message)


async def test_a_failing_chart_raises_its_error_and_the_worker_goes_on() -> None:
    renderer = shared()  # the worker every chart of this test process uses: it must go on
    worker = await renderer.run(warm)
    with pytest.raises(ValueError, match="bad input"):
        await renderer.run(fails_loudly, "bad input")
    assert await renderer.run(warm) == worker  # same process, its pipe intact


def environment_names() -> list[str]:
    return sorted(os.environ)


async def test_the_worker_gets_no_token_or_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:secret")
    monkeypatch.setenv("LIQBOT_WEBHOOK_SECRET", "s3cret")
    renderer = Renderer()
    try:
        names = await renderer.run(environment_names)
    finally:
        renderer.close()
    assert "PATH" in names
    assert not [n for n in names if n.startswith(("TELEGRAM_", "LIQBOT_"))]


def raises_timeout() -> int:
    raise TimeoutError("the venue did not answer")  # a chart's own error, not the renderer's


async def test_a_charts_own_timeout_error_is_not_taken_for_the_renderers() -> None:
    renderer = shared()  # the suite's worker: a chart's error must not cost it
    worker = await renderer.run(warm)
    with pytest.raises(TimeoutError, match="venue") as caught:
        await renderer.run(raises_timeout)
    assert not isinstance(caught.value, RenderTimeout)
    assert await renderer.run(warm) == worker  # not killed


ORPHAN = """
import asyncio, sys, time
from bot.render.calls import warm
from bot.render.renderer import Renderer
from tests.test_renderer import stuck

async def main():
    renderer = Renderer(timeout=600)
    print(await renderer.run(warm), flush=True)
    if sys.argv[1] == "busy":  # the worker is in the middle of a chart when the bot dies
        asyncio.get_running_loop().create_task(renderer.run(stuck, 300.0))
    await asyncio.sleep(120)

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is left


@pytest.mark.parametrize("worker_state", ["idle", "busy"])
def test_the_worker_exits_when_the_bot_is_killed(worker_state: str) -> None:
    """A SIGKILL runs no clean-up: an idle worker reads the end of its stdin, a busy one sees
    its parent gone, and either leaves."""
    bot = subprocess.Popen(
        [sys.executable, "-c", ORPHAN, worker_state], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert bot.stdout is not None
        worker = int(bot.stdout.readline())
        assert _alive(worker)
        time.sleep(0.3)  # the stuck chart under way
    finally:
        bot.kill()
        bot.wait()
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)
