"""``liqbot skill SYMBOL``: argument parsing and the run, for ``bot/cli.py`` to hook in.

Without ``--events``/``--totals`` it grades the bundled real data (CoinGlass hourly BTC totals)
over the held-out period that no setting was tuned on.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grading.api import grade_event_file, grade_totals_file
from grading.data import (
    DataError,
    bundled_candles,
    bundled_totals,
    parse_time,
    read_candles,
    read_events,
    read_totals,
)
from grading.report import grade_json, grade_text, walk_forward_json, walk_forward_text
from grading.skill import Grade, TooLittleData
from grading.walk_forward import WalkForward, grade_walk_forward, hourly_table
from liqmap import Candles, unified_symbol
from liqmap.times import HOUR_MS


def _utc(y: int, m: int, d: int, h: int = 0) -> int:
    return int(datetime(y, m, d, h, tzinfo=UTC).timestamp() * 1000)


# Bundled data: Binance OI starts 2025-12-04 06:00, CoinGlass totals end 2026-05-22 04:00.
# Settings were compared on TUNE_*; the default period is the part left untouched for the figure.
TUNE_FROM = _utc(2025, 12, 11, 6)  # a full week of OI before the first graded hour
HELD_OUT_FROM = _utc(2026, 4, 1)
HELD_OUT_TO = _utc(2026, 5, 22, 5)


DEFAULT_CACHE = Path.home() / ".cache" / "liqbot"


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    s = subparsers.add_parser(
        "skill",
        help="how good is the map: grade it hour by hour against real liquidations",
    )
    s.add_argument("symbol", help="BTC (bundled data), or any symbol with --candles")
    s.add_argument(
        "--from",
        dest="start",
        help="first hour, ISO UTC or epoch ms (default: the file's first hour; bundled data: "
        "2026-04-01, the held-out period)",
    )
    s.add_argument("--to", dest="end", help="end, exclusive (default: the file's last hour + 1h)")
    s.add_argument("--events", help="CSV of liquidation prints: time, side, price, quantity")
    s.add_argument(
        "--candles", help="CSV of candles: time, open, high, low, close, volume[, taker_buy]"
    )
    s.add_argument("--totals", help="CSV of hourly liquidated USD: time, long_usd, short_usd")
    s.add_argument("--json", action="store_true", help="print JSON instead of the table")
    s.add_argument(
        "--walk-forward",
        action="store_true",
        help="the map refitted walk-forward (settings picked from the past only, every 4 weeks) "
        "over the whole bundled period, next to the baseline and the fixed default",
    )
    s.add_argument(
        "--cache",
        default=str(DEFAULT_CACHE),
        help=f"folder for the walk-forward's per-variant hourly values (default {DEFAULT_CACHE}; "
        "'' for none)",
    )


def _time(text: str, flag: str) -> int:
    try:
        return parse_time(text)
    except ValueError:
        raise DataError(
            f"{flag} {text!r} is not an ISO time (2026-04-01T00:00Z) or epoch ms"
        ) from None


def _candles(args: argparse.Namespace, symbol: str) -> Candles:
    if args.candles:
        return read_candles(args.candles)
    if symbol != "BTC/USDT:USDT":
        raise DataError(f"no bundled candles for {args.symbol}: give --candles")
    return bundled_candles()


def _grade(args: argparse.Namespace) -> tuple[Grade, str, int, int]:
    if args.events and args.totals:
        raise DataError("give --events or --totals, not both")
    symbol = unified_symbol(args.symbol)
    candles = _candles(args, symbol)
    start = _time(args.start, "--from") if args.start else None
    end = _time(args.end, "--to") if args.end else None
    if args.events:
        events = read_events(args.events)
        start = start if start is not None else int(events.time[0]) // HOUR_MS * HOUR_MS
        end = end if end is not None else int(events.time[-1]) // HOUR_MS * HOUR_MS + HOUR_MS
        grade = grade_event_file(events, candles, symbol, start, end)
    else:
        if args.totals:
            totals = read_totals(args.totals)
            start = start if start is not None else int(totals.time[0])
            end = end if end is not None else int(totals.time[-1]) + HOUR_MS
        else:
            if symbol != "BTC/USDT:USDT":
                raise DataError("bundled liquidations are BTC only: give --events or --totals")
            totals = bundled_totals()
            start = start if start is not None else HELD_OUT_FROM
            end = end if end is not None else HELD_OUT_TO
        grade = grade_totals_file(totals, candles, symbol, start, end)
    if end <= start:
        raise DataError("--to must be after --from")
    return grade, symbol, start, end


def _walk_forward(args: argparse.Namespace) -> tuple[WalkForward, str, int, int]:
    if args.events:
        raise DataError("--walk-forward grades hourly totals: give --totals, not --events")
    symbol = unified_symbol(args.symbol)
    candles = _candles(args, symbol)
    if args.totals:
        totals = read_totals(args.totals)
    elif symbol != "BTC/USDT:USDT":
        raise DataError("bundled liquidations are BTC only: give --totals")
    else:
        totals = bundled_totals()
    bundled = not args.totals
    start = _time(args.start, "--from") if args.start else (TUNE_FROM if bundled else None)
    end = _time(args.end, "--to") if args.end else (HELD_OUT_TO if bundled else None)
    start = start if start is not None else int(totals.time[0])
    end = end if end is not None else int(totals.time[-1]) + HOUR_MS
    if end <= start:
        raise DataError("--to must be after --from")
    began = time.perf_counter()
    cache = Path(args.cache) if args.cache else None
    table = hourly_table(candles, totals, symbol, start, end, cache_dir=cache)
    wf = grade_walk_forward(table)
    return replace(wf, seconds=time.perf_counter() - began), symbol, start, end


def run(args: argparse.Namespace) -> int:
    """Print the grade; one line on stderr and exit 2 on a bad file or too little data."""
    import sys

    if args.walk_forward:
        try:
            wf, symbol, start, end = _walk_forward(args)
        except (DataError, TooLittleData) as e:
            print(f"liqbot: error: {e}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(walk_forward_json(wf, start, end), indent=1))
        else:
            print(walk_forward_text(wf, symbol, start, end))
        return 0
    try:
        grade, symbol, start, end = _grade(args)
    except (DataError, TooLittleData) as e:
        print(f"liqbot: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(grade_json(grade), indent=1))
    else:
        print(grade_text(grade, symbol, start, end))
    return 0
