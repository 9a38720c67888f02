"""The liquidation feed in the bot: building it from the settings, retention, and reading what
it recorded for ``/liqs`` and ``/skill``.

The feed (``market.liquidation_feed``) runs in the bot's event loop, started in ``post_init`` and
stopped in ``post_shutdown``; it stamps coverage with the bot's clock, so a replay covers replay
time. Prints go to SQLite through :class:`StorageLiquidationSink`; the refresher prunes them with
the market history (``LIQBOT_HISTORY_DAYS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlite_utils import Database

from bot.clock import Clock
from bot.pipeline.liquidation_sink import StorageLiquidationSink
from bot.settings import Settings
from bot.views.liqs import RealLiquidations, chart_prints
from grading.api import grade_recorded
from grading.hourly import DEFAULT_LOOKBACK_H
from grading.skill import Grade, TooLittleData
from liqmap import Candles, unified_symbol
from liqmap.times import HOUR_MS
from market.liquidation_summary import WINDOWS_MS, LiqsSummary, covered_ms, summarise
from market.snapshot import MarketDataError
from market.source import WINDOW_MS, MarketSource
from storage import liquidations

if TYPE_CHECKING:  # /liqs and /skill read SQLite: only building the feed needs ccxt.pro
    from market.liquidation_feed import FeedTiming, LiquidationFeed

SKILL_DAYS = 7
SKILL_TIMEFRAMES = ("15m", "1h", "5m")  # the grading's default is 15m candles; 1h where only that


def open_liquidation_feed(
    settings: Settings, db: Database, clock: Clock, timing: FeedTiming | None = None
) -> LiquidationFeed:
    """The feed for the configured venues and symbols (not started). Venues without a public
    stream (Bitget) are kept, so ``/status`` can say they have none."""
    from market.liquidation_feed import LiquidationFeed

    symbols = list(dict.fromkeys(unified_symbol(s) for s in settings.symbols))
    return LiquidationFeed(
        StorageLiquidationSink(db),
        list(settings.venues),
        symbols,
        urls=settings.exchange_bases,
        timing=timing,
        clock=clock.now_ms,
    )


def recent_summary(
    db: Database, symbol: str, window: str, now_ms: int, venues: list[str]
) -> LiqsSummary:
    """The ``/liqs`` figures for the ``window`` (1h, 4h, 24h) ending at ``now_ms``."""
    since = now_ms - WINDOWS_MS[window]
    prints = liquidations.read_prints(db, symbol, since, now_ms)
    coverage = liquidations.read_coverage(db, symbol, since, now_ms)
    return summarise(
        prints.venue,
        prints.time,
        prints.side,
        prints.price,
        prints.usd,
        coverage,
        since,
        now_ms,
        venues=venues,
    )


@dataclass(frozen=True)
class RecordedGrade:
    grade: Grade
    start_ms: int
    end_ms: int
    covered_ms: int  # how much of [start, end) the longest-connected stream covered


def grade_recent(
    db: Database, source: MarketSource, symbol: str, now_ms: int, days: int = SKILL_DAYS
) -> RecordedGrade:
    """``/skill``: the map graded against the recorded prints of the last ``days``, from the
    first hour the feed was connected (hours before the feed existed are not graded as quiet
    ones). Raises ``TooLittleData`` (too few hours or prints) or ``MarketDataError`` (no
    candles). CPU-heavy: call it in a worker thread."""
    end = now_ms // HOUR_MS * HOUR_MS
    since = end - days * 24 * HOUR_MS
    coverage = liquidations.read_coverage(db, symbol, since, end)
    spans = [span for spans in coverage.values() for span in spans]
    if not spans:
        raise TooLittleData(f"the liquidation feed has not been connected in the last {days} days")
    start = max(since, -(-min(a for a, _ in spans) // HOUR_MS) * HOUR_MS)
    covered = max(covered_ms(s, start, end) for s in coverage.values())
    prints = liquidations.read_prints(db, symbol, start, end)
    events = list(
        zip(
            prints.time.tolist(),
            prints.side,
            prints.price.tolist(),
            prints.quantity.tolist(),
            strict=True,
        )
    )
    candles = _candles(source, symbol, start - DEFAULT_LOOKBACK_H * HOUR_MS, end)
    grade = grade_recorded(symbol, events, candles, start, end)
    return RecordedGrade(grade, start, end, covered)


def _candles(source: MarketSource, symbol: str, since: int, until: int) -> Candles:
    """The finest candles that reach back to ``since`` (the week of data before the first
    graded hour)."""
    last: MarketDataError | None = None
    for timeframe in SKILL_TIMEFRAMES:
        try:
            c = source.candles(symbol, timeframe, since, until)
        except MarketDataError as e:
            last = e
            continue
        if len(c) and int(c.time[0]) <= since + HOUR_MS:
            return c
    raise last or MarketDataError(f"no candles for {symbol} back to the week before the feed")


def recorded_marks(
    db: Database, symbol: str, window: str, until_ms: int
) -> RealLiquidations | None:
    """The prints the feed recorded in the chart ``window`` (1d, 7d, 30d) ending at
    ``until_ms``, for the map and heatmap to mark; None when it recorded none."""
    since = until_ms - WINDOW_MS[window]
    prints = chart_prints(liquidations.read_prints(db, symbol, since, until_ms), since, until_ms)
    return RealLiquidations(tuple(prints), "feed") if prints else None
