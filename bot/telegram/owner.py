"""The owner's channel (``LIQBOT_ADMIN_CHAT_IDS``): who the owner is, ``/admin``, and notices
about handler errors, a venue down and back, a liquidation feed disconnected and back, and an
outbox backlog.

Notices go through the outbox (kind ``note``: before digests, retried, never twice), each one
deduplicated (the same notice at most once per ``LIQBOT_ADMIN_NOTICE_MINUTES``) and all of them
rate-limited (at most :data:`PER_HOUR`), so an error in a loop cannot flood the owner's chat. A
notice names the error's type and where it happened, never its text (which may quote a URL or
a user's input)."""

from __future__ import annotations

import html
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import Application

from bot.pipeline.health import check
from bot.pipeline.services import KEY, Services
from bot.telegram.common import reply
from bot.telegram.context import Context
from bot.telegram.jobs import ends_quietly
from bot.views import fmt
from storage import health as stored
from storage import outbox

log = logging.getLogger(__name__)

OWNER_KEY = "liqbot.owner"  # bot_data: the OwnerChannel
PER_HOUR = 20
WATCH_SECONDS = 30.0  # how often venues, feeds and the backlog are looked at


def is_owner(update: Update, context: Context) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.id in context.services.settings.admin_chat_ids


@dataclass
class OwnerChannel:
    s: Services
    last_errors: deque[tuple[int, str, str]] = field(default_factory=lambda: deque(maxlen=20))
    _said: dict[str, float] = field(default_factory=dict)  # notice key -> monotonic time
    _sent: deque[float] = field(default_factory=deque)  # times of notices in the last hour
    venues_ok: dict[str, bool] = field(default_factory=dict)
    feeds_up: dict[str, bool] = field(default_factory=dict)

    def notify(self, key: str, text: str) -> bool:
        """Queue ``text`` (plain; escaped here) to every owner chat, unless the same ``key``
        was said within the window or the hour's budget is spent; True if queued."""
        owners = self.s.settings.admin_chat_ids
        if not owners:
            return False
        now = time.monotonic()
        window = self.s.settings.admin_notice_minutes * 60
        if now - self._said.get(key, -window) < window:
            return False
        while self._sent and self._sent[0] <= now - 3600:
            self._sent.popleft()
        if len(self._sent) >= PER_HOUR:
            log.warning("owner notice %r not sent: %d notices in the last hour", key, PER_HOUR)
            return False
        self._said[key] = now
        self._sent.append(now)
        market = self.s.clock.now_ms()
        slot = int(time.time() // window)  # a restart within the window does not repeat it
        with self.s.db.atomic():
            for chat in owners:
                key_here = f"owner|{key}|{slot}|{chat}"
                outbox.enqueue(self.s.db, key_here, chat, "note", f"🛠 {html.escape(text)}", market)
        if self.s.sender is not None:
            self.s.sender.wake()
        return True

    def handler_error(self, kind: str, where: str) -> None:
        self.last_errors.append((self.s.clock.now_ms(), kind, where))
        self.notify(f"error|{kind}|{where}", f"Handler error: {kind} in {where}")

    def watch(self) -> None:
        """Compare venues, feeds and the backlog with the last look; say what changed. The
        first look only records the state (a venue without data at start is not "down")."""
        h = check(self.s)
        limit_s = h.body["limits"]["max_data_age_s"]
        for venue, age in h.body["data_age_s"].items():
            ok = age is not None and age <= limit_s
            before = self.venues_ok.get(venue)
            self.venues_ok[venue] = ok
            if before is True and not ok:
                why = "no data" if age is None else f"data {age / 60:.0f} min old"
                self.notify(f"venue|{venue}|down", f"Venue {venue} down: {why}")
            elif before is False and ok:
                self.notify(f"venue|{venue}|back", f"Venue {venue} back: data {age:.0f} s old")
        feed = h.body["live_feed"]
        if isinstance(feed, dict):
            for venue, state in feed.items():
                up = bool(state["connected"])
                before = self.feeds_up.get(venue)
                self.feeds_up[venue] = up
                if before is True and not up:
                    why = f" ({state['last_error']})" if state["last_error"] else ""
                    self.notify(f"feed|{venue}|down", f"Liquidation feed {venue} disconnected{why}")
                elif before is False and up:
                    self.notify(f"feed|{venue}|up", f"Liquidation feed {venue} reconnected")
        box = h.body["outbox"]
        late = box["oldest_pending_alert_age_s"]
        if box["backlog"] > self.s.settings.admin_backlog_rows or (
            late is not None and late > h.body["limits"]["max_alert_age_s"]
        ):
            oldest = "none" if late is None else f"{late:.0f} s"
            self.notify(
                "backlog", f"Outbox backlog: {box['backlog']} messages due, oldest alert {oldest}"
            )


def channel(app: Application) -> OwnerChannel | None:
    found = app.bot_data.get(OWNER_KEY)
    return found if isinstance(found, OwnerChannel) else None


def attach(app: Application, s: Services) -> OwnerChannel:
    """The owner's channel for this application (``on_error`` and the watch job find it)."""
    found = OwnerChannel(s)
    app.bot_data[OWNER_KEY] = found
    return found


@ends_quietly
async def watch_job(context: Context) -> None:
    """Every :data:`WATCH_SECONDS`: venues, feeds, backlog (never raises: a failed look waits
    for the next)."""
    found = channel(context.application)
    if found is None:
        return
    try:
        found.watch()
    except Exception:
        log.exception("owner watch failed")


async def admin_command(update: Update, context: Context) -> None:
    """/admin (owner only; anyone else gets the unknown-command answer): users, subscriptions,
    backlog, health, the last errors."""
    if not is_owner(update, context):
        await reply(update, "I don't know that command. Send /help for the list.")
        return
    s = context.application.bot_data[KEY]
    assert isinstance(s, Services)
    now = s.clock.now_ms()
    c = stored.census(s.db)
    box = stored.backlog(s.db, now)
    counts = outbox.counts(s.db)
    h = check(s)
    late = (
        "none"
        if box.oldest_alert_since is None
        else f"{(now - box.oldest_alert_since) / 1000:.0f} s"
    )
    lines = [
        "<b>Admin</b>",
        f"Users: {c.users} ({c.active_users} active)",
        f"Subscriptions: {c.positions} open positions, {c.watches} watches in "
        f"{c.chats_with_subscriptions} chats",
        f"Backlog: {box.due} due, oldest pending alert {late}; outbox "
        + html.escape(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty"),
        f"Health: {'ok' if h.ok else 'UNHEALTHY: ' + html.escape('; '.join(h.problems))}",
        "<b>Last errors</b>",
    ]
    found = channel(context.application)
    errors = list(found.last_errors)[-10:] if found is not None else []
    lines += [
        html.escape(f"{fmt.when(at)}: {kind} in {where}") for at, kind, where in reversed(errors)
    ] or ["none"]
    await reply(update, "\n".join(lines))
