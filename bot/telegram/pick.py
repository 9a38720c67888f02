"""The symbol buttons offered to a command that needed a symbol and got none
(``pick|COMMAND|BASE|REST``): pressing one runs the command as if the trader had typed
``/COMMAND BASE REST``."""

from __future__ import annotations

from telegram import Update

from bot.telegram import alert_handlers, handlers, liq_handlers, trade_handlers
from bot.telegram.common import Handler, chat_id
from bot.telegram.context import Context
from storage import users

PICKABLE: dict[str, Handler] = {
    "map": handlers.map_command,
    "heatmap": handlers.heatmap_command,
    "watch": trade_handlers.watch_command,
    "unwatch": trade_handlers.unwatch_command,
    "liqs": liq_handlers.liqs_command,
    "skill": liq_handlers.skill_command,
    "alert": alert_handlers.alert_command,
    "check": handlers.check_command,
    "open": trade_handlers.open_command,
}


async def pick_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split("|", 3)
    known = {s.split("/")[0] for s in context.services.source.symbols}
    if len(parts) != 4 or parts[1] not in PICKABLE or parts[2] not in known:
        await query.answer("That button has expired.")
        return
    if users.get(context.services.db, chat_id(update)) is None:
        await query.answer("Send /start first.")  # a forged press from a chat never seen
        return
    await query.answer(f"/{parts[1]} {parts[2]}")
    context.args = [parts[2], *parts[3].split()]
    await PICKABLE[parts[1]](update, context)
