"""The digest pass: every few hours of each user's local time, one chart and one text per
user, queued in the outbox (the slot key keeps it to once, across restarts too)."""

from __future__ import annotations

import logging

from bot.clock import digest_slot, in_quiet_hours
from bot.pipeline.alert_pass import ALERT_WINDOW
from bot.pipeline.services import Services
from bot.views.digest import digest_messages
from bot.views.report import MapReport
from liqmap import ModelInputError
from market.snapshot import MarketDataError
from storage import outbox, subscriptions, users
from storage.users import User

log = logging.getLogger(__name__)


async def queue_digest(
    s: Services, user: User, now: int, slot: str, quiet_ok: bool = False
) -> bool:
    """Build one user's digest and put it in the outbox (chart first, then the text); False if
    there is nothing to digest, quiet hours, or this slot was queued before."""
    if not quiet_ok and in_quiet_hours(now, user.tz, user.quiet_start, user.quiet_end):
        return False
    key = f"digest:{user.chat_id}:{slot}"
    if outbox.slot_queued(s.db, key):
        return False  # this slot was queued already (a restart, a second tick)
    subs = subscriptions.open_for_chat(s.db, user.chat_id)
    symbols = list(dict.fromkeys(x.symbol for x in subs))
    if not symbols:
        return False
    tick = s.maps.tick(now)
    reports: dict[str, MapReport] = {}
    for symbol in symbols:
        try:
            reports[symbol] = await s.maps.report(symbol, ALERT_WINDOW, at=tick)
        except (MarketDataError, ModelInputError) as e:
            log.warning("digest without %s: %s", symbol, e)
    if not reports:
        return False
    changes = {sym: s.source.oi_change(sym, tick, 4) for sym in reports}
    texts = digest_messages(user, reports, subs, changes, now)
    chart = await s.maps.chart(next(iter(reports.values())))
    with s.db.atomic():
        first = next(iter(reports))
        caption = f"Digest chart: {first.split('/')[0]} {ALERT_WINDOW}"
        outbox.enqueue(s.db, f"{key}:chart", user.chat_id, "digest", caption, now, photo=chart)
        for i, text in enumerate(texts):
            outbox.enqueue(s.db, f"{key}:{i}", user.chat_id, "digest", text, now)
    return True


async def run_digests(s: Services, now: int) -> int:
    """Queue the digest of every user whose local digest hour this is (skipped in quiet hours)."""
    if s.settings.digest_hours <= 0:
        return 0
    queued = 0
    for user in users.active_users(s.db):
        if not user.digest:
            continue
        slot = digest_slot(now, user.tz, s.settings.digest_hours)
        try:
            if slot is not None and await queue_digest(s, user, now, slot):
                queued += 1
        except Exception:  # one user's digest must not stop the others
            log.exception("digest for %s failed", user.chat_id)
    return queued
