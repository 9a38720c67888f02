"""Memory benchmark: what `liqbot run` holds following 20 symbols x 4 venues with 30 days of
history and 10,000 users.

* The fake venues (``tests/fakes/venues.py``, BTC, ETH and 18 synthetic coins) and the fake Bot
  API (``fakes/telegram_api.py``) run in their own processes; the bot runs in a child process of
  its own (``--worker``) so that nothing of the benchmark's set-up is counted in its RSS.
* Set-up (this process): a SQLite file filled by the real ``Refresher`` with a 31-day backfill
  of every (venue, symbol) from the fakes (ccxt's ``rateLimit`` lowered to 1 ms to fill it
  quickly; the bot itself runs with the defaults), then 10,000 users, each with a watch and
  half of them with a position, spread over the 20 symbols.
* The bot (worker): ``bot.app.build_services`` + ``build_application`` as `liqbot run` builds
  them (live market source, the fakes' URLs), the Bot API client initialised; the pipeline is
  driven the way the jobs drive it: ``--refreshes`` refreshes 5 minutes apart, each followed by
  the alert pass and map requests (report + chart of every symbol in 1d/7d/30d, 7-day heatmaps
  of four symbols and a 30-day one), then a digest round for all 10,000 users and a few seconds
  of sending. The live liquidation feed runs throughout, against fake
  Binance, Bybit and OKX websocket venues (``fakes/liquidation_ws.py``, each in its wire
  format) streaming ``--prints`` forced orders each at 500 a second. Not started: the polling
  loop.
* Printed: VmRSS after imports, after start and after each step, VmHWM (peak) of the bot and of
  its chart worker, the peak of their sum (sampled every 20 ms), and what holds it: the map
  caches (entries, bytes of their arrays and PNGs), the order books, the alert
  book; with ``--tracemalloc``, the top allocation sites (tracemalloc slows the run and adds its
  own memory: the RSS figures of that run are not the bot's).

Run: python benchmarks/bench_memory.py [--users 10000] [--refreshes 3] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VENUES = ("binanceusdm", "bybit", "okx", "bitget")
NOW = int(datetime(2025, 10, 21, 20, 0, tzinfo=UTC).timestamp() * 1000)  # a digest hour
STEP_MS = 5 * 60_000
WINDOWS = ("1d", "7d", "30d")


def _status(pid: str) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # gone meanwhile
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) / 1024
    return out


def _children(pid: str) -> list[str]:
    kids: list[str] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            kids += (task / "children").read_text().split()
    return kids


def proc_status() -> dict[str, float]:
    """VmRSS / VmHWM (peak RSS) of this process, and the same summed over its child processes
    (the chart worker), MB."""
    out = _status("self")
    kids = [_status(pid) for pid in _children(str(os.getpid()))]
    out["ChildRSS"] = sum(k.get("VmRSS", 0.0) for k in kids)
    out["ChildHWM"] = sum(k.get("VmHWM", 0.0) for k in kids)
    return out


# --- the bot (child process) ---------------------------------------------------------------------


def _nbytes(obj: Any, seen: set[int]) -> int:
    """Bytes of the numpy arrays and bytes objects reachable from ``obj`` (dataclasses, tuples,
    dicts), each counted once."""
    import dataclasses

    import numpy as np

    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes) if obj.base is None or id(obj.base) not in seen else 0
    if isinstance(obj, bytes | bytearray):
        return len(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(_nbytes(getattr(obj, f.name), seen) for f in dataclasses.fields(obj))
    if isinstance(obj, tuple | list):
        return sum(_nbytes(x, seen) for x in obj)
    if isinstance(obj, dict):
        return sum(_nbytes(v, seen) for v in obj.values())
    return 0


def holders(s: Any) -> dict[str, str]:
    maps = s.maps
    reports = list(maps._reports._done.values())
    charts = list(maps._charts._done.values())
    seen: set[int] = set()
    books = s.refresher.books if s.refresher else {}
    out = {
        "cached reports": f"{len(reports)}, {_nbytes(reports, set()) / 1e6:.1f} MB of arrays",
        "cached charts (PNG)": f"{len(charts)}, {sum(len(c) for c in charts) / 1e6:.1f} MB",
        "order books (refresher)": f"{len(books)}, {_nbytes(books, seen) / 1e6:.2f} MB",
        "alert book": (
            f"{_nbytes(vars(s.alert_book), set()) / 1e6:.1f} MB of arrays"
            if s.alert_book is not None
            else "not loaded"
        ),
    }
    if reports:
        r = reports[-1]
        parts = {
            "liq": _nbytes(r.liq, set()),
            "book": _nbytes(r.book, set()) if r.book else 0,
            "clusters": _nbytes(r.clusters, set()),
        }
        out["one report"] = ", ".join(f"{k} {v / 1e3:.0f} kB" for k, v in parts.items())
    return out


async def drive(cfg: dict[str, Any]) -> dict[str, Any]:
    import ctypes
    import gc
    import urllib.request

    from bot.app import build_application, build_services
    from bot.memory import map_large_blocks_apart, release_freed_memory
    from bot.pipeline.alert_pass import run_alerts
    from bot.pipeline.digest_pass import run_digests
    from bot.pipeline.liquidations import open_liquidation_feed
    from bot.settings import Settings
    from bot.telegram.send import dispatch

    steps: list[tuple[str, dict[str, float], float]] = [("imports", proc_status(), 0.0)]
    # The pair's peak: both processes' RSS summed every 20 ms (each one's VmHWM may come from
    # different moments, so their sum overstates it).
    pair = {"peak": 0.0, "bot": 0.0, "worker": 0.0}
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.02):
            st = proc_status()
            if st.get("VmRSS", 0.0) + st["ChildRSS"] > pair["peak"]:
                pair.update(
                    peak=st["VmRSS"] + st["ChildRSS"], bot=st["VmRSS"], worker=st["ChildRSS"]
                )

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    settings = Settings(
        telegram_bot_token=cfg["token"],
        telegram_api_base_url=cfg["api"],
        db_path=cfg["db"],
        market_source="live",
        symbols=cfg["symbols"],
        venues=list(VENUES),
        exchange_urls=cfg["urls"],
        digest_hours=4,
        send_loop=False,
        chat_gap_seconds=0,
        backfill_days=31,
    )
    now = cfg["now"]
    map_large_blocks_apart()  # as bot.app.run does first
    s = build_services(settings)
    s.clock.now_ms = lambda: now  # type: ignore[method-assign]
    app = build_application(settings, s)
    await app.initialize()
    # The live liquidation feed, as post_init starts it, pointed at the fake websocket venues.
    feed = open_liquidation_feed(
        settings.model_copy(update={"exchange_urls": cfg["liq_urls"]}), s.db, s.clock
    )
    await feed.start()
    steps.append(("services + application built", proc_status(), 0.0))
    import tracemalloc

    built = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None

    def move_fakes(at: int) -> None:
        body = json.dumps({"now_ms": at}).encode()
        req = urllib.request.Request(
            cfg["control"] + "/clock",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(req, timeout=30).read()

    failed = 0
    for k in range(cfg["refreshes"]):
        now = cfg["now"] + (k - cfg["refreshes"] + 1) * STEP_MS  # the last one at NOW
        move_fakes(now)
        t0 = time.perf_counter()
        assert s.refresher is not None
        report = await s.refresher.refresh(now)
        failed += len(report.failed)
        tick = s.maps.tick(now)
        await run_alerts(s, tick)
        for symbol in settings.symbols:
            for window in WINDOWS:
                rep = await s.maps.report(symbol, window, tick)
                if window == "7d":  # the default /map chart
                    await s.maps.chart(rep)
        for symbol in settings.symbols[:4]:
            await s.maps.heatmap(symbol, "7d", at=tick)
        await s.maps.heatmap(settings.symbols[k], "30d", at=tick)  # the largest chart
        release_freed_memory()  # as refresh_job does after its alert pass
        steps.append(
            (f"refresh {k + 1} + alert pass + maps", proc_status(), time.perf_counter() - t0)
        )

    t0 = time.perf_counter()
    digests = await run_digests(s, now)
    release_freed_memory()  # as tick_job does after the round
    steps.append((f"digest round ({digests} users)", proc_status(), time.perf_counter() - t0))
    t0 = time.perf_counter()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(dispatch(app.bot, s.db, now), cfg["send_s"])
    steps.append((f"sending {cfg['send_s']:g} s", proc_status(), time.perf_counter() - t0))
    gc.collect()
    steps.append(("steady (after gc)", proc_status(), 0.0))
    # What of it is freed heap glibc keeps (fragmentation, per-thread arenas), not live data.
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc_trim(0)
    steps.append(("after malloc_trim(0)", proc_status(), 0.0))

    class MallInfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in (
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            )
        ]

    libc.mallinfo2.restype = MallInfo2
    mi = libc.mallinfo2()
    heap = {"malloc in use": mi.uordblks + mi.hblkhd, "malloc free, kept": mi.fordblks}
    sampling.set()
    sampler.join()
    growth: list[tuple[str, int]] = []
    if built is not None:  # what the pipeline allocated and still holds, by line
        diff = tracemalloc.take_snapshot().compare_to(built, "lineno")
        growth = [(str(d.traceback[0]), d.size_diff) for d in diff[:15]]
    result = {
        "steps": steps,
        "pair_peak": pair,
        "heap": heap,
        "tracemalloc_growth_since_built": growth,
        "holders": holders(s),
        "refresh_failures": failed,
        "sqlite_connections": 1 + len(getattr(getattr(s.source, "_db", None), "opened", [])),
    }
    result["liquidation_prints"] = [(w.venue, w.status.prints) for w in feed.watchers]
    await feed.stop()
    await app.shutdown()
    s.maps.close()
    if s.refresher is not None:
        await s.refresher.close()
    return result


def worker(cfg_json: str) -> None:
    cfg = json.loads(cfg_json)
    if cfg["tracemalloc"]:
        import tracemalloc

        tracemalloc.start(1)
    result = asyncio.run(drive(cfg))
    if cfg["tracemalloc"]:
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        by_file: dict[str, int] = {}
        for stat in snap.statistics("filename"):
            name = str(stat.traceback[0].filename)
            for marker in ("site-packages/", "/lib/python3", str(ROOT) + "/"):
                if marker in name:
                    name = name.split(marker, 1)[1]
                    break
            top = name.split("/")[0] if "/" in name else name
            by_file[top] = by_file.get(top, 0) + stat.size
        result["tracemalloc_by_package"] = sorted(by_file.items(), key=lambda kv: -kv[1])[:12]
        result["tracemalloc_top_lines"] = [
            (str(st.traceback[0]), st.size) for st in snap.statistics("lineno")[:12]
        ]
    print("RESULT " + json.dumps(result))


# --- set-up (this process) -----------------------------------------------------------------------


def serve_fake_telegram(conn: Connection) -> None:
    from fakes.telegram_api import FakeTelegram

    fake = FakeTelegram().start_in_thread()
    conn.send((fake.url, fake.token))
    conn.recv()  # "stop"


def serve_fake_liquidations(conn: Connection, coins: list[str], prints: int) -> None:
    """Binance, Bybit and OKX fake websocket venues, each streaming ``prints`` forced orders
    across ``coins`` in its own wire format, 500 a second (a cascade's pace, kept up for a
    minute: enough to fill ccxt's print cache, which the feed used to keep)."""
    from fakes.liquidation_ws import FakeLiquidationVenue, TapePrint

    async def serve() -> None:
        tape = [
            TapePrint(
                coins[i % len(coins)], NOW + i, "long" if i % 2 else "short", 100.0 + i % 7, 0.001
            )
            for i in range(prints)
        ]
        fakes = [
            FakeLiquidationVenue(v, tape, coins=tuple(coins), interval_s=0.002)
            for v in ("binanceusdm", "bybit", "okx")
        ]
        for fake in fakes:
            await fake.start()
        conn.send({fake.venue: fake.base_url for fake in fakes})
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
        for fake in fakes:
            await fake.close()

    asyncio.run(serve())


async def prefill(db_path: Path, urls: dict[str, str], symbols: list[str]) -> float:
    from bot.pipeline.refresh import Refresher
    from market.feeds import VenueFeed
    from storage import open_db

    feeds = {v: VenueFeed(v, base_url=urls[v], config={"rateLimit": 1}) for v in VENUES}
    db = open_db(db_path)
    refresher = Refresher(db, feeds, symbols, backfill_days=31, retention_days=45)
    t0 = time.perf_counter()
    try:
        report = await refresher.refresh(NOW - 3 * STEP_MS)
        for o in report.failed:
            print(f"prefill: {o.venue} {o.symbol} failed: {o.error}", file=sys.stderr)
    finally:
        await refresher.close()
        db.close()
    return time.perf_counter() - t0


def seed_users(db_path: Path, n: int, symbols: list[str]) -> None:
    from storage import open_db, subscriptions, users
    from storage.market_history import last_close

    db = open_db(db_path)
    prices = {s: last_close(db, "binanceusdm", s) or 1.0 for s in symbols}
    with db.atomic():
        for chat in range(1, n + 1):
            users.register(db, chat, chat, "Trader", NOW)
            symbol = symbols[chat % len(symbols)]
            subscriptions.add_watch(db, chat, symbol, NOW)
            if chat % 2:
                side, price = ("long" if chat % 4 == 1 else "short"), prices[symbol]
                liq = price * (0.9 if side == "long" else 1.1)
                subscriptions.open_position(
                    db, chat, symbol, side, price, 10.0, 5_000.0, liq, {}, NOW - 3 * STEP_MS
                )
    db.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--refreshes", type=int, default=3)
    parser.add_argument("--send-seconds", type=float, default=5.0)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument(
        "--prints",
        type=int,
        default=20_000,
        help="forced orders each fake liquidation venue streams",
    )
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0

    from tests.fakes.venues import EXTRA_COINS, FakeVenuesProcess

    symbols = [f"{c}/USDT:USDT" for c in ("BTC", "ETH", *EXTRA_COINS)]
    parent, child = mp.Pipe()
    tg = mp.Process(target=serve_fake_telegram, args=(child,), daemon=True)
    tg.start()
    api, token = parent.recv()
    liq_parent, liq_child = mp.Pipe()
    coins = [sym.split("/")[0] for sym in symbols]
    liq = mp.Process(
        target=serve_fake_liquidations, args=(liq_child, coins, args.prints), daemon=True
    )
    liq.start()
    liq_urls = liq_parent.recv()
    started = time.perf_counter()
    with (
        FakeVenuesProcess(NOW - 3 * STEP_MS, extra_symbols=18, eth_open_interest=True) as fakes,
        tempfile.TemporaryDirectory(prefix="bench_memory_") as tmp,
    ):
        db_path = Path(tmp) / "liqbot.db"
        fill_s = asyncio.run(prefill(db_path, fakes.urls, symbols))
        t0 = time.perf_counter()
        seed_users(db_path, args.users, symbols)
        seed_s = time.perf_counter() - t0
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
        print(
            f"Set-up: 31-day backfill of {len(symbols)} symbols x {len(VENUES)} venues in "
            f"{fill_s:.0f} s, {args.users:,} users in {seed_s:.0f} s; SQLite {size_mb:.0f} MB"
        )
        cfg = {
            "token": token,
            "api": api,
            "db": str(db_path),
            "urls": fakes.urls,
            "control": fakes.control_url,
            "symbols": symbols,
            "now": NOW,
            "refreshes": args.refreshes,
            "send_s": args.send_seconds,
            "tracemalloc": args.tracemalloc,
            "liq_urls": liq_urls,
        }
        run = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(cfg)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={"MPLBACKEND": "Agg", **os.environ},
        )
    parent.send("stop")
    tg.terminate()
    liq_parent.send("stop")
    liq.join(10)
    lines = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")]
    if run.returncode or not lines:
        print(run.stdout[-3000:], run.stderr[-5000:], file=sys.stderr)
        return 1
    r = json.loads(lines[-1][len("RESULT ") :])
    note = " (tracemalloc on: RSS includes its overhead)" if args.tracemalloc else ""
    print(f"\nThe bot's process{note}:")
    print(f"{'':<42}{'the bot':>18}{'the chart worker':>26}{'sum':>8}")
    print(
        f"{'step':<42}{'RSS MB':>9}{'peak MB':>9}{'RSS MB':>13}{'peak MB':>13}{'RSS MB':>8}"
        f"{'step s':>8}"
    )
    for label, st, secs in r["steps"]:
        both = st["VmRSS"] + st["ChildRSS"]
        print(
            f"{label:<42}{st['VmRSS']:>9.0f}{st['VmHWM']:>9.0f}{st['ChildRSS']:>13.0f}"
            f"{st['ChildHWM']:>13.0f}{both:>8.0f}{secs:>8.1f}"
        )
    pk = r["pair_peak"]
    print(
        f"\nPeak of the sum (sampled every 20 ms): {pk['peak']:.0f} MB "
        f"(the bot {pk['bot']:.0f} + the chart worker {pk['worker']:.0f})"
    )
    print("\nWhat holds it:")
    for k, v in r["holders"].items():
        print(f"  {k}: {v}")
    print(
        "  glibc heap: "
        + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in r["heap"].items())
        + " (Python's own small-object arenas count as in use)"
    )
    for key in (
        "tracemalloc_by_package",
        "tracemalloc_top_lines",
        "tracemalloc_growth_since_built",
    ):
        if r.get(key):
            print(f"\n{key.replace('_', ' ')} (MB):")
            for name, size in r[key]:
                print(f"  {size / 1e6:7.1f}  {name}")
    last = r["steps"][-1][1]
    print(
        f"  the bot's RSS at the end: {last['RssAnon']:.0f} MB anonymous (heap), "
        f"{last['RssFile']:.0f} MB file-backed (code of the libraries); "
        f"{r['sqlite_connections']} SQLite connections"
    )
    got = ", ".join(f"{v} {n:,}" for v, n in r["liquidation_prints"])
    print(f"  liquidation feed: prints received per venue: {got}")
    print(
        f"\nrefresh failures: {r['refresh_failures']}; total {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
