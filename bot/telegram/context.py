"""The handlers' typed context: ``context.services`` is what handlers and jobs share."""

from __future__ import annotations

from typing import Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.pipeline.services import KEY, Services


class Context(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB's callback context with the bot's services attached."""

    @property
    def services(self) -> Services:
        found = self.bot_data[KEY]
        assert isinstance(found, Services)
        return found


CONTEXT_TYPES = ContextTypes(context=Context)


def services(context: Context) -> Services:
    return context.services
