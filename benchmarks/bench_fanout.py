"""Fan-out benchmark: a digest round and an alert storm for 10,000 users through the real
dispatcher (outbox -> ``dispatch`` -> PTB ``ExtBot`` with :class:`SendLimiter`) against the fake
Bot API running in its own process (loopback HTTP, as Telegram would be reached).

Measured: the latency of single alerts queued while the digest round drains (from the queueing
to the fake's receipt; the clock runs, so each alert is due the moment it is queued), the time
the digest round takes to compose and the longest the event loop was held
meanwhile (a 10 ms ticker measures its own lateness), the outbox file size after composing, then
messages/s sustained over the sending window as the fake received them, the most messages the
fake received in any one-second window, and lost/duplicated: every row the outbox marked sent
must have been received exactly once, and nothing received that was not marked sent. Charts:
how many uploads (bytes) the fake got versus re-sends by ``file_id``.

The full round is ~30,000 messages (17 minutes at 30/s); by default the benchmark sends for
``--seconds`` (120) and checks what was sent; ``--drain`` sends everything.

Run: python benchmarks/bench_fanout.py [--users 10000] [--seconds 120] [--drain]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram.ext import ExtBot

from bot.app import build_services
from bot.pipeline.digest_pass import run_digests
from bot.settings import Settings
from bot.telegram.rate_limit import SendLimiter
from bot.telegram.send import CONCURRENCY, dispatch, in_flight_bound
from fakes.telegram_api import FakeTelegram
from market.replay import DEFAULT_AT
from storage import outbox, subscriptions, users

PROBE_S = 0.25  # one alert queued this often while the digest round drains


class TimedFake(FakeTelegram):
    """The fake Bot API, recording when each message arrived (wall clock, shared by processes)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[float, int, str, str]] = []  # time, chat, method, text/caption

    def _send_message(self, p: dict[str, Any], files: Any) -> dict[str, Any]:
        self.arrivals.append((time.time(), int(p["chat_id"]), "text", str(p.get("text"))))
        return super()._send_message(p, files)

    def _send_photo(self, p: dict[str, Any], files: Any) -> dict[str, Any]:
        how = "upload" if files else "file_id"
        self.arrivals.append((time.time(), int(p["chat_id"]), how, str(p.get("caption"))))
        return super()._send_photo(p, files)


def serve_fake(conn: Connection) -> None:
    fake = TimedFake().start_in_thread()
    conn.send((fake.url, fake.token))
    conn.recv()  # "stats"
    conn.send(list(fake.arrivals))


class LoopWatch:
    """The longest the event loop was held: a 10 ms ticker's worst lateness."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - t0 - 0.01)


def seed(db: Any, n: int, now: int) -> None:
    with db.atomic():
        for chat in range(1, n + 1):
            users.register(db, chat, chat, "Trader", now)
        for chat in range(1, n + 1):
            subscriptions.add_watch(db, chat, "BTC/USDT:USDT", now)
            if chat % 2:
                subscriptions.add_watch(db, chat, "ETH/USDT:USDT", now)


def max_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


async def bench(args: argparse.Namespace, url: str, token: str, db_path: Path) -> dict[str, Any]:
    now = DEFAULT_AT + 60_000  # 20:01 UTC: a 4-hourly digest hour
    settings = Settings(
        telegram_bot_token=token,
        telegram_api_base_url=url,
        db_path=str(db_path),
        market_source="demo",
        digest_hours=4,
        send_loop=False,
    )
    s = build_services(settings)
    t_clock = time.monotonic()
    s.clock.now_ms = lambda: now + int((time.monotonic() - t_clock) * 1000)  # type: ignore[method-assign]
    t0 = time.perf_counter()
    seed(s.db, args.users, now)
    seeded = time.perf_counter() - t0
    limiter = SendLimiter()
    bot = ExtBot(token, base_url=settings.bot_api_base, rate_limiter=limiter)
    await bot.initialize()
    watch = LoopWatch()
    watcher = asyncio.create_task(watch.run())

    # The digest round, composed while the dispatcher already sends.
    t0 = time.perf_counter()
    digests = await run_digests(s, now)
    compose = time.perf_counter() - t0
    compose_block = watch.worst
    size_composed = db_path.stat().st_size + _wal(db_path)
    queued = outbox.counts(s.db).get("pending", 0)

    # Send on the running clock. For the first third, single alerts to random users every
    # PROBE_S (their latency); then the alert storm: one alert per user, queued in one
    # transaction as an alert pass does (alerts go before the rest of the digest round).
    t_send = time.time()
    stopping = asyncio.Event()
    drain = asyncio.create_task(dispatch(bot, s.db, s.clock.now_ms, stopping=stopping))
    probes: dict[str, float] = {}
    rng = random.Random(22)
    while time.time() < t_send + args.seconds / 3:
        await asyncio.sleep(PROBE_S)
        chat, key = rng.randint(1, args.users), f"probe {len(probes)}"
        with s.db.atomic():
            outbox.enqueue(s.db, key, chat, "alert", key, s.clock.now_ms())
        probes[key] = time.time()
    watch.worst = 0.0
    t0 = time.perf_counter()
    with s.db.atomic():
        for chat in range(1, args.users + 1):
            outbox.enqueue(
                s.db, f"storm:{chat}:1", chat, "alert", f"⚡ alert for {chat}", s.clock.now_ms()
            )
    storm_s = time.perf_counter() - t0
    watch.worst = 0.0  # from here: the loop while sending only
    if args.drain:
        await drain
    else:
        await asyncio.sleep(args.seconds * 2 / 3)
        stopping.set()  # as a clean stop: the requests in flight land and are recorded
        await drain
    t_end = time.time()
    watcher.cancel()
    most_in_flight = min(CONCURRENCY, in_flight_bound(limiter.answer_s))
    sent_rows = s.db.execute(
        "select chat_id, kind, text, photo_ref from outbox where status = 'sent'"
    ).fetchall()
    counts = outbox.counts(s.db)
    await bot.shutdown()
    s.maps.close()
    s.db.close()
    return {
        "users": args.users,
        "seeded_s": seeded,
        "digest_users": digests,
        "compose_s": compose,
        "compose_block_ms": compose_block * 1000,
        "block_ms": watch.worst * 1000,
        "queued": queued,
        "storm_s": storm_s,
        "size_mb": size_composed / 1e6,
        "sent_rows": sent_rows,
        "counts": counts,
        "t_send": t_send,
        "t_end": t_end,
        "probes": probes,
        "answer_s": limiter.answer_s,
        "most_in_flight": most_in_flight,
    }


def _wal(db_path: Path) -> int:
    wal = Path(str(db_path) + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--drain", action="store_true")
    args = parser.parse_args()
    parent, child = mp.Pipe()
    proc = mp.Process(target=serve_fake, args=(child,), daemon=True)
    proc.start()
    url, token = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "fanout.db"
        r = asyncio.run(bench(args, url, token, db_path))
        size_after = (db_path.stat().st_size + _wal(db_path)) / 1e6
    parent.send("stats")
    arrivals: list[tuple[float, int, str, str]] = parent.recv()
    proc.terminate()

    got = [a for a in arrivals if a[0] >= r["t_send"]]
    times = [a[0] for a in got]
    received = Counter((a[1], a[3]) for a in got)
    # The fake sees the HTML-parsed text; compare the count per chat (ordering aside).
    per_chat_sent = Counter(int(c) for c, *_ in r["sent_rows"])
    per_chat_recv = Counter(a[1] for a in got)
    lost = sum(max(0, per_chat_sent[c] - per_chat_recv[c]) for c in per_chat_sent)
    extra = sum(max(0, per_chat_recv[c] - per_chat_sent[c]) for c in per_chat_recv)
    dup = sum(v - 1 for v in received.values() if v > 1)
    span = (max(times) - min(times)) if len(times) > 1 else 0.0
    uploads = sum(1 for a in got if a[2] == "upload")
    by_id = sum(1 for a in got if a[2] == "file_id")
    print(f"{r['users']:,} users (each 1-2 symbols), fake Bot API in its own process\n")
    print(
        f"digest round composed     {r['compose_s']:8.1f} s for {r['digest_users']:,} users, "
        f"max loop block meanwhile {r['compose_block_ms']:.0f} ms"
    )
    print(f"digest rows queued        {r['queued']:8,}; outbox file {r['size_mb']:.1f} MB")
    print(
        f"alert storm queued        {r['users']:8,} rows in {r['storm_s'] * 1000:.0f} ms (one "
        "transaction, on the loop)"
    )
    print(
        f"sent in {r['t_end'] - r['t_send']:.0f} s          {len(got):8,} messages, "
        f"{(len(got) - 1) / span if span else 0:.2f} msg/s sustained"
    )
    print(f"most in any 1 s window    {max_in_one_second(times):8}")
    arrived = {a[3]: a[0] for a in got if a[3] in r["probes"]}
    waits = sorted(arrived[k] - t for k, t in r["probes"].items() if k in arrived)
    if waits:
        p50, p99 = waits[len(waits) // 2], waits[min(len(waits) - 1, int(len(waits) * 0.99))]
        print(
            f"alert latency during a digest drain p50 {p50:.2f} s, p99 {p99:.2f} s "
            f"({len(waits)} of {len(r['probes'])} alerts, one every {PROBE_S:g} s, max "
            f"{waits[-1]:.2f} s)"
        )
    print(
        f"in flight at most         {r['most_in_flight']:8} (Telegram's answer time measured "
        f"{r['answer_s'] * 1000:.0f} ms: ceil(30 x answer) + 1, at most {CONCURRENCY}; a kill -9 "
        "repeats at most that)"
    )
    print(f"chart uploads / file_id   {uploads:8} / {by_id}")
    print(f"lost (marked sent, never received)      {lost}")
    print(f"duplicated (received twice or unmarked) {dup + extra}")
    print(f"max event-loop block      {r['block_ms']:8.0f} ms (while sending, after the storm)")
    print(f"outbox after              {r['counts']}; file {size_after:.1f} MB")


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    main()
