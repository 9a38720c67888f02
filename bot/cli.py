"""The ``liqbot`` command: ``map``, ``heatmap`` (offline on the bundled data by default).

Bad input (unknown symbol, bad window or tier, a time outside the data, an unwritable file) gets
one clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from backtest import cli as backtest_cli
from bot import redaction, tiers
from bot.clock import parse_utc_ms
from bot.parsing import InputError, parse_symbol
from bot.pipeline.heatmaps import make_heatmap
from bot.redaction import redact
from bot.version import __version__
from bot.views import fmt
from bot.views.real_prints import RealLiquidations, window_prints
from bot.views.report import WINDOWS, MapReport, make_report
from bot.views.summary import report_json, summary_text
from grading import cli as skill_cli
from liqmap import ModelInputError, ModelSettings
from market.replay import DEFAULT_AT, ReplaySource
from market.snapshot import MarketDataError
from market.source import WINDOW_MS

if TYPE_CHECKING:
    from backtest.history import History
    from bot.settings import Settings


class UsageError(Exception):
    """Bad input on the command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_time(text: str) -> int:
    """``--at``: an ISO time, UTC when no zone is given -> ms."""
    try:
        return parse_utc_ms(text)
    except ValueError:
        raise UsageError(f"--at {text!r} is not an ISO time such as 2025-10-10T20:00Z") from None


def parse_tiers(text: str) -> tuple[float, ...]:
    """``10,25`` or ``10-25x`` -> (10.0, 25.0), each one of the model's tiers."""
    try:
        return tiers.parse_tiers(text)
    except tiers.TierError as e:
        raise UsageError(f"--tiers: {e}") from None


IMAGE_TYPES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}


def image_type(path: str) -> str:
    """png or jpeg from the file name; anything else is refused before the work."""
    kind = IMAGE_TYPES.get(Path(path).suffix.lower())
    if kind is None:
        raise UsageError(f"cannot write {path!r}: name it .png, .jpg or .jpeg")
    return kind


def _write(path: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as e:
        raise UsageError(f"cannot write {path!r}: {e.strerror or e}") from None


def _check_writable(path: str) -> None:
    """Fail before the work if the PNG cannot be written."""
    p = Path(path)
    image_type(path)
    if p.is_dir():
        raise UsageError(f"cannot write {path!r}: it is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"cannot write {path!r}: folder {str(parent)!r} does not exist")


NO_LIQS_HELP = (
    "do not mark the bundled recorded liquidations (BTC, 2026-02-05 06:00 .. 02-06 06:00)"
)


def bundled_marks(symbol: str, window: str, at: int) -> RealLiquidations | None:
    """The bundled recorded prints (``market/data/liquidations_*.csv``) of the chart's window
    ending at ``at``, or None when the window does not overlap them."""
    from grading.data import bundled_prints

    events = bundled_prints(symbol.split("/")[0])
    if events is None:
        return None
    since = at - WINDOW_MS[window]
    side = [str(s) for s in events.side]
    prints = window_prints(events.time, side, events.price, events.usd, since, at)
    return RealLiquidations(tuple(prints), "recorded") if prints else None


def _say_marks(real: RealLiquidations | None) -> None:
    if real is not None:
        print(
            f"Marked: {len(real.prints)} recorded liquidation prints of the window, longs "
            f"{fmt.usd(real.long_usd)}, shorts {fmt.usd(real.short_usd)} (real hourly USD, "
            "price placed mid-range: market/data/PROVENANCE.md; --no-liqs to leave out)"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="liqbot", description="Liquidation maps for crypto perpetuals.")
    parser.add_argument("--version", action="version", version=f"liqbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    m = sub.add_parser("map", help="draw a liquidation map (text summary, --json, --png)")
    m.add_argument("symbol", help="BTC, ETH, BTCUSDT or BTC/USDT:USDT")
    m.add_argument(
        "--window", default="1d", type=str.lower, choices=WINDOWS, help="lookback (default 1d)"
    )
    m.add_argument("--at", help="ISO time in UTC (default: the bundled demo moment)")
    m.add_argument("--tiers", help="only these leverage tiers, e.g. 10,25 or 10-25x")
    m.add_argument("--png", help="write the chart to this file (.png, or .jpg for JPEG)")
    m.add_argument("--by-tier", action="store_true", help="stack the chart's bars by tier")
    m.add_argument("--no-liqs", action="store_true", help=NO_LIQS_HELP)
    m.add_argument("--json", action="store_true", help="print JSON instead of text")
    m.add_argument(
        "--source",
        default="demo",
        choices=("demo", "live"),
        help="demo: the bundled data (default); live: fetch from the exchanges over ccxt",
    )
    m.add_argument(
        "--exchanges", help="live venues, e.g. binanceusdm,bybit,okx,bitget (default: settings)"
    )

    h = sub.add_parser("heatmap", help="draw price x time liquidation intensity")
    h.add_argument("symbol")
    h.add_argument(
        "--window", default="7d", type=str.lower, choices=WINDOWS, help="time span (default 7d)"
    )
    h.add_argument("--at", help="ISO time in UTC of the last column")
    h.add_argument("--tiers", help="only these leverage tiers, e.g. 10,25 or 10-25x")
    h.add_argument("--png", required=True, help="write the heatmap to this file (.png or .jpg)")
    h.add_argument("--candles", action="store_true", help="draw candles instead of a line")
    h.add_argument("--no-liqs", action="store_true", help=NO_LIQS_HELP)

    skill_cli.add_parser(sub)

    sub.add_parser("run", help="run the Telegram bot (settings from the environment and .env)")

    d = sub.add_parser("demo", help="offline demo: the real bot, a fake Telegram, replayed data")
    d.add_argument(
        "--out", default="liqbot-demo", help="folder for the charts (default liqbot-demo)"
    )
    d.add_argument("--speed", type=float, default=1800.0, help="replay speed (default 1800x)")
    backtest_cli.add_parser(sub)
    b = sub.add_parser(
        "backup", help="copy the bot's database (LIQBOT_DB_PATH) while it runs, checked"
    )
    b.add_argument("file", help="the copy to write (replaced if it exists)")
    return parser


def _settings(tiers: str | None) -> ModelSettings:
    return ModelSettings(tier_filter=parse_tiers(tiers) if tiers else None)


def live_report(args: argparse.Namespace, model: ModelSettings) -> MapReport:
    """Fetch (backfill or increment) the symbol from the live venues, then draw its map."""
    import asyncio
    import time

    from bot.pipeline.live import (
        SymbolChoiceError,
        VenueChoiceError,
        open_live,
        parse_venues,
        validate_symbols,
    )
    from storage import open_db

    settings = load_settings()
    try:
        venues = parse_venues(args.exchanges, list(settings.venues))
    except VenueChoiceError as e:
        raise UsageError(str(e)) from None
    at = parse_time(args.at) if args.at else int(time.time() * 1000)
    db = open_db(settings.db_path)
    store, refresher = open_live(settings, db, venues, [args.symbol])

    async def fetch() -> None:
        try:
            await validate_symbols(refresher, [args.symbol])
            outcome = await refresher.refresh(at)
        finally:
            await refresher.close()
        for o in outcome.failed:
            print(f"liqbot: {o.venue} {o.symbol}: {redact(str(o.error))}", file=sys.stderr)

    try:
        asyncio.run(fetch())
    except SymbolChoiceError as e:
        raise UsageError(str(e)) from None
    return make_report(store, args.symbol, args.window, at, model)


def cmd_map(args: argparse.Namespace) -> int:
    at = parse_time(args.at) if args.at else DEFAULT_AT
    settings = _settings(args.tiers)
    if args.png:
        _check_writable(args.png)
    if args.source == "live":
        report = live_report(args, settings)
    else:
        source = ReplaySource()
        report = make_report(source, demo_symbol(source, args.symbol), args.window, at, settings)
    if args.png:
        from bot.views.charts import render_map  # matplotlib only when drawing

        real = None
        if args.source == "demo" and not args.no_liqs:
            real = bundled_marks(report.symbol, args.window, report.liq.as_of)
        png = render_map(report, by_tier=args.by_tier, image=image_type(args.png), real=real)
        _write(args.png, png)
    if args.json:
        print(json.dumps(report_json(report), indent=1))
    else:
        print(summary_text(report))
        if args.png:
            print(f"Chart: {args.png}")
            _say_marks(real)
    return 0


def demo_symbol(source: ReplaySource, text: str) -> str:
    """The bundled symbol meant by ``text``, or one line with "did you mean" (as the bot)."""
    try:
        return parse_symbol(text, source.symbols)
    except InputError as e:
        raise UsageError(str(e)) from None


def cmd_heatmap(args: argparse.Namespace) -> int:
    source = ReplaySource()
    at = parse_time(args.at) if args.at else DEFAULT_AT
    _check_writable(args.png)
    settings = _settings(args.tiers)
    symbol = demo_symbol(source, args.symbol)
    heat = make_heatmap(source, symbol, args.window, at, settings)
    candles = source.window_candles(symbol, args.window, at)[0] if args.candles else None
    from bot.views.charts import render_heatmap  # matplotlib only when drawing

    real = None if args.no_liqs else bundled_marks(symbol, args.window, int(heat.times[-1]))
    image = render_heatmap(
        heat,
        args.window,
        source.venues,
        candles=candles,
        tiers=settings.tier_filter,
        image=image_type(args.png),
        real=real,
    )
    _write(args.png, image)
    print(f"Heatmap {heat.symbol} {args.window}: {heat.times.size} columns -> {args.png}")
    _say_marks(real)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from bot.demo import run_demo

    if not 10 <= args.speed <= 100_000:
        raise UsageError("--speed must be between 10 and 100000")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {args.out!r} is a file, not a folder")
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run_demo(Path(args.out), args.speed))
    return 0


def load_settings() -> Settings:
    """Settings from the environment and .env, or one line naming what is wrong."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from bot.settings import Settings

    try:
        settings = Settings()
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()
        )
        raise UsageError(f"bad settings: {problems}") from None
    except SettingsError as e:  # e.g. LIQBOT_EXCHANGE_URLS that is not JSON
        cause = f" ({e.__cause__})" if e.__cause__ else ""
        raise UsageError(f"bad settings: {e}{cause}") from None
    redaction.add_secrets(settings.secret_values())
    return settings


def backtest_history(args: argparse.Namespace) -> History | None:
    """``backtest --source live``: the history the bot recorded in ``--db`` (default the bot's
    LIQBOT_DB_PATH); None for the bundled data."""
    if args.source != "live":
        return None
    from bot.pipeline.live_store import LiveStore
    from bot.pipeline.recorded_history import RecordedHistory
    from storage import open_db

    settings = load_settings()
    path = args.db or settings.db_path
    if not Path(path).is_file():
        raise UsageError(f"--db {path!r}: no such database (the bot records its history there)")
    store = LiveStore(
        open_db(path),
        list(settings.venues),
        [args.symbol],
        None,
        int(settings.refresh_seconds * 1000),
    )
    return RecordedHistory(store)


def cmd_run() -> int:
    from bot.app import ConfigError, run
    from bot.telegram.app import BotApiUnreachable

    settings = load_settings()
    try:
        run(settings)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    except BotApiUnreachable as e:
        print(
            f"liqbot: error: cannot reach the Telegram Bot API at "
            f"{settings.api_base}: {redact(str(e))}",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """`liqbot backup FILE`: SQLite's online backup of LIQBOT_DB_PATH, integrity-checked."""
    import time

    from storage.backup import BackupError, backup

    settings = load_settings()
    t0 = time.perf_counter()
    try:
        result = backup(settings.db_path, args.file)
    except BackupError as e:
        raise UsageError(str(e)) from None
    print(
        f"Backed up {settings.db_path} to {args.file}: {result.bytes / 1e6:.1f} MB, "
        f"{result.pages} pages in {time.perf_counter() - t0:.1f} s; integrity {result.integrity}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    redaction.install()  # first: every entry point's records and errors are redacted
    try:
        args = build_parser().parse_args(argv)
        if args.command == "map":
            return cmd_map(args)
        if args.command == "heatmap":
            return cmd_heatmap(args)
        if args.command == "skill":
            return skill_cli.run(args)
        if args.command == "run":
            return cmd_run()
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "backtest":
            return backtest_cli.run(args, backtest_history(args))
        if args.command == "backup":
            return cmd_backup(args)
        raise UsageError(f"unknown command {args.command!r}")
    except (UsageError, MarketDataError, ModelInputError) as e:
        print(f"liqbot: error: {redact(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `liqbot map ... | head`: the reader left; end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 0


if __name__ == "__main__":
    sys.exit(main())
