"""Storage benchmark: the SQLite file after a simulated week (and two) of 10,000 users with
4-hourly digests, with the outbox pruned as the tick job does: alerts after
``LIQBOT_OUTBOX_RETENTION_DAYS`` (7), sent digest rows after a day.

One real digest round is composed (``run_digests`` on the bundled replay data: real texts, a
real chart stored once per symbol), then each later round is the same rows under new keys and
times (SQL copies, so a week takes seconds), all marked sent, plus 2,000 alerts a day; pruning
runs once a day as the tick job does. Market history is not included (its size is set by
``LIQBOT_HISTORY_DAYS`` and the symbols followed).

Run: python benchmarks/bench_storage.py [--users 10000] [--days 14]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import build_services
from bot.pipeline.digest_pass import run_digests
from bot.settings import Settings
from market.replay import DEFAULT_AT
from storage import outbox, subscriptions, users

HOUR = 3_600_000
DAY = 24 * HOUR


def size_mb(db_path: Path) -> float:
    wal = Path(str(db_path) + "-wal")
    return (db_path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "week.db"
        settings = Settings(db_path=str(db_path), market_source="demo", digest_hours=4)
        s = build_services(settings)
        now = DEFAULT_AT + 60_000
        with s.db.atomic():
            for chat in range(1, args.users + 1):
                users.register(s.db, chat, chat, "Trader", now)
                subscriptions.add_watch(s.db, chat, "BTC/USDT:USDT", now)
                if chat % 2:
                    subscriptions.add_watch(s.db, chat, "ETH/USDT:USDT", now)
        base = size_mb(db_path)
        t0 = time.perf_counter()
        asyncio.run(run_digests(s, now))
        print(f"{args.users:,} users; one real round composed in {time.perf_counter() - t0:.1f} s")
        # as the dispatcher's mark_sent leaves them: a sent digest keeps its key, not its body
        s.db.execute("update outbox set status = 'sent', sent_at = created_at, text = ''")
        s.db.execute("update media set file_id = 'F', data = NULL")  # uploaded once
        s.db.conn.commit()
        print(f"users and subscriptions only: {base:.1f} MB")
        daily: list[float] = []
        rounds_per_day = 24 // 4
        for day in range(args.days):
            for r in range(rounds_per_day):
                if day == 0 and r == 0:
                    continue
                at = now + day * DAY + r * 4 * HOUR
                tag = f"{day}-{r}"
                with s.db.atomic():
                    s.db.execute(
                        "insert into outbox (dedupe_key, chat_id, kind, text, photo_ref, silent, "
                        "created_at, not_before, sent_at, attempts, status) select "
                        "dedupe_key || ':' || ?, chat_id, kind, text, photo_ref || ?, silent, ?, "
                        "?, ?, 1, 'sent' from outbox where kind = 'digest' and created_at = ?",
                        [tag, tag, at, at, at, now],
                    )
                    s.db.execute(
                        "insert into media (key, data, file_id, created_at) select key || ?, "
                        "NULL, file_id, ? from media where created_at = ?",
                        [tag, at, now],
                    )
            with s.db.atomic():
                for i in range(2_000):  # alerts of the day
                    outbox.enqueue(
                        s.db,
                        f"a:{day}:{i}",
                        1 + i % args.users,
                        "alert",
                        "⚡ BTC long cluster 2.1% away (fuel ratio 1.4) " * 3,
                        now + day * DAY + i,
                    )
                s.db.execute("update outbox set status = 'sent' where status = 'pending'")
            end_of_day = now + (day + 1) * DAY
            outbox.prune(
                s.db, end_of_day - int(settings.outbox_retention_days * DAY), end_of_day - DAY
            )
            daily.append(size_mb(db_path))
        s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = outbox.counts(s.db)
        week = daily[min(6, len(daily) - 1)]
        print(
            f"after day 7: {week:.1f} MB; after day {args.days}: {daily[-1]:.1f} MB "
            f"(alerts kept {settings.outbox_retention_days:g} days, digests 1)"
        )
        print("file size per day (MB):", " ".join(f"{x:.0f}" for x in daily))
        print(
            f"growth per day, days 1-7: {(week - daily[0]) / 6:.1f} MB; "
            f"after retention: {(daily[-1] - daily[-2]):.1f} MB"
        )
        print(f"outbox rows at the end: {rows}")
        s.maps.close()
        s.db.close()


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    main()
