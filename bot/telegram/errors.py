"""The one error path for every handler: the log (redacted like every record), an answer to a
pressed button (else its spinner turns until Telegram gives up), an apology, and a notice to the
owner (type and where, never the message text: it may quote a URL or a user's input)."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update

from bot.telegram import owner
from bot.telegram.context import Context

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. Please try again in a minute."


def where(update: object) -> str:
    """The command or button family that failed (e.g. ``/alerts``, ``button alert``)."""
    if not isinstance(update, Update):
        return "a job" if update is None else type(update).__name__
    if update.callback_query is not None:
        return f"button {(update.callback_query.data or '?').split('|')[0][:20]}"
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    if text.startswith("/"):
        return text.split()[0].split("@")[0][:30]
    return "a message" if message is not None else "an update"


async def on_error(update: object, context: Context) -> None:
    """Log, stop the button's spinner, apologise; never raises."""
    error = context.error
    log.error("handler failed in %s: %r", where(update), error, exc_info=error)
    found = owner.channel(context.application)
    if found is not None:
        try:  # the owner hears of it: the type and where, never the text
            found.handler_error(type(error).__name__, where(update))
        except Exception:
            log.exception("could not tell the owner")
    if not isinstance(update, Update):
        return
    if update.callback_query is not None:
        # the handler may have answered before failing: a second answer is refused, harmlessly
        with contextlib.suppress(Exception):
            await update.callback_query.answer(APOLOGY[:190])
    if update.effective_message is not None:
        try:
            await update.effective_message.reply_text(APOLOGY)
        except Exception:  # the apology itself failed (network, blocked): nothing more to do
            log.warning("could not send the error apology")
