"""Charts are drawn in the chart worker process, and a dead worker is replaced."""

from __future__ import annotations

import os
import signal

from bot.clock import ReplayClock
from bot.pipeline.maps import MapService
from bot.pipeline.renderer import Renderer, warm
from market.replay import DEFAULT_AT, ReplaySource

PNG = b"\x89PNG"


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
