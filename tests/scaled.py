"""Real bundled data re-priced as another coin: BTC's candles, OI and book with every price
multiplied by ``factor`` and every base amount divided by it (USD amounts unchanged). A
PEPE-priced map is the 2025-10-10 BTC map at 116,605.3 x 1e-10 = 0.0000116605."""

from __future__ import annotations

from dataclasses import replace

from bot.views.report import MapReport, build_report
from liqmap import Candles, OrderBook
from market.replay import DEFAULT_AT, ReplaySource

DOGE = 0.16052 / 116_605.3  # DOGE-priced (0.16052)
PEPE = 1e-10  # PEPE-priced (0.0000116605)


def _candles(c: Candles, f: float) -> Candles:
    return replace(
        c,
        open=c.open * f,
        high=c.high * f,
        low=c.low * f,
        close=c.close * f,
        volume=c.volume / f,
        taker_buy=None if c.taker_buy is None else c.taker_buy / f,
        oi=None if c.oi is None else c.oi / f,
    )


def scaled_report(
    symbol: str, factor: float, window: str = "1d", at: int = DEFAULT_AT
) -> MapReport:
    snap = ReplaySource().snapshot("BTC", window, at)
    book = snap.book
    if book is not None:
        book = OrderBook(
            bids=book.bids * [factor, 1 / factor], asks=book.asks * [factor, 1 / factor]
        )
    venues = tuple(replace(v, candles=_candles(v.candles, factor)) for v in snap.venues)
    return build_report(replace(snap, symbol=symbol, venues=venues, book=book))
