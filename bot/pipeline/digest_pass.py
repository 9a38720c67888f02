"""The digest pass: every few hours of each user's local time, one chart and one text per
user, queued in the outbox (the slot key keeps it to once, across restarts too).

A round for 10,000 users renders each chart once per (symbol, window, map tick), stores it once
(the ``media`` table; outbox rows hold its key, and the dispatcher uploads it once and re-sends
Telegram's ``file_id``), and hands the event loop back every few milliseconds, so commands and
the dispatcher keep running while it is composed."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from bot.clock import digest_slot, in_quiet_hours
from bot.pipeline.alert_pass import ALERT_WINDOW
from bot.pipeline.moves import volatility_at
from bot.pipeline.services import Services
from bot.pipeline.trader_levels import chat_levels
from bot.views import fmt
from bot.views.digest import digest_messages
from bot.views.levels import TraderLevel
from bot.views.report import MapReport
from liqmap import ModelInputError
from liqmap.touch import Volatility
from market.snapshot import MarketDataError
from storage import outbox, subscriptions, users
from storage.users import User

log = logging.getLogger(__name__)
YIELD_EVERY_S = 0.02  # the longest stretch a round holds the event loop (plus one user's work)


class RoundMaps:
    """The maps and charts of one round, each made once, whatever the number of users."""

    def __init__(self, s: Services, now: int) -> None:
        self.s, self.now, self.tick = s, now, s.maps.tick(now)
        self._reports: dict[str, MapReport | None] = {}
        self._changes: dict[str, float | None] = {}
        self._volatility: dict[str, Volatility | None] = {}

    async def report(self, symbol: str) -> MapReport | None:
        if symbol not in self._reports:
            try:
                self._reports[symbol] = await self.s.maps.report(symbol, ALERT_WINDOW, at=self.tick)
            except (MarketDataError, ModelInputError) as e:
                log.warning("digest without %s: %s", symbol, e)
                self._reports[symbol] = None
            self._changes[symbol] = self.s.source.oi_change(symbol, self.tick, 4)
            self._volatility[symbol] = volatility_at(self.s, symbol, self.tick)
        return self._reports[symbol]

    def volatility(self, symbol: str) -> Volatility | None:
        return self._volatility.get(symbol)

    def oi_change(self, symbol: str) -> float | None:
        return self._changes.get(symbol)

    async def chart_key(
        self,
        symbol: str,
        report: MapReport,
        levels: tuple[TraderLevel, ...] = (),
        zone: str = "UTC",
    ) -> str:
        """The stored chart of ``symbol`` at this tick (drawn and stored on first use); with a
        trader's ``levels`` drawn on it, that trader's own chart (keyed by the levels, so two
        traders with the same levels share it); its time in the chat's ``zone`` (keyed too)."""
        key = f"chart|{symbol}|{ALERT_WINDOW}|{self.tick}"
        if zone != "UTC":
            key += f"|{zone}"
        if levels:
            key += "|" + hashlib.sha1(repr(levels).encode()).hexdigest()[:16]
        if not outbox.media_exists(self.s.db, key):
            # drawn in the map worker, off the loop
            png = await self.s.maps.chart(report, levels=levels, zone=zone)
            with self.s.db.atomic():
                outbox.store_media(self.s.db, key, png, self.now)
        return key


async def queue_digest(
    s: Services,
    user: User,
    now: int,
    slot: str,
    quiet_ok: bool = False,
    maps: RoundMaps | None = None,
) -> bool:
    """Build one user's digest and put it in the outbox (chart first, then the text); False if
    there is nothing to digest, quiet hours, or this slot was queued before."""
    if not quiet_ok and in_quiet_hours(now, user.tz, user.quiet_start, user.quiet_end):
        return False
    key = f"digest:{user.chat_id}:{slot}"
    if outbox.queued(s.db, f"{key}:chart"):
        return False  # this slot was queued already (a restart, a second tick)
    subs = subscriptions.open_for_chat(s.db, user.chat_id)
    symbols = list(dict.fromkeys(x.symbol for x in subs))
    if not symbols:
        return False
    maps = maps or RoundMaps(s, now)
    reports: dict[str, MapReport] = {}
    for symbol in symbols:
        report = await maps.report(symbol)
        if report is not None:
            reports[symbol] = report
    if not reports:
        return False
    changes = {sym: maps.oi_change(sym) for sym in reports}
    vols = {sym: maps.volatility(sym) for sym in reports}
    texts = digest_messages(user, reports, subs, changes, now, vols)
    first = next(iter(reports))
    mine = chat_levels(s.db, user.chat_id, first)
    chart = await maps.chart_key(first, reports[first], mine, user.tz)
    with s.db.atomic():
        caption = f"Digest chart: {fmt.market(first)} {ALERT_WINDOW}"
        outbox.enqueue(s.db, f"{key}:chart", user.chat_id, "digest", caption, now, photo_ref=chart)
        for i, text in enumerate(texts):
            outbox.enqueue(s.db, f"{key}:{i}", user.chat_id, "digest", text, now)
    return True


async def run_digests(s: Services, now: int) -> int:
    """Queue the digest of every user whose local digest hour this is (skipped in quiet hours).
    Gives the event loop back every :data:`YIELD_EVERY_S`."""
    if s.settings.digest_hours <= 0:
        return 0
    queued = 0
    maps = RoundMaps(s, now)
    held_since = time.perf_counter()
    for user in users.active_users(s.db):
        if time.perf_counter() - held_since > YIELD_EVERY_S:
            await asyncio.sleep(0)  # let commands and the dispatcher run
            held_since = time.perf_counter()
        if not user.digest:
            continue
        slot = digest_slot(now, user.tz, s.settings.digest_hours)
        try:
            if slot is not None and await queue_digest(s, user, now, slot, maps=maps):
                queued += 1
        except Exception:  # one user's digest must not stop the others
            log.exception("digest for %s failed", user.chat_id)
    return queued
