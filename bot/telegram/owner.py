"""The owner's channel (``LIQBOT_ADMIN_CHAT_IDS``): who the owner is, ``/admin``, and notices
(rate-limited, deduplicated) about handler errors, venues down and back, a disconnected feed and
an outbox backlog."""

from __future__ import annotations

from telegram import Update

from bot.telegram.context import Context


def is_owner(update: Update, context: Context) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.id in context.services.settings.admin_chat_ids
