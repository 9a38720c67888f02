"""Live market plumbing shared by `liqbot run` and `liqbot map --source live`."""

from __future__ import annotations

from sqlite_utils import Database

from bot.live_store import LiveStore
from bot.refresh import Refresher
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
    settings: Settings, db: Database, venues: list[str] | None = None,
    symbols: list[str] | None = None,
) -> tuple[LiveStore, Refresher]:  # fmt: skip
    """Feeds for the venues (with LIQBOT_EXCHANGE_URLS overrides), the refresher and the store."""
    venues = venues or settings.venues
    symbols = symbols or settings.symbols
    unified = [unified_symbol(s) for s in symbols]
    feeds = {v: VenueFeed(v, base_url=settings.exchange_urls.get(v)) for v in venues}
    refresher = Refresher(
        db,
        feeds,
        unified,
        backfill_days=settings.backfill_days,
        retention_days=settings.history_days,
    )
    store = LiveStore(db, venues, unified, refresher, int(settings.refresh_seconds * 1000))
    return store, refresher
