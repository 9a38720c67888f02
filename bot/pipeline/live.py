"""Live market plumbing shared by `liqbot run` and `liqbot map --source live`."""

from __future__ import annotations

from sqlite_utils import Database

from bot.pipeline.live_store import LiveStore
from bot.pipeline.refresh import Refresher
from bot.settings import VENUES, Settings
from liqmap import unified_symbol
from market.feeds import VenueFeed


class VenueChoiceError(ValueError):
    """An unknown venue; the message names the valid ones."""


def parse_venues(text: str | None, default: list[str]) -> list[str]:
    if not text:
        return list(default)
    chosen = [v.strip().lower() for v in text.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in VENUES]
    if unknown or not chosen:
        raise VenueChoiceError(
            f"unknown exchange(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(VENUES)}"
        )
    return list(dict.fromkeys(chosen))


def open_live(
    settings: Settings,
    db: Database,
    venues: list[str] | None = None,
    symbols: list[str] | None = None,
) -> tuple[LiveStore, Refresher]:
    """Feeds for the venues (with LIQBOT_EXCHANGE_URLS overrides), the refresher and the store."""
    venues = venues or list(settings.venues)
    symbols = symbols or settings.symbols
    unified = [unified_symbol(s) for s in symbols]
    feeds = {v: VenueFeed(v, base_url=settings.exchange_bases.get(v)) for v in venues}
    refresher = Refresher(
        db,
        feeds,
        unified,
        backfill_days=settings.backfill_days,
        retention_days=settings.history_days,
    )
    store = LiveStore(db, venues, unified, refresher, int(settings.refresh_seconds * 1000))
    return store, refresher


class SymbolChoiceError(ValueError):
    """A symbol no configured venue lists; the message suggests the nearest valid ones."""


async def validate_symbols(refresher: Refresher, symbols: list[str]) -> None:
    """Check every symbol against the venues' loaded markets (linear USDT perpetuals).

    Venues whose markets cannot be loaded right now are skipped (an outage must not stop the
    bot); if none can be loaded, nothing is checked."""
    import difflib

    from market.errors import MarketError

    listed: set[str] = set()
    for feed in refresher.feeds.values():
        try:
            await feed.load_markets()
        except MarketError:
            continue
        listed |= {
            s
            for s, m in feed.exchange.markets.items()
            if m.get("swap") and m.get("linear") and m.get("settle") == "USDT"
        }
    if not listed:
        return
    bases = sorted({s.split("/")[0] for s in listed})
    for symbol in symbols:
        unified = unified_symbol(symbol)
        if unified in listed:
            continue
        base = unified.split("/")[0]
        near = difflib.get_close_matches(base, bases, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        venues = ", ".join(refresher.feeds)
        raise SymbolChoiceError(
            f"{base} is not a USDT perpetual on {venues}{hint} ({len(bases)} are listed, "
            f"e.g. {', '.join(bases[:8])})"
        )
