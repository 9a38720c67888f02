"""Refresh benchmark: one full market refresh of 20 symbols x 4 venues against the fake venues.

Where the wall time of ``Refresher.refresh`` goes: our own compute (ccxt parsing, the feeds'
numpy validation, SQLite) versus waiting (ccxt's rate limiter, loopback network, the fake server).

* The fakes (``tests/fakes/venues.py``) run in a separate process (``FakeVenuesProcess``), so
  their CPU is not ours; the clock is moved and the request logs read over their control API.
  Symbols: BTC, ETH and 18 synthetic coins derived from BTC's real data (load tests only).
* Four ``VenueFeed`` (real ``ccxt.async_support``, rate limiter on) and a ``Refresher`` on a
  fresh temporary SQLite file (WAL), ``backfill_days=1`` to keep the first refresh bounded
  (production backfills 31 days: about 31x the candle and OI pages).
* Measured: the first refresh (market loading + 1-day backfill + funding history + books), then
  an incremental refresh 5 minutes later. Wall = ``perf_counter``; our CPU =
  ``time.process_time`` of this process; waiting = wall - CPU (the time our event loop had
  nothing to run). Requests = what the fakes logged per venue. Limiter = time spent inside
  ``exchange.throttle`` (wrapped), summed per venue; its cost = the sum of ccxt's per-endpoint
  weights times ``rateLimit``, the least time the limiter imposes on a venue's sequence.
* Run twice: with each venue's default ccxt ``rateLimit`` (what the bot uses), then with
  ``rateLimit`` lowered to 1 ms (NOT a real-venue setting: it only shows what the limiter costs).

Run: python benchmarks/bench_refresh.py   (about a minute; bounded by REFRESH_TIMEOUT_S per step)
"""

from __future__ import annotations

import asyncio
import functools
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.pipeline.refresh import Refresher, RefreshReport
from market.feeds import VenueFeed
from storage import market_history, open_db
from tests.fakes.venues import EXTRA_COINS, FakeVenuesProcess

VENUES = ("binanceusdm", "bybit", "okx", "bitget")
SYMBOLS = [f"{c}/USDT:USDT" for c in ("BTC", "ETH", *EXTRA_COINS)]
NOW = int(datetime(2025, 10, 21, tzinfo=UTC).timestamp() * 1000)
STEP_MS = 5 * 60_000
BACKFILL_DAYS = 1
LOWERED_RATE_LIMIT_MS = 1
REFRESH_TIMEOUT_S = 120.0
# storage calls the refresher makes: timed to split our CPU into SQLite and the rest
SQLITE_CALLS = (
    "upsert_candles",
    "upsert_open_interest",
    "upsert_funding",
    "last_time",
    "prune",
    "record_success",
    "record_failure",
)


@dataclass
class VenueMeter:
    throttle_s: float = 0.0  # time inside exchange.throttle (the rate limiter)
    throttle_calls: int = 0
    cost: float = 0.0  # sum of ccxt endpoint weights
    chain_s: float = 0.0  # the venue's whole sequence of symbols (Refresher._venue)


@dataclass
class Step:
    label: str
    wall_s: float
    cpu_s: float
    sqlite_cpu_s: float
    fake_cpu_s: float
    report: RefreshReport
    fake_requests: dict[str, dict[str, Any]]
    meters: dict[str, VenueMeter]
    rate_limits: dict[str, float]

    @property
    def wait_s(self) -> float:
        return max(0.0, self.wall_s - self.cpu_s)


@dataclass
class SqliteMeter:
    cpu_s: float = 0.0
    originals: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def install(self) -> None:
        for name in SQLITE_CALLS:
            fn = getattr(market_history, name)
            self.originals[name] = fn
            setattr(market_history, name, self._timed(fn))

    def uninstall(self) -> None:
        for name, fn in self.originals.items():
            setattr(market_history, name, fn)
        self.originals.clear()

    def _timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu_s += time.process_time() - t0

        return timed


def instrument(refresher: Refresher) -> dict[str, VenueMeter]:
    """Wrap each exchange's rate limiter and the refresher's per-venue sequence with timers."""
    meters = {v: VenueMeter() for v in refresher.feeds}
    for venue, feed in refresher.feeds.items():
        meter = meters[venue]
        throttle = feed.exchange.throttle

        async def timed_throttle(cost: Any = None, _t: Any = throttle, _m: Any = meter) -> Any:
            t0 = time.perf_counter()
            try:
                return await _t(cost)
            finally:
                _m.throttle_s += time.perf_counter() - t0
                _m.throttle_calls += 1
                _m.cost += 1.0 if cost is None else float(cost)

        feed.exchange.throttle = timed_throttle
    per_venue = refresher._venue

    async def timed_venue(venue: str, now: int) -> Any:
        t0 = time.perf_counter()
        try:
            return await per_venue(venue, now)
        finally:
            meters[venue].chain_s += time.perf_counter() - t0

    refresher._venue = timed_venue  # type: ignore[method-assign]
    return meters


async def measure(
    label: str, refresher: Refresher, fakes: FakeVenuesProcess, now: int, sqlite: SqliteMeter
) -> Step:
    fakes.clear()
    fakes.now_ms = now
    fake_cpu0 = fakes.state()["cpu_s"]
    meters = instrument(refresher)
    sqlite.cpu_s = 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    report = await asyncio.wait_for(refresher.refresh(now), REFRESH_TIMEOUT_S)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    for feed in refresher.feeds.values():  # unwrap (the next step wraps afresh)
        feed.exchange.__dict__.pop("throttle", None)
    refresher.__dict__.pop("_venue", None)
    state = fakes.state()
    rate_limits = {v: float(f.exchange.rateLimit) for v, f in refresher.feeds.items()}
    fake_cpu = state["cpu_s"] - fake_cpu0
    return Step(
        label, wall, cpu, sqlite.cpu_s, fake_cpu, report, state["requests"], meters, rate_limits
    )


async def scenario(
    name: str, fakes: FakeVenuesProcess, rate_limit: int | None, tmp: Path
) -> list[Step]:
    config: dict[str, Any] = {"timeout": 10_000}
    if rate_limit is not None:
        config["rateLimit"] = rate_limit
    feeds = {v: VenueFeed(v, base_url=fakes.urls[v], config=config) for v in VENUES}
    db_path = tmp / f"{name}.db"
    db = open_db(db_path)
    refresher = Refresher(db, feeds, SYMBOLS, backfill_days=BACKFILL_DAYS, retention_days=45)
    sqlite = SqliteMeter()
    sqlite.install()
    try:
        first = await measure(
            f"{name}: first refresh (backfill {BACKFILL_DAYS} d)", refresher, fakes, NOW, sqlite
        )
        incremental = await measure(
            f"{name}: incremental, 5 min later", refresher, fakes, NOW + STEP_MS, sqlite
        )
        return [first, incremental]
    finally:
        sqlite.uninstall()
        await refresher.close()
        db.conn.close()


# --- printing -----------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    out = [line, "-" * len(line)]
    for r in rows:
        out.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(out)


def print_summary(steps: list[Step]) -> None:
    rows = []
    for s in steps:
        requests = sum(r["total"] for r in s.fake_requests.values())
        candles = sum(o.candles for o in s.report.outcomes)
        rows.append(
            [
                s.label,
                f"{s.wall_s:.2f}",
                f"{s.cpu_s:.2f}",
                f"{s.cpu_s / s.wall_s:.0%}",
                f"{s.sqlite_cpu_s:.2f}",
                f"{s.wait_s:.2f}",
                f"{s.wait_s / s.wall_s:.0%}",
                f"{s.fake_cpu_s:.2f}",
                str(requests),
                f"{candles:,}",
                str(len(s.report.failed)),
            ]
        )
    print(
        table(
            [
                "step",
                "wall s",
                "our CPU s",
                "CPU %",
                "of it SQLite s",
                "waiting s",
                "wait %",
                "fakes' CPU s",
                "requests",
                "candles stored",
                "failed",
            ],
            rows,
        )
    )


def print_venues(s: Step) -> None:
    rows = []
    for v in VENUES:
        m, r = s.meters[v], s.fake_requests[v]
        floor_s = m.cost * s.rate_limits[v] / 1000
        rows.append(
            [
                v,
                f"{s.rate_limits[v]:g}",
                str(r["total"]),
                str(r["failed"]),
                f"{m.cost:g}",
                f"{floor_s:.2f}",
                f"{m.throttle_s:.2f}",
                f"{m.chain_s:.2f}",
                f"{m.throttle_s / m.chain_s:.0%}" if m.chain_s else "-",
            ]
        )
    print(f"\n{s.label}, per venue (venues run concurrently, symbols of a venue in turn):")
    print(
        table(
            [
                "venue",
                "rateLimit ms",
                "requests",
                "non-200",
                "weight",
                "weight x rateLimit s",
                "in limiter s",
                "venue sequence s",
                "limiter %",
            ],
            rows,
        )
    )


def main() -> int:
    started = time.perf_counter()
    print(
        f"Refresh benchmark: {len(SYMBOLS)} symbols x {len(VENUES)} venues, fake venues in a "
        f"separate process on loopback, real ccxt.async_support with its rate limiter."
    )
    print(
        f"Symbols: BTC, ETH (real data) + {len(SYMBOLS) - 2} synthetic (BTC data x a price "
        f"factor). backfill_days={BACKFILL_DAYS} (bounded; production backfills 31 days). "
        f"Replay time {datetime.fromtimestamp(NOW / 1000, UTC):%Y-%m-%d %H:%M} UTC."
    )
    steps: list[Step] = []
    with (
        FakeVenuesProcess(NOW, extra_symbols=len(SYMBOLS) - 2, eth_open_interest=True) as fakes,
        tempfile.TemporaryDirectory(prefix="bench_refresh_") as tmp,
    ):
        print(f"Fakes: pid {fakes.pid}; SQLite: temporary files in {tmp}\n")
        steps += asyncio.run(scenario("default rateLimit", fakes, None, Path(tmp)))
        lowered = f"rateLimit lowered to {LOWERED_RATE_LIMIT_MS} ms"
        steps += asyncio.run(scenario(lowered, fakes, LOWERED_RATE_LIMIT_MS, Path(tmp)))
    print_summary(steps)
    for s in steps:
        print_venues(s)
    default, lowered_steps = steps[:2], steps[2:]
    polling = ", ".join(
        f"{a.label.split(': ')[1]} {a.cpu_s - b.cpu_s:.2f} s"
        for a, b in zip(default, lowered_steps, strict=True)
    )
    print(
        f"\nOur CPU, default minus lowered rateLimit (same work; ccxt's limiter polling): {polling}"
    )
    print(
        "\nwaiting = wall - our CPU: time our event loop was idle (rate limiter sleeps, loopback"
        "\nnetwork, the fake server's work in its own process). 'in limiter' sums the time each"
        "\nvenue's requests spent inside ccxt's throttle; ccxt's leaky bucket polls every 1 ms"
        "\nwhile it waits, which costs some CPU of ours (compare the CPU of the two runs)."
        f"\nLowered rateLimit ({LOWERED_RATE_LIMIT_MS} ms) is not a setting for real venues."
    )
    failed = [o for s in steps for o in s.report.failed]
    for o in failed[:10]:
        print(f"FAILED {o.venue} {o.symbol}: {o.error}", file=sys.stderr)
    print(f"\ntotal benchmark time {time.perf_counter() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
