"""How long the event loop is blocked while the demo runs (the bot's whole day: commands,
charts, alert passes, digests, the outbox).

A probe task asks to wake every 5 ms; how late it wakes is how long something else held the
loop. asyncio's own debug mode reports the slowest callbacks by name (>= 100 ms).

    python -m benchmarks.bench_loop_block [--speed 1800]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.demo import SPEED, run_demo

PERIOD = 0.005


async def probe(lags: list[float]) -> None:
    while True:
        t0 = time.perf_counter()
        await asyncio.sleep(PERIOD)
        lags.append(time.perf_counter() - t0 - PERIOD)


async def main(speed: float) -> None:
    loop = asyncio.get_running_loop()
    loop.slow_callback_duration = 0.1
    slow: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "took" in record.getMessage():
                slow.append(record.getMessage()[:600])

    logging.getLogger("asyncio").addHandler(Collect())
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    lags: list[float] = []
    task = asyncio.create_task(probe(lags))
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        await run_demo(Path(out), speed, echo=lambda _: None)
        elapsed = time.perf_counter() - t0
    task.cancel()
    lag_ms = np.array(lags) * 1000
    print(f"demo at {speed:g}x: {elapsed:.1f} s, {lag_ms.size} probe wake-ups")
    print(
        f"event-loop block (probe lateness): max {lag_ms.max():.1f} ms, "
        f"p99 {np.percentile(lag_ms, 99):.1f} ms, p50 {np.percentile(lag_ms, 50):.1f} ms, "
        f"{int((lag_ms > 100).sum())} wake-ups later than 100 ms"
    )
    print(f"asyncio debug: {len(slow)} callbacks >= 100 ms")
    for line in slow[:10]:  # the coroutine named in each line is where to look
        print("  " + line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--speed", type=float, default=SPEED)
    asyncio.run(main(parser.parse_args().speed), debug=True)
