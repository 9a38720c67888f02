"""`liqbot demo`, run as the README's first command runs it: offline, no token, ends by itself."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.clock import ReplayClock

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[1]


def test_demo_plays_the_cascade_day_and_ends_by_itself(tmp_path: Path) -> None:
    out = tmp_path / "charts"
    # no token, no settings; PYTHONPATH: the tree under test, not an installed copy
    env_free = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    # 14,400x: the demo's pace holds market time while the bot is behind (an answer, a tick, a
    # due message, a streamed print), so any speed replays the same day on any machine
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", "--out", str(out), "--speed", "14400"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_free,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    head = [proc.stdout.readline(), proc.stdout.readline()]
    # the interactive map is served as soon as its address is printed, while the demo runs
    page = re.search(r"^Interactive map: (http://127\.0\.0\.1:\d+/)\S*", head[1])
    assert page, head
    api = page.group(1) + "api/map?symbol=BTC&window=1d"
    with urllib.request.urlopen(api, timeout=30) as answer:  # the demo, from loopback
        assert "heatmap" in json.loads(answer.read())
    forged = urllib.request.Request(api, headers={"Authorization": "tma user=1&hash=00"})
    with pytest.raises(urllib.error.HTTPError, match="401"):
        urllib.request.urlopen(forged, timeout=30)
    try:  # it must end by itself; how fast is a figure, not a test a slow machine would fail
        rest, stderr = proc.communicate(timeout=600)
    finally:
        proc.kill()  # no-op once it ended; a demo that hangs fails and leaves no process
    r = subprocess.CompletedProcess(proc.args, proc.returncode, "".join(head) + rest, stderr)
    assert r.returncode == 0, r.stderr[-2000:]
    log = r.stdout
    for said in (  # at their scripted market moments, however busy the machine
        "[10-10 12:06 UTC] trader: /open BTC long 121500 20 10000",
        "[10-10 12:12 UTC] trader: /watch ETH",
        "[10-10 12:15 UTC] trader: /quiet 02:00-06:00",
        "[10-10 23:20 UTC] trader: /close 1",
        "[02-05 20:45 UTC] trader: /liqs BTC 24h",
    ):
        assert said in log, said
    assert "Watching position #1" in log and "Closed #1" in log
    # act two: recorded real prints -> fake venues -> ccxt.pro -> the feed -> SQLite -> /liqs
    assert "trader: /liqs BTC 24h" in log
    liqs = log[log.index("trader: /liqs BTC 24h") :]
    assert "BTC real liquidations, last 24h" in liqs
    for venue in ("Binance", "Bybit", "OKX"):
        assert re.search(
            rf"{venue}: longs \$[\d.]+M, shorts \$[\d.]+M \(30 prints\); "
            r"connected 1[0-9](\.\d)?h of 24h",
            liqs,
        ), liqs[:1500]
    assert "No stream: Bitget" in liqs and "Largest prints" in liqs
    cascade = log.index("BTC long liquidation cascade now")
    assert log.index("trader: /watch BTC") < cascade < log.index("trader: /liqs BTC 24h")
    # the 20:00 hour's $134M long flush, once
    assert log.count("$134M of longs force-closed") == 1
    # the 20:55 /map quotes the 20:00 close; the feed already printed below its first clusters
    assert "Since 20:00 UTC longs were liquidated down to 63,735.4 (feed)" in log
    done = re.search(r"Done: (\d+) bot messages, (\d+) alerts, (\d+) digests, (\d+) charts", log)
    assert done, log[-1500:]
    messages, alerts, digests, charts = (int(x) for x in done.groups())
    assert messages > alerts + digests
    assert alerts >= 5 and digests >= 2 and charts >= 3
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == charts and all(p.read_bytes()[:8] == PNG_MAGIC for p in pngs)
    assert "Traceback" not in r.stderr


def test_a_held_replay_clock_moves_only_when_stepped() -> None:
    class Wall:
        ms = 0

        def now_ms(self) -> int:
            return self.ms

    wall = Wall()
    clock = ReplayClock(1_000, speed=100.0, wall=wall)
    wall.ms = 10
    assert clock.now_ms() == 2_000
    clock.hold()
    wall.ms = 1_000  # a busy machine: wall time passes, the held market does not
    assert clock.now_ms() == 2_000
    clock.advance(500)
    clock.jump(speed=200.0)  # the demo's faster stretch keeps the hold
    assert clock.now_ms() == 2_500 and clock.held
    clock.release()
    wall.ms = 1_010
    assert clock.now_ms() == 4_500 and not clock.held
